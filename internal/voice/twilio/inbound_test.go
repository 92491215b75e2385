package twilio_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

const ourNumber = "+14155550100"

// waitEnded waits for a fake call's final status callback.
func waitEnded(t *testing.T, c *twiliotest.Call) {
	t.Helper()
	select {
	case <-c.Ended():
	case <-time.After(15 * time.Second):
		t.Fatalf("call %s never ended (status %s)", c.Sid, c.Status())
	}
}

// TestInbound: a caller calls the Twilio number. Saving the number points
// its Voice URL and status callback at Parley (IncomingPhoneNumbers); the
// fake Twilio then posts the signed incoming-call webhook, Parley answers
// with a ConversationRelay, the host is handed an answered leg it talks
// on, and the number's status callback ends the leg.
func TestInbound(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// handler is the host; nil registers none.
		handler   func(ctx context.Context, call voice.InboundCall) error
		wantHeard []string
		wantTwiML string
	}{
		{name: "answered and talked", handler: func(ctx context.Context, call voice.InboundCall) error {
			call.Accept(voice.InboundAnswer{CallID: "call-in", Media: voice.MediaText, Voice: "en-US-Journey-O", Language: "en-US"})
			go func() {
				conv := call.Leg.Conversation()
				_ = conv.Say(context.Background(), "Parley here, how can I help?")
				in, err := conv.Recv(context.Background())
				if err != nil {
					return
				}
				_ = conv.Say(context.Background(), "You said: "+in.Text)
				_ = call.Leg.Hangup(context.Background())
			}()
			return nil
		}, wantHeard: []string{"Parley here, how can I help?", "You said: I'm calling about my order."}, wantTwiML: `voice="en-US-Journey-O"`},
		{name: "nobody takes it", handler: func(ctx context.Context, call voice.InboundCall) error {
			return errors.New("no session awaits this caller")
		}, wantTwiML: "cannot take your call now. Goodbye.</Say><Hangup"},
		{name: "accepted to be told nobody takes it", handler: func(ctx context.Context, call voice.InboundCall) error {
			call.Accept(voice.InboundAnswer{Media: voice.MediaText})
			_ = call.Leg.Conversation().Say(ctx, "Nobody is expecting your call.")
			_ = call.Leg.Hangup(ctx)
			return errors.New("no session awaits this caller")
		}, wantHeard: []string{"Nobody is expecting your call."}, wantTwiML: "<ConversationRelay"},
		{name: "no host", wantTwiML: "<Hangup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, fake, base := setup(t)
			var mu sync.Mutex
			var got []voice.InboundCall
			events := make(chan []voice.EventKind, 1)
			if tc.handler != nil {
				p.OnInbound(func(ctx context.Context, call voice.InboundCall) error {
					mu.Lock()
					got = append(got, call)
					mu.Unlock()
					go func() {
						var kinds []voice.EventKind
						for e := range call.Leg.Events() {
							kinds = append(kinds, e.Kind)
						}
						events <- kinds
					}()
					return tc.handler(ctx, call)
				})
			}
			if err := p.ConfigureNumber(context.Background(), base+"/webhooks/voice/ch1"); err != nil {
				t.Fatal(err)
			}
			n, ok := fake.Number(ourNumber)
			if !ok || n.VoiceURL != base+"/webhooks/voice/ch1/incoming" || n.StatusCallback != base+"/webhooks/voice/ch1/status" {
				t.Fatalf("the number's configuration at Twilio: %+v", n)
			}
			c, err := fake.CallIn("+15551230000", ourNumber, twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"I'm calling about my order."}})
			if err != nil {
				t.Fatal(err)
			}
			waitEnded(t, c)
			if len(c.Refused()) > 0 || c.Status() != "completed" {
				t.Fatalf("status %s, refused %q", c.Status(), c.Refused())
			}
			if tw := c.TwiML(); len(tw) == 0 || !strings.Contains(tw[0], tc.wantTwiML) {
				t.Fatalf("TwiML %q, want %s", tw, tc.wantTwiML)
			}
			if h := c.Heard(); strings.Join(h, "|") != strings.Join(tc.wantHeard, "|") {
				t.Fatalf("the caller heard %q, want %q", h, tc.wantHeard)
			}
			if tc.handler == nil || tc.name == "nobody takes it" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0].From != "+15551230000" || got[0].To != ourNumber || got[0].Leg.ID() != c.Sid {
				t.Fatalf("the host got %+v", got)
			}
			select {
			case kinds := <-events:
				if len(kinds) != 2 || kinds[0] != voice.EventAnswered || kinds[1] != voice.EventEnded {
					t.Fatalf("leg events %v, want answered then ended", kinds)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the leg's events never closed: the number's status callback did not end it")
			}
		})
	}
}

// TestInboundRefused: a webhook without a valid signature, or a number
// that is not the account's, is refused with what is wrong.
func TestInboundRefused(t *testing.T) {
	t.Parallel()
	p, fake, base := setup(t)
	p.OnInbound(func(context.Context, voice.InboundCall) error { t.Error("a forged call reached the host"); return nil })
	form := url.Values{"CallSid": {"CA1"}, "AccountSid": {accountSID}, "From": {"+15551230000"}, "To": {ourNumber}, "CallStatus": {"ringing"}, "Direction": {"inbound"}}
	cases := []struct {
		name, path, token string
		want              int
	}{
		{"forged incoming call", "/incoming", "fedcba9876543210fedcba9876543210", http.StatusForbidden},
		{"forged number status", "/status", "fedcba9876543210fedcba9876543210", http.StatusForbidden},
		{"forged recording", "/recording/call-1", "fedcba9876543210fedcba9876543210", http.StatusForbidden},
		{"signed for another URL", "/incoming", "", http.StatusForbidden},
	}
	for _, tc := range cases {
		u := base + "/webhooks/voice/ch1" + tc.path
		sig := twiliotest.Sign(tc.token, u, form)
		if tc.token == "" {
			sig = twiliotest.Sign(authToken, base+"/elsewhere", form)
		}
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, res.StatusCode, tc.want)
		}
	}
	fake.Disown(ourNumber)
	if err := p.ConfigureNumber(context.Background(), base+"/webhooks/voice/ch1"); err == nil || !strings.Contains(err.Error(), "is not a phone number of Twilio account") {
		t.Fatalf("configuring a number the account lacks: %v", err)
	}
}

// TestRecording: a recorded call's recording status callback comes signed
// after the call; the WAV is downloaded with the account's credentials
// and handed to the sink with its call and Twilio's IDs.
func TestRecording(t *testing.T) {
	t.Parallel()
	p, fake, _ := setup(t)
	got := make(chan voice.Recording, 1)
	p.OnRecording(func(ctx context.Context, r voice.Recording) error { got <- r; return nil })
	fake.Expect("+15557654321", twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hello?"}})
	leg, err := p.Place(context.Background(), voice.Dial{CallID: "call-rec", To: "+15557654321", Record: true})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for e := range leg.Events() {
			if e.Kind == voice.EventAnswered {
				_ = leg.Conversation().Say(context.Background(), "This call is recorded.")
				_, _ = leg.Conversation().Recv(context.Background())
				_ = leg.Hangup(context.Background())
			}
		}
	}()
	c := fake.Call(leg.ID())
	waitEnded(t, c)
	if cb := c.Params.Get("RecordingStatusCallback"); !strings.HasSuffix(cb, "/webhooks/voice/ch1/recording/call-rec") {
		t.Fatalf("RecordingStatusCallback %q", cb)
	}
	select {
	case r := <-got:
		if r.CallID != "call-rec" || !strings.HasPrefix(r.ProviderID, "RE") || r.ContentType != voice.ContentWAV ||
			!bytes.HasPrefix(r.Data, []byte("RIFF")) || len(r.Data) < 1000 || r.Validate() != nil {
			t.Fatalf("recording %+v (%d bytes)", r.CallID, len(r.Data))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no recording reached the sink; refused %q", c.Refused())
	}
	if len(c.Refused()) > 0 {
		t.Fatalf("refused %q", c.Refused())
	}
}

// TestInboundAudioRecorded: a call to the number whose host accepts it in
// audio mode, recorded, is answered with <Start><Recording> then
// <Connect><Stream>: the fake Twilio's media client is the caller, the
// realtime engine hears and speaks for the agent, and after the call the
// recording status callback (under the host's call ID) brings the WAV to
// the sink; the leg's end names the call's recordings at Twilio.
func TestInboundAudioRecorded(t *testing.T) {
	t.Parallel()
	p, fake, base, _, eng := audioSetup(t)
	got := make(chan voice.Recording, 1)
	p.OnRecording(func(ctx context.Context, r voice.Recording) error { got <- r; return nil })
	ended := make(chan voice.Event, 1)
	p.OnInbound(func(ctx context.Context, call voice.InboundCall) error {
		call.Accept(voice.InboundAnswer{CallID: "call-rt", Media: voice.MediaAudio, Record: true})
		go func() {
			ctx := context.Background()
			for e := range call.Leg.Events() {
				switch e.Kind {
				case voice.EventAnswered:
					go talk(t, ctx, call.Leg, eng)
				case voice.EventEnded:
					ended <- e
				}
			}
		}()
		return nil
	})
	if err := p.ConfigureNumber(context.Background(), base+"/webhooks/voice/ch1"); err != nil {
		t.Fatal(err)
	}
	c, err := fake.CallIn("+15551230000", ourNumber, twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"I'm calling about my order."}})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c)
	tw := c.TwiML()
	if len(tw) != 1 || !strings.Contains(tw[0], `<Response><Start><Recording `) ||
		!strings.Contains(tw[0], ` recordingStatusCallback="`+base+`/webhooks/voice/ch1/recording/call-rt"`) ||
		!strings.Contains(tw[0], `recordingStatusCallbackEvent="completed absent"`) || !strings.Contains(tw[0], "</Start><Connect><Stream") ||
		strings.Contains(tw[0], "ConversationRelay") {
		t.Fatalf("TwiML %q, want <Start><Recording> then <Connect><Stream>", tw)
	}
	if h := c.Heard(); len(h) != 2 || h[0] != "Parley here, how can I help?" || h[1] != "You said: I'm calling about my order." {
		t.Fatalf("the caller heard %q", h)
	}
	select {
	case e := <-ended:
		if e.Status != voice.StatusCompleted || e.RecordingURL != fake.URL()+"/2010-04-01/Accounts/"+accountSID+"/Calls/"+c.Sid+"/Recordings.json" {
			t.Fatalf("the leg ended %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the number's status callback never ended the leg")
	}
	select {
	case r := <-got:
		if r.CallID != "call-rt" || r.ProviderID != c.StartedRecording() || r.ProviderID == "" || r.ContentType != voice.ContentWAV ||
			!bytes.HasPrefix(r.Data, []byte("RIFF")) || r.Validate() != nil {
			t.Fatalf("recording of %s, %s (%d bytes)", r.CallID, r.ProviderID, len(r.Data))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no recording reached the sink; refused %q", c.Refused())
	}
	if len(c.Refused()) > 0 {
		t.Fatalf("refused %q", c.Refused())
	}
}

// talk is an agent on an audio leg: it greets, echoes the caller's first
// line and hangs up.
func talk(t *testing.T, ctx context.Context, leg voice.Leg, eng voice.Speech) {
	al, ok := leg.(voice.AudioLeg)
	if !ok {
		t.Error("the inbound leg has no audio")
		return
	}
	a, err := al.Audio(ctx)
	if err != nil {
		t.Errorf("the inbound call's audio: %v", err)
		return
	}
	conv, err := eng.Converse(ctx, a, voice.SpeechConfig{})
	if err != nil {
		t.Errorf("conversing: %v", err)
		return
	}
	defer conv.Close()
	_ = conv.Say(ctx, "Parley here, how can I help?")
	for {
		in, err := conv.Recv(ctx)
		if err != nil {
			return
		}
		if in.Kind == voice.InputSpeech {
			_ = conv.Say(ctx, "You said: "+in.Text)
			_ = leg.Hangup(ctx)
			return
		}
	}
}

// TestInboundAcceptLate: a host that has not accepted an incoming call
// when the wait runs out gets it answered with a text relay; its late
// Accept (audio mode) changes nothing: the leg has no audio and its
// Conversation is the relay.
func TestInboundAcceptLate(t *testing.T) {
	t.Parallel()
	p, fake, base := setup(t)
	p.SetAcceptWait(200 * time.Millisecond)
	audioErr := make(chan error, 1)
	p.OnInbound(func(ctx context.Context, call voice.InboundCall) error {
		time.Sleep(600 * time.Millisecond)
		call.Accept(voice.InboundAnswer{CallID: "call-late", Media: voice.MediaAudio, Record: true})
		go func() {
			_, err := call.Leg.(voice.AudioLeg).Audio(context.Background())
			audioErr <- err
			_ = call.Leg.Conversation().Say(context.Background(), "Sorry to keep you waiting.")
			_, _ = call.Leg.Conversation().Recv(context.Background())
			_ = call.Leg.Hangup(context.Background())
		}()
		return nil
	})
	if err := p.ConfigureNumber(context.Background(), base+"/webhooks/voice/ch1"); err != nil {
		t.Fatal(err)
	}
	c, err := fake.CallIn("+15551230000", ourNumber, twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hello?"}})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c)
	if tw := c.TwiML(); len(tw) != 1 || !strings.Contains(tw[0], "<ConversationRelay") || strings.Contains(tw[0], "<Recording") {
		t.Fatalf("TwiML %q, want a plain ConversationRelay", tw)
	}
	if err := <-audioErr; !errors.Is(err, voice.ErrNoAudio) {
		t.Fatalf("the late-accepted leg's audio: %v, want ErrNoAudio", err)
	}
	if h := c.Heard(); len(h) != 1 || h[0] != "Sorry to keep you waiting." {
		t.Fatalf("the caller heard %q", h)
	}
	if c.StartedRecording() != "" || len(c.Refused()) > 0 {
		t.Fatalf("recording %q, refused %q", c.StartedRecording(), c.Refused())
	}
}
