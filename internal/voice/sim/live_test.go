package sim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

func kinds(evs []sim.LiveEvent) []string {
	var out []string
	for _, e := range evs {
		s := string(e.Kind)
		if e.Text != "" {
			s += ":" + e.Text
		}
		if e.Status != "" && e.Kind == sim.LiveEnded {
			s += ":" + string(e.Status)
		}
		out = append(out, s)
	}
	return out
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLiveCallee: a person plays the callee of a live call — their lines
// reach the agent, the agent's reach them, hanging up ends the call — and
// the events are there for whoever follows the call.
func TestLiveCallee(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		attended bool // placed through Attended (the simulator) rather than ExpectLive
		scenario sim.Scenario
		want     []string
	}{
		{"expected, answered", false, sim.Answer, []string{"ringing", "answered", "agent:Hello, this is the clinic.", "callee:Hi!", "agent:Tuesday?", "callee:Yes.", "ended:completed"}},
		{"attended, answered", true, sim.Answer, []string{"ringing", "answered", "agent:Hello, this is the clinic.", "callee:Hi!", "agent:Tuesday?", "callee:Yes.", "ended:completed"}},
		{"busy", false, sim.Busy, []string{"ringing", "ended:busy"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := sim.New(domain.SystemClock{}, domain.UUIDv7{})
			var lv *sim.Live
			var prov voice.Provider = p
			if tc.attended {
				prov = sim.Attended{P: p}
			} else {
				lv = p.ExpectLive("+15550001", tc.scenario)
			}
			leg, err := prov.Place(ctx, voice.Dial{CallID: "call-1", To: "+15550001", From: "+15550100"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.attended {
				var ok bool
				if lv, ok = p.Live("call-1"); !ok {
					t.Fatal("the attended call is not found by its call ID")
				}
			}
			if c, l := lv.CallID(); c != "call-1" || l != leg.ID() {
				t.Fatalf("live call IDs %q %q, leg %q", c, l, leg.ID())
			}
			if tc.scenario == sim.Answer {
				conv := leg.Conversation()
				for i, agent := range []string{"Hello, this is the clinic.", "Tuesday?"} {
					if err := conv.Say(ctx, agent); err != nil {
						t.Fatal(err)
					}
					said := []string{"Hi!", "Yes."}[i]
					if err := lv.Say(said); err != nil {
						t.Fatal(err)
					}
					in, err := conv.Recv(ctx)
					if err != nil || in.Text != said {
						t.Fatalf("agent heard %+v, %v; want %q", in, err, said)
					}
				}
				lv.HangUp()
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				if _, err := conv.Recv(rctx); !errors.Is(err, voice.ErrHungUp) {
					t.Fatalf("after the person hung up Recv = %v, want ErrHungUp", err)
				}
				if err := lv.Say("too late"); err == nil {
					t.Fatal("a line after the end was accepted")
				}
			}
			var got []sim.LiveEvent
			after := 0
			for !lv.Ended() || after < 1 {
				evs, _ := lv.Wait(ctx, after, time.Second)
				if len(evs) == 0 {
					break
				}
				got = append(got, evs...)
				after = evs[len(evs)-1].Seq
			}
			if !same(kinds(got), tc.want) {
				t.Fatalf("events %q, want %q", kinds(got), tc.want)
			}
			var last voice.Event
			for e := range leg.Events() {
				last = e
			}
			if last.Kind != voice.EventEnded {
				t.Fatalf("last event %+v", last)
			}
		})
	}
}

// TestLiveQueueBounded: a person far ahead of the agent is told to wait,
// and Wait returns when nothing happens.
func TestLiveQueueBounded(t *testing.T) {
	t.Parallel()
	lv := sim.NewLive()
	for i := 0; i < sim.LiveQueue; i++ {
		if err := lv.Say("line"); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	err := lv.Say("one more")
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeConflict {
		t.Fatalf("line over the bound: %v, want a conflict", err)
	}
	if evs, ended := lv.Wait(context.Background(), 0, 10*time.Millisecond); len(evs) != 0 || ended {
		t.Fatalf("Wait on a quiet call = %v %v", evs, ended)
	}
}

// TestExpectLiveReplaced: a newer expectation for the same number ends
// the older one (canceled), so whoever follows it is not left waiting.
func TestExpectLiveReplaced(t *testing.T) {
	t.Parallel()
	p := sim.New(domain.SystemClock{}, domain.UUIDv7{})
	first := p.ExpectLive("+15550001", sim.Answer)
	second := p.ExpectLive("+15550001", sim.Answer)
	evs, ended := first.Wait(context.Background(), 0, time.Second)
	if !ended || len(evs) != 1 || evs[0].Status != voice.StatusCanceled {
		t.Fatalf("the replaced live call: %+v ended=%v", evs, ended)
	}
	if second.Ended() {
		t.Fatal("the newer live call ended")
	}
}
