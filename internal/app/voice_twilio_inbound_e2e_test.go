package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// twilioNumber adds a Twilio voice number pointed at fake; saving it
// configures the number's Voice URL at the fake Twilio.
func twilioNumber(t *testing.T, r *running, fake *twiliotest.Fake, number string) string {
	t.Helper()
	ch := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Twilio line", "config": map[string]any{
		"number": number, "provider": "twilio", "account_sid": fake.AccountSID, "auth_token": fake.AuthToken, "api_base_url": fake.URL()}}, http.StatusCreated)
	id := ch["id"].(string)
	n, ok := fake.Number(number)
	if !ok || n.VoiceURL != r.base+"/webhooks/voice/"+id+"/incoming" || n.StatusCallback != r.base+"/webhooks/voice/"+id+"/status" {
		t.Fatalf("saving the voice number configured %+v at Twilio", n)
	}
	return id
}

// TestTwilioInboundCall: calls to a Twilio number. The fake Twilio posts
// the signed incoming-call webhook to the Voice URL that saving the
// channel set; the call reaches the session waiting at wait_inbound_call
// for that caller, or starts the flow whose trigger is inbound_call; the
// AI agent talks over the ConversationRelay and the flow goes on.
func TestTwilioInboundCall(t *testing.T) {
	t.Parallel()
	const sid, token = "AC22222222222222222222222222222222", "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name    string
		awaited bool
	}{
		{"the awaited contact calls", true},
		{"an unknown caller starts a flow", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := twiliotest.New(sid, token)
			t.Cleanup(fake.Close)
			r := startVoiceServer(t, "1000081")
			ctx := context.Background()
			voiceID := twilioNumber(t, r, fake, "+14155550181")
			caller := "+15551230081"
			var heard []string
			if tc.awaited {
				r.whatsAppChannel("1000081")
				addCallModel(t, r, "Which day suits you?", "Friday it is. Goodbye!", "Booked for Friday.")
				r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call back", "is_active": true,
					"flow_data": json.RawMessage(strings.Replace(inboundFlow, "VOICE", voiceID, 1))}, http.StatusCreated)
				if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: strings.TrimPrefix(caller, "+"), Name: "Ann", Text: "callback", ID: "wamid.TCB1"}); err != nil {
					t.Fatal(err)
				}
				r.eventually("the session awaits the call", func() bool {
					cs, err := r.App.Store().CallList(ctx, store.CallListParams{ProjectID: r.ProjectID})
					return err == nil && len(cs) == 1 && cs[0].Status == store.CallAwaiting
				})
				c, err := fake.CallIn(caller, "+14155550181", twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hi, I'd like to book.", "Friday please."}})
				if err != nil {
					t.Fatal(err)
				}
				r.eventually("the flow's answer after the call", func() bool { return len(r.fake.Messages()) == 2 })
				if body := string(r.fake.Messages()[1].Body); !strings.Contains(body, "Thanks for calling! Booked for Friday. (interested, agent_hangup)") {
					t.Fatalf("sent %s", body)
				}
				waitCall(t, c)
				heard = c.Heard()
				if len(heard) != 3 || heard[0] != "Hi Ann, thanks for calling the clinic." {
					t.Fatalf("the caller heard %q", heard)
				}
			} else {
				llm := aitest.New("m")
				t.Cleanup(llm.Close)
				llm.Fallback(func(req aitest.Request) aitest.Reply {
					if strings.Contains(string(req.ResponseFormat), "call_outcome") {
						return aitest.Reply{Content: `{"outcome":"callback","summary":"Wants a call back."}`}
					}
					return aitest.Reply{Content: `{"say":"I will pass it on. Goodbye!","action":"end_call","reason":"done"}`}
				})
				r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"}, http.StatusCreated)
				r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Front desk", "is_active": true,
					"flow_data": json.RawMessage(strings.Replace(inboundTriggerFlow, "VOICE", voiceID, 1))}, http.StatusCreated)
				c, err := fake.CallIn(caller, "+14155550181", twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Please call me back tomorrow."}})
				if err != nil {
					t.Fatal(err)
				}
				waitCall(t, c)
				if heard = c.Heard(); len(heard) != 2 || heard[0] != "Hello, you reached the clinic." {
					t.Fatalf("the caller heard %q", heard)
				}
			}
			var calls []store.Call
			r.eventually("the call's end is recorded", func() bool {
				var err error
				calls, err = r.App.Store().CallList(ctx, store.CallListParams{ProjectID: r.ProjectID})
				return err == nil && len(calls) == 1 && calls[0].EndedAt != nil
			})
			var res voice.Result
			if err := json.Unmarshal(calls[0].Result, &res); err != nil || res.Direction != voice.Inbound || calls[0].From != caller ||
				!strings.HasPrefix(calls[0].ProviderID, "CA") || res.Status != voice.StatusCompleted {
				t.Fatalf("call %+v, result %s", calls[0], calls[0].Result)
			}
			r.eventually("the session ends through answered", func() bool {
				s := r.must("GET", "/sessions/"+calls[0].SessionID+"/", nil, http.StatusOK)
				return s["node_id"] == "done"
			})
		})
	}
}

// waitCall waits for a fake Twilio call's end.
func waitCall(t *testing.T, c *twiliotest.Call) {
	t.Helper()
	select {
	case <-c.Ended():
	case <-time.After(20 * time.Second):
		t.Fatalf("the Twilio call never ended (status %s, refused %q)", c.Status(), c.Refused())
	}
	if len(c.Refused()) > 0 {
		t.Fatalf("Parley refused the fake Twilio's webhooks: %q", c.Refused())
	}
}

// TestTwilioWebhookForged: an incoming call without a valid
// X-Twilio-Signature is refused with 403 and appears, refused, in the
// voice number's channel log; nothing starts.
func TestTwilioWebhookForged(t *testing.T) {
	t.Parallel()
	fake := twiliotest.New("AC33333333333333333333333333333333", "0123456789abcdef0123456789abcdef")
	t.Cleanup(fake.Close)
	s := apptest.Start(t, apptest.Options{Configure: func(c *config.Config) { c.HTTPAllow = "127.0.0.1" }})
	r := &running{Server: s, t: t, base: s.Base, fake: s.Fake}
	voiceID := twilioNumber(t, r, fake, "+14155550191")
	u := s.Base + "/webhooks/voice/" + voiceID + "/incoming"
	form := url.Values{"CallSid": {"CA1"}, "AccountSid": {fake.AccountSID}, "From": {"+15550000001"}, "To": {"+14155550191"},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign("not-the-auth-token", u, form))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged incoming call: %d, want 403", res.StatusCode)
	}
	r.eventually("the refusal is in the channel log", func() bool {
		s.App.ChannelLog().Flush(context.Background())
		logs := r.must("GET", "/channels/"+voiceID+"/logs/", nil, http.StatusOK)
		items, _ := logs["results"].([]any)
		for _, it := range items {
			e := it.(map[string]any)
			if e["status_code"] == float64(http.StatusForbidden) && strings.Contains(e["error"].(string), "X-Twilio-Signature") {
				return true
			}
		}
		return false
	})
	if calls, err := s.App.Store().CallList(context.Background(), store.CallListParams{ProjectID: s.ProjectID}); err != nil || len(calls) != 0 {
		t.Fatalf("calls %+v %v after a forged webhook", calls, err)
	}
}
