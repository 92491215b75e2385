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
// handler polls the execution (its counts snapshot holds the rate and ETA
// the campaign runner works out) on an interval and pushes it whenever it
// changed. A stream is bounded: it ends when the execution finishes (after
// sending the final counts), when the client goes, or after maxDuration
// (EventSource reconnects by itself), so no goroutine outlives its request.

// progressSample is what one poll returns: the execution to push and
// whether it has finished (no event follows the final one).
type progressSample struct {
	Payload  any
	Finished bool
}

// streamConfig tunes a progress stream; zero fields take the defaults.
type streamConfig struct {
	Interval    time.Duration // between polls; default 1 s
	Heartbeat   time.Duration // a comment line when nothing changed; default 15 s
	MaxDuration time.Duration // then the stream ends and the client reconnects; default 30 min
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

// streamProgress runs one stream until the execution finishes, ctx ends,
// poll fails or MaxDuration passes. now is the clock (injected for tests).
func streamProgress(ctx context.Context, w sseWriter, cfg streamConfig, now func() time.Time, poll func(context.Context) (progressSample, error)) error {
	cfg = cfg.withDefaults()
	start := now()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	var last []byte
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
		data, err := json.Marshal(s.Payload)
		if err != nil {
			return fmt.Errorf("encoding the execution's progress: %w", err)
		}
		if !bytes.Equal(data, last) || s.Finished {
			last = data
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
