package dispatch

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestEveryKeyWorkedOneAtATime(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	inFlight := map[int]bool{}
	works := map[int]int{}
	var overlap atomic.Int64
	d := New(Config[int]{Workers: 8, Work: func(_ context.Context, k int) time.Duration {
		mu.Lock()
		if inFlight[k] {
			overlap.Add(1)
		}
		inFlight[k] = true
		mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		mu.Lock()
		inFlight[k] = false
		works[k]++
		mu.Unlock()
		return Done
	}})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				d.Notify(i%50, g == 0)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all work", func() bool { s := d.Stats(); return s.Waiting == 0 && s.Running == 0 })
	if overlap.Load() != 0 {
		t.Errorf("a key was worked by two goroutines at once %d times", overlap.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	for k := range 50 {
		if works[k] == 0 {
			t.Errorf("key %d never worked", k)
		}
	}
}

// A Notify that arrives while its key is being worked must cause one more
// run: the row it announces may have been committed after the worker read.
func TestNotifyWhileRunningRunsAgain(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int64
	d := New(Config[string]{Workers: 2, Work: func(_ context.Context, k string) time.Duration {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
		return Done
	}})
	_ = d.Start(context.Background())
	defer d.Stop()
	d.Notify("c1", false)
	<-started
	d.Notify("c1", false)
	d.Notify("c1", false) // coalesced with the previous one
	close(release)
	waitFor(t, "second run", func() bool { return runs.Load() == 2 && d.Stats().Running == 0 && d.Stats().Waiting == 0 })
	time.Sleep(20 * time.Millisecond)
	if n := runs.Load(); n != 2 {
		t.Errorf("runs = %d, want 2", n)
	}
}

func TestWorkResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// results returned by successive runs
		results []time.Duration
		minGap  time.Duration
	}{
		{"done", []time.Duration{Done}, 0},
		{"again now", []time.Duration{0, 0, Done}, 0},
		{"delayed", []time.Duration{30 * time.Millisecond, Done}, 30 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var at []time.Time
			d := New(Config[int]{Workers: 1, Work: func(context.Context, int) time.Duration {
				mu.Lock()
				defer mu.Unlock()
				at = append(at, time.Now())
				return tc.results[len(at)-1]
			}})
			_ = d.Start(context.Background())
			defer d.Stop()
			d.Notify(1, false)
			waitFor(t, "runs", func() bool { mu.Lock(); defer mu.Unlock(); return len(at) == len(tc.results) })
			if tc.minGap > 0 && at[1].Sub(at[0]) < tc.minGap {
				t.Errorf("second run after %v, want ≥ %v", at[1].Sub(at[0]), tc.minGap)
			}
		})
	}
}

func TestUrgentFirst(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var mu sync.Mutex
	var order []string
	d := New(Config[string]{Workers: 1, Work: func(_ context.Context, k string) time.Duration {
		if k == "gate" {
			<-gate
			return Done
		}
		mu.Lock()
		order = append(order, k)
		mu.Unlock()
		return Done
	}})
	_ = d.Start(context.Background())
	defer d.Stop()
	d.Notify("gate", false)
	waitFor(t, "gate running", func() bool { return d.Stats().Running == 1 })
	d.Notify("bulk1", false)
	d.Notify("bulk2", false)
	d.Notify("reply", true)
	close(gate)
	waitFor(t, "all", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 3 })
	if order[0] != "reply" {
		t.Errorf("order = %v, want the urgent key first", order)
	}
}

// TestUrgentReserve: bulk keys hold every worker they may (blocked, like
// sends waiting for a provider); an urgent key still runs at once on the
// reserved worker, and bulk keys never run on more than Workers-reserve.
func TestUrgentReserve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		workers, reserve int
		wantBulk         int
	}{
		{"one reserved of four", 4, 1, 3},
		{"reserve capped below the workers", 2, 5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gate := make(chan struct{})
			var running, peak atomic.Int64
			urgentDone := make(chan struct{})
			d := New(Config[string]{Workers: tc.workers, UrgentReserve: tc.reserve, Work: func(_ context.Context, k string) time.Duration {
				if k == "reply" {
					close(urgentDone)
					return Done
				}
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-gate
				running.Add(-1)
				return Done
			}})
			_ = d.Start(context.Background())
			defer d.Stop()
			for i := range 10 {
				d.Notify(fmt.Sprintf("bulk%d", i), false)
			}
			waitFor(t, "bulk workers busy", func() bool { return running.Load() == int64(tc.wantBulk) })
			d.Notify("reply", true)
			select {
			case <-urgentDone:
			case <-time.After(5 * time.Second):
				t.Fatal("the urgent key did not run while bulk keys held their workers")
			}
			close(gate)
			waitFor(t, "all bulk done", func() bool { return d.Stats().Running == 0 && d.Stats().Waiting == 0 })
			if got := peak.Load(); got != int64(tc.wantBulk) {
				t.Errorf("bulk keys ran %d at once, want %d", got, tc.wantBulk)
			}
		})
	}
}

func TestPollerFindsDueKeys(t *testing.T) {
	t.Parallel()
	var due atomic.Int64
	due.Store(1200) // more than two pages: polled back to back
	var worked atomic.Int64
	d := New(Config[int64]{Workers: 4, PollEvery: time.Hour, PollLimit: 500,
		Poll: func(_ context.Context, limit int) ([]Item[int64], error) {
			var out []Item[int64]
			for len(out) < limit {
				n := due.Add(-1)
				if n < 0 {
					break
				}
				out = append(out, Item[int64]{Key: n})
			}
			return out, nil
		},
		Work: func(context.Context, int64) time.Duration { worked.Add(1); return Done }})
	_ = d.Start(context.Background())
	defer d.Stop()
	waitFor(t, "every due key", func() bool { return worked.Load() == 1200 })
}

func TestFullMemoryDropsToThePoller(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	d := New(Config[int]{Workers: 1, MaxQueued: 3, Work: func(context.Context, int) time.Duration { <-block; return Done }})
	_ = d.Start(context.Background())
	defer func() { close(block); d.Stop() }()
	got := []bool{d.Notify(1, false), d.Notify(2, false), d.Notify(3, false), d.Notify(4, false)}
	if !got[0] || !got[1] || !got[2] || got[3] {
		t.Errorf("Notify results = %v, want the fourth refused", got)
	}
	if s := d.Stats(); s.Dropped != 1 {
		t.Errorf("dropped = %d, want 1", s.Dropped)
	}
}

func TestPanicIsRetried(t *testing.T) {
	t.Parallel()
	var runs atomic.Int64
	d := New(Config[int]{Workers: 1, Work: func(context.Context, int) time.Duration {
		if runs.Add(1) == 1 {
			panic("boom")
		}
		return Done
	}})
	_ = d.Start(context.Background())
	defer d.Stop()
	d.Notify(7, false)
	waitFor(t, "retry after the panic", func() bool { return runs.Load() == 2 })
}

func TestStopEndsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	d := New(Config[int]{Workers: 16, PollEvery: time.Millisecond, StopGrace: 50 * time.Millisecond,
		Poll: func(context.Context, int) ([]Item[int], error) { return nil, nil },
		Work: func(ctx context.Context, _ int) time.Duration {
			<-ctx.Done() // work that only ends when cancelled
			return Done
		}})
	_ = d.Start(context.Background())
	d.Notify(1, false)
	d.Notify(2, false)
	waitFor(t, "running", func() bool { return d.Stats().Running == 2 })
	d.Stop()
	if d.Notify(3, false) {
		t.Error("Notify after Stop accepted a key")
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// Held lists every key the dispatcher holds, whether it waits, runs or is
// delayed, and forgets a key once its work is done.
func TestHeldListsWaitingRunningAndDelayed(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	d := New(Config[string]{Workers: 1, Work: func(_ context.Context, k string) time.Duration {
		switch k {
		case "running":
			close(started)
			<-release
		case "delayed":
			return time.Hour
		}
		return Done
	}})
	_ = d.Start(context.Background())
	defer d.Stop()
	d.Notify("delayed", false)
	waitFor(t, "the delayed key to run", func() bool { return d.Stats().Waiting == 1 && d.Stats().Running == 0 })
	d.Notify("running", false)
	<-started
	d.Notify("waiting", false)
	held := map[string]bool{}
	for _, k := range d.Held() {
		held[k] = true
	}
	if len(held) != 3 || !held["delayed"] || !held["running"] || !held["waiting"] {
		t.Errorf("held = %v, want delayed, running and waiting", held)
	}
	close(release)
	waitFor(t, "the work to end", func() bool { return len(d.Held()) == 1 })
	if got := d.Held(); got[0] != "delayed" {
		t.Errorf("held after the work = %v, want only the delayed key", got)
	}
}
