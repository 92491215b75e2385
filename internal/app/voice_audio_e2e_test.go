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
	"github.com/parleyhq/parley/internal/voice/audiotest"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// TestVoiceCallRealtimeEngine: the call flow with engine realtime on a
// Twilio number: the call is answered with <Connect><Stream>, its μ-law
// audio goes over the Media Streams websocket to the realtime model
// reached at the project's AI provider (one fake server answers both the
// chat model and /v1/realtime), and the transcript, outcome and recording
// land in the same variables and call record as in text relay.
func TestVoiceCallRealtimeEngine(t *testing.T) {
	t.Parallel()
	const sid, token = "AC22222222222222222222222222222222", "0123456789abcdef0123456789abcdef"
	book := audiotest.NewBook()
	fake := twiliotest.New(sid, token)
	fake.Book = book
	t.Cleanup(fake.Close)
	fake.Expect("+15551234567", twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hello?", "Tuesday works."}})
	r := startVoiceServer(t, "1000001")
	s := r.Server
	r.whatsAppChannel("1000001")
	voiceCh := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Twilio line", "config": map[string]any{
		"number": "+14155550100", "provider": "twilio", "account_sid": sid, "auth_token": token, "api_base_url": fake.URL()}}, http.StatusCreated)

	rt := useRealtimeModel(t, r, book, func(req aitest.Request) aitest.Reply {
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			return aitest.Reply{Content: `{"outcome":"interested","summary":"Booked for Tuesday."}`}
		case len(req.Messages) > 3:
			return aitest.Reply{Content: `{"say":"Booked for Tuesday. Goodbye!","action":"end_call","reason":"booked"}`}
		}
		return aitest.Reply{Content: `{"say":"When would suit you?","action":"continue","reason":""}`}
	})

	flow := strings.Replace(callFlow, `"recording":true`, `"recording":true,"engine":"realtime","voice":"echo"`, 1)
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true,
		"flow_data": json.RawMessage(strings.Replace(flow, "VOICE", voiceCh["id"].(string), 1))}, http.StatusCreated)
	if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "call", ID: "wamid.CALLRT"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the flow's answer after the call", func() bool { return len(r.fake.Messages()) == 1 })
	if body := string(r.fake.Messages()[0].Body); !strings.Contains(body, "Thanks! Booked for Tuesday. (interested)") {
		t.Fatalf("sent %s", body)
	}
	calls := fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("the fake Twilio got %d calls", len(calls))
	}
	c := calls[0]
	if tw := c.TwiML(); len(tw) == 0 || !strings.Contains(tw[0], "<Stream") || strings.Contains(tw[0], "ConversationRelay") {
		t.Fatalf("the call's TwiML %q, want <Connect><Stream>", tw)
	}
	if heard := c.Heard(); len(heard) != 3 || heard[0] != "Hi Ann, this is the clinic." || heard[2] != "Booked for Tuesday. Goodbye!" {
		t.Fatalf("the callee heard %q", heard)
	}
	sess := rt.Sessions()
	if len(sess) != 1 || len(sess[0].Transcripts()) != 2 {
		t.Fatalf("realtime sessions %d, want one that transcribed the callee's two lines", len(sess))
	}
	out := sess[0].Config()["audio"].(map[string]any)["output"].(map[string]any)
	if out["voice"] != "echo" || sess[0].Model != "gpt-realtime" {
		t.Fatalf("the realtime session spoke with %v on %s", out["voice"], sess[0].Model)
	}
	contact := r.contactByPhone("15551234567")
	rows, err := r.App.Store().CallList(context.Background(), store.CallListParams{ProjectID: r.ProjectID, ContactID: contact})
	if err != nil || len(rows) != 1 {
		t.Fatalf("calls %+v %v", rows, err)
	}
	var res struct {
		RecordingURL string `json:"recording_url"`
		Transcript   []struct {
			Speaker, Text string
		} `json:"transcript"`
	}
	if err := json.Unmarshal(rows[0].Result, &res); err != nil {
		t.Fatal(err)
	}
	// The recording is Parley's copy, served behind auth (downloaded from
	// the fake Twilio once its recording status callback came).
	if res.RecordingURL != s.Base+"/projects/"+r.ProjectID+"/calls/"+rows[0].ID+"/recording" || len(res.Transcript) != 5 || res.Transcript[1].Text != "Hello?" || res.Transcript[3].Text != "Tuesday works." {
		t.Fatalf("the call's result %s", rows[0].Result)
	}
}
