package sim_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// TestInboundRecording: a simulated caller's call that the host accepts
// with Record is recorded like a placed one: the call's end names the
// simulated recording and the sink gets a WAV under the host's call ID;
// accepted without it, nothing is recorded.
func TestInboundRecording(t *testing.T) {
	t.Parallel()
	for _, record := range []bool{true, false} {
		p := sim.New(domain.SystemClock{}, domain.UUIDv7{})
		got := make(chan voice.Recording, 1)
		p.OnRecording(func(ctx context.Context, r voice.Recording) error { got <- r; return nil })
		ended := make(chan voice.Event, 1)
		p.OnInbound(func(ctx context.Context, call voice.InboundCall) error {
			call.Accept(voice.InboundAnswer{CallID: "call-in", Media: voice.MediaAudio, Record: record})
			go func() {
				conv := call.Leg.Conversation()
				_ = conv.Say(context.Background(), "Thanks for calling.")
				_, _ = conv.Recv(context.Background())
				_ = call.Leg.Hangup(context.Background())
				for e := range call.Leg.Events() {
					if e.Kind == voice.EventEnded {
						ended <- e
					}
				}
			}()
			return nil
		})
		leg, err := p.Call(context.Background(), "+15551230000", "+14155550100", sim.Script{Lines: []string{"Hello, I'd like to book."}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-ended:
			if (e.RecordingURL != "") != record {
				t.Fatalf("record %v: the call ended with recording %q", record, e.RecordingURL)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the call never ended")
		}
		if _, rec := leg.Recording(); rec != record {
			t.Fatalf("record %v: the leg says recorded %v", record, rec)
		}
		select {
		case r := <-got:
			if !record || r.CallID != "call-in" || !bytes.HasPrefix(r.Data, []byte("RIFF")) || r.Validate() != nil {
				t.Fatalf("record %v: the sink got %s (%d bytes)", record, r.CallID, len(r.Data))
			}
		default:
			if record {
				t.Fatal("no recording reached the sink")
			}
		}
	}
}
