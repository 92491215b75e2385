// Package voicetest is the conformance suite every voice.Provider passes:
// the simulated provider directly, the Twilio adapter against the fake
// Twilio. Each case places a real call through the provider, runs the
// agent on it with a scripted model, and checks the status events, the
// transcript and what the callee heard.
package voicetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
)

// Scenario is a callee's behaviour, in the suite's words; each provider's
// Expect maps it onto its own scripts.
type Scenario string

// The scenarios a provider's callee must play.
const (
	Answer   Scenario = "answer"
	Busy     Scenario = "busy"
	NoAnswer Scenario = "no_answer"
	Machine  Scenario = "machine"
	Silence  Scenario = "silence"
)

// Callee scripts the person (or machine) called.
type Callee struct {
	Scenario    Scenario
	Lines       []string
	HangUpAfter int
	// StayOn keeps a callee who said all Lines on the line, silent, until
	// the agent ends the call (providers whose callee would hang up).
	StayOn bool
}

// Suite is a provider under test.
type Suite struct {
	// Provider places the calls; From is the number they come from.
	Provider voice.Provider
	From     string
	// Expect scripts the callee of number.
	Expect func(number string, c Callee)
	// Heard is what the callee of leg heard the agent say.
	Heard func(leg voice.Leg) []string
	// Transferred is where leg was transferred, or nil.
	Transferred func(leg voice.Leg) *voice.Target
	// Briefed is what the agents of warm transfers to target (as
	// voice.Target.String) heard before the caller joined.
	Briefed func(target string) []string
	// Decline makes transfers to target (voice.Target.String) end with
	// status (busy, no_answer, failed): the provider must say so as a
	// *voice.TransferError and keep the caller with the agent (nil skips
	// those cases).
	Decline func(target string, status voice.Status)
	// Forged, for providers with webhooks, posts a webhook about leg with
	// a wrong signature and returns the HTTP status it got: it must be
	// refused (401 or 403) and change nothing.
	Forged func(t *testing.T, leg voice.Leg) int
	// Speech, when set, runs the suite in audio mode: calls are placed
	// with voice.MediaAudio and each answered leg's audio goes through
	// Speech to become its Conversation.
	Speech voice.Speech
}

// rehold is what the suite's agent tells a caller whose transfer was not
// taken before it tries another target.
const rehold = "Nobody answered there. Please keep holding."

// model answers the agent's turns from a list, then ends the call.
type model struct {
	mu    sync.Mutex
	turns []string
	n     int
}

func (m *model) Complete(ctx context.Context, req ai.Request) (ai.Completion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n < len(m.turns) {
		m.n++
		return ai.Completion{Content: m.turns[m.n-1]}, nil
	}
	return ai.Completion{Content: `{"say":"Goodbye.","action":"end_call","reason":"done"}`}, nil
}

// events reads a leg's events until they close.
func events(t *testing.T, leg voice.Leg, within time.Duration) []voice.Event {
	t.Helper()
	var out []voice.Event
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-leg.Events():
			if !ok {
				return out
			}
			out = append(out, e)
		case <-deadline:
			t.Fatalf("the call's events did not end within %s (got %+v)", within, out)
		}
	}
}

// next waits for the leg's next event.
func next(t *testing.T, leg voice.Leg) voice.Event {
	t.Helper()
	select {
	case e, ok := <-leg.Events():
		if !ok {
			t.Fatal("the call's events closed early")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no call event within 10s")
	}
	return voice.Event{}
}

// answered places a call and waits for it to be answered.
func (s Suite) answered(t *testing.T, to string, c Callee, d voice.Dial) voice.Leg {
	t.Helper()
	s.Expect(to, c)
	d.To, d.From = to, s.From
	if s.Speech != nil {
		d.Media = voice.MediaAudio
	}
	leg, err := s.Provider.Place(context.Background(), d)
	if err != nil {
		t.Fatalf("placing the call: %v", err)
	}
	if leg.ID() == "" {
		t.Fatal("the leg has no provider ID")
	}
	for {
		e := next(t, leg)
		if e.Kind == voice.EventAnswered {
			return s.converse(t, leg)
		}
		if e.Kind == voice.EventEnded {
			t.Fatalf("the call ended (%s) before it was answered", e.Status)
		}
	}
}

// media is the mode the suite places calls in.
func (s Suite) media() voice.MediaMode {
	if s.Speech != nil {
		return voice.MediaAudio
	}
	return voice.MediaText
}

// converse, in audio mode, turns an answered leg's audio into its
// Conversation through the suite's speech engine.
func (s Suite) converse(t *testing.T, leg voice.Leg) voice.Leg {
	t.Helper()
	if s.Speech == nil {
		return leg
	}
	al, ok := leg.(voice.AudioLeg)
	if !ok {
		t.Fatalf("a leg placed in audio mode (%T) has no audio", leg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := al.Audio(ctx)
	if err != nil {
		t.Fatalf("waiting for the call's audio: %v", err)
	}
	conv, err := s.Speech.Converse(ctx, a, voice.SpeechConfig{Voice: "alloy"})
	if err != nil {
		t.Fatalf("opening the speech engine: %v", err)
	}
	t.Cleanup(func() { _ = conv.Close() })
	return voice.WithConversation(leg, conv)
}

func ended(t *testing.T, evs []voice.Event) voice.Event {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].Kind != voice.EventEnded {
		t.Fatalf("the call's events %+v do not end with %q", evs, voice.EventEnded)
	}
	return evs[len(evs)-1]
}

func texts(lines []voice.Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, string(l.Speaker)+": "+l.Text)
	}
	return out
}

// Run runs the suite. Every case calls its own number, so a provider's
// scripts do not collide; cases run in parallel.
func Run(t *testing.T, s Suite) {
	agent := func(turns ...string) *voice.Agent {
		return &voice.Agent{Model: &model{turns: turns}, Clock: domain.SystemClock{}}
	}
	cont := func(say string) string { return `{"say":"` + say + `","action":"continue","reason":""}` }
	t.Run("answered: greeting, two turns, hang-up, recording", func(t *testing.T) {
		t.Parallel()
		leg := s.answered(t, "+15550000001", Callee{Scenario: Answer, Lines: []string{"Hello?", "Tuesday works."}},
			voice.Dial{Record: true, DetectMachine: true, MaxDuration: time.Minute})
		res := agent(cont("When would suit you?"), `{"say":"Booked for Tuesday. Goodbye!","action":"end_call","reason":"booked"}`).
			Run(context.Background(), leg, voice.AgentConfig{Greeting: "Hi, this is the clinic.", Silence: 5 * time.Second})
		if res.Err != nil || res.EndReason != voice.EndAgentHangup {
			t.Fatalf("agent ended %s: %v", res.EndReason, res.Err)
		}
		want := []string{"agent: Hi, this is the clinic.", "caller: Hello?", "agent: When would suit you?", "caller: Tuesday works.", "agent: Booked for Tuesday. Goodbye!"}
		if got := texts(res.Transcript); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("transcript %q, want %q", got, want)
		}
		e := ended(t, events(t, leg, 10*time.Second))
		if e.Status != voice.StatusCompleted || e.RecordingURL == "" {
			t.Fatalf("ended %+v, want completed with a recording URL", e)
		}
		heard := s.Heard(leg)
		if len(heard) != 3 || heard[0] != "Hi, this is the clinic." || heard[2] != "Booked for Tuesday. Goodbye!" {
			t.Fatalf("the callee heard %q", heard)
		}
	})
	for _, tc := range []struct {
		name   string
		to     string
		callee Callee
		want   voice.Status
	}{
		{"busy", "+15550000002", Callee{Scenario: Busy}, voice.StatusBusy},
		{"no answer", "+15550000003", Callee{Scenario: NoAnswer}, voice.StatusNoAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s.Expect(tc.to, tc.callee)
			leg, err := s.Provider.Place(context.Background(), voice.Dial{To: tc.to, From: s.From, RingTimeout: 5 * time.Second, Media: s.media()})
			if err != nil {
				t.Fatal(err)
			}
			evs := events(t, leg, 10*time.Second)
			for _, e := range evs {
				if e.Kind == voice.EventAnswered {
					t.Fatalf("a %s call was answered: %+v", tc.name, evs)
				}
			}
			if e := ended(t, evs); e.Status != tc.want || e.RecordingURL != "" {
				t.Fatalf("ended %+v, want %s without a recording", e, tc.want)
			}
		})
	}
	t.Run("machine", func(t *testing.T) {
		t.Parallel()
		s.Expect("+15550000004", Callee{Scenario: Machine})
		leg, err := s.Provider.Place(context.Background(), voice.Dial{To: "+15550000004", From: s.From, DetectMachine: true, Media: s.media()})
		if err != nil {
			t.Fatal(err)
		}
		var by voice.AnsweredBy
		for by == "" {
			if e := next(t, leg); e.Kind == voice.EventAnswered {
				by = e.AnsweredBy
			}
		}
		if by != voice.AnsweredMachine {
			t.Fatalf("answered by %q, want a machine", by)
		}
		if err := leg.Hangup(context.Background()); err != nil {
			t.Fatal(err)
		}
		if e := ended(t, events(t, leg, 10*time.Second)); !e.Status.Terminal() {
			t.Fatalf("ended %+v", e)
		}
	})
	t.Run("caller hangs up mid-call", func(t *testing.T) {
		t.Parallel()
		leg := s.answered(t, "+15550000005", Callee{Scenario: Answer, Lines: []string{"Hello?", "Wait—", "never said"}, HangUpAfter: 1}, voice.Dial{})
		res := agent(cont("How are you?"), cont("Still there?")).Run(context.Background(), leg, voice.AgentConfig{Greeting: "Hi!", Silence: 5 * time.Second})
		if res.EndReason != voice.EndCallerHangup {
			t.Fatalf("agent ended %s (%v), want caller_hangup", res.EndReason, res.Err)
		}
		if got := texts(res.Transcript); len(got) != 3 || got[1] != "caller: Hello?" {
			t.Fatalf("transcript %q", got)
		}
		if e := ended(t, events(t, leg, 10*time.Second)); e.Status != voice.StatusCompleted {
			t.Fatalf("ended %+v", e)
		}
	})
	t.Run("transfer", func(t *testing.T) {
		t.Parallel()
		leg := s.answered(t, "+15550000006", Callee{Scenario: Answer, Lines: []string{"I want a person."}}, voice.Dial{})
		target := voice.Target{Kind: voice.TargetNumber, To: "+15557770000", Mode: voice.TransferBlind}
		res := agent(`{"say":"Connecting you now.","action":"transfer","reason":"asked for a person"}`).
			Run(context.Background(), leg, voice.AgentConfig{Greeting: "Hello!", Transfer: &target, Silence: 5 * time.Second})
		if res.EndReason != voice.EndTransferred || res.Transfer == nil || res.Err != nil {
			t.Fatalf("agent ended %s %+v: %v", res.EndReason, res.Transfer, res.Err)
		}
		if got := s.Transferred(leg); got == nil || got.To != target.To || got.Mode != voice.TransferBlind {
			t.Fatalf("transferred to %+v, want %+v", got, target)
		}
		if e := ended(t, events(t, leg, 10*time.Second)); e.Status != voice.StatusCompleted {
			t.Fatalf("ended %+v", e)
		}
		if err := leg.Transfer(context.Background(), target); err == nil {
			t.Error("transferring an ended call succeeded")
		}
	})
	t.Run("warm transfer to an agent", func(t *testing.T) {
		t.Parallel()
		leg := s.answered(t, "+15550000009", Callee{Scenario: Answer, Lines: []string{"My order never came, get me a person."}}, voice.Dial{})
		target := voice.Target{Kind: voice.TargetAgent, To: "alice", Mode: voice.TransferWarm}
		res := agent(`{"say":"Let me get a colleague.","action":"transfer_call","reason":"missing order"}`).
			Run(context.Background(), leg, voice.AgentConfig{Greeting: "Hello!", Transfer: &target, Silence: 5 * time.Second})
		if res.EndReason != voice.EndTransferred || res.Transfer == nil || res.Err != nil {
			t.Fatalf("agent ended %s %+v: %v", res.EndReason, res.Transfer, res.Err)
		}
		if res.Transfer.Reason != "missing order" || res.Transfer.RequestedBy != "agent" {
			t.Fatalf("transfer recorded as %+v", res.Transfer)
		}
		if got := s.Transferred(leg); got == nil || got.Kind != voice.TargetAgent || got.To != "alice" || got.Mode != voice.TransferWarm {
			t.Fatalf("transferred to %+v, want the agent alice, warm", got)
		}
		briefed := s.Briefed("agent:alice")
		if len(briefed) == 0 || !strings.Contains(briefed[len(briefed)-1], "missing order") || !strings.Contains(briefed[len(briefed)-1], "My order never came") {
			t.Fatalf("the agent heard %q before the caller joined, want the reason and the caller's words", briefed)
		}
		if e := ended(t, events(t, leg, 10*time.Second)); e.Status != voice.StatusCompleted {
			t.Fatalf("ended %+v", e)
		}
	})
	if s.Decline != nil {
		// The target's leg ends unanswered: the transfer fails with its
		// status (Twilio's DialCallStatus), the caller is still with the
		// agent and hears that nobody is available.
		for i, tc := range []struct {
			name   string
			target voice.Target
			status voice.Status
		}{
			{"blind, busy", voice.Target{Kind: voice.TargetNumber, To: "+15557770011", Mode: voice.TransferBlind}, voice.StatusBusy},
			{"blind, no answer", voice.Target{Kind: voice.TargetNumber, To: "+15557770012", Mode: voice.TransferBlind}, voice.StatusNoAnswer},
			{"blind to an agent, failed", voice.Target{Kind: voice.TargetAgent, To: "bob", Mode: voice.TransferBlind}, voice.StatusFailed},
			{"warm to an agent, no answer", voice.Target{Kind: voice.TargetAgent, To: "carol", Mode: voice.TransferWarm}, voice.StatusNoAnswer},
			{"warm to a number, busy", voice.Target{Kind: voice.TargetNumber, To: "+15557770013", Mode: voice.TransferWarm}, voice.StatusBusy},
		} {
			t.Run("transfer not taken: "+tc.name, func(t *testing.T) {
				t.Parallel()
				s.Decline(tc.target.String(), tc.status)
				to := "+155500001" + string(rune('0'+i))
				leg := s.answered(t, to, Callee{Scenario: Answer, Lines: []string{"A person please."}, StayOn: true}, voice.Dial{})
				target := tc.target
				res := agent(`{"say":"One moment.","action":"transfer_call","reason":"asked for a person"}`).
					Run(context.Background(), leg, voice.AgentConfig{Transfer: &target, Silence: 5 * time.Second})
				if res.EndReason == voice.EndTransferred || res.Transfer == nil || res.Transfer.DialStatus != tc.status {
					t.Fatalf("agent ended %s %+v (%v), want a %s transfer and the call ended by the agent", res.EndReason, res.Transfer, res.Err, tc.status)
				}
				if e := ended(t, events(t, leg, 10*time.Second)); e.Status != voice.StatusCompleted {
					t.Fatalf("ended %+v", e)
				}
				if h := s.Heard(leg); len(h) == 0 || h[len(h)-1] != voice.DeclinedLine {
					t.Fatalf("the caller heard %q, want to be told nobody is available", h)
				}
			})
		}
		t.Run("transfer taken after one not taken", func(t *testing.T) {
			t.Parallel()
			busy := voice.Target{Kind: voice.TargetNumber, To: "+15557770021", Mode: voice.TransferBlind}
			s.Decline(busy.String(), voice.StatusBusy)
			leg := s.answered(t, "+15550000020", Callee{Scenario: Answer, Lines: []string{"A person please."}, StayOn: true}, voice.Dial{})
			if err := leg.Conversation().Say(context.Background(), "Please hold."); err != nil {
				t.Fatal(err)
			}
			var te *voice.TransferError
			if err := leg.Transfer(context.Background(), busy); !errors.As(err, &te) || te.Status != voice.StatusBusy {
				t.Fatalf("transfer to a busy number: %v, want a busy *voice.TransferError", err)
			}
			if err := leg.Conversation().Say(context.Background(), rehold); err != nil {
				t.Fatalf("the caller is not back with the agent after the busy transfer: %v", err)
			}
			for deadline := time.Now().Add(5 * time.Second); !slices.Contains(s.Heard(leg), rehold); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the caller heard %q, not the agent's line after the busy transfer", s.Heard(leg))
				}
			}
			desk := voice.Target{Kind: voice.TargetNumber, To: "+15557770022", Mode: voice.TransferBlind}
			if err := leg.Transfer(context.Background(), desk); err != nil {
				t.Fatalf("transfer to the desk: %v", err)
			}
			if got := s.Transferred(leg); got == nil || got.To != desk.To {
				t.Fatalf("transferred to %+v, want the desk", got)
			}
			if e := ended(t, events(t, leg, 10*time.Second)); e.Status != voice.StatusCompleted {
				t.Fatalf("ended %+v", e)
			}
			if h := s.Heard(leg); h[len(h)-1] != rehold {
				t.Fatalf("the caller heard %q, want the re-hold line last", h)
			}
		})
	}
	t.Run("max duration cut-off", func(t *testing.T) {
		t.Parallel()
		leg := s.answered(t, "+15550000007", Callee{Scenario: Silence}, voice.Dial{MaxDuration: time.Second})
		start := time.Now()
		res := agent().Run(context.Background(), leg, voice.AgentConfig{MaxDuration: time.Second, Silence: 30 * time.Second})
		if res.EndReason != voice.EndMaxDuration && res.EndReason != voice.EndCallerHangup {
			t.Fatalf("agent ended %s (%v), want max_duration", res.EndReason, res.Err)
		}
		if e := ended(t, events(t, leg, 10*time.Second)); e.Status != voice.StatusCompleted {
			t.Fatalf("ended %+v", e)
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Fatalf("a 1 s call lasted %s", d)
		}
	})
	if s.Forged != nil {
		t.Run("forged webhook refused", func(t *testing.T) {
			t.Parallel()
			leg := s.answered(t, "+15550000008", Callee{Scenario: Silence}, voice.Dial{})
			if code := s.Forged(t, leg); code != 401 && code != 403 {
				t.Fatalf("a webhook with a wrong signature got %d, want 401 or 403", code)
			}
			select {
			case e := <-leg.Events():
				t.Fatalf("a forged webhook produced %+v", e)
			case <-time.After(200 * time.Millisecond):
			}
			if err := leg.Hangup(context.Background()); err != nil && !errors.Is(err, voice.ErrHungUp) {
				t.Fatal(err)
			}
			ended(t, events(t, leg, 10*time.Second))
		})
	}
}
