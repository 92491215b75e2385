package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type bufSSE struct {
	mu      sync.Mutex
	b       bytes.Buffer
	flushes int
	failAt  int // fail writes after this many (0: never)
	writes  int
}

func (w *bufSSE) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.failAt > 0 && w.writes > w.failAt {
		return 0, errors.New("client went")
	}
	return w.b.Write(p)
}
func (w *bufSSE) Flush() error                     { w.mu.Lock(); w.flushes++; w.mu.Unlock(); return nil }
func (w *bufSSE) SetWriteDeadline(time.Time) error { return nil }

// events parses the progress events of a stream.
func events(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, block := range strings.Split(s, "\n\n") {
		if !strings.Contains(block, "event: progress") {
			continue
		}
		i := strings.Index(block, "data: ")
		var ev map[string]any
		if err := json.Unmarshal([]byte(block[i+6:]), &ev); err != nil {
			t.Fatalf("event data %q: %v", block, err)
		}
		out = append(out, ev)
	}
	return out
}

func TestStreamProgress(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		samples    []progressSample // polled in order; the last repeats
		cancelAt   int              // cancel ctx after this many polls (0: never)
		failWrites int
		wantEvents int
		wantEnd    bool
	}{
		{name: "pushes changes and ends with the execution", samples: []progressSample{
			{Payload: map[string]int{"started": 0}},
			{Payload: map[string]int{"started": 0}}, // unchanged: no event
			{Payload: map[string]int{"started": 5}},
			{Payload: map[string]int{"started": 10}, Finished: true},
		}, wantEvents: 3, wantEnd: true},
		{name: "stops when the client goes", samples: []progressSample{
			{Payload: map[string]int{"started": 1}},
		}, cancelAt: 5, wantEvents: 1},
		{name: "stops when a write fails", samples: []progressSample{
			{Payload: map[string]int{"started": 1}},
			{Payload: map[string]int{"started": 2}},
			{Payload: map[string]int{"started": 3}},
		}, failWrites: 2, wantEvents: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &bufSSE{failAt: tc.failWrites}
			polls := 0
			clock := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
			now := func() time.Time { return clock }
			done := make(chan error, 1)
			go func() {
				done <- streamProgress(ctx, w, streamConfig{Interval: time.Millisecond, Heartbeat: time.Hour}, now,
					func(context.Context) (progressSample, error) {
						i := polls
						if i >= len(tc.samples) {
							i = len(tc.samples) - 1
						}
						polls++
						clock = clock.Add(time.Second)
						if tc.cancelAt > 0 && polls == tc.cancelAt {
							cancel()
						}
						return tc.samples[i], nil
					})
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream did not end")
			}
			out := w.b.String()
			evs := events(t, out)
			if len(evs) != tc.wantEvents {
				t.Fatalf("%d progress events, want %d:\n%s", len(evs), tc.wantEvents, out)
			}
			if got := strings.Contains(out, "event: end"); got != tc.wantEnd {
				t.Fatalf("end event %v, want %v:\n%s", got, tc.wantEnd, out)
			}
			if tc.wantEnd {
				if last := evs[len(evs)-1]; last["started"] != 10.0 {
					t.Fatalf("last event %v, want the final counts", last)
				}
			}
		})
	}
}

func TestStreamProgressHeartbeatAndLimit(t *testing.T) {
	t.Parallel()
	w := &bufSSE{}
	clock := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	err := streamProgress(context.Background(), w, streamConfig{Interval: time.Millisecond, Heartbeat: 3 * time.Second, MaxDuration: 10 * time.Second},
		func() time.Time { return clock }, func(context.Context) (progressSample, error) {
			clock = clock.Add(time.Second)
			return progressSample{Payload: map[string]string{"same": "x"}}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	out := w.b.String()
	if n := len(events(t, out)); n != 1 {
		t.Fatalf("%d events for unchanged counts, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, ": keep-alive"); n < 2 {
		t.Fatalf("%d heartbeats in 10 s at one per 3 s, want ≥ 2:\n%s", n, out)
	}
}

func TestStreamProgressPollError(t *testing.T) {
	t.Parallel()
	w := &bufSSE{}
	err := streamProgress(context.Background(), w, streamConfig{Interval: time.Millisecond}, time.Now,
		func(context.Context) (progressSample, error) { return progressSample{}, errors.New("execution gone") })
	if err == nil || !strings.Contains(w.b.String(), "event: error") {
		t.Fatalf("err %v, stream %q: want the error ended the stream with an error event", err, w.b.String())
	}
}
