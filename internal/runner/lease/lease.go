// Package lease is how the runner's inbox and outbox share their durable
// queues between processes: the process that queues a row holds it for a
// lease and is told after the commit; while it holds the row in memory its
// heartbeat renews the lease; any process's poller claims the rows whose
// lease ran out (their process died) or whose retry is due. A dead
// process's rows are so taken over within a lease and a poll.
package lease

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/store"
)

// Defaults of the leases and of the dispatchers that work under them.
const (
	// DefaultLease is short because the heartbeat renews what a live
	// process holds: it bounds how long a dead process's work waits.
	DefaultLease     = 10 * time.Second
	DefaultWorkers   = 64
	DefaultPollEvery = time.Second
)

// Settings are how a durable queue is held and worked by a process.
type Settings struct {
	// Lease is how long the process that queued a row holds it before any
	// process's poller may take it (DefaultLease).
	Lease time.Duration
	// Workers is how many keys are worked at once (DefaultWorkers).
	Workers int
	// PollEvery is how often the poller looks for rows whose holder died
	// or whose retry is due (DefaultPollEvery).
	PollEvery time.Duration
	// RenewEvery is how often the heartbeat renews the leases the process
	// holds (a third of Lease): a lease outlives two missed beats.
	RenewEvery time.Duration
}

// WithDefaults fills the settings left zero.
func (s Settings) WithDefaults() Settings {
	if s.Lease <= 0 {
		s.Lease = DefaultLease
	}
	if s.Workers <= 0 {
		s.Workers = DefaultWorkers
	}
	if s.PollEvery <= 0 {
		s.PollEvery = DefaultPollEvery
	}
	if s.RenewEvery <= 0 || s.RenewEvery >= s.Lease {
		s.RenewEvery = s.Lease / 3
	}
	return s
}

// PollDue lists the rows due now and claims them for this process until
// until, in one transaction; the ones another process claimed first are
// left out.
func PollDue[K comparable](ctx context.Context, st store.Store, now, until time.Time, limit int,
	list func(ctx context.Context, p store.DueParams) ([]store.DueRef, error),
	claim func(q store.Queries, ctx context.Context, p store.ClaimParams) (bool, error),
	item func(store.DueRef) dispatch.Item[K],
) ([]dispatch.Item[K], error) {
	due, err := list(ctx, store.DueParams{Now: now, Limit: limit})
	if err != nil || len(due) == 0 {
		return nil, err
	}
	var out []dispatch.Item[K]
	err = st.InTx(ctx, func(q store.Queries) error {
		out = out[:0]
		for _, d := range due {
			ok, err := claim(q, ctx, store.ClaimParams{ID: d.ID, Now: now, Until: until})
			if err != nil {
				return err
			}
			if ok {
				out = append(out, item(d))
			}
		}
		return nil
	})
	return out, err
}

// Jitter is a random duration in [0, d], so retries of many rows spread out.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}
