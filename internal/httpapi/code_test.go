package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSimulatorCodeNode: a code node runs in the simulator on the real
// script runner (set up like the app's), a runaway script takes the failed
// exit, and a syntax error is reported when the flow is saved, with the
// pointer of the code field and the line and column.
func TestSimulatorCodeNode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.bearer(h.tenant("Alpha").token)
	graph := func(code string) json.RawMessage {
		b, _ := json.Marshal(code)
		return json.RawMessage(`{"nodes":[{"id":"s","type":"start","data":{"trigger":{"type":"manual"}}},
 {"id":"c","type":"code","data":{"code":` + string(b) + `,"timeout_ms":100}},
 {"id":"ok","type":"end","data":{"text":"Total {{total}}"}},
 {"id":"ko","type":"end","data":{"text":"Sorry"}}],
 "edges":[{"id":"e1","source":"s","target":"c"},{"id":"e2","source":"c","sourceHandle":"next","target":"ok"},{"id":"e3","source":"c","sourceHandle":"failed","target":"ko"}]}`)
	}
	tests := []struct {
		name, code, want string
	}{
		{"computes", "return {variables: {total: 3 * 4 + ' for ' + contact.name}}", "Total 12 for Zoe"},
		{"runaway", "for (;;) {}", "Sorry"},
	}
	for _, tc := range tests {
		f := c.do("POST", "/chat-flow/flows/", map[string]any{"name": tc.name, "flow_data": graph(tc.code)}).want(http.StatusCreated).json()
		sim := c.do("POST", "/simulator/sessions/", map[string]any{"flow_id": f["id"], "draft": true, "contact": map[string]any{"name": "Zoe"}}).want(http.StatusCreated).json()
		if out := lastOut(sim); out == nil || out["text"] != tc.want {
			t.Fatalf("%s: simulation = %v", tc.name, sim)
		}
	}
	f := c.do("POST", "/chat-flow/flows/", map[string]any{"name": "broken", "flow_data": graph("let a = 1;\nlet b = = 2;")}).want(http.StatusCreated).json()
	found := false
	for _, p := range f["problems"].([]any) {
		pm := p.(map[string]any)
		if pm["code"] == "script_syntax" && pm["pointer"] == "/flow_data/nodes/1/data/code" && strings.Contains(fmt.Sprint(pm["message"]), "line 2, column 9") {
			found = true
		}
	}
	if !found {
		t.Fatalf("problems = %v", f["problems"])
	}
}

// TestCodeTestRun: the editor's test run uses the same runner and limits
// as the engine; syntax errors are 422s at /code with line and column.
func TestCodeTestRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.bearer(h.tenant("Alpha").token)
	tests := []struct {
		name string
		body map[string]any
		want map[string]any // members of the answer
		err  string         // substring of the answer's error
	}{
		{"result", map[string]any{"code": "return {variables: {total: vars.qty * 2, who: contact.name, said: trigger.input.text}, exit: 'big'}",
			"variables": map[string]any{"qty": 21}, "contact": map[string]any{"name": "Zoe"}, "input_text": "hi"},
			map[string]any{"exit": "big", "variables": map[string]any{"total": float64(42), "who": "Zoe", "said": "hi"}}, ""},
		{"runaway", map[string]any{"code": "for (;;) {}", "timeout_ms": 50}, nil, "time limit"},
		{"throws", map[string]any{"code": "throw new Error('nope')"}, nil, "Error: nope"},
	}
	for _, tc := range tests {
		out := c.do("POST", "/chat-flow/code-test/", tc.body).want(http.StatusOK).json()
		if tc.err != "" {
			if !strings.Contains(fmt.Sprint(out["error"]), tc.err) {
				t.Fatalf("%s: %v", tc.name, out)
			}
			continue
		}
		for k, v := range tc.want {
			if fmt.Sprint(out[k]) != fmt.Sprint(v) {
				t.Fatalf("%s: %s = %v, want %v", tc.name, k, out[k], v)
			}
		}
	}
	p := c.do("POST", "/chat-flow/code-test/", map[string]any{"code": "let a = 1;\nlet b = = 2;"}).problem(http.StatusUnprocessableEntity)
	if !strings.Contains(fmt.Sprint(p), "/code") || !strings.Contains(fmt.Sprint(p), "line 2, column 9") {
		t.Fatalf("problem = %v", p)
	}
	c.do("POST", "/chat-flow/code-test/", map[string]any{"code": "x", "timeout_ms": 9000}).problem(http.StatusUnprocessableEntity)
}
