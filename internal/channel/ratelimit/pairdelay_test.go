package ratelimit

import (
	"context"
	"testing"
	"time"
)

// TestPairDelay: the delay is reported without reserving the slot.
func TestPairDelay(t *testing.T) {
	t.Parallel()
	clock := NewFakeClock(time.Unix(1_000_000, 0))
	l := New(Config{PairInterval: 6 * time.Second, PairBurst: 2}, clock)
	ctx := context.Background()
	if d := l.PairDelay("a"); d != 0 {
		t.Fatalf("fresh recipient delay = %v", d)
	}
	for range 2 { // the burst goes through at once
		if err := l.Wait(ctx, "a", Reply); err != nil {
			t.Fatal(err)
		}
	}
	d := l.PairDelay("a")
	if d <= 0 || d > 6*time.Second {
		t.Fatalf("delay after the burst = %v, want (0, 6s]", d)
	}
	if again := l.PairDelay("a"); again != d {
		t.Fatalf("PairDelay reserved a slot: %v then %v", d, again)
	}
	if other := l.PairDelay("b"); other != 0 {
		t.Fatalf("another recipient waits %v", other)
	}
	clock.Advance(d)
	if left := l.PairDelay("a"); left != 0 {
		t.Fatalf("after waiting, delay = %v", left)
	}
}
