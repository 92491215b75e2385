package realtime_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/audiotest"
	"github.com/parleyhq/parley/internal/voice/realtime"
	"github.com/parleyhq/parley/internal/voice/realtime/realtimetest"
)

func TestURLOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, err string }{
		{"https://api.openai.com/v1", "wss://api.openai.com/v1/realtime", ""},
		{"http://localhost:8080/v1/", "ws://localhost:8080/v1/realtime", ""},
		{"ftp://x/v1", "", "neither http nor https"},
		{"not a url", "", "not an absolute URL"},
	} {
		got, err := realtime.URLOf(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("URLOf(%q) = %q, %v; want an error saying %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("URLOf(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// pipe is a voice.Audio in memory: the test plays the caller, the
// session's audio is collected.
type pipe struct {
	in     chan voice.Chunk
	marks  chan string
	marked chan string // what the session marked, for the test
	ended  chan struct{}
	// markDelay holds each Mark this long, as a slow socket would.
	markDelay time.Duration
}

func (p *pipe) Recv(ctx context.Context) (voice.Chunk, error) {
	select {
	case c := <-p.in:
		return c, nil
	case <-p.ended:
		return voice.Chunk{}, voice.ErrHungUp
	case <-ctx.Done():
		return voice.Chunk{}, ctx.Err()
	}
}
func (p *pipe) Play(context.Context, []byte) error { return nil }
func (p *pipe) Mark(_ context.Context, n string) error {
	time.Sleep(p.markDelay)
	p.marked <- n
	p.marks <- n
	return nil
}
func (p *pipe) Marks() <-chan string        { return p.marks }
func (p *pipe) Clear(context.Context) error { return nil }
func newPipe() *pipe {
	return &pipe{in: make(chan voice.Chunk, 1024), marks: make(chan string, 16), marked: make(chan string, 16), ended: make(chan struct{})}
}

// TestConverseRefused: a session the model refuses fails at Converse
// with the model's reason, never later during the call.
func TestConverseRefused(t *testing.T) {
	t.Parallel()
	rt := realtimetest.New(audiotest.NewBook())
	rt.APIKey = "sk-right"
	t.Cleanup(rt.Close)
	for _, tc := range []struct {
		name, key, voice, want string
	}{
		{"wrong key", "sk-wrong", "alloy", "HTTP 401"},
		{"voice the model lacks", "sk-right", "onyx", "for session.audio.output.voice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eng, err := realtime.New(realtime.Config{URL: rt.URL(), APIKey: tc.key})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conv, err := eng.Converse(ctx, newPipe(), voice.SpeechConfig{Voice: tc.voice})
			if err == nil {
				_ = conv.Close()
				t.Fatal("the session opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestSayReturnsAfterItsMark: Say returns only once its line's mark is
// sent, even on a slow socket. The agent may transfer the call next; a
// mark sent after that would reach the caller's next stream, if the
// transfer is not taken, and end the first line there at once.
func TestSayReturnsAfterItsMark(t *testing.T) {
	t.Parallel()
	rt := realtimetest.New(audiotest.NewBook())
	rt.Pace = time.Millisecond
	t.Cleanup(rt.Close)
	eng, err := realtime.New(realtime.Config{URL: rt.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := newPipe()
	p.markDelay = 100 * time.Millisecond
	conv, err := eng.Converse(ctx, p, voice.SpeechConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	for _, want := range []string{"line-1", "line-2"} {
		if err := conv.Say(ctx, "One moment."); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-p.marked:
			if m != want {
				t.Fatalf("mark %q, want %q", m, want)
			}
		default:
			t.Fatalf("Say returned before %s's mark was sent", want)
		}
	}
}

// TestSpeechAndHangUp: the caller's phrase, streamed in 20 ms frames with
// silence after, comes out as InputSpeech; a key press as InputDTMF; a
// line said is marked; the caller hanging up ends Recv with
// ErrHungUp.
func TestSpeechAndHangUp(t *testing.T) {
	t.Parallel()
	book := audiotest.NewBook()
	rt := realtimetest.New(book)
	rt.Pace = time.Millisecond
	t.Cleanup(rt.Close)
	eng, err := realtime.New(realtime.Config{URL: rt.URL(), Silence: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := newPipe()
	conv, err := eng.Converse(ctx, p, voice.SpeechConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	if err := conv.Say(ctx, "Good morning."); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-p.marked:
		if m != "line-1" {
			t.Fatalf("mark %q", m)
		}
	case <-ctx.Done():
		t.Fatal("the line was never marked")
	}
	audio := append(append(audiotest.SilenceOf(100), book.Add("I would like Tuesday.")...), audiotest.SilenceOf(400)...)
	for i := 0; i < len(audio); i += audiotest.FrameBytes {
		p.in <- voice.Chunk{Audio: audio[i:min(i+audiotest.FrameBytes, len(audio))]}
	}
	p.in <- voice.Chunk{DTMF: "5"}
	var got []voice.Input
	for len(got) < 2 {
		in, err := conv.Recv(ctx)
		if err != nil {
			t.Fatalf("after %+v: %v", got, err)
		}
		if in.Kind == voice.InputInterrupt {
			// The pipe echoes the mark at once, as if the line had
			// played in no time; the caller's first word may still
			// reach the model before the session read that echo.
			continue
		}
		got = append(got, in)
	}
	// The key press may overtake the transcription, which waits for the
	// model; both must come.
	var speech, dtmf bool
	for _, in := range got {
		speech = speech || in.Kind == voice.InputSpeech && in.Text == "I would like Tuesday."
		dtmf = dtmf || in.Kind == voice.InputDTMF && in.Text == "5"
	}
	if !speech || !dtmf {
		t.Fatalf("inputs %+v", got)
	}
	close(p.ended)
	if _, err := conv.Recv(ctx); err != voice.ErrHungUp {
		t.Fatalf("Recv after the hang-up: %v", err)
	}
}
