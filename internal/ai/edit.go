package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
)

// Flows is what the editor needs of the chat flows: a flow with its draft,
// and the project's linter (which knows its templates and flows).
type Flows interface {
	Get(ctx context.Context, projectID, id string) (chatflow.Flow, error)
	Validate(ctx context.Context, projectID, flowID string, flowData json.RawMessage, startTemplate *string) (chatflow.Validation, error)
}

// EditParams ask for a change to a flow's draft.
type EditParams struct {
	ProjectID   string
	ProviderID  string
	FlowID      string
	Instruction string
}

// Operation is one step of an edit script: the only way the model changes
// a flow, so nodes it does not name stay exactly as they were.
type Operation struct {
	// Op is add_node, change_node, remove_node, add_edge or remove_edge.
	Op string `json:"op"`
	// ID names the node (change_node, remove_node) or edge (remove_edge).
	ID string `json:"id,omitempty"`
	// Node is the node to add.
	Node json.RawMessage `json:"node,omitempty"`
	// Data is change_node's JSON merge patch (RFC 7386) of the node's data.
	Data json.RawMessage `json:"data,omitempty"`
	// Edge is the edge to add ({id, source, source_handle, target}).
	Edge json.RawMessage `json:"edge,omitempty"`
}

// Operations of an edit script.
const (
	OpAddNode    = "add_node"
	OpChangeNode = "change_node"
	OpRemoveNode = "remove_node"
	OpAddEdge    = "add_edge"
	OpRemoveEdge = "remove_edge"
)

// NodeChange is a node as it was and as the proposal has it.
type NodeChange struct {
	ID     string    `json:"id"`
	Before flow.Node `json:"before"`
	After  flow.Node `json:"after"`
}

// Diff is what a proposal changes in the draft. A changed edge shows as
// removed and added.
type Diff struct {
	NodesAdded   []flow.Node  `json:"nodes_added"`
	NodesRemoved []flow.Node  `json:"nodes_removed"`
	NodesChanged []NodeChange `json:"nodes_changed"`
	EdgesAdded   []flow.Edge  `json:"edges_added"`
	EdgesRemoved []flow.Edge  `json:"edges_removed"`
}

// Proposal is a change to a draft, never saved: the user applies it by
// saving FlowData with BaseVersion (PUT /chat-flow/flows/{id}/), which
// fails with a conflict when the draft moved since.
type Proposal struct {
	FlowID      string `json:"flow_id"`
	BaseVersion int    `json:"base_version"`
	Summary     string `json:"summary"`
	// FlowData is the whole proposed graph.
	FlowData   flow.Graph     `json:"flow_data"`
	Lints      bool           `json:"lints"`
	Problems   []flow.Problem `json:"problems"`
	BaseErrors int            `json:"base_errors"`
	// NewErrors counts the errors the change itself brings (script
	// problems, or lint errors the draft did not have).
	NewErrors int `json:"new_errors"`
	Rounds    int `json:"rounds"`
	// Status is "ready" (the proposed graph lints), "has_problems" (it
	// still has errors after the repair rounds, or the model stopped
	// answering) or "no_change" (the model proposed no operation).
	Status     string      `json:"status"`
	Note       string      `json:"note"`
	Operations []Operation `json:"operations"`
	Diff       Diff        `json:"diff"`
	Usage      Usage       `json:"usage"`
}

// editAnswer is the model's JSON answer to an edit.
type editAnswer struct {
	Summary    string      `json:"summary"`
	Operations []Operation `json:"operations"`
}

// editCandidate is one edit script applied, with what was found.
type editCandidate struct {
	summary  string
	ops      []Operation
	graph    flow.Graph
	diff     Diff
	problems []flow.Problem // script problems, or the linter's on graph
	// errors counts what the change broke: the script's problems, or the
	// lint errors the draft did not have; total counts every lint error.
	errors int
	total  int
	fresh  []flow.Problem // the lint errors the change introduced
	script bool           // problems are the script's, not the linter's
}

// ReadyEdit checks what Edit checks before it talks to a model, for
// callers that answer these problems before a stream starts.
func (s *Service) ReadyEdit(ctx context.Context, p EditParams) error {
	if strings.TrimSpace(p.Instruction) == "" {
		return domain.Invalid("/instruction", "an instruction is required (what to change, in words)")
	}
	if s.d.Flows == nil {
		return domain.Errorf(domain.CodeUnavailable, "this server was started without the chat-flow service the AI editor needs")
	}
	if _, err := s.d.Flows.Get(ctx, p.ProjectID, p.FlowID); err != nil {
		return err
	}
	_, err := s.Pick(ctx, p.ProjectID, p.ProviderID)
	return err
}

// Edit proposes a change to a flow's draft: the model answers an edit
// script (constrained by a schema built from the node registry), which is
// checked, applied to the draft and linted with the project's linter; at
// most MaxRepairRounds repairs send the problems back. Nodes the script does
// not name are kept as they are. Nothing is stored.
func (s *Service) Edit(ctx context.Context, p EditParams, progress func(Progress)) (Proposal, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	if err := s.ReadyEdit(ctx, p); err != nil {
		return Proposal{}, err
	}
	f, err := s.d.Flows.Get(ctx, p.ProjectID, p.FlowID)
	if err != nil {
		return Proposal{}, err
	}
	prov, err := s.Pick(ctx, p.ProjectID, p.ProviderID)
	if err != nil {
		return Proposal{}, err
	}
	base := f.FlowData
	baseRaw, err := json.Marshal(base)
	if err != nil {
		return Proposal{}, fmt.Errorf("encoding the draft of flow %s: %w", f.ID, err)
	}
	bv, err := s.d.Flows.Validate(ctx, p.ProjectID, f.ID, baseRaw, nil)
	if err != nil {
		return Proposal{}, fmt.Errorf("linting the draft of flow %s: %w", f.ID, err)
	}
	progress(Progress{Stage: StagePlanning, Detail: fmt.Sprintf("asking %s (%s) for a change to %q (%d nodes)", prov.Name, prov.Model, f.Name, len(base.Nodes))})
	schema := EditSchema()
	msgs := []Message{{Role: "system", Content: editSystemPrompt(prov.JSONMode, schema)}, {Role: "user", Content: editUserPrompt(withoutPositions(base), bv.Problems, p.Instruction)}}
	var usage Usage
	var best *editCandidate
	var lastErr error
	sent := 0
	for round := 0; round <= MaxRepairRounds; round++ {
		stage := Progress{Stage: StageDrafting, Detail: "the model is writing the change"}
		if round > 0 {
			stage = Progress{Stage: StageRepairing, Round: round, MaxRounds: MaxRepairRounds, Detail: fmt.Sprintf("sending %d problems back to the model", sent)}
		}
		progress(stage)
		res, err := s.Complete(ctx, prov, Request{Messages: msgs, Schema: schema, SchemaName: "parley_flow_edit", Stream: true, OnDelta: every500(stage, progress)})
		usage.add(res)
		if err != nil {
			lastErr = err
			if best == nil {
				return Proposal{FlowID: f.ID, BaseVersion: f.Version, Usage: usage}, err
			}
			break
		}
		progress(Progress{Stage: StageValidating, Round: round, Detail: "applying the change to the draft and running the linter"})
		c := s.checkEdit(ctx, p, base, bv.Problems, res.Content, res.FinishReason)
		if best == nil || c.errors < best.errors {
			best = &c
		}
		if c.errors == 0 || round == MaxRepairRounds {
			break
		}
		sent = len(c.fresh)
		if c.script {
			sent = len(c.problems)
		}
		msgs = append(msgs, Message{Role: "assistant", Content: res.Content}, Message{Role: "user", Content: editRepairPrompt(c)})
	}
	pr := Proposal{FlowID: f.ID, BaseVersion: f.Version, Summary: best.summary, Operations: best.ops, Rounds: max(usage.Calls-1, 0), Usage: usage,
		BaseErrors: bv.Errors, Diff: best.diff, FlowData: best.graph, Problems: best.problems}
	if pr.Operations == nil {
		pr.Operations = []Operation{}
	}
	if pr.Problems == nil {
		pr.Problems = []flow.Problem{}
	}
	if best.script {
		// The script could not be applied: the proposal is the draft as
		// it is, with the script's problems.
		pr.FlowData, pr.Diff = base, DiffGraphs(base, base)
	}
	pr.Lints = !best.script && best.total == 0
	pr.NewErrors = best.errors
	if best.script {
		pr.NewErrors = len(best.problems)
	}
	switch {
	case !best.script && len(best.ops) == 0:
		pr.Status, pr.Note = "no_change", "the model proposed no change"
		if best.summary != "" {
			pr.Note += ": " + best.summary
		}
	case pr.Lints:
		pr.Status, pr.Note = "ready", "the changed flow lints; review the diff and accept it to save the draft (nothing is saved until then)"
	case best.errors == 0:
		pr.Status, pr.Note = "has_problems", fmt.Sprintf("the change adds no error, but the draft's own %d lint errors remain (listed in problems); accept it and fix them on the canvas, or ask for that too", best.total)
	case lastErr != nil:
		pr.Status, pr.Note = "has_problems", fmt.Sprintf("the model stopped answering during repair (%v); this is the best proposal, with its problems", lastErr)
	default:
		pr.Status, pr.Note = "has_problems", fmt.Sprintf("the change still has %d errors of its own after %d repair rounds (the draft had %d before); this is the best proposal, with its problems", best.errors, MaxRepairRounds, bv.Errors)
	}
	progress(Progress{Stage: StageDone, Detail: pr.Note})
	return pr, nil
}

// every500 reports the characters received every 500 of them.
func every500(stage Progress, progress func(Progress)) func(int) {
	return func(n int) {
		if n/500 != (n-1)/500 || n == 1 {
			st := stage
			st.Chars = n
			progress(st)
		}
	}
}

func (u *Usage) add(c Completion) {
	u.Calls++
	u.PromptTokens += c.PromptTokens
	u.OutputTokens += c.OutputTokens
}

// checkEdit parses an edit script, applies it to base and lints the result.
func (s *Service) checkEdit(ctx context.Context, p EditParams, base flow.Graph, baseProblems []flow.Problem, content, finish string) editCandidate {
	c := editCandidate{graph: base}
	fail := func(ps []flow.Problem) editCandidate {
		c.problems, c.script = ps, true
		c.errors = 1<<20 + len(ps) // worse than any applied script
		return c
	}
	var a editAnswer
	if err := json.Unmarshal([]byte(stripFence(content)), &a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fail([]flow.Problem{scriptProblem("/"+strings.ReplaceAll(te.Field, ".", "/"), "wrong_type", fmt.Sprintf("%s must be a JSON %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value))})
		}
		msg := "the answer is not valid JSON: " + err.Error()
		if finish == "length" {
			msg = "the answer was cut at the provider's max_tokens before the JSON was complete: change less at once"
		}
		return fail([]flow.Problem{scriptProblem("", "invalid_json", msg)})
	}
	if a.Operations == nil {
		return fail([]flow.Problem{scriptProblem("/operations", "missing_field", "the answer has no operations array (an empty one means no change)")})
	}
	c.summary, c.ops = strings.TrimSpace(a.Summary), a.Operations
	g, ps := ApplyEdit(base, a.Operations)
	if len(ps) > 0 {
		return fail(ps)
	}
	c.graph = g
	c.diff = DiffGraphs(base, g)
	raw, err := json.Marshal(g)
	if err != nil {
		return fail([]flow.Problem{scriptProblem("", "wrong_type", "the changed flow cannot be encoded: "+err.Error())})
	}
	v, err := s.d.Flows.Validate(ctx, p.ProjectID, p.FlowID, raw, nil)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Code == domain.CodeInvalid {
			return fail([]flow.Problem{scriptProblem("", "wrong_type", de.Message)})
		}
		return fail([]flow.Problem{scriptProblem("", "lint_failed", err.Error())})
	}
	c.problems, c.total = v.Problems, v.Errors
	c.fresh = newErrors(baseProblems, v.Problems)
	c.errors = len(c.fresh)
	return c
}

func scriptProblem(ptr, code, msg string) flow.Problem {
	return flow.Problem{Severity: flow.SeverityError, Code: code, Pointer: ptr, Message: msg}
}

// ApplyEdit applies an edit script to a graph. Nodes and edges the script
// does not name are copied as they are (data byte for byte, positions
// kept); removing a node removes its edges. Problems point into the script
// (/operations/N/...); none means the script applied.
func ApplyEdit(base flow.Graph, ops []Operation) (flow.Graph, []flow.Problem) {
	g := flow.Graph{Nodes: slices.Clone(base.Nodes), Edges: slices.Clone(base.Edges), Extra: base.Extra}
	var ps []flow.Problem
	bad := func(i int, field, code, format string, args ...any) {
		ps = append(ps, scriptProblem(fmt.Sprintf("/operations/%d%s", i, field), code, fmt.Sprintf(format, args...)))
	}
	nodeIdx := func(id string) int { return slices.IndexFunc(g.Nodes, func(n flow.Node) bool { return n.ID == id }) }
	edgeIdx := func(id string) int { return slices.IndexFunc(g.Edges, func(e flow.Edge) bool { return e.ID == id }) }
	ids := func() string {
		var out []string
		for _, n := range g.Nodes {
			out = append(out, n.ID)
		}
		return strings.Join(out, ", ")
	}
	types := map[string]bool{}
	var typeNames []string
	for _, t := range generatableTypes() {
		types[t.Type] = true
		typeNames = append(typeNames, t.Type)
	}
	var added []string
	for i, op := range ops {
		switch op.Op {
		case OpAddNode:
			var n struct {
				ID   string          `json:"id"`
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(op.Node, &n); err != nil || len(op.Node) == 0 {
				bad(i, "/node", "wrong_type", "add_node needs node: {id, type, data}")
				continue
			}
			switch {
			case strings.TrimSpace(n.ID) == "":
				bad(i, "/node/id", "missing_field", "the new node needs an id")
			case nodeIdx(n.ID) >= 0:
				bad(i, "/node/id", "duplicate_id", "a node %q already exists; pick a new id or use change_node", n.ID)
			case !types[n.Type]:
				bad(i, "/node/type", "unknown_node_type", "node type %q does not exist or cannot be used here; use one of: %s", n.Type, strings.Join(typeNames, ", "))
			default:
				data := n.Data
				if len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null" {
					data = json.RawMessage(`{}`)
				}
				g.Nodes = append(g.Nodes, flow.Node{ID: n.ID, Type: n.Type, Data: data})
				added = append(added, n.ID)
			}
		case OpChangeNode:
			j := nodeIdx(op.ID)
			if j < 0 {
				bad(i, "/id", "unknown_node", "there is no node %q to change (the nodes are: %s)", op.ID, ids())
				continue
			}
			var patch map[string]any
			if err := json.Unmarshal(op.Data, &patch); err != nil || patch == nil {
				bad(i, "/data", "wrong_type", "change_node needs data: an object of the fields to set (null removes a field)")
				continue
			}
			var cur map[string]any
			if err := json.Unmarshal(g.Nodes[j].Data, &cur); err != nil || cur == nil {
				cur = map[string]any{}
			}
			merged, err := json.Marshal(mergePatch(cur, patch))
			if err != nil {
				bad(i, "/data", "wrong_type", "the changed data cannot be encoded: %v", err)
				continue
			}
			n := g.Nodes[j]
			n.Data = merged
			g.Nodes[j] = n
		case OpRemoveNode:
			j := nodeIdx(op.ID)
			if j < 0 {
				bad(i, "/id", "unknown_node", "there is no node %q to remove (the nodes are: %s)", op.ID, ids())
				continue
			}
			g.Nodes = slices.Delete(g.Nodes, j, j+1)
			g.Edges = slices.DeleteFunc(g.Edges, func(e flow.Edge) bool { return e.Source == op.ID || e.Target == op.ID })
		case OpAddEdge:
			var e struct {
				ID           string `json:"id"`
				Source       string `json:"source"`
				SourceHandle string `json:"source_handle"`
				SourceHandl2 string `json:"sourceHandle"`
				Target       string `json:"target"`
			}
			if err := json.Unmarshal(op.Edge, &e); err != nil || len(op.Edge) == 0 {
				bad(i, "/edge", "wrong_type", "add_edge needs edge: {id, source, source_handle, target}")
				continue
			}
			if e.SourceHandle == "" {
				e.SourceHandle = e.SourceHandl2
			}
			if e.ID == "" || edgeIdx(e.ID) >= 0 {
				e.ID = newEdgeID(g)
			}
			// Sources and targets are checked by the linter (dangling_edge),
			// once every operation is applied.
			g.Edges = append(g.Edges, flow.Edge{ID: e.ID, Source: e.Source, SourceHandle: e.SourceHandle, Target: e.Target})
		case OpRemoveEdge:
			j := edgeIdx(op.ID)
			if j < 0 {
				bad(i, "/id", "unknown_edge", "there is no edge %q to remove", op.ID)
				continue
			}
			g.Edges = slices.Delete(g.Edges, j, j+1)
		default:
			bad(i, "/op", "unknown_operation", "operation %q does not exist; use add_node, change_node, remove_node, add_edge or remove_edge", op.Op)
		}
	}
	placeNew(&g, added)
	return g, ps
}

func newEdgeID(g flow.Graph) string {
	for n := len(g.Edges) + 1; ; n++ {
		id := fmt.Sprintf("ai-e%d", n)
		if !slices.ContainsFunc(g.Edges, func(e flow.Edge) bool { return e.ID == id }) {
			return id
		}
	}
}

// mergePatch applies an RFC 7386 merge patch.
func mergePatch(cur, patch map[string]any) map[string]any {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(cur, k)
		case map[string]any:
			if cv, ok := cur[k].(map[string]any); ok {
				cur[k] = mergePatch(cv, pv)
			} else {
				cur[k] = mergePatch(map[string]any{}, pv)
			}
		default:
			cur[k] = v
		}
	}
	return cur
}

// placeNew puts added nodes below the node an edge comes from (or below
// the whole flow), leaving every other node where it was.
func placeNew(g *flow.Graph, added []string) {
	pos := map[string]*flow.Position{}
	maxY := 0.0
	for _, n := range g.Nodes {
		if n.Position != nil {
			pos[n.ID] = n.Position
			maxY = max(maxY, n.Position.Y)
		}
	}
	siblings := map[string]int{}
	for k, id := range added {
		i := slices.IndexFunc(g.Nodes, func(n flow.Node) bool { return n.ID == id })
		if i < 0 {
			continue
		}
		p := &flow.Position{X: float64(k * 320), Y: maxY + 200}
		for _, e := range g.Edges {
			if src, ok := pos[e.Source]; ok && e.Target == id {
				p = &flow.Position{X: src.X + float64(siblings[e.Source]*320), Y: src.Y + 200}
				siblings[e.Source]++
				break
			}
		}
		g.Nodes[i].Position = p
		pos[id] = p
	}
}

// DiffGraphs says which nodes and edges differ between two graphs, by ID.
func DiffGraphs(a, b flow.Graph) Diff {
	d := Diff{NodesAdded: []flow.Node{}, NodesRemoved: []flow.Node{}, NodesChanged: []NodeChange{}, EdgesAdded: []flow.Edge{}, EdgesRemoved: []flow.Edge{}}
	an := map[string]flow.Node{}
	for _, n := range a.Nodes {
		an[n.ID] = n
	}
	bn := map[string]bool{}
	for _, n := range b.Nodes {
		bn[n.ID] = true
		old, ok := an[n.ID]
		switch {
		case !ok:
			d.NodesAdded = append(d.NodesAdded, n)
		case old.Type != n.Type || !sameJSON(old.Data, n.Data):
			d.NodesChanged = append(d.NodesChanged, NodeChange{ID: n.ID, Before: old, After: n})
		}
	}
	for _, n := range a.Nodes {
		if !bn[n.ID] {
			d.NodesRemoved = append(d.NodesRemoved, n)
		}
	}
	key := func(e flow.Edge) string {
		return strings.Join([]string{e.ID, e.Source, e.SourceHandle, e.Target, e.TargetHandle, string(e.Data)}, "\x00")
	}
	ae, be := map[string]bool{}, map[string]bool{}
	for _, e := range a.Edges {
		ae[key(e)] = true
	}
	for _, e := range b.Edges {
		be[key(e)] = true
		if !ae[key(e)] {
			d.EdgesAdded = append(d.EdgesAdded, e)
		}
	}
	for _, e := range a.Edges {
		if !be[key(e)] {
			d.EdgesRemoved = append(d.EdgesRemoved, e)
		}
	}
	return d
}

// sameJSON compares two JSON documents by value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// EditSchema is the JSON schema of an edit answer: a summary and a list of
// operations; a node to add is one of the registry's available types with
// its real fields (the same variants as FlowSchema).
func EditSchema() json.RawMessage {
	var fs struct {
		Properties struct {
			Nodes struct {
				Items json.RawMessage `json:"items"`
			} `json:"nodes"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(FlowSchema(), &fs)
	str := map[string]any{"type": "string"}
	opSchema := func(op string, props map[string]any, required ...string) map[string]any {
		props["op"] = map[string]any{"type": "string", "enum": []string{op}}
		return map[string]any{"type": "object", "additionalProperties": false, "required": append([]string{"op"}, required...), "properties": props}
	}
	edge := map[string]any{"type": "object", "additionalProperties": false, "required": []string{"id", "source", "source_handle", "target"},
		"properties": map[string]any{"id": str, "source": str, "target": str,
			"source_handle": map[string]any{"type": "string", "description": "the exit of the source node this edge leaves from"}}}
	schema := map[string]any{
		"type": "object", "additionalProperties": false, "required": []string{"summary", "operations"},
		"properties": map[string]any{
			"summary": map[string]any{"type": "string", "description": "one sentence: what the change does"},
			"operations": map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{
				opSchema(OpAddNode, map[string]any{"node": fs.Properties.Nodes.Items}, "node"),
				opSchema(OpChangeNode, map[string]any{"id": str, "data": map[string]any{"type": "object", "description": "only the data fields to set; null removes a field (JSON merge patch)"}}, "id", "data"),
				opSchema(OpRemoveNode, map[string]any{"id": str}, "id"),
				opSchema(OpAddEdge, map[string]any{"edge": edge}, "edge"),
				opSchema(OpRemoveEdge, map[string]any{"id": str}, "id"),
			}}},
		},
	}
	b, _ := json.Marshal(schema)
	return b
}

func editSystemPrompt(mode string, schema json.RawMessage) string {
	var b strings.Builder
	b.WriteString("You change chat flows for Parley, a messaging automation platform. You get a flow (nodes and edges) and an instruction. " +
		"Answer with one JSON object and nothing else: an edit script " +
		`{"summary", "operations": [...]} where each operation is one of ` +
		`{"op":"add_node","node":{"id","type","data"}}, {"op":"change_node","id","data":{only the fields to set; null removes one}}, ` +
		`{"op":"remove_node","id"} (its edges go too), {"op":"add_edge","edge":{"id","source","source_handle","target"}}, {"op":"remove_edge","id"}.` + "\n" +
		"Rules:\n- Change only what the instruction asks for. Never repeat nodes you do not change; never rename ids.\n" +
		"- Use only the node types below, with only their data fields.\n" +
		"- Every edge leaves from an exit of its source node named in source_handle (a message node's exits are its buttons' titles, list rows' ids, plus other and timeout) and goes to an existing node id; to re-route an exit, remove its edge and add a new one.\n" +
		"- Keep every exit that can fire connected; every path reaches an end node.\n" +
		"- An empty operations array means no change (say why in summary).\n")
	b.WriteString("Node types (type, description, data fields, exits):\n")
	b.Write(catalogue())
	if mode == JSONObject {
		b.WriteString("\nThe answer must conform to this JSON schema:\n")
		b.Write(schema)
	}
	return b.String()
}

func editUserPrompt(graph json.RawMessage, base []flow.Problem, instruction string) string {
	var b strings.Builder
	b.WriteString("The flow (edges name their exit in sourceHandle):\n")
	b.Write(graph)
	if n := len(errorsOf(base)); n > 0 {
		fmt.Fprintf(&b, "\nThe flow already has %d lint errors; fix them only where the instruction touches them.\n", n)
	}
	b.WriteString("\nInstruction: " + instruction + "\n")
	return b.String()
}

// newErrors are the lint errors of cur the draft did not have, matched by
// code, node and edge (pointers move when nodes are added or removed).
func newErrors(base, cur []flow.Problem) []flow.Problem {
	key := func(p flow.Problem) string {
		k := p.Code + "\x00" + p.NodeID + "\x00" + p.EdgeID
		if p.NodeID == "" && p.EdgeID == "" {
			k += "\x00" + p.Message
		}
		return k
	}
	had := map[string]int{}
	for _, p := range errorsOf(base) {
		had[key(p)]++
	}
	var out []flow.Problem
	for _, p := range errorsOf(cur) {
		if had[key(p)] > 0 {
			had[key(p)]--
			continue
		}
		out = append(out, p)
	}
	return out
}

// withoutPositions is a graph as the model is shown it: positions are the
// canvas's business and only cost tokens.
func withoutPositions(g flow.Graph) json.RawMessage {
	c := flow.Graph{Nodes: slices.Clone(g.Nodes), Edges: g.Edges}
	for i := range c.Nodes {
		c.Nodes[i].Position = nil
	}
	b, _ := json.Marshal(c)
	return b
}

func errorsOf(ps []flow.Problem) []flow.Problem {
	var out []flow.Problem
	for _, p := range ps {
		if p.Severity == flow.SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// editRepairPrompt says what is wrong: the script's problems (pointers into
// the answer), or the linter's on the changed flow (node and edge IDs with
// pointers into the changed flow, which is shown).
func editRepairPrompt(c editCandidate) string {
	var b strings.Builder
	if c.script {
		b.WriteString("Your edit script cannot be applied to the flow (JSON pointers into your answer):\n")
	} else {
		b.WriteString("After your edit script, the flow has these errors (JSON pointers into the changed flow shown below):\n")
	}
	list := c.fresh
	if c.script {
		list = errorsOf(c.problems)
	}
	for _, p := range list {
		ptr := strings.TrimPrefix(p.Pointer, "/flow_data")
		if ptr == "" {
			ptr = "(the whole answer)"
		}
		where := ptr
		switch {
		case p.NodeID != "":
			where = fmt.Sprintf("node %q at %s", p.NodeID, ptr)
		case p.EdgeID != "":
			where = fmt.Sprintf("edge %q at %s", p.EdgeID, ptr)
		}
		fmt.Fprintf(&b, "- %s [%s] %s\n", where, p.Code, p.Message)
	}
	if !c.script {
		b.WriteString("The changed flow:\n")
		b.Write(withoutPositions(c.graph))
		b.WriteString("\n")
	}
	b.WriteString("Answer with the whole corrected edit script, relative to the ORIGINAL flow (not the changed one).\n")
	return b.String()
}
