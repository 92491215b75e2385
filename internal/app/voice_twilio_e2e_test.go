package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// TestVoiceCallThroughTwilio: the same flow as TestVoiceCallEndToEnd, on
// a Twilio voice number pointed at the fake Twilio: the call is created
// over Twilio's REST API, its signed status callbacks and TwiML request
// reach /webhooks/voice/{channel_id}/…, and the conversation runs over a
// ConversationRelay websocket.
func TestVoiceCallThroughTwilio(t *testing.T) {
	t.Parallel()
	const sid, token = "AC11111111111111111111111111111111", "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name   string
		script twiliotest.Script
		reply  string
		status string
	}{
		{"answered and classified", twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hello?", "Tuesday works."}}, "Thanks! Booked for Tuesday. (interested)", "completed"},
		{"busy", twiliotest.Script{Scenario: twiliotest.Busy}, "We could not reach you (busy).", "busy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := twiliotest.New(sid, token)
			t.Cleanup(fake.Close)
			fake.Expect("+15551234567", tc.script)
			r := startVoiceServer(t, "1000001")
			s := r.Server
			r.whatsAppChannel("1000001")
			voice := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Twilio line", "config": map[string]any{
				"number": "+14155550100", "provider": "twilio", "account_sid": sid, "auth_token": token, "api_base_url": fake.URL()}}, http.StatusCreated)
			if strings.Contains(string(mustJSON(voice)), token) {
				t.Fatal("the API shows the auth token")
			}
			addCallModel(t, r, "When would suit you?", "Booked for Tuesday. Goodbye!", "Booked for Tuesday.")
			r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true,
				"flow_data": json.RawMessage(strings.Replace(callFlow, "VOICE", voice["id"].(string), 1))}, http.StatusCreated)

			if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "call", ID: "wamid.CALL1"}); err != nil {
				t.Fatal(err)
			}
			r.eventually("the flow's answer after the call", func() bool { return len(r.fake.Messages()) == 1 })
			if body := string(r.fake.Messages()[0].Body); !strings.Contains(body, tc.reply) {
				t.Fatalf("sent %s, want %q", body, tc.reply)
			}
			calls := fake.Calls()
			if len(calls) != 1 {
				t.Fatalf("the fake Twilio got %d calls", len(calls))
			}
			c := calls[0]
			p := c.Params
			if p.Get("From") != "+14155550100" || p.Get("To") != "+15551234567" || p.Get("Record") != "true" ||
				!strings.HasPrefix(p.Get("Url"), s.Base+"/webhooks/voice/"+voice["id"].(string)+"/twiml/") ||
				!strings.HasPrefix(p.Get("StatusCallback"), s.Base+"/webhooks/voice/"+voice["id"].(string)+"/status/") {
				t.Fatalf("Create Call parameters %v", p)
			}
			if c.Status() != tc.status || len(c.Refused()) > 0 {
				t.Fatalf("fake call status %q, refused %q", c.Status(), c.Refused())
			}
			contact := r.contactByPhone("15551234567")
			rows, err := r.App.Store().CallList(context.Background(), store.CallListParams{ProjectID: r.ProjectID, ContactID: contact})
			if err != nil || len(rows) != 1 || rows[0].ProviderID != c.Sid {
				t.Fatalf("calls %+v %v, want the Twilio call %s", rows, err, c.Sid)
			}
			if tc.status == "completed" {
				heard := c.Heard()
				if len(heard) != 3 || heard[0] != "Hi Ann, this is the clinic." {
					t.Fatalf("the callee heard %q", heard)
				}
				var res struct {
					RecordingURL string `json:"recording_url"`
					Transcript   []any  `json:"transcript"`
				}
				if err := json.Unmarshal(rows[0].Result, &res); err != nil {
					t.Fatalf("the call's result %s: %v", rows[0].Result, err)
				}
				// The recording is Parley's, downloaded from Twilio once its
				// recording status callback came, and served behind auth.
				path := "/projects/" + r.ProjectID + "/calls/" + rows[0].ID + "/recording"
				if res.RecordingURL != s.Base+path || len(res.Transcript) != 5 {
					t.Fatalf("the call's result: recording %q, %d transcript lines", res.RecordingURL, len(res.Transcript))
				}
				r.eventually("the recording is stored", func() bool {
					st, _, raw := s.Call("GET", path, nil)
					return st == http.StatusOK && strings.HasPrefix(string(raw), "RIFF") && len(raw) > 1000
				})
			}
		})
	}
}

// TestSandboxTwilioNumber: `serve --sandbox` has a Twilio voice number
// whose calls go through the in-process fake Twilio.
func TestSandboxTwilioNumber(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000001"}})
	info, err := s.App.StartSandbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.TwilioVoiceID == "" || s.App.SandboxTwilio() == nil {
		t.Fatalf("the sandbox has no Twilio number: %+v", info)
	}
	r := &running{Server: s, t: t, base: s.Base, fake: s.Fake}
	r.whatsAppChannel("1000001")
	llm := aitest.New("m")
	t.Cleanup(llm.Close)
	llm.Fallback(func(req aitest.Request) aitest.Reply {
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			return aitest.Reply{Content: `{"outcome":"interested","summary":"Booked."}`}
		case len(req.Messages) > 3:
			return aitest.Reply{Content: `{"say":"Booked. Goodbye!","action":"end_call","reason":"booked"}`}
		}
		return aitest.Reply{Content: `{"say":"Does Tuesday suit you?","action":"continue","reason":""}`}
	})
	// This test scripts the model itself: the sandbox's fake LLM (the
	// project's first provider) makes way for it.
	r.must("DELETE", "/ai/providers/"+info.LLMProviderID+"/", nil, http.StatusNoContent)
	r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"}, http.StatusCreated)
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true,
		"flow_data": json.RawMessage(strings.Replace(callFlow, "VOICE", info.TwilioVoiceID, 1))}, http.StatusCreated)
	if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "call", ID: "wamid.CALL2"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the flow's answer after the call", func() bool { return len(r.fake.Messages()) == 1 })
	if body := string(r.fake.Messages()[0].Body); !strings.Contains(body, "Thanks! Booked. (interested)") {
		t.Fatalf("sent %s", body)
	}
	calls := s.App.SandboxTwilio().Calls()
	if len(calls) != 1 || len(calls[0].Heard()) < 2 || calls[0].Heard()[0] != "Hi Ann, this is the clinic." {
		t.Fatalf("the fake Twilio's calls %+v", calls)
	}
}

// TestSandboxTwilioNumberAudioMode: on `serve --sandbox` a voice step in
// audio mode (engine realtime) works with nothing configured: the sandbox
// serves a fake realtime model beside its fake LLM, and the fake Twilio's
// callees speak from the phrasebook it recognises.
func TestSandboxTwilioNumberAudioMode(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000001"}})
	info, err := s.App.StartSandbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := &running{Server: s, t: t, base: s.Base, fake: s.Fake}
	r.whatsAppChannel("1000001")
	flow := strings.Replace(callFlow, `"recording":true`, `"recording":true,"engine":"realtime","voice":"echo"`, 1)
	if flow == callFlow {
		t.Fatal("the call flow has no recording setting to put the engine beside")
	}
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true,
		"flow_data": json.RawMessage(strings.Replace(flow, "VOICE", info.TwilioVoiceID, 1))}, http.StatusCreated)
	if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "call", ID: "wamid.CALLSBRT"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the flow's answer after the call", func() bool { return len(r.fake.Messages()) == 1 })
	if body := string(r.fake.Messages()[0].Body); !strings.Contains(body, "Thanks!") {
		t.Fatalf("sent %s", body)
	}
	calls := s.App.SandboxTwilio().Calls()
	if len(calls) != 1 {
		t.Fatalf("the fake Twilio got %d calls", len(calls))
	}
	if tw := calls[0].TwiML(); len(tw) == 0 || !strings.Contains(tw[0], "<Stream") {
		t.Fatalf("the call's TwiML %q, want <Connect><Stream> (audio mode)", tw)
	}
	// The callee heard the greeting and at least one answer to what it
	// said: the fake realtime model understood its audio.
	if heard := calls[0].Heard(); len(heard) < 2 || heard[0] != "Hi Ann, this is the clinic." {
		t.Fatalf("the callee heard %q", heard)
	}
}
