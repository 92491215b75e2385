package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// waitAsync runs Wait in a goroutine and reports its result on the channel.
func waitAsync(l *Limiter, ctx context.Context, rcpt string, p Priority, name string, out chan<- string) {
	go func() {
		if err := l.Wait(ctx, rcpt, p); err != nil {
			out <- name + ":" + err.Error()
			return
		}
		out <- name
	}()
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a Wait to return")
		return ""
	}
}

func noRecv(t *testing.T, ch <-chan string) {
	t.Helper()
	select {
	case s := <-ch:
		t.Fatalf("Wait returned %q too early", s)
	case <-time.After(5 * time.Millisecond):
	}
}

func TestBurstThenRate(t *testing.T) {
	t.Parallel()
	clk := NewFakeClock(t0)
	l := New(Config{Rate: 10, Burst: 2}, clk)
	ctx := context.Background()
	for i := range 2 {
		if err := l.Wait(ctx, fmt.Sprint("r", i), Bulk); err != nil {
			t.Fatal(err)
		}
	}
	if clk.Pending() != 0 {
		t.Fatal("burst sends should not wait")
	}
	out := make(chan string, 1)
	waitAsync(l, ctx, "r3", Bulk, "third", out)
	clk.BlockUntil(1)
	noRecv(t, out)
	clk.Advance(99 * time.Millisecond)
	noRecv(t, out)
	clk.Advance(time.Millisecond)
	if got := recv(t, out); got != "third" {
		t.Fatalf("got %q", got)
	}
}

func TestRepliesGoBeforeBulk(t *testing.T) {
	t.Parallel()
	clk := NewFakeClock(t0)
	l := New(Config{Rate: 1, Burst: 1}, clk)
	ctx := context.Background()
	if err := l.Wait(ctx, "", Bulk); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 3)
	waitAsync(l, ctx, "", Bulk, "bulk1", out)
	clk.BlockUntil(1)
	waitAsync(l, ctx, "", Reply, "reply", out)
	clk.BlockUntil(2)
	waitAsync(l, ctx, "", Bulk, "bulk2", out)
	for {
		if r, b := l.Waiting(); r == 1 && b == 2 {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	var order []string
	for range 3 {
		clk.Advance(time.Second)
		order = append(order, recv(t, out))
		// Let the next head park on its timer before advancing again.
		if len(order) < 3 {
			clk.BlockUntil(1)
		}
	}
	want := []string{"reply", "bulk1", "bulk2"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
}

func TestPairPacing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		burst     int
		immediate int
	}{
		{"no burst", 1, 1},
		{"burst of three", 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := NewFakeClock(t0)
			l := New(Config{PairInterval: 6 * time.Second, PairBurst: tc.burst}, clk)
			ctx := context.Background()
			for range tc.immediate {
				if err := l.Wait(ctx, "alice", Reply); err != nil {
					t.Fatal(err)
				}
			}
			if clk.Pending() != 0 {
				t.Fatal("burst to one recipient should not wait")
			}
			out := make(chan string, 1)
			waitAsync(l, ctx, "alice", Reply, "alice", out)
			clk.BlockUntil(1)
			// Other recipients are not held back by alice's pacing.
			if err := l.Wait(ctx, "bob", Reply); err != nil {
				t.Fatal(err)
			}
			clk.Advance(5999 * time.Millisecond)
			noRecv(t, out)
			clk.Advance(time.Millisecond)
			if got := recv(t, out); got != "alice" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestPauseAndPauseRecipient(t *testing.T) {
	t.Parallel()
	clk := NewFakeClock(t0)
	l := New(Config{Rate: 100, PairInterval: time.Second, PairBurst: 5}, clk)
	ctx := context.Background()
	l.Pause(2 * time.Second)
	out := make(chan string, 1)
	waitAsync(l, ctx, "x", Reply, "x", out)
	clk.BlockUntil(1)
	clk.Advance(1999 * time.Millisecond)
	noRecv(t, out)
	clk.Advance(10 * time.Millisecond) // pause over and a token earned
	if got := recv(t, out); got != "x" {
		t.Fatalf("got %q", got)
	}

	l.PauseRecipient("y", 3*time.Second)
	waitAsync(l, ctx, "y", Reply, "y", out)
	clk.BlockUntil(1)
	clk.Advance(2 * time.Second)
	noRecv(t, out)
	clk.Advance(time.Second)
	if got := recv(t, out); got != "y" {
		t.Fatalf("got %q", got)
	}
}

func TestCancelLeavesQueue(t *testing.T) {
	t.Parallel()
	clk := NewFakeClock(t0)
	l := New(Config{Rate: 1}, clk)
	if err := l.Wait(context.Background(), "", Bulk); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan string, 2)
	waitAsync(l, ctx, "", Reply, "cancelled", out)
	clk.BlockUntil(1)
	waitAsync(l, context.Background(), "", Bulk, "bulk", out)
	for {
		if _, b := l.Waiting(); b == 1 {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	cancel()
	if got := recv(t, out); got != "cancelled:"+context.Canceled.Error() {
		t.Fatalf("got %q", got)
	}
	// The bulk waiter became head and parks on its own timer.
	clk.BlockUntil(1)
	clk.Advance(time.Second)
	if got := recv(t, out); got != "bulk" {
		t.Fatalf("got %q", got)
	}
	if r, b := l.Waiting(); r+b != 0 {
		t.Fatalf("waiters left: %d %d", r, b)
	}
}

func TestUnlimitedAndContextErrors(t *testing.T) {
	t.Parallel()
	l := New(Config{}, nil)
	for range 1000 {
		if err := l.Wait(context.Background(), "", Bulk); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, "", Bulk); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestPairStateIsPruned(t *testing.T) {
	t.Parallel()
	clk := NewFakeClock(t0)
	l := New(Config{PairInterval: time.Second}, clk)
	for i := range 5000 {
		if i%1000 == 0 {
			clk.Advance(2 * time.Second)
		}
		if err := l.Wait(context.Background(), fmt.Sprint(i), Bulk); err != nil {
			t.Fatal(err)
		}
	}
	l.mu.Lock()
	n := len(l.pairs)
	l.mu.Unlock()
	if n > 2100 {
		t.Fatalf("pair state holds %d recipients; idle ones should be pruned", n)
	}
}
