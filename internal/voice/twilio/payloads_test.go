package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/twilio"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// answer places a call the fake answers with script and waits for it to
// be answered.
func answer(t *testing.T, p *twilio.Provider, to string, s twiliotest.Script, fake *twiliotest.Fake) voice.Leg {
	t.Helper()
	fake.Expect(to, s)
	leg, err := p.Place(context.Background(), voice.Dial{To: to})
	if err != nil {
		t.Fatal(err)
	}
	for e := range leg.Events() {
		if e.Kind == voice.EventAnswered {
			return leg
		}
	}
	t.Fatal("the call ended unanswered")
	return nil
}

// TestRelayMessages: ConversationRelay messages of the documented shapes
// (testdata) become the conversation's inputs: partial prompts add up to
// one utterance, a key press, a barge-in with what was heard.
func TestRelayMessages(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/conversationrelay_messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	p, fake, _ := setup(t)
	leg := answer(t, p, "+15550001001", twiliotest.Script{Scenario: twiliotest.Silence, Raw: raw}, fake)
	want := []voice.Input{{Kind: voice.InputSpeech, Text: "hello there"}, {Kind: voice.InputDTMF, Text: "1"},
		{Kind: voice.InputInterrupt, Heard: "Welcome to the clinic, how can I"}}
	for i, w := range want {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := leg.Conversation().Recv(ctx)
		cancel()
		if err != nil || got != w {
			t.Fatalf("input %d = %+v, %v; want %+v", i, got, err, w)
		}
	}
	if err := leg.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := leg.Conversation().Recv(ctx); err != voice.ErrHungUp {
		t.Fatalf("after the hang-up Recv = %v, want ErrHungUp", err)
	}
}

// TestStatusCallbackPayload: a completed-call status callback of the
// documented shape ends the leg with Twilio's duration and recording, and
// the same body unsigned is refused.
func TestStatusCallbackPayload(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/status_callback_completed.form")
	if err != nil {
		t.Fatal(err)
	}
	p, fake, _ := setup(t)
	leg := answer(t, p, "+15550001002", twiliotest.Script{Scenario: twiliotest.Silence}, fake)
	u := fake.Call(leg.ID()).Params.Get("StatusCallback")
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(""); code != http.StatusForbidden {
		t.Fatalf("an unsigned status callback got %d, want 403", code)
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = req.ParseForm()
	if code := post(twiliotest.Sign(authToken, u, req.PostForm)); code/100 != 2 {
		t.Fatalf("the signed status callback got %d", code)
	}
	e, ok := <-leg.Events()
	if !ok || e.Kind != voice.EventEnded || e.Status != voice.StatusCompleted || e.Duration != 42*time.Second ||
		!strings.HasSuffix(e.RecordingURL, "/Recordings/RE00000000000000000000000000000000") || e.Raw != "completed" {
		t.Fatalf("event %+v", e)
	}
	if _, open := <-leg.Events(); open {
		t.Fatal("the events stay open after the end")
	}
	_ = leg.Hangup(context.Background())
}

// TestUnknownCallRefused: a webhook about a call this process did not
// place is refused (404), whatever its signature.
func TestUnknownCallRefused(t *testing.T) {
	t.Parallel()
	_, _, base := setup(t)
	res, err := http.Post(base+"/webhooks/voice/ch1/status/nope", "application/x-www-form-urlencoded", strings.NewReader("CallStatus=completed"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("got %d, want 404", res.StatusCode)
	}
}

// TestStatusMapping: Twilio's CallStatus and AnsweredBy values map onto
// Parley's.
func TestStatusMapping(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]voice.Status{"queued": voice.StatusQueued, "initiated": voice.StatusQueued, "ringing": voice.StatusRinging,
		"in-progress": voice.StatusInProgress, "completed": voice.StatusCompleted, "busy": voice.StatusBusy, "no-answer": voice.StatusNoAnswer,
		"canceled": voice.StatusCanceled, "failed": voice.StatusFailed} {
		if got := twilio.StatusOf(in); got != want {
			t.Errorf("StatusOf(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]voice.AnsweredBy{"human": voice.AnsweredHuman, "machine_start": voice.AnsweredMachine,
		"machine_end_beep": voice.AnsweredMachine, "fax": voice.AnsweredMachine, "unknown": voice.AnsweredUnknown} {
		if got := twilio.AnsweredByOf(in); got != want {
			t.Errorf("AnsweredByOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTimeLimit: the fake ends a call at the TimeLimit the adapter asked
// for, with nobody hanging up.
func TestTimeLimit(t *testing.T) {
	t.Parallel()
	p, fake, _ := setup(t)
	fake.Expect("+15550001003", twiliotest.Script{Scenario: twiliotest.Silence})
	leg, err := p.Place(context.Background(), voice.Dial{To: "+15550001003", MaxDuration: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.Call(leg.ID()).Params.Get("TimeLimit"); got != "2" {
		t.Fatalf("TimeLimit %q, want 2 (the max duration, rounded up)", got)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-leg.Events():
			if !ok {
				t.Fatal("events closed without an end")
			}
			if e.Kind == voice.EventEnded {
				if e.Status != voice.StatusCompleted || e.Duration < time.Second {
					t.Fatalf("ended %+v", e)
				}
				return
			}
		case <-deadline:
			t.Fatal("the call outlived its time limit")
		}
	}
}

// TestWarmTransfer: a warm transfer calls the target into a conference
// with the summary said first, and moves the caller into it.
func TestWarmTransfer(t *testing.T) {
	t.Parallel()
	p, fake, _ := setup(t)
	leg := answer(t, p, "+15550001004", twiliotest.Script{Scenario: twiliotest.Silence}, fake)
	err := leg.Transfer(context.Background(), voice.Target{Kind: voice.TargetNumber, To: "+15557770001", Mode: voice.TransferWarm, Summary: "Ann wants a Tuesday visit."})
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want the caller's and the agent's", len(calls))
	}
	agent := calls[1]
	if agent.Params.Get("To") != "+15557770001" || agent.Params.Get("From") != "+14155550100" ||
		!strings.Contains(agent.Params.Get("Twiml"), "Ann wants a Tuesday visit.") || !strings.Contains(agent.Params.Get("Twiml"), "<Conference>") {
		t.Fatalf("the agent's call %v", agent.Params)
	}
	docs := fake.Call(leg.ID()).TwiML()
	last := docs[len(docs)-1]
	room := strings.SplitN(strings.SplitN(agent.Params.Get("Twiml"), "<Conference>", 2)[1], "</Conference>", 2)[0]
	if !strings.Contains(last, "<Dial") || !strings.Contains(last, ">"+room+"</Conference>") {
		t.Fatalf("the caller's TwiML %s does not join the conference %q", last, room)
	}
	for e := range leg.Events() {
		if e.Kind == voice.EventEnded {
			return
		}
	}
}

// TestRelaySignatureRefused: the ConversationRelay websocket of a live
// call is refused without Twilio's signature of its URL.
func TestRelaySignatureRefused(t *testing.T) {
	t.Parallel()
	p, fake, base := setup(t)
	leg := answer(t, p, "+15550001005", twiliotest.Script{Scenario: twiliotest.Silence}, fake)
	defer leg.Hangup(context.Background())
	var relay string
	for deadline := time.Now().Add(5 * time.Second); relay == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, doc := range fake.Call(leg.ID()).TwiML() {
			if i := strings.Index(doc, `url="`); i >= 0 {
				relay = doc[i+5 : i+5+strings.Index(doc[i+5:], `"`)]
			}
		}
	}
	if !strings.HasPrefix(relay, "ws"+strings.TrimPrefix(base, "http")+"/webhooks/voice/ch1/relay/") {
		t.Fatalf("relay URL %q", relay)
	}
	req, _ := http.NewRequest(http.MethodGet, "http"+strings.TrimPrefix(relay, "ws"), nil)
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign("fedcba9876543210fedcba9876543210", relay, nil))
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged relay handshake got %d, want 403", res.StatusCode)
	}
}

// TestTransferCallbacks: a blind transfer's <Dial> names its action and
// its noun's answered callback under the call's webhooks; both refuse a
// request without Twilio's signature (and a forged "busy" changes
// nothing), and a signed DialCallStatus busy fails the transfer with that
// status while the caller goes back to the relay.
func TestTransferCallbacks(t *testing.T) {
	t.Parallel()
	p, fake, _ := setup(t)
	leg := answer(t, p, "+15550001006", twiliotest.Script{Scenario: twiliotest.Silence}, fake)
	defer leg.Hangup(context.Background())
	c := fake.Call(leg.ID())
	twimlURL := c.Params.Get("Url")
	for _, kind := range []string{"dial", "leg"} {
		u := strings.Replace(twimlURL, "/twiml/", "/"+kind+"/", 1)
		form := url.Values{"CallSid": {leg.ID()}, "AccountSid": {accountSID}, "CallStatus": {"in-progress"}, "DialCallStatus": {"busy"}}
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign("fedcba9876543210fedcba9876543210", u, form))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("a forged %s callback got %d, want 403", kind, res.StatusCode)
		}
	}
	fake.Expect("+15557770031", twiliotest.Script{Scenario: twiliotest.Busy})
	err := leg.Transfer(context.Background(), voice.Target{Kind: voice.TargetNumber, To: "+15557770031", Mode: voice.TransferBlind})
	var te *voice.TransferError
	if !errors.As(err, &te) || te.Status != voice.StatusBusy {
		t.Fatalf("transfer to a busy number: %v, want a busy *voice.TransferError", err)
	}
	docs := c.TwiML()
	var dial string
	for _, d := range docs {
		if strings.Contains(d, "<Dial") {
			dial = d
		}
	}
	wantAction := `action="` + strings.Replace(twimlURL, "/twiml/", "/dial/", 1) + `"`
	wantLeg := `statusCallback="` + strings.Replace(twimlURL, "/twiml/", "/leg/", 1) + `"`
	if !strings.Contains(dial, wantAction) || !strings.Contains(dial, wantLeg) || !strings.Contains(dial, `statusCallbackEvent="answered"`) {
		t.Fatalf("the transfer's TwiML %s, want %s and %s (answered)", dial, wantAction, wantLeg)
	}
	if d := c.Dialled(); len(d) != 1 || d[0].Status != "busy" {
		t.Fatalf("dialled %+v, want one busy leg", d)
	}
	if err := leg.Conversation().Say(context.Background(), "Still here."); err != nil {
		t.Fatalf("saying to the caller after the busy transfer: %v", err)
	}
	if docs := c.TwiML(); !strings.Contains(docs[len(docs)-1], "<ConversationRelay") {
		t.Fatalf("after the busy transfer the call ran %s, want the relay again", docs[len(docs)-1])
	}
}

// TestDialStatusMapping: a <Dial> action's DialCallStatus as Parley's
// status of the transferred leg.
func TestDialStatusMapping(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]voice.Status{"completed": voice.StatusCompleted, "answered": voice.StatusCompleted, "busy": voice.StatusBusy,
		"no-answer": voice.StatusNoAnswer, "canceled": voice.StatusCanceled, "failed": voice.StatusFailed, "": voice.StatusFailed} {
		if got := twilio.DialStatusOf(in); got != want {
			t.Errorf("DialStatusOf(%q) = %s, want %s", in, got, want)
		}
	}
}
