package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The live progress of a campaign execution, as server-sent events: the
// handler polls the execution's counts on an interval and pushes them when
// they change, with the current rate and ETA worked out from the last
// samples. A stream is bounded: it ends when the execution finishes (after
// sending the final counts), when the client goes, or after maxDuration
// (EventSource reconnects by itself), so no goroutine outlives its request.

// progressSample is what one poll returns: the payload to push, how many
// rows are processed and in all (for rate and ETA), and whether the
// execution has finished (no event will follow the final one).
type progressSample struct {
	Payload   any
	Processed int64
	Total     int64
	Finished  bool
}

// progressEvent is the data of a "progress" event.
type progressEvent struct {
	Execution any `json:"execution"`
	// Rate is rows processed per second over the last rateWindow.
	Rate float64 `json:"rate"`
	// ETASeconds is the remaining rows over Rate; null while the rate is 0.
	ETASeconds *float64 `json:"eta_seconds"`
	// Finished is true on the last event of an execution that ended.
	Finished bool `json:"finished"`
}

// streamConfig tunes a progress stream; zero fields take the defaults.
type streamConfig struct {
	Interval    time.Duration // between polls; default 1 s
	Heartbeat   time.Duration // a comment line when nothing changed; default 15 s
	MaxDuration time.Duration // then the stream ends and the client reconnects; default 30 min
	RateWindow  time.Duration // samples the rate is worked out over; default 30 s
}

func (c streamConfig) withDefaults() streamConfig {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.MaxDuration <= 0 {
		c.MaxDuration = 30 * time.Minute
	}
	if c.RateWindow <= 0 {
		c.RateWindow = 30 * time.Second
	}
	return c
}

// sseWriter is where a stream writes: each write is flushed to the client
// at once; before each, the write deadline moves on (the server's
// WriteTimeout would otherwise cut a long stream).
type sseWriter interface {
	io.Writer
	Flush() error
	SetWriteDeadline(time.Time) error
}

type rateSample struct {
	at   time.Time
	done int64
}

// streamProgress runs one stream until the execution finishes, ctx ends,
// poll fails or MaxDuration passes. now is the clock (injected for tests).
func streamProgress(ctx context.Context, w sseWriter, cfg streamConfig, now func() time.Time, poll func(context.Context) (progressSample, error)) error {
	cfg = cfg.withDefaults()
	start := now()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	var last []byte
	var samples []rateSample
	lastWrite := start
	seq := 0
	send := func(b []byte) error {
		_ = w.SetWriteDeadline(now().Add(cfg.Interval + cfg.Heartbeat + 10*time.Second))
		if _, err := w.Write(b); err != nil {
			return err
		}
		lastWrite = now()
		return w.Flush()
	}
	// The client's reconnect delay, once.
	if err := send([]byte("retry: 2000\n\n")); err != nil {
		return err
	}
	for {
		s, err := poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b, _ := json.Marshal(map[string]string{"detail": err.Error()})
			_ = send([]byte("event: error\ndata: " + string(b) + "\n\n"))
			return err
		}
		t := now()
		samples = append(samples, rateSample{at: t, done: s.Processed})
		for len(samples) > 2 && t.Sub(samples[0].at) > cfg.RateWindow {
			samples = samples[1:]
		}
		ev := progressEvent{Execution: s.Payload, Finished: s.Finished}
		if first := samples[0]; len(samples) > 1 && t.After(first.at) {
			ev.Rate = float64(s.Processed-first.done) / t.Sub(first.at).Seconds()
			if ev.Rate < 0 {
				ev.Rate = 0
			}
			ev.Rate = float64(int64(ev.Rate*100+0.5)) / 100
			if ev.Rate > 0 && s.Total >= s.Processed {
				eta := float64(int64(float64(s.Total-s.Processed) / ev.Rate))
				ev.ETASeconds = &eta
			}
		}
		// Only the counts decide whether something changed: a new rate
		// alone is not worth an event.
		key, err := json.Marshal(s.Payload)
		if err != nil {
			return fmt.Errorf("encoding the execution's progress: %w", err)
		}
		if !bytes.Equal(key, last) || s.Finished {
			last = key
			data, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("encoding the execution's progress: %w", err)
			}
			seq++
			if err := send([]byte(fmt.Sprintf("id: %d\nevent: progress\ndata: %s\n\n", seq, data))); err != nil {
				return nil // the client went
			}
		} else if t.Sub(lastWrite) >= cfg.Heartbeat {
			if err := send([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
		}
		if s.Finished {
			_ = send([]byte("event: end\ndata: {}\n\n"))
			return nil
		}
		if t.Sub(start) >= cfg.MaxDuration {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
