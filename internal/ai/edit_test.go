package ai_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
)

// BaseFlow is a saved draft the edit tests change: start → ask (Yes/No) →
// yes/no → end, with positions the editor must keep.
const BaseFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":10,"y":20},"data":{"trigger":{"type":"keyword","keywords":["news"],"match":"exact"}}},
 {"id":"ask","type":"message","position":{"x":10,"y":220},"data":{"text":"Do you want our newsletter?","buttons":["Yes","No"],"timeout_seconds":3600}},
 {"id":"yes","type":"message","position":{"x":-200,"y":420},"data":{"text":"Subscribed!"}},
 {"id":"no","type":"message","position":{"x":200,"y":420},"data":{"text":"OK, maybe later."}},
 {"id":"end","type":"end","position":{"x":10,"y":620},"data":{}}],
 "edges":[{"id":"e1","source":"start","sourceHandle":"next","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Yes","target":"yes"},
 {"id":"e3","source":"ask","sourceHandle":"No","target":"no"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"no"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"end"},
 {"id":"e6","source":"yes","sourceHandle":"next","target":"end"},
 {"id":"e7","source":"no","sourceHandle":"next","target":"end"}]}`

// Edit scripts the fake answers.
const (
	EditAddThanks = `{"summary":"thank the contact after subscribing","operations":[
 {"op":"add_node","node":{"id":"thanks","type":"message","data":{"text":"Thanks for joining!"}}},
 {"op":"remove_edge","id":"e6"},
 {"op":"add_edge","edge":{"id":"e8","source":"yes","source_handle":"next","target":"thanks"}},
 {"op":"add_edge","edge":{"id":"e9","source":"thanks","source_handle":"next","target":"end"}}]}`
	EditChangeText   = `{"summary":"friendlier question","operations":[{"op":"change_node","id":"ask","data":{"text":"Fancy our newsletter?"}}]}`
	EditRemoveNo     = `{"summary":"no goes straight to the end","operations":[{"op":"remove_node","id":"no"},{"op":"add_edge","edge":{"id":"n1","source":"ask","source_handle":"No","target":"end"}},{"op":"add_edge","edge":{"id":"n2","source":"ask","source_handle":"other","target":"end"}}]}`
	EditInvented     = `{"summary":"sms","operations":[{"op":"add_node","node":{"id":"sms","type":"send_sms","data":{}}}]}`
	EditDangling     = `{"summary":"x","operations":[{"op":"remove_edge","id":"e6"},{"op":"add_edge","edge":{"id":"e8","source":"yes","source_handle":"next","target":"nowhere"}}]}`
	EditUnknownNode  = `{"summary":"x","operations":[{"op":"change_node","id":"greeting","data":{"text":"hi"}}]}`
	EditSchemaBroken = `{"summary":"x","operations":{"op":"remove_node"}}`
	EditNothing      = `{"summary":"the flow already does that","operations":[]}`
)

func (e env) baseFlow(t *testing.T) chatflow.Flow {
	t.Helper()
	f, err := e.flows.Create(context.Background(), "p1", "tester", chatflow.CreateInput{Name: "Newsletter", FlowData: json.RawMessage(BaseFlow)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func nodeOf(g flow.Graph, id string) (flow.Node, bool) {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return flow.Node{}, false
}

func TestEdit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		mode       string
		timeout    int
		replies    []aitest.Reply
		status     string // "" when an error is expected
		errCode    domain.Code
		errText    string
		rounds     int
		added      []string // node IDs added
		removed    []string
		changed    []string
		edgesAdded int
		edgesGone  int
		repairHas  string // text the first repair request must carry
	}{
		{name: "add a node", replies: []aitest.Reply{{Content: EditAddThanks}}, status: "ready", added: []string{"thanks"}, edgesAdded: 2, edgesGone: 1},
		{name: "change a node's text", replies: []aitest.Reply{{Content: EditChangeText}}, status: "ready", changed: []string{"ask"}},
		{name: "remove a node and its edges", replies: []aitest.Reply{{Content: EditRemoveNo}}, status: "ready", removed: []string{"no"}, edgesAdded: 2, edgesGone: 3},
		{name: "no change", replies: []aitest.Reply{{Content: EditNothing}}, status: "no_change"},
		{name: "json_object mode, fenced", mode: ai.JSONObject, replies: []aitest.Reply{{Content: "```json\n" + EditChangeText + "\n```"}}, status: "ready", changed: []string{"ask"}},
		{name: "fenced answer", replies: []aitest.Reply{{Content: "```json\n" + EditChangeText + "\n```"}}, status: "ready", changed: []string{"ask"}},
		{name: "invalid JSON repaired", replies: []aitest.Reply{{Content: `{"summary":"x","operations":[`}, {Content: EditChangeText}}, status: "ready", rounds: 1, changed: []string{"ask"},
			repairHas: "[invalid_json]"},
		{name: "schema violation repaired", replies: []aitest.Reply{{Content: EditSchemaBroken}, {Content: EditChangeText}}, status: "ready", rounds: 1, changed: []string{"ask"},
			repairHas: "/operations"},
		{name: "invented node type repaired", replies: []aitest.Reply{{Content: EditInvented}, {Content: EditAddThanks}}, status: "ready", rounds: 1, added: []string{"thanks"}, edgesAdded: 2, edgesGone: 1,
			repairHas: "/operations/0/node/type [unknown_node_type]"},
		{name: "dangling edge repaired", replies: []aitest.Reply{{Content: EditDangling}, {Content: EditAddThanks}}, status: "ready", rounds: 1, added: []string{"thanks"}, edgesAdded: 2, edgesGone: 1,
			repairHas: "nowhere"},
		{name: "unknown node repaired", replies: []aitest.Reply{{Content: EditUnknownNode}, {Content: EditChangeText}}, status: "ready", rounds: 1, changed: []string{"ask"},
			repairHas: `there is no node \"greeting\"`},
		{name: "never repaired", replies: []aitest.Reply{{Content: EditDangling}, {Content: EditInvented}, {Content: EditDangling}, {Content: EditUnknownNode}}, status: "has_problems", rounds: 3,
			edgesAdded: 1, edgesGone: 1},
		{name: "cut at max_tokens repaired", replies: []aitest.Reply{{Content: EditAddThanks[:60], FinishReason: "length"}, {Content: EditChangeText}}, status: "ready", rounds: 1, changed: []string{"ask"},
			repairHas: "max_tokens"},
		{name: "truncated stream", replies: []aitest.Reply{{Content: EditAddThanks, Truncate: true}}, errCode: domain.CodeUnavailable, errText: "ended its stream"},
		{name: "429", replies: []aitest.Reply{{Status: 429, Content: "Rate limit reached"}}, errCode: domain.CodeRateLimited, errText: "429"},
		{name: "500", replies: []aitest.Reply{{Status: 500, Content: "model crashed"}}, errCode: domain.CodeUnavailable, errText: "model crashed"},
		{name: "503 during repair keeps the best", replies: []aitest.Reply{{Content: EditDangling}, {Status: 503, Content: "overloaded"}}, status: "has_problems", rounds: 1, edgesAdded: 1, edgesGone: 1},
		{name: "slow answer times out", timeout: 1, replies: []aitest.Reply{{Content: EditChangeText, Delay: 5 * time.Second}}, errCode: domain.CodeUnavailable, errText: "did not answer within 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.provider(t, tc.mode, tc.timeout)
			base := e.baseFlow(t)
			e.fake.Script(tc.replies...)
			var stages []string
			pr, err := e.svc.Edit(context.Background(), ai.EditParams{ProjectID: "p1", FlowID: base.ID, Instruction: "thank people who subscribe"}, func(p ai.Progress) {
				stages = append(stages, p.Stage)
			})
			if tc.status == "" {
				if domain.CodeOf(err) != tc.errCode || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %s containing %q", err, tc.errCode, tc.errText)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if pr.Status != tc.status || pr.Rounds != tc.rounds || pr.BaseVersion != base.Version || pr.FlowID != base.ID {
					t.Fatalf("proposal = status %s rounds %d base %d note %q problems %+v", pr.Status, pr.Rounds, pr.BaseVersion, pr.Note, pr.Problems)
				}
				if pr.Lints != (tc.status != "has_problems") {
					t.Errorf("lints = %v", pr.Lints)
				}
				if stages[0] != ai.StagePlanning || stages[len(stages)-1] != ai.StageDone {
					t.Errorf("stages = %v", stages)
				}
				ids := func(ns []flow.Node) string {
					var out []string
					for _, n := range ns {
						out = append(out, n.ID)
					}
					return strings.Join(out, ",")
				}
				var changed []string
				for _, c := range pr.Diff.NodesChanged {
					changed = append(changed, c.ID)
				}
				if ids(pr.Diff.NodesAdded) != strings.Join(tc.added, ",") || ids(pr.Diff.NodesRemoved) != strings.Join(tc.removed, ",") ||
					strings.Join(changed, ",") != strings.Join(tc.changed, ",") || len(pr.Diff.EdgesAdded) != tc.edgesAdded || len(pr.Diff.EdgesRemoved) != tc.edgesGone {
					t.Fatalf("diff = %+v", pr.Diff)
				}
				// Untouched nodes are exactly as they were: data and position.
				touched := strings.Join(append(append(tc.added, tc.removed...), tc.changed...), ",")
				for _, old := range base.FlowData.Nodes {
					n, ok := nodeOf(pr.FlowData, old.ID)
					if strings.Contains(touched, old.ID) {
						continue
					}
					if !ok || string(n.Data) != string(old.Data) || *n.Position != *old.Position || n.Type != old.Type {
						t.Errorf("untouched node %s changed: %+v → %+v", old.ID, old, n)
					}
				}
				for _, c := range pr.Diff.NodesChanged {
					if string(c.Before.Data) == string(c.After.Data) || *c.Before.Position != *c.After.Position {
						t.Errorf("change %s: before %s after %s", c.ID, c.Before.Data, c.After.Data)
					}
				}
				for _, n := range pr.Diff.NodesAdded {
					if n.Position == nil {
						t.Errorf("added node %s has no position", n.ID)
					}
				}
				if tc.status == "has_problems" && (len(pr.Problems) == 0 || !strings.Contains(pr.Note, "problems")) {
					t.Errorf("has_problems without problems: %+v %q", pr.Problems, pr.Note)
				}
			}
			reqs := e.fake.Requests()
			if len(reqs) > 0 && (!strings.Contains(reqs[0].Messages[1].Content, `"Do you want our newsletter?"`) || strings.Contains(reqs[0].Messages[1].Content, `"position"`)) {
				t.Errorf("the model is shown %q", reqs[0].Messages[1].Content)
			}
			for i, r := range reqs {
				ok := strings.Contains(string(r.ResponseFormat), `"parley_flow_edit"`)
				if tc.mode == ai.JSONObject {
					ok = strings.Contains(string(r.ResponseFormat), `"json_object"`) && strings.Contains(r.Messages[0].Content, `"operations"`) && strings.Contains(r.Messages[0].Content, `"additionalProperties"`)
				}
				if !ok || len(r.ToolChoice) > 0 {
					t.Errorf("request %d response_format %s tool_choice %s", i, r.ResponseFormat, r.ToolChoice)
				}
			}
			if tc.repairHas != "" {
				if len(reqs) < 2 || !strings.Contains(reqs[1].Messages[len(reqs[1].Messages)-1].Content, strings.ReplaceAll(tc.repairHas, `\"`, `"`)) {
					t.Errorf("repair request lacks %q: %+v", tc.repairHas, reqs[len(reqs)-1].Messages)
				}
			}
			// Nothing is saved.
			now, err := e.flows.Get(context.Background(), "p1", base.ID)
			if err != nil || now.Version != base.Version {
				t.Fatalf("flow saved: %v version %d → %d", err, base.Version, now.Version)
			}
		})
	}
}

func TestEditApplyWithBaseVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.provider(t, "", 0)
	base := e.baseFlow(t)
	e.fake.Script(aitest.Reply{Content: EditAddThanks}, aitest.Reply{Content: EditChangeText})
	ctx := context.Background()
	pr, err := e.svc.Edit(ctx, ai.EditParams{ProjectID: "p1", FlowID: base.ID, Instruction: "thank them"}, nil)
	if err != nil || pr.Status != "ready" {
		t.Fatalf("%v %+v", err, pr)
	}
	data, _ := json.Marshal(pr.FlowData)
	saved, err := e.flows.Update(ctx, "p1", base.ID, "tester", chatflow.UpdateInput{Version: pr.BaseVersion, FlowData: data})
	if err != nil || saved.Version != base.Version+1 {
		t.Fatalf("apply: %v %+v", err, saved.Version)
	}
	if _, ok := nodeOf(saved.FlowData, "thanks"); !ok {
		t.Fatal("applied draft lacks the new node")
	}
	// A second proposal made from the old version is refused: the draft moved.
	pr2, err := e.svc.Edit(ctx, ai.EditParams{ProjectID: "p1", FlowID: base.ID, Instruction: "friendlier"}, nil)
	if err != nil || pr2.BaseVersion != saved.Version {
		t.Fatalf("%v %+v", err, pr2)
	}
	data2, _ := json.Marshal(pr2.FlowData)
	if _, err := e.flows.Update(ctx, "p1", base.ID, "tester", chatflow.UpdateInput{Version: pr.BaseVersion, FlowData: data2}); domain.CodeOf(err) != domain.CodeConflict {
		t.Fatalf("stale apply: err = %v, want conflict", err)
	}
}

// TestEditOnABrokenDraft checks a draft's own lint errors do not send the
// model into repair rounds: only what the change breaks is repaired.
func TestEditOnABrokenDraft(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.provider(t, "", 0)
	broken := strings.Replace(BaseFlow, `"source":"no","sourceHandle":"next","target":"end"`, `"source":"no","sourceHandle":"next","target":"gone"`, 1)
	f, err := e.flows.Create(context.Background(), "p1", "tester", chatflow.CreateInput{Name: "Broken", FlowData: json.RawMessage(broken)})
	if err != nil {
		t.Fatal(err)
	}
	e.fake.Script(aitest.Reply{Content: EditChangeText}, aitest.Reply{Content: EditDangling}, aitest.Reply{Content: EditChangeText})
	pr, err := e.svc.Edit(context.Background(), ai.EditParams{ProjectID: "p1", FlowID: f.ID, Instruction: "friendlier"}, nil)
	if err != nil || pr.Rounds != 0 || pr.Status != "has_problems" || pr.Lints || pr.NewErrors != 0 || pr.BaseErrors == 0 || !strings.Contains(pr.Note, "remain") {
		t.Fatalf("%v %+v", err, pr)
	}
	// A change that breaks something more is repaired, and only its own
	// error is sent back.
	pr, err = e.svc.Edit(context.Background(), ai.EditParams{ProjectID: "p1", FlowID: f.ID, Instruction: "friendlier"}, nil)
	reqs := e.fake.Requests()
	repair, _, _ := strings.Cut(reqs[len(reqs)-1].Messages[len(reqs[len(reqs)-1].Messages)-1].Content, "The changed flow:")
	if err != nil || pr.Rounds != 1 || pr.NewErrors != 0 || !strings.Contains(repair, "nowhere") || strings.Contains(repair, "gone") {
		t.Fatalf("%v %+v\nrepair prompt: %s", err, pr, repair)
	}
}

func TestEditRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := e.baseFlow(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		p    ai.EditParams
		code domain.Code
		text string
	}{
		{"no instruction", ai.EditParams{ProjectID: "p1", FlowID: base.ID}, domain.CodeInvalid, "instruction"},
		{"no such flow", ai.EditParams{ProjectID: "p1", FlowID: "nope", Instruction: "x"}, domain.CodeNotFound, ""},
		{"no provider", ai.EditParams{ProjectID: "p1", FlowID: base.ID, Instruction: "x"}, domain.CodeConflict, "no AI provider configured"},
	} {
		_, err := e.svc.Edit(ctx, tc.p, nil)
		if domain.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if len(e.fake.Requests()) != 0 {
		t.Error("a refused edit called the model")
	}
}

// unavailableType is a type the registry knows but this build does not
// run (the generator may not use it), or an invented one when every type
// runs.
func unavailableType() string {
	for _, t := range flow.NodeTypes() {
		if !t.Available {
			return t.Type
		}
	}
	return "no_such_type"
}

func TestApplyEditKeepsUntouchedBytes(t *testing.T) {
	t.Parallel()
	var g flow.Graph
	if err := json.Unmarshal([]byte(BaseFlow), &g); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ops  string
		ptr  string // first problem's pointer; "" when it applies
	}{
		{"merge patch removes a field", `[{"op":"change_node","id":"ask","data":{"timeout_seconds":null}}]`, ""},
		{"duplicate id", `[{"op":"add_node","node":{"id":"ask","type":"end","data":{}}}]`, "/operations/0/node/id"},
		{"unknown op", `[{"op":"rename","id":"ask"}]`, "/operations/0/op"},
		{"unknown edge", `[{"op":"remove_edge","id":"zz"}]`, "/operations/0/id"},
		{"data not an object", `[{"op":"change_node","id":"ask","data":[1]}]`, "/operations/0/data"},
		{"invented type", `[{"op":"add_node","node":{"id":"v","type":"send_fax","data":{}}}]`, "/operations/0/node/type"},
		{"unavailable type", `[{"op":"add_node","node":{"id":"v","type":"` + unavailableType() + `","data":{}}}]`, "/operations/0/node/type"},
	} {
		var ops []ai.Operation
		if err := json.Unmarshal([]byte(tc.ops), &ops); err != nil {
			t.Fatal(err)
		}
		out, ps := ai.ApplyEdit(g, ops)
		switch {
		case tc.ptr == "" && len(ps) > 0:
			t.Errorf("%s: problems %+v", tc.name, ps)
		case tc.ptr != "" && (len(ps) == 0 || ps[0].Pointer != tc.ptr):
			t.Errorf("%s: problems %+v, want at %s", tc.name, ps, tc.ptr)
		}
		if tc.ptr == "" {
			ask, _ := nodeOf(out, "ask")
			if strings.Contains(string(ask.Data), "timeout_seconds") || !strings.Contains(string(ask.Data), "newsletter") {
				t.Errorf("%s: ask = %s", tc.name, ask.Data)
			}
			yes, _ := nodeOf(out, "yes")
			if string(yes.Data) != `{"text":"Subscribed!"}` {
				t.Errorf("%s: yes = %s", tc.name, yes.Data)
			}
		}
	}
}
