package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// callFlow: "call" on WhatsApp → the AI calls the customer → the flow
// says on WhatsApp how the call went.
const callFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["call"]}}},
 {"id":"call","type":"voice_call","position":{"x":0,"y":100},"data":{"channel_id":"VOICE","prompt":"Book a visit for {{contact.name}}.","greeting":"Hi {{contact.name}}, this is the clinic.","recording":true,"variable":"call","outcomes":["interested","not_interested"]}},
 {"id":"done","type":"end","position":{"x":0,"y":200},"data":{"text":"Thanks! {{vars.call.summary}} ({{vars.call.outcome}})"}},
 {"id":"missed","type":"end","position":{"x":200,"y":200},"data":{"text":"We could not reach you ({{vars.call.status}})."}},
 {"id":"failed","type":"end","position":{"x":400,"y":200},"data":{"text":"The call failed: {{vars.call.error}}"}}
],"edges":[
 {"id":"e1","source":"start","target":"call"},
 {"id":"e2","source":"call","sourceHandle":"completed","target":"done"},
 {"id":"e3","source":"call","sourceHandle":"no_answer","target":"missed"},
 {"id":"e4","source":"call","sourceHandle":"failed","target":"failed"}
]}`

// TestVoiceCallEndToEnd: a WhatsApp message starts a flow whose voice_call
// step calls the customer on a simulated voice number; the AI agent (a
// fake OpenAI-compatible model) talks, the call is classified, and the
// flow goes on with the call's result in its variable.
func TestVoiceCallEndToEnd(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		script sim.Script
		model  bool
		reply  string
	}{
		{"answered and classified", sim.Script{Scenario: sim.Answer, Lines: []string{"Hello?", "Tuesday works."}}, true, "Thanks! Booked for Tuesday. (interested)"},
		{"busy", sim.Script{Scenario: sim.Busy}, true, "We could not reach you (busy)."},
		{"no AI provider", sim.Script{Scenario: sim.Answer, Lines: []string{"Hello?"}}, false, "The call failed: no AI provider configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000001"})
			r.whatsAppChannel("1000001")
			voice := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Clinic line", "config": map[string]any{"number": "+14155550100"}}, http.StatusCreated)
			if voice["address"] != nil && voice["address"] != "+14155550100" {
				t.Fatalf("voice channel %v", voice)
			}
			if tc.model {
				addCallModel(t, r, "When would suit you?", "Booked for Tuesday. Goodbye!", "Booked for Tuesday.")
			}
			r.App.VoiceSim().Expect("+15551234567", tc.script)
			r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true,
				"flow_data": json.RawMessage(strings.Replace(callFlow, "VOICE", voice["id"].(string), 1))}, http.StatusCreated)

			if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "call", ID: "wamid.CALL1"}); err != nil {
				t.Fatal(err)
			}
			r.eventually("the flow's answer after the call", func() bool { return len(r.fake.Messages()) == 1 })
			if body := string(r.fake.Messages()[0].Body); !strings.Contains(body, tc.reply) {
				t.Fatalf("sent %s, want %q", body, tc.reply)
			}
			contact := r.contactByPhone("15551234567")
			calls, err := r.App.Store().CallList(context.Background(), store.CallListParams{ProjectID: r.ProjectID, ContactID: contact})
			if err != nil || len(calls) != 1 || calls[0].EndedAt == nil || calls[0].To != "+15551234567" {
				t.Fatalf("calls %+v %v", calls, err)
			}
			// The call is in the conversation, with its transcript.
			var found bool
			for _, m := range r.conversation(contact) {
				if m["type"] == "call" {
					found = true
				}
			}
			if !found {
				t.Errorf("the conversation does not show the call")
			}
			if tc.name == "answered and classified" {
				legs := r.App.VoiceSim().Legs()
				if len(legs) != 1 || !strings.HasPrefix(legs[0].Heard()[0], "Hi Ann, this is the clinic.") || legs[0].Dial().From != "+14155550100" {
					t.Fatalf("the callee heard %q from %q", legs[0].Heard(), legs[0].Dial().From)
				}
				// The simulated call was recorded: a synthesized WAV, stored
				// and served behind auth at the result's recording_url.
				var res struct {
					RecordingURL string `json:"recording_url"`
				}
				path := "/projects/" + r.ProjectID + "/calls/" + calls[0].ID + "/recording"
				if err := json.Unmarshal(calls[0].Result, &res); err != nil || res.RecordingURL != r.base+path {
					t.Fatalf("recording_url %q, want %s", res.RecordingURL, r.base+path)
				}
				st, _, raw := r.Call("GET", path, nil)
				if st != http.StatusOK || !strings.HasPrefix(string(raw), "RIFF") || len(raw) < 8000 {
					t.Fatalf("GET %s: %d, %d bytes", path, st, len(raw))
				}
				req, _ := http.NewRequest("GET", r.base+path, nil)
				if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("the recording without auth: %v %v", res, err)
				} else {
					res.Body.Close()
				}
			}
		})
	}
}

// addCallModel makes a fake OpenAI-compatible model the project's AI
// provider for calls: the agent asks question, ends the call with bye at
// the caller's second line, and the classifier answers "interested" with
// summary.
func addCallModel(t *testing.T, r *running, question, bye, summary string) {
	t.Helper()
	llm := aitest.New("m")
	t.Cleanup(llm.Close)
	say := func(text, action, reason string) aitest.Reply {
		b, _ := json.Marshal(map[string]string{"say": text, "action": action, "reason": reason})
		return aitest.Reply{Content: string(b)}
	}
	llm.Fallback(func(req aitest.Request) aitest.Reply {
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			b, _ := json.Marshal(map[string]string{"outcome": "interested", "summary": summary})
			return aitest.Reply{Content: string(b)}
		case len(req.Messages) > 3:
			return say(bye, "end_call", "booked")
		}
		return say(question, "continue", "")
	})
	r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"}, http.StatusCreated)
}
