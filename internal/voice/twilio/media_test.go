package twilio_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/audiotest"
	"github.com/parleyhq/parley/internal/voice/realtime"
	"github.com/parleyhq/parley/internal/voice/realtime/realtimetest"
	"github.com/parleyhq/parley/internal/voice/twilio"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
	"github.com/parleyhq/parley/internal/voice/voicetest"
)

// audioSetup is setup with a fake realtime model sharing the fake
// Twilio's phrasebook, and the engine that talks to it.
func audioSetup(t *testing.T) (*twilio.Provider, *twiliotest.Fake, string, *realtimetest.Server, *realtime.Engine) {
	t.Helper()
	p, fake, base := setup(t)
	book := audiotest.NewBook()
	fake.Book = book
	rt := realtimetest.New(book)
	rt.APIKey = "sk-test"
	t.Cleanup(rt.Close)
	eng, err := realtime.New(realtime.Config{URL: rt.URL(), APIKey: "sk-test", Silence: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p, fake, base, rt, eng
}

// TestConformanceAudio: the Twilio adapter in audio mode (Media Streams
// against the fake Twilio's media client, speech through the realtime
// engine against the fake realtime model) passes the voice provider suite.
func TestConformanceAudio(t *testing.T) {
	t.Parallel()
	p, fake, _, _, eng := audioSetup(t)
	scenarios := map[voicetest.Scenario]twiliotest.Scenario{voicetest.Answer: twiliotest.Answer, voicetest.Busy: twiliotest.Busy,
		voicetest.NoAnswer: twiliotest.NoAnswer, voicetest.Machine: twiliotest.Machine, voicetest.Silence: twiliotest.Silence}
	voicetest.Run(t, voicetest.Suite{
		Provider: p, From: "+14155550100", Speech: eng,
		Expect: func(number string, c voicetest.Callee) {
			fake.Expect(number, twiliotest.Script{Scenario: scenarios[c.Scenario], Lines: c.Lines, HangUpAfter: c.HangUpAfter, StayOn: c.StayOn})
		},
		Heard:       func(leg voice.Leg) []string { return fake.Call(leg.ID()).Heard() },
		Transferred: transferredOn(fake),
		Briefed:     briefedOn(fake),
		Decline:     declineOn(fake),
	})
}

// scripted answers the agent's turns from a list.
type scripted []string

func (s *scripted) Complete(context.Context, ai.Request) (ai.Completion, error) {
	if len(*s) == 0 {
		return ai.Completion{Content: `{"say":"Goodbye.","action":"end_call","reason":"done"}`}, nil
	}
	c := (*s)[0]
	*s = (*s)[1:]
	return ai.Completion{Content: c}, nil
}

// TestAudioCallBargeIn: an audio-mode call end to end: the greeting is
// spoken, the caller answers, talks over the agent's long second line
// (Twilio is told to clear, the model's response is cancelled and
// truncated, the transcript keeps only what was heard), the agent answers
// the interruption and hangs up after its goodbye has played.
func TestAudioCallBargeIn(t *testing.T) {
	t.Parallel()
	p, fake, _, rt, eng := audioSetup(t)
	fake.Expect("+15550001001", twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hello, who is this?", "Sorry, I am driving."},
		BargeInLine: 2, BargeInAfter: 700 * time.Millisecond})
	leg, err := p.Place(context.Background(), voice.Dial{To: "+15550001001", Media: voice.MediaAudio, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	for e := range leg.Events() {
		if e.Kind == voice.EventAnswered {
			break
		}
		if e.Kind == voice.EventEnded {
			t.Fatalf("ended before it was answered: %+v", e)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := leg.(voice.AudioLeg).Audio(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := eng.Converse(ctx, a, voice.SpeechConfig{Voice: "shimmer", Language: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	long := "This is Dana from the clinic calling about your appointment next week, and I would like to go through a few details with you now."
	model := &scripted{`{"say":"` + long + `","action":"continue","reason":""}`, `{"say":"No problem, I will call back later. Goodbye!","action":"end_call","reason":"busy"}`}
	res := (&voice.Agent{Model: model, Clock: domain.SystemClock{}}).Run(ctx, voice.WithConversation(leg, conv),
		voice.AgentConfig{Greeting: "Hi, this is the clinic.", Silence: 10 * time.Second})
	if res.Err != nil || res.EndReason != voice.EndAgentHangup {
		t.Fatalf("agent ended %s: %v (transcript %+v)", res.EndReason, res.Err, res.Transcript)
	}
	var got []string
	for _, l := range res.Transcript {
		got = append(got, string(l.Speaker)+": "+l.Text)
	}
	if len(res.Transcript) != 5 || got[0] != "agent: Hi, this is the clinic." || got[1] != "caller: Hello, who is this?" ||
		got[3] != "caller: Sorry, I am driving." || got[4] != "agent: No problem, I will call back later. Goodbye!" {
		t.Fatalf("transcript %q", got)
	}
	cut := res.Transcript[2]
	if !cut.Interrupted || cut.Text == "" || !strings.HasPrefix(long, cut.Text) || len(cut.Text) >= len(long) {
		t.Fatalf("the interrupted line is %+v, want a proper prefix of the agent's line marked interrupted", cut)
	}
	var end voice.Event
	for e := range leg.Events() {
		end = e
	}
	if end.Kind != voice.EventEnded || end.Status != voice.StatusCompleted || end.RecordingURL == "" {
		t.Fatalf("the call ended with %+v", end)
	}
	heard := fake.Call(leg.ID()).Heard()
	if len(heard) != 3 || heard[0] != "Hi, this is the clinic." || !strings.HasPrefix(heard[1], "(cut off after ") ||
		heard[2] != "No problem, I will call back later. Goodbye!" {
		t.Fatalf("the callee heard %q", heard)
	}
	sess := rt.Sessions()
	if len(sess) != 1 {
		t.Fatalf("%d realtime sessions, want 1", len(sess))
	}
	rec := sess[0].Received()
	for _, want := range []string{"session.update", "input_audio_buffer.append", "response.create", "response.cancel", "conversation.item.truncate"} {
		if !slices.Contains(rec, want) {
			t.Errorf("the model never got %s (got %d events)", want, len(rec))
		}
	}
	if tr := sess[0].Transcripts(); len(tr) != 2 {
		t.Errorf("the model transcribed %q, want the caller's two lines", tr)
	}
	cfg := sess[0].Config()
	if out := cfg["audio"].(map[string]any)["output"].(map[string]any); out["voice"] != "shimmer" {
		t.Errorf("session voice %v, want shimmer", out["voice"])
	}
}
