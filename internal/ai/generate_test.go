package ai_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// InventedType uses a node type that does not exist.
var InventedType = strings.Replace(ValidFlow, `"id":"yes","type":"message"`, `"id":"yes","type":"send_sms"`, 1)

// Dangling has an edge to a node that does not exist.
var Dangling = strings.Replace(ValidFlow, `"source":"yes","source_handle":"next","target":"end"`, `"source":"yes","source_handle":"next","target":"nowhere"`, 1)

// SchemaViolation has nodes that are not an array.
const SchemaViolation = `{"name":"x","nodes":{"start":{}},"edges":[],"tests":[]}`

// WrongTest expects a conversation to complete that keeps waiting.
var WrongTest = strings.Replace(ValidFlow, `"messages":["news"],"expect":"waiting"`, `"messages":["news"],"expect":"completed"`, 1)

func TestGenerate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		mode      string
		timeout   int
		replies   []aitest.Reply
		status    string // draft status; "" when an error is expected
		errCode   domain.Code
		errText   string
		rounds    int
		stages    []string
		wantCodes []string // problem codes in the draft
	}{
		{name: "valid at once", replies: []aitest.Reply{{Content: ValidFlow}}, status: "ready",
			stages: []string{"planning", "drafting", "validating", "test-running", "done"}},
		{name: "valid in json_object mode, fenced", mode: ai.JSONObject, replies: []aitest.Reply{{Content: "```json\n" + ValidFlow + "\n```"}}, status: "ready"},
		{name: "invalid JSON repaired", replies: []aitest.Reply{{Content: `{"name": "x", "nodes": [`}, {Content: ValidFlow}}, status: "ready", rounds: 1,
			stages: []string{"planning", "drafting", "validating", "repairing", "validating", "test-running", "done"}},
		{name: "schema violation repaired", replies: []aitest.Reply{{Content: SchemaViolation}, {Content: ValidFlow}}, status: "ready", rounds: 1},
		{name: "invented node type repaired", replies: []aitest.Reply{{Content: InventedType}, {Content: ValidFlow}}, status: "ready", rounds: 1},
		{name: "dangling edge repaired twice", replies: []aitest.Reply{{Content: Dangling}, {Content: InventedType}, {Content: ValidFlow}}, status: "ready", rounds: 2},
		{name: "never repaired: best draft with problems", replies: []aitest.Reply{{Content: SchemaViolation}, {Content: InventedType}, {Content: Dangling}, {Content: InventedType}},
			status: "has_problems", rounds: 3, wantCodes: []string{"unknown_node_type"}},
		{name: "test conversation fails", replies: []aitest.Reply{{Content: WrongTest}}, status: "tests_failing"},
		{name: "truncated stream first", replies: []aitest.Reply{{Content: ValidFlow, Truncate: true}}, errCode: domain.CodeUnavailable, errText: "ended its stream"},
		{name: "cut at max_tokens repaired", replies: []aitest.Reply{{Content: ValidFlow[:200], FinishReason: "length"}, {Content: ValidFlow}}, status: "ready", rounds: 1},
		{name: "429", replies: []aitest.Reply{{Status: 429, Content: "Rate limit reached"}}, errCode: domain.CodeRateLimited, errText: "429"},
		{name: "500", replies: []aitest.Reply{{Status: 500, Content: "model crashed"}}, errCode: domain.CodeUnavailable, errText: "model crashed"},
		{name: "503 during repair keeps the best draft", replies: []aitest.Reply{{Content: Dangling}, {Status: 503, Content: "overloaded"}}, status: "has_problems", rounds: 1,
			wantCodes: []string{"dangling_edge"}},
		{name: "slow answer times out", timeout: 1, replies: []aitest.Reply{{Content: ValidFlow, Delay: 5 * time.Second}}, errCode: domain.CodeUnavailable, errText: "did not answer within 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.provider(t, tc.mode, tc.timeout)
			e.fake.Script(tc.replies...)
			var stages []string
			d, err := e.svc.Generate(context.Background(), ai.GenerateParams{ProjectID: "p1", Description: "newsletter opt-in", Language: "en"}, func(p ai.Progress) {
				if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
					stages = append(stages, p.Stage)
				}
			})
			if tc.status == "" {
				if domain.CodeOf(err) != tc.errCode || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %s containing %q", err, tc.errCode, tc.errText)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if d.Status != tc.status || d.Rounds != tc.rounds || d.Lints != (tc.status != "has_problems") {
					t.Fatalf("draft = status %s rounds %d lints %v note %q problems %+v", d.Status, d.Rounds, d.Lints, d.Note, d.Problems)
				}
				if d.Lints && (len(d.Tests) != 2 || len(d.FlowData) < 100) {
					t.Fatalf("tests = %+v", d.Tests)
				}
				for _, c := range tc.wantCodes {
					found := false
					for _, p := range d.Problems {
						found = found || p.Code == c && strings.HasPrefix(p.Pointer, "/")
					}
					if !found {
						t.Errorf("problems %+v lack %s", d.Problems, c)
					}
				}
			}
			if tc.stages != nil && strings.Join(stages, ",") != strings.Join(tc.stages, ",") {
				t.Errorf("stages = %v, want %v", stages, tc.stages)
			}
			reqs := e.fake.Requests()
			for i, r := range reqs {
				if len(r.ToolChoice) > 0 {
					t.Errorf("request %d sent tool_choice", i)
				}
				want := `"json_schema"`
				if tc.mode == ai.JSONObject {
					want = `"json_object"`
				}
				if !strings.Contains(string(r.ResponseFormat), want) {
					t.Errorf("request %d response_format = %s", i, r.ResponseFormat)
				}
				if i > 0 && !strings.Contains(r.Messages[len(r.Messages)-1].Content, "- /") && !strings.Contains(r.Messages[len(r.Messages)-1].Content, "[invalid_json]") {
					t.Errorf("repair request %d names no JSON pointer: %q", i, r.Messages[len(r.Messages)-1].Content)
				}
			}
			if tc.mode == ai.JSONObject && !strings.Contains(reqs[0].Messages[0].Content, `"additionalProperties"`) {
				t.Error("json_object mode without the schema in the prompt")
			}
			// Nothing is ever saved.
			l, err := e.st.FlowList(context.Background(), store.FlowListParams{ProjectID: "p1"})
			if err != nil || len(l.Items) != 0 {
				t.Fatalf("flows saved: %v %+v", err, l.Items)
			}
		})
	}
}

func TestFlowSchemaOnlyRealTypes(t *testing.T) {
	t.Parallel()
	s := string(ai.FlowSchema())
	// ai_agent runs with the project's provider, so the generator may use it.
	for _, want := range []string{`"enum":["message"]`, `"enum":["start"]`, `"enum":["end"]`, `"enum":["ai_agent"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("schema lacks %s", want)
		}
	}
	// Only the types that run: every registered type the registry marks
	// unavailable is absent (none is today; the rule stays).
	for _, nt := range flow.NodeTypes() {
		if bad := `"enum":["` + nt.Type + `"]`; !nt.Available && strings.Contains(s, bad) {
			t.Errorf("schema offers the unavailable %s", bad)
		}
	}
}
