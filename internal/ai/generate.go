package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// MaxRepairRounds bounds the repair loop: after the first answer, at most
// this many more answers are asked for with the linter's errors.
const MaxRepairRounds = 3

// Stages of a generation, in the order they are reported.
const (
	StagePlanning    = "planning"
	StageDrafting    = "drafting"
	StageValidating  = "validating"
	StageRepairing   = "repairing"
	StageTestRunning = "test-running"
	StageDone        = "done"
)

// GenerateParams ask for a chat flow.
type GenerateParams struct {
	ProjectID  string
	ProviderID string
	// Description is free text; Outline is YAML steps. One is required.
	Description string
	Outline     string
	// Trigger, when set, becomes the start node's data.trigger as given
	// (the model's own trigger is replaced).
	Trigger      map[string]any
	ChannelTypes []string
	// Language is the language the flow's messages are written in.
	Language string
}

// Progress is one step of a generation, streamed to the caller.
type Progress struct {
	Stage string `json:"stage"`
	// Round is the repair round (1..3) while repairing.
	Round     int    `json:"round,omitempty"`
	MaxRounds int    `json:"max_rounds,omitempty"`
	Detail    string `json:"detail"`
	// Chars is the number of characters of the answer received so far
	// (drafting and repairing).
	Chars int `json:"chars,omitempty"`
}

// Draft is a generated flow, never saved: the user applies it by creating
// a flow with it.
type Draft struct {
	Name     string          `json:"name"`
	FlowData json.RawMessage `json:"flow_data"`
	// Lints is true when the linter found no error: the flow can be saved
	// and published as it is.
	Lints    bool          `json:"lints"`
	Problems flow.Problems `json:"problems"`
	// Rounds is the number of repair rounds used (0..3).
	Rounds int `json:"rounds"`
	// Status is "ready" (lints, tests pass), "tests_failing" (lints, a
	// test conversation did not end as expected) or "has_problems" (the
	// best draft still has lint errors, or the model stopped answering).
	Status string    `json:"status"`
	Note   string    `json:"note"`
	Tests  []TestRun `json:"tests"`
	Usage  Usage     `json:"usage"`
}

// Usage counts the tokens spent on a generation.
type Usage struct {
	Calls        int `json:"calls"`
	PromptTokens int `json:"prompt_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// answer is the model's JSON answer.
type answer struct {
	Name  string            `json:"name"`
	Nodes []json.RawMessage `json:"nodes"`
	Edges []json.RawMessage `json:"edges"`
	Tests []TestCase        `json:"tests"`
}

// candidate is one answer with what the linter said about it.
type candidate struct {
	name     string
	graph    flow.Graph
	data     json.RawMessage
	problems flow.Problems
	errors   int
	tests    []TestCase
}

// Ready checks what Generate checks before it talks to a model: the input
// and that the project has the provider. Callers that stream the
// generation call it first, to answer these problems before the stream.
func (s *Service) Ready(ctx context.Context, p GenerateParams) error {
	if strings.TrimSpace(p.Description) == "" && strings.TrimSpace(p.Outline) == "" {
		return domain.Invalid("/description", "a description or an outline is required")
	}
	_, err := s.Pick(ctx, p.ProjectID, p.ProviderID)
	return err
}

// Generate drafts a chat flow from a description or an outline: one
// answer constrained by the registry's schema, checked by the linter, and
// at most MaxRepairRounds repairs sending the errors back with their JSON
// pointers. It always returns a draft once the first answer came (the best
// one, with its problems, when repair did not succeed); it returns an error
// only when no usable answer came at all. Nothing is stored.
func (s *Service) Generate(ctx context.Context, p GenerateParams, progress func(Progress)) (Draft, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	if strings.TrimSpace(p.Description) == "" && strings.TrimSpace(p.Outline) == "" {
		return Draft{}, domain.Invalid("/description", "a description or an outline is required")
	}
	prov, err := s.Pick(ctx, p.ProjectID, p.ProviderID)
	if err != nil {
		return Draft{}, err
	}
	return s.GenerateWith(ctx, prov, p, progress)
}

// GenerateWith is Generate with a provider given rather than picked from
// the project's (the bench runs the evaluation set with one that is not
// stored).
func (s *Service) GenerateWith(ctx context.Context, prov store.AIProvider, p GenerateParams, progress func(Progress)) (Draft, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	if strings.TrimSpace(p.Description) == "" && strings.TrimSpace(p.Outline) == "" {
		return Draft{}, domain.Invalid("/description", "a description or an outline is required")
	}
	progress(Progress{Stage: StagePlanning, Detail: fmt.Sprintf("asking %s (%s) for a flow built from %d node types", prov.Name, prov.Model, len(generatableTypes()))})
	schema := FlowSchema()
	msgs := []Message{{Role: "system", Content: systemPrompt(prov.JSONMode, schema)}, {Role: "user", Content: userPrompt(p)}}
	var usage Usage
	var best *candidate
	var lastErr error
	for round := 0; round <= MaxRepairRounds; round++ {
		stage := Progress{Stage: StageDrafting, Detail: "the model is writing the flow"}
		if round > 0 {
			stage = Progress{Stage: StageRepairing, Round: round, MaxRounds: MaxRepairRounds, Detail: fmt.Sprintf("sending %d problems back to the model", best.errors)}
		}
		progress(stage)
		res, err := s.Complete(ctx, prov, Request{Messages: msgs, Schema: schema, SchemaName: "parley_flow", Stream: true,
			OnDelta: func(n int) {
				if n/500 != (n-1)/500 || n == 1 { // every 500 characters
					st := stage
					st.Chars = n
					progress(st)
				}
			}})
		usage.Calls++
		usage.PromptTokens += res.PromptTokens
		usage.OutputTokens += res.OutputTokens
		if err != nil {
			lastErr = err
			if best == nil && round == 0 {
				return Draft{Usage: usage}, err
			}
			break
		}
		progress(Progress{Stage: StageValidating, Round: round, Detail: "checking the answer against the schema and the linter"})
		c := check(res.Content, res.FinishReason, p)
		if best == nil || c.errors < best.errors {
			best = &c
		}
		if c.errors == 0 {
			break
		}
		if round == MaxRepairRounds {
			break
		}
		msgs = append(msgs, Message{Role: "assistant", Content: res.Content}, Message{Role: "user", Content: repairPrompt(c.problems)})
	}
	if best == nil {
		return Draft{Usage: usage}, lastErr
	}
	d := Draft{Name: best.name, FlowData: best.data, Problems: best.problems, Lints: best.errors == 0, Rounds: max(usage.Calls-1, 0), Usage: usage, Tests: []TestRun{}}
	if d.Problems == nil {
		d.Problems = flow.Problems{}
	}
	switch {
	case d.Lints:
		progress(Progress{Stage: StageTestRunning, Detail: fmt.Sprintf("running %d test conversations in the simulator", len(best.tests))})
		d.Tests = runTests(ctx, best.graph, best.tests)
		d.Status, d.Note = "ready", "the flow lints and its test conversations end as expected; nothing is saved until you create the flow"
		for _, t := range d.Tests {
			if !t.Passed {
				d.Status, d.Note = "tests_failing", "the flow lints but a test conversation did not end as expected: review it before publishing"
				break
			}
		}
	case lastErr != nil:
		d.Status, d.Note = "has_problems", fmt.Sprintf("the model stopped answering during repair (%v); this is the best draft, with its problems", lastErr)
	default:
		d.Status, d.Note = "has_problems", fmt.Sprintf("the flow still has %d lint errors after %d repair rounds; this is the best draft, with its problems — fix them on the canvas", best.errors, MaxRepairRounds)
	}
	progress(Progress{Stage: StageDone, Detail: d.Note})
	return d, nil
}

// check parses an answer and lints the graph in it. Problems a model can
// act on carry the JSON pointer of what is wrong in its own answer.
func check(content, finish string, p GenerateParams) candidate {
	c := candidate{data: json.RawMessage(`{"nodes":[],"edges":[]}`)}
	fail := func(ptr, code, msg string) candidate {
		c.problems = flow.Problems{{Severity: flow.SeverityError, Code: code, Pointer: ptr, Message: msg}}
		c.errors = 1 << 20 // worse than any graph
		return c
	}
	var a answer
	if err := json.Unmarshal([]byte(stripFence(content)), &a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fail("/"+strings.ReplaceAll(te.Field, ".", "/"), "wrong_type", fmt.Sprintf("%s must be a JSON %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value))
		}
		msg := "the answer is not valid JSON: " + err.Error()
		if finish == "length" {
			msg = "the answer was cut at the provider's max_tokens before the JSON was complete: write a shorter flow"
		}
		return fail("", "invalid_json", msg)
	}
	for i, e := range a.Edges {
		a.Edges[i] = renameHandle(e)
	}
	if a.Nodes == nil {
		return fail("/nodes", "missing_field", "the answer has no nodes array")
	}
	c.name, c.tests = strings.TrimSpace(a.Name), a.Tests
	if c.name == "" {
		c.name = "Generated flow"
	}
	doc := map[string]any{"nodes": a.Nodes, "edges": a.Edges}
	if a.Edges == nil {
		doc["edges"] = []any{}
	}
	raw, _ := json.Marshal(doc)
	g, err := flow.DecodeGraph(raw)
	if err != nil {
		var de *flow.DecodeError
		if errors.As(err, &de) {
			return fail(de.Pointer, "wrong_type", de.Error())
		}
		return fail("", "wrong_type", err.Error())
	}
	if p.Trigger != nil {
		setTrigger(&g, p.Trigger)
	}
	layout(&g)
	c.graph = g
	c.data, _ = json.Marshal(g)
	c.problems = flow.Lint(g, noRefs{})
	c.errors = len(c.problems.Errors())
	return c
}

// jsonKind names a Go kind the way JSON does.
func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return k
}

// renameHandle accepts source_handle (the schema's name, easier for a
// model) for React Flow's sourceHandle.
func renameHandle(e json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(e, &m) != nil {
		return e
	}
	if h, ok := m["source_handle"]; ok {
		if _, has := m["sourceHandle"]; !has {
			m["sourceHandle"] = h
		}
		delete(m, "source_handle")
	}
	b, _ := json.Marshal(m)
	return b
}

// noRefs is the lint environment of a draft: it knows no template and no
// subflow, so a reference the model makes up is a lint error naming it,
// which the user resolves by picking a real one on the canvas.
type noRefs struct{}

func (noRefs) TemplateExists(string, string) bool { return false }
func (noRefs) FlowExists(string) bool             { return false }

// stripFence removes a ```json fence local models like to add.
func stripFence(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s[strings.Index(s, "\n")+1:], "")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	}
	return s
}

// setTrigger replaces the start node's trigger with the caller's.
func setTrigger(g *flow.Graph, trigger map[string]any) {
	for i, n := range g.Nodes {
		if n.Type != "start" {
			continue
		}
		var data map[string]any
		if json.Unmarshal(n.Data, &data) != nil || data == nil {
			data = map[string]any{}
		}
		data["trigger"] = trigger
		g.Nodes[i].Data, _ = json.Marshal(data)
	}
}

// layout places nodes in rows by their distance from the start, so the
// draft shows readably on the canvas.
func layout(g *flow.Graph) {
	depth := map[string]int{}
	var queue []string
	for _, n := range g.Nodes {
		if n.Type == "start" {
			depth[n.ID] = 0
			queue = append(queue, n.ID)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, e := range g.Edges {
			if _, seen := depth[e.Target]; e.Source == id && !seen {
				depth[e.Target] = depth[id] + 1
				queue = append(queue, e.Target)
			}
		}
	}
	row := map[int]int{}
	maxDepth := 0
	for _, d := range depth {
		maxDepth = max(maxDepth, d)
	}
	for i, n := range g.Nodes {
		d, ok := depth[n.ID]
		if !ok {
			d = maxDepth + 1
		}
		g.Nodes[i].Position = &flow.Position{X: float64(row[d] * 320), Y: float64(d * 200)}
		row[d]++
	}
}

func systemPrompt(mode string, schema json.RawMessage) string {
	var b strings.Builder
	b.WriteString("You design chat flows for Parley, a messaging automation platform. Answer with one JSON object and nothing else: " +
		`{"name", "nodes": [{"id", "type", "data"}], "edges": [{"id", "source", "source_handle", "target"}], "tests": [{"name", "messages", "expect"}]}.` + "\n" +
		"Rules:\n- Use only the node types below, with only their data fields. Exactly one start node.\n" +
		"- Every edge leaves from an exit of its source node named in source_handle (a message node's exits are its buttons' titles, list rows' ids, plus other for any other reply, and timeout), and goes to an existing node id.\n" +
		"- Connect every exit that can fire; every path reaches an end node; a loop must wait for the contact.\n" +
		"- Only reference variables set earlier (by set_variable, wait_for_response save_as, etc.).\n" +
		"- Write 2 to 5 tests: conversations a contact could have (the first message triggers the flow, then replies or button titles), and whether the session is completed or still waiting after the last message.\n")
	b.WriteString("Node types (type, description, data fields, exits):\n")
	b.Write(catalogue())
	if mode == JSONObject {
		b.WriteString("\nThe answer must conform to this JSON schema:\n")
		b.Write(schema)
	}
	return b.String()
}

func userPrompt(p GenerateParams) string {
	var b strings.Builder
	if p.Outline != "" {
		b.WriteString("Build the flow from this outline (YAML steps):\n" + p.Outline + "\n")
	}
	if p.Description != "" {
		b.WriteString("Build this flow: " + p.Description + "\n")
	}
	if len(p.ChannelTypes) > 0 {
		b.WriteString("It runs on these channels: " + strings.Join(p.ChannelTypes, ", ") + " (respect their limits: at most 3 buttons of 20 characters).\n")
	}
	if p.Language != "" {
		b.WriteString("Write the messages in this language: " + p.Language + ".\n")
	}
	if p.Trigger != nil {
		t, _ := json.Marshal(p.Trigger)
		b.WriteString("The start node's data.trigger is " + string(t) + ".\n")
	}
	return b.String()
}

// repairPrompt lists the linter's errors, each with the JSON pointer into
// {"nodes","edges"} of the answer, the way the model can fix them.
func repairPrompt(ps flow.Problems) string {
	var b strings.Builder
	b.WriteString("Your flow has these errors (JSON pointers into your answer's nodes and edges). Fix every one and answer with the whole corrected JSON object:\n")
	for _, p := range ps.Errors() {
		ptr := p.Pointer
		if ptr == "" {
			ptr = "(the whole answer)"
		}
		fmt.Fprintf(&b, "- %s [%s] %s\n", ptr, p.Code, p.Message)
	}
	return b.String()
}
