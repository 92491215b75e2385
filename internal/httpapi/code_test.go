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
