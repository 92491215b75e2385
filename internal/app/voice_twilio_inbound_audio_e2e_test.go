package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/audiotest"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// TestTwilioInboundCallRealtime: calls to a Twilio number whose
// wait_inbound_call step (awaited, or the first step of the flow the
// inbound_call trigger starts) has engine realtime and recording on. The
// incoming-call webhook is answered, once the step is known, with
// <Start><Recording> and <Connect><Stream>; the fake Twilio's media
// client is the caller, the fake realtime model hears and speaks for the
// agent, and the session goes on through answered with the transcript.
// After the call Twilio's recording status callback brings the recording,
// which Parley stores and serves at the call's recording_url.
func TestTwilioInboundCallRealtime(t *testing.T) {
	t.Parallel()
	const sid, token = "AC44444444444444444444444444444444", "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name    string
		awaited bool
	}{
		{"the awaited contact calls", true},
		{"an unknown caller starts a flow", false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			book := audiotest.NewBook()
			fake := twiliotest.New(sid, token)
			fake.Book = book
			t.Cleanup(fake.Close)
			phone := "1000091" + string(rune('0'+i))
			r := startVoiceServer(t, phone)
			s := r.Server
			ctx := context.Background()
			number := "+1415555019" + string(rune('0'+i))
			voiceID := twilioNumber(t, r, fake, number)
			caller := "+1555123009" + string(rune('0'+i))

			rt := useRealtimeModel(t, r, book, func(req aitest.Request) aitest.Reply {
				switch {
				case strings.Contains(string(req.ResponseFormat), "call_outcome"):
					return aitest.Reply{Content: `{"outcome":"interested","summary":"Booked for Friday."}`}
				case len(req.Messages) > 3:
					return aitest.Reply{Content: `{"say":"Friday it is. Goodbye!","action":"end_call","reason":"booked"}`}
				}
				return aitest.Reply{Content: `{"say":"Which day suits you?","action":"continue","reason":""}`}
			})

			realtime := `"engine":"realtime","voice":"echo","recording":true,"variable":"call"`
			greeting := "Hello, you reached the clinic."
			if tc.awaited {
				greeting = "Hi Ann, thanks for calling the clinic."
				r.whatsAppChannel(phone)
				flow := strings.Replace(strings.Replace(inboundFlow, "VOICE", voiceID, 1), `"variable":"call"`, realtime, 1)
				r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call back", "is_active": true, "flow_data": json.RawMessage(flow)}, http.StatusCreated)
				if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: strings.TrimPrefix(caller, "+"), Name: "Ann", Text: "callback", ID: "wamid.TRT1"}); err != nil {
					t.Fatal(err)
				}
				r.eventually("the session awaits the call", func() bool {
					cs, err := r.App.Store().CallList(ctx, store.CallListParams{ProjectID: r.ProjectID})
					return err == nil && len(cs) == 1 && cs[0].Status == store.CallAwaiting
				})
			} else {
				flow := strings.Replace(strings.Replace(inboundTriggerFlow, "VOICE", voiceID, 1), `"variable":"call"`, realtime, 1)
				r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Front desk", "is_active": true, "flow_data": json.RawMessage(flow)}, http.StatusCreated)
			}
			c, err := fake.CallIn(caller, number, twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hi, I'd like to book.", "Friday please."}})
			if err != nil {
				t.Fatal(err)
			}
			waitCall(t, c)
			tw := c.TwiML()
			if len(tw) != 1 || !strings.Contains(tw[0], "<Start><Recording ") || !strings.Contains(tw[0], "<Connect><Stream") || strings.Contains(tw[0], "ConversationRelay") {
				t.Fatalf("the incoming call's TwiML %q, want <Start><Recording> and <Connect><Stream>", tw)
			}
			if heard := c.Heard(); len(heard) != 3 || heard[0] != greeting || heard[2] != "Friday it is. Goodbye!" {
				t.Fatalf("the caller heard %q", heard)
			}
			if sess := rt.Sessions(); len(sess) != 1 || len(sess[0].Transcripts()) != 2 {
				t.Fatalf("realtime sessions %d, want one that transcribed the caller's two lines", len(sess))
			}
			var calls []store.Call
			r.eventually("the call's end is recorded", func() bool {
				calls, err = r.App.Store().CallList(ctx, store.CallListParams{ProjectID: r.ProjectID})
				return err == nil && len(calls) == 1 && calls[0].EndedAt != nil
			})
			var res voice.Result
			if err := json.Unmarshal(calls[0].Result, &res); err != nil || res.Direction != voice.Inbound || calls[0].From != caller || res.ProviderID != c.Sid ||
				res.Status != voice.StatusCompleted || len(res.Transcript) != 5 || res.Transcript[1].Text != "Hi, I'd like to book." || res.Transcript[3].Text != "Friday please." {
				t.Fatalf("call %+v, result %s", calls[0], calls[0].Result)
			}
			path := "/projects/" + r.ProjectID + "/calls/" + calls[0].ID + "/recording"
			if res.RecordingURL != s.Base+path {
				t.Fatalf("recording_url %q, want Parley's %s", res.RecordingURL, s.Base+path)
			}
			r.eventually("the recording is stored and served", func() bool {
				st, _, raw := s.Call("GET", path, nil)
				return st == http.StatusOK && strings.HasPrefix(string(raw), "RIFF") && len(raw) > 1000
			})
			rec, err := r.App.Store().CallRecordingGet(ctx, store.Ref{ProjectID: r.ProjectID, ID: calls[0].ID})
			if err != nil || rec.ProviderID != c.StartedRecording() {
				t.Fatalf("the stored recording %q %v, want Twilio's %s", rec.ProviderID, err, c.StartedRecording())
			}
			r.eventually("the session ends through answered", func() bool {
				s := r.must("GET", "/sessions/"+calls[0].SessionID+"/", nil, http.StatusOK)
				return s["node_id"] == "done"
			})
		})
	}
}

// TestSandboxTwilioInboundAudioMode: on `serve --sandbox`, being the
// caller (POST /sandbox/calls/inbound/) into a flow whose inbound_call
// trigger leads to a realtime, recorded wait_inbound_call works with
// nothing configured: the fake Twilio calls in over Media Streams, the
// sandbox's fake realtime model understands the caller, and the recording
// is stored with the call.
func TestSandboxTwilioInboundAudioMode(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000001"}})
	ctx := context.Background()
	info, err := s.App.StartSandbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{Server: s, t: t, base: s.Base, fake: s.Fake}
	flow := strings.Replace(strings.Replace(inboundTriggerFlow, "VOICE", info.TwilioVoiceID, 1), `"variable":"call"`,
		`"engine":"realtime","voice":"echo","recording":true,"variable":"call"`, 1)
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Front desk", "is_active": true, "flow_data": json.RawMessage(flow)}, http.StatusCreated)
	in := r.must("POST", "/sandbox/calls/inbound/", map[string]any{"from": "+15555550192", "lines": []string{"Please call me back."}}, http.StatusCreated)
	c := s.App.SandboxTwilio().Call(in["call_sid"].(string))
	if c == nil {
		t.Fatalf("the fake Twilio has no call %v", in)
	}
	waitCall(t, c)
	if tw := c.TwiML(); len(tw) != 1 || !strings.Contains(tw[0], "<Connect><Stream") || !strings.Contains(tw[0], "<Start><Recording ") {
		t.Fatalf("the incoming call's TwiML %q, want <Start><Recording> and <Connect><Stream>", tw)
	}
	if heard := c.Heard(); len(heard) < 2 || heard[0] != "Hello, you reached the clinic." || slices.Contains(heard, "(unrecognised audio)") {
		t.Fatalf("the caller heard %q", heard)
	}
	var calls []store.Call
	r.eventually("the call's end is recorded", func() bool {
		calls, err = r.App.Store().CallList(ctx, store.CallListParams{ProjectID: r.ProjectID})
		return err == nil && len(calls) == 1 && calls[0].EndedAt != nil
	})
	var res voice.Result
	if err := json.Unmarshal(calls[0].Result, &res); err != nil || len(res.Transcript) < 2 || res.Transcript[1].Text != "Please call me back." {
		t.Fatalf("the call's result %s", calls[0].Result)
	}
	r.eventually("the recording is stored", func() bool {
		st, _, raw := s.Call("GET", "/projects/"+r.ProjectID+"/calls/"+calls[0].ID+"/recording", nil)
		return st == http.StatusOK && strings.HasPrefix(string(raw), "RIFF")
	})
}
