package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassOfAndBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want Class
	}{
		{&SendError{Class: Throttled}, Throttled},
		{fmt.Errorf("sending: %w", &SendError{Class: Retryable}), Retryable},
		{context.DeadlineExceeded, Retryable},
		{errors.New("unknown"), Permanent},
	}
	for _, tc := range tests {
		if got := ClassOf(tc.err); got != tc.want {
			t.Errorf("ClassOf(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	for attempt, want := range map[int][2]time.Duration{1: {50, 100}, 3: {200, 400}, 20: {500, 1000}} {
		for _, r := range []float64{0, 0.999} {
			d := Backoff(attempt, 100, 1000, func() float64 { return r })
			if d < want[0] || d > want[1] {
				t.Errorf("Backoff(%d, r=%v) = %v, want in %v", attempt, r, d, want)
			}
		}
	}
}

func TestStateRankAndDedup(t *testing.T) {
	t.Parallel()
	if !(StateSent.Rank() < StateDelivered.Rank() && StateDelivered.Rank() < StateRead.Rank()) {
		t.Fatal("states must rank sent < delivered < read")
	}
	s := Event{Kind: KindStatus, Channel: "whatsapp", ProviderID: "w1", Status: &Status{State: StateRead}}
	m := Event{Kind: KindText, Channel: "whatsapp", ProviderID: "w1"}
	if s.DedupKey() == m.DedupKey() || s.DedupKey() == "" || m.DedupKey() == "" {
		t.Fatalf("keys %q %q", s.DedupKey(), m.DedupKey())
	}
	if (&Event{Kind: KindIgnored}).DedupKey() != "" {
		t.Fatal("ignored events need no key")
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	f := func(json.RawMessage) (Adapter, error) { return nil, errors.New("bad config") }
	if err := r.Register("x", f); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("x", f); err == nil {
		t.Fatal("duplicate registration accepted")
	}
	if _, err := r.New("y", nil); err == nil {
		t.Fatal("unknown type accepted")
	}
	if _, err := r.New("x", nil); err == nil {
		t.Fatal("factory error lost")
	}
	if got := r.Types(); len(got) != 1 || got[0] != "x" {
		t.Fatalf("types %v", got)
	}
}
