package lease

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Heartbeat keeps a live process's leases from running out: every
// Settings.RenewEvery it extends, by a whole lease, the rows its dispatcher
// holds (waiting, running or delayed in memory). So the lease can be short
// — a dead process's rows are taken over by another's poller a lease and
// a poll after its last beat — while a process that is merely busy (a
// backlog, a slow sprint or send) keeps what it holds. It is a background
// service: Start, Stop.
type Heartbeat struct {
	c      HeartbeatConfig
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// HeartbeatConfig is what a Heartbeat renews and how often.
type HeartbeatConfig struct {
	// Name names the queue in logs ("inbox", "send").
	Name     string
	Settings Settings
	Clock    domain.Clock
	Logger   *slog.Logger
	// Held lists the IDs the process holds now (contacts or messages).
	Held func() []string
	// Renew extends the leases on the IDs (store.Queue's
	// ContactEventsRenew or MessagesRenew).
	Renew func(ctx context.Context, p store.RenewParams) (int, error)
}

// NewHeartbeat returns a stopped Heartbeat.
func NewHeartbeat(c HeartbeatConfig) *Heartbeat {
	c.Settings = c.Settings.WithDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Heartbeat{c: c}
}

// Start starts beating.
func (h *Heartbeat) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancel != nil {
		return nil
	}
	ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	h.done = make(chan struct{})
	go h.loop(ctx, h.done)
	return nil
}

// Stop stops beating; the leases held run out a lease later, unless the
// dispatcher's work ends first.
func (h *Heartbeat) Stop() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (h *Heartbeat) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(h.c.Settings.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := h.Beat(ctx); err != nil && ctx.Err() == nil {
			// The next beat tries again; leases last three beats.
			h.c.Logger.Warn("renewing leases failed", "queue", h.c.Name, "err", err)
		}
	}
}

// Beat renews the leases held now once and returns how many rows it
// extended.
func (h *Heartbeat) Beat(ctx context.Context) (int, error) {
	ids := h.c.Held()
	if len(ids) == 0 {
		return 0, nil
	}
	now := h.c.Clock.Now()
	return h.c.Renew(ctx, store.RenewParams{IDs: ids, Now: now, Until: now.Add(h.c.Settings.Lease), Fresh: h.fresh(now)})
}

// fresh is the bound past which a lease is left as it is: one that runs
// half a beat short of a whole lease from now still outlives two missed
// beats (a lease is three), and it spares the rows claimed within the
// last half beat — the ones being handled now, whose handled marks a
// renewal's row locks would hold up (under 2,000 timeouts/s on
// PostgreSQL, six sprints at a time waited on a renewal's commit).
func (h *Heartbeat) fresh(now time.Time) time.Time {
	return now.Add(h.c.Settings.Lease - h.c.Settings.RenewEvery/2)
}
