package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
)

// TestSimulatorLiveCall: a simulated session's voice_call is answered by
// the person testing the flow — they read the agent's lines and say
// theirs through the simulator's call routes, or hang up — and the
// session goes on with the call's result.
func TestSimulatorLiveCall(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		lines  []string
		hangUp bool
		exit   string // the end node reached
		want   []string
	}{
		{"two turns", []string{"Hello?", "Tuesday works."}, false, "done", []string{"agent:Hi Ann, this is the clinic.", "callee:Hello?", "agent:When would suit you?", "callee:Tuesday works.", "agent:Booked for Tuesday. Goodbye!", "ended"}},
		{"hang up", []string{"Hello?"}, true, "done", []string{"agent:Hi Ann, this is the clinic.", "callee:Hello?", "agent:When would suit you?", "ended"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000001"})
			voice := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Clinic line", "config": map[string]any{"number": "+14155550100"}}, http.StatusCreated)
			addCallModel(t, r, "When would suit you?", "Booked for Tuesday. Goodbye!", "Booked for Tuesday.")
			f := r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "flow_data": json.RawMessage(strings.Replace(callFlow, "VOICE", voice["id"].(string), 1))}, http.StatusCreated)
			sess := r.must("POST", "/simulator/sessions/", map[string]any{"flow_id": f["id"], "draft": true, "contact": map[string]any{"name": "Ann", "phone": "+15557654321"}}, http.StatusCreated)
			path := "/simulator/sessions/" + sess["id"].(string) + "/call/"

			var seen []string
			after := 0
			follow := func(until string) {
				t.Helper()
				for deadline := time.Now().Add(20 * time.Second); ; {
					v := r.must("GET", fmt.Sprintf("%s?after=%d&wait_ms=2000", path, after), nil, http.StatusOK)
					after = int(v["cursor"].(float64))
					for _, e := range v["events"].([]any) {
						ev := e.(map[string]any)
						s, _ := ev["kind"].(string)
						if txt, _ := ev["text"].(string); txt != "" {
							s += ":" + txt
						}
						if s == "agent" || s == "callee" || strings.Contains(s, ":") || s == "ended" {
							seen = append(seen, s)
						}
					}
					if len(seen) > 0 && seen[len(seen)-1] == until || until == "result" && v["result"] != nil {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("waited for %q; saw %q (last %v)", until, seen, v)
					}
				}
			}
			follow("agent:Hi Ann, this is the clinic.")
			for i, l := range tc.lines {
				r.must("POST", path+"lines/", map[string]any{"text": l}, http.StatusOK)
				if i == 0 {
					follow("agent:When would suit you?")
				}
			}
			if tc.hangUp {
				r.must("POST", path+"hangup/", nil, http.StatusOK)
			}
			follow("result")
			if strings.Join(seen, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("the callee saw %q, want %q", seen, tc.want)
			}
			// The line is closed; the session went on with the result.
			if st, raw := r.call("POST", path+"lines/", map[string]any{"text": "still there?"}); st != http.StatusConflict {
				t.Fatalf("a line after the end: %d %s", st, raw)
			}
			var v map[string]any
			r.eventually("the session goes on after the call", func() bool {
				v = r.must("GET", "/simulator/sessions/"+sess["id"].(string)+"/", nil, http.StatusOK)
				return v["status"] == "completed"
			})
			vars, _ := v["variables"].(map[string]any)
			call, _ := vars["call"].(map[string]any)
			if call["status"] != "completed" || call["outcome"] != "interested" || !strings.Contains(fmt.Sprint(v["path"]), tc.exit) {
				t.Fatalf("the session after the call: %v %v", v["path"], vars)
			}
		})
	}
}
