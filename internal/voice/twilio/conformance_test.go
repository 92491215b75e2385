package twilio_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/twilio"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
	"github.com/parleyhq/parley/internal/voice/voicetest"
)

const (
	accountSID = "AC00000000000000000000000000000001"
	authToken  = "0123456789abcdef0123456789abcdef"
)

// setup starts a fake Twilio and a web server that routes the number's
// webhooks to the provider, as /webhooks/voice/{channel_id}/… does.
func setup(t *testing.T) (*twilio.Provider, *twiliotest.Fake, string) {
	t.Helper()
	fake := twiliotest.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	var p *twilio.Provider
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/voice/ch1/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		p.ServeWebhook(w, r, r.PathValue("rest"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var err error
	p, err = twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, Number: "+14155550100", APIBase: fake.URL(),
		WebhookBase: func() string { return srv.URL + "/webhooks/voice/ch1" }}, twilio.NewRegistry(), domain.SystemClock{}, domain.UUIDv7{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, fake, srv.URL
}

// dialOf reads a transfer's <Dial> from the TwiML the call was updated with.
func dialOf(doc string) *voice.Target {
	var r struct {
		Dial struct {
			Number     string `xml:"Number"`
			Client     string `xml:"Client"`
			Conference string `xml:"Conference"`
		} `xml:"Dial"`
	}
	if xml.Unmarshal([]byte(doc), &r) != nil {
		return nil
	}
	switch {
	case r.Dial.Number != "":
		return &voice.Target{Kind: voice.TargetNumber, To: strings.TrimSpace(r.Dial.Number), Mode: voice.TransferBlind}
	case r.Dial.Client != "":
		return &voice.Target{Kind: voice.TargetAgent, To: strings.TrimSpace(r.Dial.Client), Mode: voice.TransferBlind}
	case r.Dial.Conference != "":
		return &voice.Target{Kind: voice.TargetNumber, Mode: voice.TransferWarm}
	}
	return nil
}

// conferenceAgent finds who was called into the conference a caller's
// TwiML joins: the To of the call created with TwiML dialling that room.
func conferenceAgent(fake *twiliotest.Fake, callerDoc string) string {
	var r struct {
		Dial struct {
			Conference string `xml:"Conference"`
		} `xml:"Dial"`
	}
	if xml.Unmarshal([]byte(callerDoc), &r) != nil {
		return ""
	}
	for _, c := range fake.Calls() {
		if doc := c.Params.Get("Twiml"); doc != "" && strings.Contains(doc, ">"+r.Dial.Conference+"<") {
			return c.Params.Get("To")
		}
	}
	return ""
}

// TestConformance: the Twilio adapter, against the fake Twilio, passes the
// voice provider suite.
func TestConformance(t *testing.T) {
	t.Parallel()
	p, fake, base := setup(t)
	scenarios := map[voicetest.Scenario]twiliotest.Scenario{voicetest.Answer: twiliotest.Answer, voicetest.Busy: twiliotest.Busy,
		voicetest.NoAnswer: twiliotest.NoAnswer, voicetest.Machine: twiliotest.Machine, voicetest.Silence: twiliotest.Silence}
	voicetest.Run(t, voicetest.Suite{
		Provider: p, From: "+14155550100",
		Expect: func(number string, c voicetest.Callee) {
			fake.Expect(number, twiliotest.Script{Scenario: scenarios[c.Scenario], Lines: c.Lines, HangUpAfter: c.HangUpAfter, StayOn: c.StayOn})
		},
		Heard:       func(leg voice.Leg) []string { return fake.Call(leg.ID()).Heard() },
		Transferred: transferredOn(fake),
		Briefed:     briefedOn(fake),
		Decline:     declineOn(fake),
		Forged: func(t *testing.T, leg voice.Leg) int {
			c := fake.Call(leg.ID())
			u := c.Params.Get("StatusCallback")
			if !strings.HasPrefix(u, base) {
				t.Fatalf("status callback %q is not under the webhook base %s", u, base)
			}
			form := url.Values{"CallSid": {leg.ID()}, "AccountSid": {accountSID}, "CallStatus": {"completed"}, "CallDuration": {"9"}}
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twiliotest.Sign("fedcba9876543210fedcba9876543210", u, form))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		},
	})
}

// declineOn makes the fake's target (a number, or agent:NAME as the
// client NAME) end its leg with status instead of answering.
func declineOn(fake *twiliotest.Fake) func(target string, status voice.Status) {
	return func(target string, status voice.Status) {
		sc := map[voice.Status]twiliotest.Scenario{voice.StatusBusy: twiliotest.Busy, voice.StatusNoAnswer: twiliotest.NoAnswer}[status]
		if sc == "" {
			sc = twiliotest.Failed
		}
		if id, ok := strings.CutPrefix(target, voice.AgentPrefix); ok {
			target = "client:" + id
		}
		fake.Expect(target, twiliotest.Script{Scenario: sc})
	}
}

// transferredOn reads where a call was transferred from the TwiML the fake
// got: the target of the last <Dial> that one answered, or for a warm
// transfer the agent called into the same conference.
func transferredOn(fake *twiliotest.Fake) func(leg voice.Leg) *voice.Target {
	return func(leg voice.Leg) *voice.Target {
		c := fake.Call(leg.ID())
		taken := map[string]bool{}
		for _, d := range c.Dialled() {
			taken[d.To] = d.Status == "completed" || d.Status == "in-progress"
		}
		docs := c.TwiML()
		for i := len(docs) - 1; i >= 0; i-- {
			doc := docs[i]
			if tg := dialOf(doc); tg != nil {
				key := tg.To
				if tg.Kind == voice.TargetAgent {
					key = "client:" + tg.To
				}
				if tg.Mode == voice.TransferBlind && !taken[key] {
					continue
				}
				if tg.Mode == voice.TransferWarm {
					// The agent is the call placed into the same
					// conference.
					tg.Kind, tg.To = voice.TargetNumber, ""
					if a := conferenceAgent(fake, doc); a != "" {
						tg.To = a
						if id, ok := strings.CutPrefix(a, "client:"); ok {
							tg.Kind, tg.To = voice.TargetAgent, id
						}
					}
				}
				return tg
			}
		}
		return nil
	}
}

// briefedOn is what the agents called into warm transfers' conferences
// heard first (their calls' <Say>), by target.
func briefedOn(fake *twiliotest.Fake) func(target string) []string {
	return func(target string) []string {
		to := target
		if id, ok := strings.CutPrefix(target, voice.AgentPrefix); ok {
			to = "client:" + id
		}
		var out []string
		for _, c := range fake.Calls() {
			if c.Params.Get("To") != to || c.Params.Get("Twiml") == "" {
				continue
			}
			var r struct {
				Say  string `xml:"Say"`
				Dial struct {
					Conference string `xml:"Conference"`
				} `xml:"Dial"`
			}
			if xml.Unmarshal([]byte(c.Params.Get("Twiml")), &r) == nil && r.Dial.Conference != "" {
				out = append(out, r.Say)
			}
		}
		return out
	}
}
