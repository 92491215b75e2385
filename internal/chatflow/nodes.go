package chatflow

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// Node and edge IDs are unique only within their flow, so the node and edge
// endpoints name them globally as "<flow_id>:<id>". Flow IDs never contain
// a colon, so the first colon splits the two; node IDs may contain colons.

// Ref returns the global ID of a node or edge of a flow.
func Ref(flowID, id string) string { return flowID + ":" + id }

// SplitRef splits a global node or edge ID into its flow and local ID.
func SplitRef(ref string) (flowID, id string, ok bool) {
	flowID, id, ok = strings.Cut(ref, ":")
	return flowID, id, ok && flowID != "" && id != ""
}

// localID accepts a node ID of flowID in either form: local or global.
func localID(flowID, id string) string {
	if f, local, ok := SplitRef(id); ok && f == flowID {
		return local
	}
	return id
}

// Node is a node of a flow's draft as the node endpoints show it.
type Node struct {
	// ID is the global ID, "<flow>:<node_id>".
	ID       string          `json:"id" doc:"Global node ID: <flow_id>:<node_id>"`
	NodeID   string          `json:"node_id" doc:"The node's ID within its flow (the id in flow_data)"`
	Flow     string          `json:"flow" doc:"The flow's ID"`
	Type     string          `json:"type"`
	Position *flow.Position  `json:"position,omitempty"`
	Data     json.RawMessage `json:"data"`
	// Version is the flow's version after this read or write.
	Version int `json:"version" doc:"The flow's version (If-Match for the next edit)"`
	// Problems are the draft's lint problems located at this node.
	Problems []flow.Problem `json:"problems"`
}

// Edge is an edge of a flow's draft as the edge endpoints show it: in the
// chat-flow API's fields and ReactFlow's.
type Edge struct {
	ID           string          `json:"id" doc:"Global edge ID: <flow_id>:<edge_id>"`
	EdgeID       string          `json:"edge_id" doc:"The edge's ID within its flow"`
	Flow         string          `json:"flow"`
	SourceNode   string          `json:"source_node" doc:"Global ID of the source node"`
	TargetNode   string          `json:"target_node" doc:"Global ID of the target node"`
	Trigger      string          `json:"trigger,omitempty" doc:"e.g. button_click"`
	TriggerValue string          `json:"trigger_value,omitempty" doc:"The button title (exit) the edge leaves by"`
	Source       string          `json:"source"`
	SourceHandle string          `json:"sourceHandle,omitempty"`
	Target       string          `json:"target"`
	TargetHandle string          `json:"targetHandle,omitempty"`
	Label        string          `json:"label,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
	Version      int             `json:"version"`
	Problems     []flow.Problem  `json:"problems"`
}

func nodeView(flowID string, n flow.Node, version int, ps []flow.Problem) Node {
	data := n.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	out := Node{ID: Ref(flowID, n.ID), NodeID: n.ID, Flow: flowID, Type: n.Type, Position: n.Position, Data: data, Version: version, Problems: []flow.Problem{}}
	for _, p := range ps {
		if p.NodeID == n.ID && p.EdgeID == "" {
			out.Problems = append(out.Problems, p)
		}
	}
	return out
}

func edgeView(flowID string, e flow.Edge, version int, ps []flow.Problem) Edge {
	t := e.Trigger()
	out := Edge{ID: Ref(flowID, e.ID), EdgeID: e.ID, Flow: flowID, SourceNode: Ref(flowID, e.Source), TargetNode: Ref(flowID, e.Target),
		Trigger: t.Trigger, TriggerValue: t.TriggerValue, Source: e.Source, SourceHandle: e.SourceHandle, Target: e.Target,
		TargetHandle: e.TargetHandle, Label: e.Label, Data: e.Data, Version: version, Problems: []flow.Problem{}}
	for _, p := range ps {
		if p.EdgeID == e.ID {
			out.Problems = append(out.Problems, p)
		}
	}
	return out
}

// Nodes lists the nodes of a flow's draft.
func (s *Service) Nodes(ctx context.Context, projectID, flowID string) ([]Node, error) {
	f, err := s.Get(ctx, projectID, flowID)
	if err != nil {
		return nil, err
	}
	out := make([]Node, 0, len(f.FlowData.Nodes))
	for _, n := range f.FlowData.Nodes {
		out = append(out, nodeView(f.ID, n, f.Version, f.Problems))
	}
	return out, nil
}

// GetNode returns one node of a flow's draft.
func (s *Service) GetNode(ctx context.Context, projectID, flowID, nodeID string) (Node, error) {
	f, err := s.Get(ctx, projectID, flowID)
	if err != nil {
		return Node{}, err
	}
	i := f.FlowData.Node(nodeID)
	if i < 0 {
		return Node{}, domain.NotFound("node", Ref(flowID, nodeID))
	}
	return nodeView(f.ID, f.FlowData.Nodes[i], f.Version, f.Problems), nil
}

// Edges lists the edges of a flow's draft.
func (s *Service) Edges(ctx context.Context, projectID, flowID string) ([]Edge, error) {
	f, err := s.Get(ctx, projectID, flowID)
	if err != nil {
		return nil, err
	}
	out := make([]Edge, 0, len(f.FlowData.Edges))
	for _, e := range f.FlowData.Edges {
		out = append(out, edgeView(f.ID, e, f.Version, f.Problems))
	}
	return out, nil
}

// GetEdge returns one edge of a flow's draft.
func (s *Service) GetEdge(ctx context.Context, projectID, flowID, edgeID string) (Edge, error) {
	f, err := s.Get(ctx, projectID, flowID)
	if err != nil {
		return Edge{}, err
	}
	i := edgeIndex(f.FlowData, edgeID)
	if i < 0 {
		return Edge{}, domain.NotFound("edge", Ref(flowID, edgeID))
	}
	return edgeView(f.ID, f.FlowData.Edges[i], f.Version, f.Problems), nil
}

func edgeIndex(g flow.Graph, id string) int {
	for i, e := range g.Edges {
		if e.ID == id {
			return i
		}
	}
	return -1
}

// editGraph applies fn to the flow's draft and saves it, only if the
// draft is still at version (the same optimistic concurrency as flow
// saves: a stale version is a StaleError naming who saved last, no version
// is ErrVersionRequired).
func (s *Service) editGraph(ctx context.Context, projectID, flowID, actor string, version int, fn func(q store.Queries, g *flow.Graph) error) (Flow, error) {
	if version == 0 {
		return Flow{}, ErrVersionRequired
	}
	var out store.Flow
	err := s.store.InTx(ctx, func(q store.Queries) error {
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
		if err != nil {
			return err
		}
		if version != f.Version {
			return s.stale(ctx, q, f, version)
		}
		g, err := decodeStored(f.Draft, "flow_data of flow "+f.ID)
		if err != nil {
			return err
		}
		if err := fn(q, &g); err != nil {
			return err
		}
		if len(g.Nodes) > MaxNodes {
			return &domain.Error{Code: domain.CodeTooLarge, Message: fmt.Sprintf("the flow would have %d nodes; the limit is %d — split it into subflows", len(g.Nodes), MaxNodes)}
		}
		g = canonical(g)
		draft, err := encodeGraph(g)
		if err != nil {
			return err
		}
		if len(draft) > MaxFlowDataBytes {
			return &domain.Error{Code: domain.CodeTooLarge, Message: fmt.Sprintf("flow_data would be %d bytes; the limit is %d bytes (2 MB)", len(draft), MaxFlowDataBytes)}
		}
		now := s.clock.Now()
		out, err = s.update(ctx, q, f, store.FlowUpdateParams{ProjectID: projectID, ID: flowID, ExpectVersion: f.Version,
			Draft: draft, Trigger: encodeTrigger(triggerOf(g)), Actor: actor, Now: now})
		if err != nil {
			return err
		}
		return s.audit(ctx, q, projectID, actor, "flow.updated", flowID, map[string]any{"version": out.Version}, now)
	})
	if err != nil {
		return Flow{}, err
	}
	return s.view(ctx, s.env(s.store, projectID), out)
}

// NodeInput creates a node. ID is optional: a free "<type>_<n>" is chosen.
type NodeInput struct {
	FlowID   string
	ID       string
	Type     string
	Position *flow.Position
	Data     json.RawMessage
}

func checkData(data json.RawMessage) error {
	if len(data) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil || m == nil {
		return domain.Invalid("/data", "data must be a JSON object")
	}
	return nil
}

func checkType(t string) (string, error) {
	norm := flow.NormalizeType(t)
	if _, ok := flow.LookupNodeType(norm); !ok {
		names := make([]string, 0)
		for _, nt := range flow.NodeTypes() {
			names = append(names, nt.Type)
		}
		return "", domain.Invalid("/type", "unknown node type %q; use one of %s", t, strings.Join(names, ", "))
	}
	return norm, nil
}

// CreateNode adds a node to a flow's draft.
func (s *Service) CreateNode(ctx context.Context, projectID, actor string, version int, in NodeInput) (Node, error) {
	typ, err := checkType(in.Type)
	if err != nil {
		return Node{}, err
	}
	if err := checkData(in.Data); err != nil {
		return Node{}, err
	}
	id := localID(in.FlowID, in.ID)
	if len(id) > maxRefLen {
		return Node{}, domain.Invalid("/id", "the node id is over %d characters", maxRefLen)
	}
	var chosen string // per attempt: a retry may need another free id
	f, err := s.editGraph(ctx, projectID, in.FlowID, actor, version, func(q store.Queries, g *flow.Graph) error {
		chosen = id
		if chosen == "" {
			chosen = freeID(typ+"_", func(c string) bool { return g.Node(c) >= 0 })
		} else if g.Node(chosen) >= 0 {
			return domain.Errorf(domain.CodeConflict, "flow %q already has a node %q; node ids are unique within a flow", in.FlowID, chosen)
		}
		g.Nodes = append(g.Nodes, flow.Node{ID: chosen, Type: typ, Position: in.Position, Data: in.Data})
		return nil
	})
	if err != nil {
		return Node{}, err
	}
	return nodeView(f.ID, f.FlowData.Nodes[f.FlowData.Node(chosen)], f.Version, f.Problems), nil
}

// freeID returns prefix+n for the smallest n ≥ 1 not taken.
func freeID(prefix string, taken func(string) bool) string {
	for n := 1; ; n++ {
		if c := prefix + strconv.Itoa(n); !taken(c) {
			return c
		}
	}
}

// NodePatch changes a node; nil fields are left alone. Data replaces the
// whole data object.
type NodePatch struct {
	Type     *string
	Position *flow.Position
	Data     json.RawMessage
}

// UpdateNode changes a node of a flow's draft.
func (s *Service) UpdateNode(ctx context.Context, projectID, flowID, nodeID, actor string, version int, p NodePatch) (Node, error) {
	var typ string
	if p.Type != nil {
		var err error
		if typ, err = checkType(*p.Type); err != nil {
			return Node{}, err
		}
	}
	if err := checkData(p.Data); err != nil {
		return Node{}, err
	}
	f, err := s.editGraph(ctx, projectID, flowID, actor, version, func(q store.Queries, g *flow.Graph) error {
		i := g.Node(nodeID)
		if i < 0 {
			return domain.NotFound("node", Ref(flowID, nodeID))
		}
		if p.Type != nil {
			g.Nodes[i].Type = typ
		}
		if p.Position != nil {
			g.Nodes[i].Position = p.Position
		}
		if p.Data != nil {
			g.Nodes[i].Data = p.Data
		}
		return nil
	})
	if err != nil {
		return Node{}, err
	}
	return nodeView(f.ID, f.FlowData.Nodes[f.FlowData.Node(nodeID)], f.Version, f.Problems), nil
}

// DeleteNode removes a node and every edge into or out of it.
func (s *Service) DeleteNode(ctx context.Context, projectID, flowID, nodeID, actor string, version int) (Flow, error) {
	return s.editGraph(ctx, projectID, flowID, actor, version, func(q store.Queries, g *flow.Graph) error {
		i := g.Node(nodeID)
		if i < 0 {
			return domain.NotFound("node", Ref(flowID, nodeID))
		}
		g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
		kept := g.Edges[:0]
		for _, e := range g.Edges {
			if e.Source != nodeID && e.Target != nodeID {
				kept = append(kept, e)
			}
		}
		g.Edges = kept
		return nil
	})
}

// EdgeInput creates an edge, in the chat-flow API's fields (source_node,
// target_node, trigger, trigger_value) or ReactFlow's (source, target,
// sourceHandle…). Node IDs may be local or global.
type EdgeInput struct {
	FlowID       string
	ID           string
	SourceNode   string
	TargetNode   string
	Trigger      string
	TriggerValue string
	Source       string
	SourceHandle string
	Target       string
	TargetHandle string
	Label        string
	Data         json.RawMessage
}

// CreateEdge adds an edge to a flow's draft. Both ends must be nodes of the
// draft; whether the exit exists is the linter's call (a draft may be
// invalid).
func (s *Service) CreateEdge(ctx context.Context, projectID, actor string, version int, in EdgeInput) (Edge, error) {
	src, srcPtr := firstOf(in.SourceNode, "/source_node", in.Source, "/source")
	dst, dstPtr := firstOf(in.TargetNode, "/target_node", in.Target, "/target")
	var fields []domain.FieldError
	if src == "" {
		fields = append(fields, domain.FieldError{Pointer: "/source_node", Code: "required", Message: "name the source node: source_node (or source)"})
	}
	if dst == "" {
		fields = append(fields, domain.FieldError{Pointer: "/target_node", Code: "required", Message: "name the target node: target_node (or target)"})
	}
	if len(fields) > 0 {
		return Edge{}, &domain.Error{Code: domain.CodeInvalid, Message: fields[0].Message, Fields: fields}
	}
	if err := checkData(in.Data); err != nil {
		return Edge{}, err
	}
	exit, err := checkTrigger(in.Trigger, in.TriggerValue)
	if err != nil {
		return Edge{}, err
	}
	data, err := edgeData(in.Data, in.Trigger, in.TriggerValue)
	if err != nil {
		return Edge{}, err
	}
	handle := in.SourceHandle
	if handle == "" {
		// The canvas draws an edge from the port named by sourceHandle.
		handle = exit
	}
	exitPtr := "/sourceHandle"
	if in.SourceHandle == "" && in.Trigger+in.TriggerValue != "" {
		exitPtr = "/trigger_value"
		if in.TriggerValue == "" {
			exitPtr = "/trigger"
		}
	}
	src, dst = localID(in.FlowID, src), localID(in.FlowID, dst)
	id := localID(in.FlowID, in.ID)
	var chosen string
	f, err := s.editGraph(ctx, projectID, in.FlowID, actor, version, func(q store.Queries, g *flow.Graph) error {
		if err := endsExist(*g, in.FlowID, src, srcPtr, dst, dstPtr); err != nil {
			return err
		}
		chosen = id
		if chosen == "" {
			chosen = freeID("e_", func(c string) bool { return edgeIndex(*g, c) >= 0 })
		} else if edgeIndex(*g, chosen) >= 0 {
			return domain.Errorf(domain.CodeConflict, "flow %q already has an edge %q; edge ids are unique within a flow", in.FlowID, chosen)
		}
		g.Edges = append(g.Edges, flow.Edge{ID: chosen, Source: src, SourceHandle: handle, Target: dst, TargetHandle: in.TargetHandle, Label: in.Label, Data: data})
		return s.checkEdgeExit(ctx, q, projectID, *g, len(g.Edges)-1, exitPtr)
	})
	if err != nil {
		return Edge{}, err
	}
	return edgeView(f.ID, f.FlowData.Edges[edgeIndex(f.FlowData, chosen)], f.Version, f.Problems), nil
}

func firstOf(a, aPtr, b, bPtr string) (string, string) {
	if a != "" {
		return a, aPtr
	}
	return b, bPtr
}

func endsExist(g flow.Graph, flowID, src, srcPtr, dst, dstPtr string) error {
	var fields []domain.FieldError
	if g.Node(src) < 0 {
		fields = append(fields, domain.FieldError{Pointer: srcPtr, Code: flow.CodeDanglingEdge, Message: fmt.Sprintf("flow %q has no node %q", flowID, src)})
	}
	if g.Node(dst) < 0 {
		fields = append(fields, domain.FieldError{Pointer: dstPtr, Code: flow.CodeDanglingEdge, Message: fmt.Sprintf("flow %q has no node %q", flowID, dst)})
	}
	if len(fields) > 0 {
		return &domain.Error{Code: domain.CodeInvalid, Message: fields[0].Message + "; create the node first", Fields: fields}
	}
	return nil
}

// EdgeTriggers are the values of an edge's trigger, each with the exit it
// leaves by: a fixed exit, "" for the exit trigger_value names (a button
// title, a list row, a condition rule, a template quick reply, or any exit
// by name with "exit"), or "-" for the node's default exit (always).
var EdgeTriggers = map[string]string{
	"button_click": "", "list_select": "", "quick_reply": "", "condition": "", "exit": "",
	"always":  "-",
	"timeout": flow.ExitTimeout, "other": flow.ExitOther, "invalid": flow.ExitInvalid, "reply": flow.ExitReply,
	"success": flow.ExitSuccess, "failure": flow.ExitFailure, "else": flow.ExitElse,
}

// checkTrigger validates an edge's trigger and trigger_value and returns
// the exit they name ("" for the default exit).
func checkTrigger(trigger, value string) (string, error) {
	if trigger == "" && value == "" {
		return "", nil
	}
	if trigger == "" {
		trigger = "button_click"
	}
	exit, ok := EdgeTriggers[trigger]
	if !ok {
		names := make([]string, 0, len(EdgeTriggers))
		for k := range EdgeTriggers {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", domain.Invalid("/trigger", "unknown trigger %q; use one of %s", trigger, strings.Join(names, ", "))
	}
	switch {
	case exit == "" && value == "":
		return "", domain.Invalid("/trigger_value", "a %s edge needs trigger_value: the button title, list row, rule or exit it leaves by", trigger)
	case exit == "":
		return value, nil
	case value != "" && value != exit && !(exit == "-" && value == flow.ExitNext):
		return "", domain.Invalid("/trigger_value", "a %s edge takes no trigger_value (it leaves by the %s exit); leave it out", trigger, strings.Trim(exit, "-"))
	case exit == "-":
		return "", nil
	}
	return exit, nil
}

// checkEdgeExit refuses edge i of g when it leaves by no exit its source
// node has (422 at ptr) or by an exit another edge already takes (409).
func (s *Service) checkEdgeExit(ctx context.Context, q store.Queries, projectID string, g flow.Graph, i int, ptr string) error {
	env := s.env(q, projectID)
	if err := env.load(ctx, g, ""); err != nil {
		return err
	}
	r := flow.ResolveExits(g, env)
	e := g.Edges[i]
	exit := r.EdgeExit[i]
	if exit == "" {
		names := r.NodeExits[e.Source]
		list := "none"
		if len(names) > 0 {
			list = strings.Join(names, ", ")
		}
		named := e.SourceHandle
		if named == "" {
			named = e.Trigger().TriggerValue
		}
		msg := fmt.Sprintf("node %q has no exit %q; its exits: %s", e.Source, named, list)
		if named == "" {
			msg = fmt.Sprintf("name the exit of node %q this edge leaves by (trigger_value or sourceHandle); its exits: %s", e.Source, list)
		}
		return &domain.Error{Code: domain.CodeInvalid, Message: msg, Fields: []domain.FieldError{{Pointer: ptr, Code: flow.CodeUnknownExit, Message: msg}}}
	}
	for j, other := range g.Edges {
		if j != i && other.Source == e.Source && r.EdgeExit[j] == exit {
			msg := fmt.Sprintf("exit %q of node %q already leads to %q through edge %q; an exit has one edge — change or delete that edge first", exit, e.Source, other.Target, other.ID)
			return &domain.Error{Code: domain.CodeConflict, Message: msg, Fields: []domain.FieldError{{Pointer: ptr, Code: flow.CodeDuplicateExitEdge, Message: msg}}}
		}
	}
	return nil
}

// edgeData merges trigger and trigger_value into an edge's data object.
func edgeData(data json.RawMessage, trigger, value string) (json.RawMessage, error) {
	if trigger == "" && value == "" {
		return data, nil
	}
	m := map[string]json.RawMessage{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, domain.Invalid("/data", "data must be a JSON object")
		}
	}
	if trigger == "" {
		trigger = "button_click"
	}
	m["trigger"], _ = json.Marshal(trigger)
	if value != "" {
		m["trigger_value"], _ = json.Marshal(value)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding edge data: %w", err)
	}
	return b, nil
}

// EdgePatch changes an edge; empty fields are left alone.
type EdgePatch struct {
	TargetNode   string
	Trigger      string
	TriggerValue string
	SourceHandle *string
	TargetHandle *string
	Label        *string
	Data         json.RawMessage
}

// UpdateEdge changes an edge of a flow's draft.
func (s *Service) UpdateEdge(ctx context.Context, projectID, flowID, edgeID, actor string, version int, p EdgePatch) (Edge, error) {
	if err := checkData(p.Data); err != nil {
		return Edge{}, err
	}
	var exit string
	if p.Trigger != "" || p.TriggerValue != "" {
		var err error
		if exit, err = checkTrigger(p.Trigger, p.TriggerValue); err != nil {
			return Edge{}, err
		}
	}
	exitPtr := "/sourceHandle"
	if p.SourceHandle == nil && p.Trigger+p.TriggerValue != "" {
		exitPtr = "/trigger_value"
		if p.TriggerValue == "" {
			exitPtr = "/trigger"
		}
	}
	f, err := s.editGraph(ctx, projectID, flowID, actor, version, func(q store.Queries, g *flow.Graph) error {
		i := edgeIndex(*g, edgeID)
		if i < 0 {
			return domain.NotFound("edge", Ref(flowID, edgeID))
		}
		e := &g.Edges[i]
		if p.TargetNode != "" {
			dst := localID(flowID, p.TargetNode)
			if err := endsExist(*g, flowID, e.Source, "/source_node", dst, "/target_node"); err != nil {
				return err
			}
			e.Target = dst
		}
		if p.Data != nil {
			e.Data = p.Data
		}
		if p.Trigger != "" || p.TriggerValue != "" {
			d, err := edgeData(e.Data, p.Trigger, p.TriggerValue)
			if err != nil {
				return err
			}
			e.Data = d
			if p.SourceHandle == nil {
				e.SourceHandle = exit
			}
		}
		if p.SourceHandle != nil {
			e.SourceHandle = *p.SourceHandle
		}
		if p.TargetHandle != nil {
			e.TargetHandle = *p.TargetHandle
		}
		if p.Label != nil {
			e.Label = *p.Label
		}
		if p.Trigger+p.TriggerValue == "" && p.SourceHandle == nil {
			return nil
		}
		return s.checkEdgeExit(ctx, q, projectID, *g, i, exitPtr)
	})
	if err != nil {
		return Edge{}, err
	}
	return edgeView(f.ID, f.FlowData.Edges[edgeIndex(f.FlowData, edgeID)], f.Version, f.Problems), nil
}

// DeleteEdge removes an edge from a flow's draft.
func (s *Service) DeleteEdge(ctx context.Context, projectID, flowID, edgeID, actor string, version int) (Flow, error) {
	return s.editGraph(ctx, projectID, flowID, actor, version, func(q store.Queries, g *flow.Graph) error {
		i := edgeIndex(*g, edgeID)
		if i < 0 {
			return domain.NotFound("edge", Ref(flowID, edgeID))
		}
		g.Edges = append(g.Edges[:i], g.Edges[i+1:]...)
		return nil
	})
}
