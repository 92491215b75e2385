package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai/aitest"
)

// voiceFlow calls the contact on VOICE and ends; started by `sandbox
// call --flow`.
const voiceFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["ring"]}}},
 {"id":"call","type":"voice_call","position":{"x":0,"y":100},"data":{"channel_id":"VOICE","prompt":"Book a visit.","greeting":"Hi, this is the clinic.","recording":true,"variable":"call","outcomes":["interested","not_interested"]}},
 {"id":"done","type":"end","position":{"x":0,"y":200},"data":{}},
 {"id":"missed","type":"end","position":{"x":200,"y":200},"data":{}},
 {"id":"failed","type":"end","position":{"x":400,"y":200},"data":{}}
],"edges":[
 {"id":"e1","source":"start","target":"call"},
 {"id":"e2","source":"call","sourceHandle":"completed","target":"done"},
 {"id":"e3","source":"call","sourceHandle":"no_answer","target":"missed"},
 {"id":"e4","source":"call","sourceHandle":"failed","target":"failed"}
]}`

// TestSandboxCall: `serve --sandbox` has a simulated voice number, and
// `sandbox call --flow` makes the person the callee of the flow's call —
// with lines given by --say, typed on stdin, or a scenario that never
// answers — and prints the classified result.
func TestSandboxCall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"PARLEY_DATA_DIR": dir, "PARLEY_LOG_LEVEL": "warn", "PARLEY_JOB_POLL_INTERVAL": "20ms"}
	out, errb, done := serveSandbox(ctx, env)
	line := regexp.MustCompile(`simulated voice number "Sandbox voice line" \((\S+)\) is ready for voice steps: be the callee of a flow's call with\s+go run ./cmd/parley sandbox call --server (\S+) --flow`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
		m = line.FindStringSubmatch(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("serve --sandbox printed no voice line: %s %s", out.String(), errb.String())
		}
	}
	voiceID, base := m[1], m[2]

	llm := aitest.New("m")
	t.Cleanup(llm.Close)
	llm.Fallback(func(req aitest.Request) aitest.Reply {
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			return aitest.Reply{Content: `{"outcome":"interested","summary":"Booked for Tuesday."}`}
		case len(req.Messages) > 3:
			return aitest.Reply{Content: `{"say":"Booked for Tuesday. Goodbye!","action":"end_call","reason":"booked"}`}
		}
		return aitest.Reply{Content: `{"say":"When would suit you?","action":"continue","reason":""}`}
	})
	token, _, err := run(t, context.Background(), dir, "token", "create", "--project", "Default", "--name", "t")
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path string, body any) []byte {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		return raw
	}
	// This test scripts the model itself: the sandbox's fake LLM (the
	// project's first provider) makes way for it.
	var providers struct {
		Results []struct{ ID, Name string } `json:"results"`
	}
	if err := json.Unmarshal(api("GET", "/ai/providers/", nil), &providers); err != nil {
		t.Fatal(err)
	}
	for _, p := range providers.Results {
		api("DELETE", "/ai/providers/"+p.ID+"/", nil)
	}
	api("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"})
	api("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true, "flow_data": json.RawMessage(strings.Replace(voiceFlow, "VOICE", voiceID, 1))})

	callee := func(stdin io.Reader, args ...string) (string, error) {
		var o, e syncBuffer
		root := newRoot(&o, &e, func(k string) string { return map[string]string{"PARLEY_URL": base}[k] })
		root.SetIn(stdin)
		root.SetArgs(append([]string{"sandbox", "call", "--timeout", "60s"}, args...))
		err := root.ExecuteContext(context.Background())
		return o.String(), err
	}
	talk := []string{"Started \"Call me\" for +1555", "☎ ringing…", "You answered.", "agent: Hi, this is the clinic.", "agent: When would suit you?",
		"agent: Booked for Tuesday. Goodbye!", "The call ended (completed).", "Result: completed (agent hangup)", "Outcome: interested", "Summary: Booked for Tuesday.", "Recording: http://", "/calls/", "/recording"}
	cases := []struct {
		name  string
		args  []string
		typed bool
		want  []string
	}{
		{"lines given with --say", []string{"--flow", "Call me", "--number", "+15555550101", "--say", "Hello?", "--say", "Tuesday works."},
			false, append(talk, "you: Hello?", "you: Tuesday works.")},
		{"lines typed", []string{"--flow", "Call me", "--number", "+15555550102"}, true, append(talk, "Type what you say")},
		{"busy", []string{"--flow", "Call me", "--number", "+15555550103", "--scenario", "busy"}, false, []string{"☎ ringing…", "The call ended (busy).", "Result: busy"}},
		{"no answer", []string{"--flow", "Call me", "--number", "+15555550104", "--scenario", "no_answer"}, false, []string{"The call ended (no answer).", "Result: no_answer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdin io.Reader = strings.NewReader("")
			var got string
			var err error
			if tc.typed {
				// The person types each line once the agent has spoken.
				pr, pw := io.Pipe()
				stdin = pr
				var o, e syncBuffer
				root := newRoot(&o, &e, func(k string) string { return map[string]string{"PARLEY_URL": base}[k] })
				root.SetIn(pr)
				root.SetArgs(append([]string{"sandbox", "call", "--timeout", "60s"}, tc.args...))
				fin := make(chan error, 1)
				go func() { fin <- root.ExecuteContext(context.Background()) }()
				for _, step := range []struct{ after, say string }{{"agent: Hi, this is the clinic.", "Hello?\n"}, {"agent: When would suit you?", "Tuesday works.\n"}} {
					for deadline := time.Now().Add(30 * time.Second); !strings.Contains(o.String(), step.after); time.Sleep(20 * time.Millisecond) {
						if time.Now().After(deadline) {
							t.Fatalf("no %q in\n%s", step.after, o.String())
						}
					}
					if _, err := io.WriteString(pw, step.say); err != nil {
						t.Fatal(err)
					}
				}
				err = <-fin
				pw.Close()
				got = o.String()
			} else {
				got, err = callee(stdin, tc.args...)
			}
			t.Logf("sandbox call:\n%s", got)
			if err != nil {
				t.Fatalf("sandbox call: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Fatalf("sandbox call printed\n%s\nwant %q", got, w)
				}
			}
		})
	}

	// Mistakes are named.
	for _, bad := range []struct{ args []string }{{[]string{"--flow", "No such flow"}}, {[]string{"--to-channel", "nope"}}} {
		if _, err := callee(strings.NewReader(""), bad.args...); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad.args[1], "No such ")) {
			t.Fatalf("sandbox call %v: %v, want the mistake named", bad.args, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
