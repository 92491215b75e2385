package flow

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAIAgentNodeLint(t *testing.T) {
	t.Parallel()
	labels := []any{map[string]any{"id": "billing"}, map[string]any{"id": "tech", "label": "Tech"}}
	fields := []any{map[string]any{"name": "guests", "type": "number", "required": true}, map[string]any{"name": "plan", "type": "enum", "values": []any{"a", "b"}}}
	tests := []struct {
		name    string
		data    map[string]any
		exits   []string // edges to end; next and failed when nil
		code    string   // expected error code ("" = no error on the node)
		pointer string
		message string
	}{
		{"legacy data without mode", map[string]any{"system_prompt": "x", "send": true, "variable": "a"}, nil, "", "", ""},
		{"reply", map[string]any{"mode": "reply", "system_prompt": "x"}, nil, "", "", ""},
		{"reply conversation", map[string]any{"mode": "reply", "system_prompt": "x", "converse": true, "max_turns": 5, "timeout_seconds": 60, "stop_keyword": "DONE"},
			[]string{"next", "failed", "timeout"}, "", "", ""},
		{"converse outside reply", map[string]any{"mode": "extract", "system_prompt": "x", "converse": true, "fields": fields}, nil, CodeInvalidValue, "/nodes/3/data/converse", "only for reply"},
		{"max_turns too high", map[string]any{"mode": "reply", "system_prompt": "x", "converse": true, "max_turns": 99}, nil, CodeInvalidValue, "/nodes/3/data/max_turns", "between 0 and 50"},
		{"classify", map[string]any{"mode": "classify", "system_prompt": "x", "labels": labels}, []string{"billing", "tech", "other", "failed"}, "", "", ""},
		{"classify without labels", map[string]any{"mode": "classify", "system_prompt": "x"}, nil, CodeMissingField, "/nodes/3/data/labels", "at least one label"},
		{"classify label repeated", map[string]any{"mode": "classify", "system_prompt": "x", "labels": []any{map[string]any{"id": "a"}, map[string]any{"id": "A"}}},
			[]string{"a", "other"}, CodeDuplicateExitName, "/nodes/3/data/labels/1/id", "used twice"},
		{"classify label empty", map[string]any{"mode": "classify", "system_prompt": "x", "labels": []any{map[string]any{"id": " "}}},
			nil, CodeMissingField, "/nodes/3/data/labels/0/id", "no id"},
		{"classify label other", map[string]any{"mode": "classify", "system_prompt": "x", "labels": []any{map[string]any{"id": "other"}}},
			nil, CodeDuplicateExitName, "/nodes/3/data/labels/0/id", "clashes"},
		{"classify exits must be connected", map[string]any{"mode": "classify", "system_prompt": "x", "labels": labels}, []string{"billing"}, CodeUnconnectedExit, "", "tech"},
		{"labels outside classify", map[string]any{"mode": "reply", "system_prompt": "x", "labels": labels}, nil, CodeInvalidValue, "/nodes/3/data/labels", "only used in classify"},
		{"extract", map[string]any{"mode": "extract", "system_prompt": "x", "fields": fields}, nil, "", "", ""},
		{"extract without fields", map[string]any{"mode": "extract", "system_prompt": "x"}, nil, CodeMissingField, "/nodes/3/data/fields", "at least one field"},
		{"extract field name invalid", map[string]any{"mode": "extract", "system_prompt": "x", "fields": []any{map[string]any{"name": "1x", "type": "text"}}},
			nil, CodeInvalidValue, "/nodes/3/data/fields/0/name", "variable name"},
		{"extract field name reserved", map[string]any{"mode": "extract", "system_prompt": "x", "fields": []any{map[string]any{"name": "contact", "type": "text"}}},
			nil, CodeInvalidValue, "/nodes/3/data/fields/0/name", "reserved"},
		{"extract field twice", map[string]any{"mode": "extract", "system_prompt": "x", "fields": []any{map[string]any{"name": "a", "type": "text"}, map[string]any{"name": "a", "type": "date"}}},
			nil, CodeInvalidValue, "/nodes/3/data/fields/1/name", "twice"},
		{"enum without values", map[string]any{"mode": "extract", "system_prompt": "x", "fields": []any{map[string]any{"name": "a", "type": "enum"}}},
			nil, CodeMissingField, "/nodes/3/data/fields/0/values", "allowed values"},
		{"values on a text field", map[string]any{"mode": "extract", "system_prompt": "x", "fields": []any{map[string]any{"name": "a", "type": "text", "values": []any{"x"}}}},
			nil, CodeInvalidValue, "/nodes/3/data/fields/0/values", "for enum fields"},
		{"unknown field type", map[string]any{"mode": "extract", "system_prompt": "x", "fields": []any{map[string]any{"name": "a", "type": "colour"}}},
			nil, "", "/nodes/3/data/fields/0/type", ""},
		{"unknown mode", map[string]any{"mode": "chat", "system_prompt": "x"}, nil, "", "/nodes/3/data/mode", ""},
		{"fields outside extract", map[string]any{"mode": "classify", "system_prompt": "x", "labels": labels, "fields": fields},
			[]string{"billing", "tech", "other"}, CodeInvalidValue, "/nodes/3/data/fields", "only used in extract"},
		{"context variable invalid", map[string]any{"mode": "reply", "system_prompt": "x", "context_variables": []any{"ok", "no way"}},
			nil, CodeInvalidValue, "/nodes/3/data/context_variables/1", "variable name"},
		{"temperature", map[string]any{"mode": "reply", "system_prompt": "x", "temperature": 3}, nil, CodeInvalidValue, "/nodes/3/data/temperature", "between 0 and 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, _ := json.Marshal(tc.data)
			edges := []string{"s>m", "m>ai"}
			exits := tc.exits
			if exits == nil {
				exits = []string{"next", "failed"}
			}
			for _, x := range exits {
				edges = append(edges, "ai."+x+">end")
			}
			ps := Lint(g(t, with("ai:ai_agent:"+string(b)), edges...), fakeEnv{}).Errors()
			if tc.code == "" && tc.pointer == "" {
				if len(ps) > 0 {
					t.Fatalf("unexpected problems: %v", ps)
				}
				return
			}
			for _, p := range ps {
				if (tc.code == "" || p.Code == tc.code) && (tc.pointer == "" || p.Pointer == tc.pointer) && strings.Contains(p.Message, tc.message) && p.NodeID == "ai" {
					return
				}
			}
			t.Fatalf("want %s at %s containing %q; got %v", tc.code, tc.pointer, tc.message, ps)
		})
	}
}

// TestAIAgentSystemPromptReadingInput: a system prompt that reads the
// contact's message is a warning (injection risk).
func TestAIAgentSystemPromptReadingInput(t *testing.T) {
	t.Parallel()
	res := Lint(g(t, with(`ai:ai_agent:{"mode":"reply","system_prompt":"Answer {{ input.text }}"}`), "s>m", "m>ai", "ai.next>end", "ai.failed>end"), fakeEnv{})
	for _, p := range res {
		if p.NodeID == "ai" && p.Severity == SeverityWarning && strings.Contains(p.Message, "would then be read as instructions") {
			return
		}
	}
	t.Fatalf("no warning: %v", res)
}

// TestAIAgentClassifyExits: a classify node's exits are its labels, then
// other and failed; other nodes keep next, failed, timeout.
func TestAIAgentClassifyExits(t *testing.T) {
	t.Parallel()
	nt, _ := LookupNodeType(TypeAIAgent)
	if !nt.Available || nt.Reason != "" {
		t.Fatalf("ai_agent must be available (it runs with the project's provider): %+v", nt)
	}
	var data any
	_ = json.Unmarshal([]byte(`{"mode":"classify","labels":[{"id":"a"},{"id":"b"}]}`), &data)
	var names []string
	for _, x := range nt.Exits.of(data) {
		names = append(names, x.name)
	}
	if strings.Join(names, ",") != "a,b,other,failed" {
		t.Fatalf("classify exits = %v", names)
	}
	names = nil
	_ = json.Unmarshal([]byte(`{"mode":"reply"}`), &data)
	for _, x := range nt.Exits.of(data) {
		names = append(names, x.name)
	}
	if strings.Join(names, ",") != "next,failed" {
		t.Fatalf("reply exits = %v", names)
	}
	names = nil
	_ = json.Unmarshal([]byte(`{"mode":"reply","converse":true}`), &data)
	for _, x := range nt.Exits.of(data) {
		names = append(names, x.name)
	}
	if strings.Join(names, ",") != "next,failed,timeout" {
		t.Fatalf("conversation exits = %v", names)
	}
}

// aiEnv is a lint env that knows the project's AI providers.
type aiEnv struct {
	fakeEnv
	ids []string
}

func (e aiEnv) AIProviders() ([]string, bool) { return e.ids, true }

// TestAIAgentProviderLint: the linter says when the project has no
// provider (a warning: the node would take failed) and when a node names
// one the project lacks (an error).
func TestAIAgentProviderLint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		provider string
		env      LintEnv
		severity Severity // "" = no ai_no_provider problem
		pointer  string
	}{
		{"no provider", "", aiEnv{}, SeverityWarning, "/nodes/3/data"},
		{"default provider", "", aiEnv{ids: []string{"p1"}}, "", ""},
		{"chosen provider", "p2", aiEnv{ids: []string{"p1", "p2"}}, "", ""},
		{"unknown provider", "p9", aiEnv{ids: []string{"p1"}}, SeverityError, "/nodes/3/data/provider"},
		{"env without providers (published revision)", "p9", fakeEnv{}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, _ := json.Marshal(map[string]any{"mode": "reply", "system_prompt": "x", "provider": tc.provider})
			ps := Lint(g(t, with("ai:ai_agent:"+string(b)), "s>m", "m>ai", "ai.next>end", "ai.failed>end"), tc.env)
			var got *Problem
			for i := range ps {
				if ps[i].Code == CodeAINoProvider {
					got = &ps[i]
				}
			}
			switch {
			case tc.severity == "" && got != nil:
				t.Fatalf("unexpected %v", *got)
			case tc.severity != "" && (got == nil || got.Severity != tc.severity || got.Pointer != tc.pointer || got.NodeID != "ai"):
				t.Fatalf("want %s at %s; got %v", tc.severity, tc.pointer, ps)
			}
		})
	}
}
