package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Defaults of the runner's dispatchers (Deps overrides them).
const (
	DefaultLease        = 2 * time.Minute
	DefaultInboxWorkers = 64
	DefaultSendWorkers  = 64
	DefaultPollEvery    = time.Second
)

// contactKey names a contact whose inbox has events.
type contactKey struct{ project, contact string }

// messageKey names an outbound message to send.
type messageKey struct{ project, id string }

// newDispatchers builds the inbox and send dispatchers. Their rows are the
// durable queue: the process that queued a row holds it for the lease and
// is told after the commit; the pollers pick up rows whose holder died or
// whose retry is due.
func (r *Runner) newDispatchers() {
	r.inbox = dispatch.New(dispatch.Config[contactKey]{
		Name: "inbox", Workers: r.d.InboxWorkers, PollEvery: r.d.PollEvery, Logger: r.d.Logger,
		Poll: r.pollInbox, Work: r.workInbox,
	})
	r.outbox = dispatch.New(dispatch.Config[messageKey]{
		Name: "send", Workers: r.d.SendWorkers, PollEvery: r.d.PollEvery, Logger: r.d.Logger,
		Poll: r.pollOutbox, Work: r.workOutbox,
	})
}

// Workers is the runner's background service: the inbox and send
// dispatchers.
type Workers struct{ r *Runner }

// Workers returns the runner's background service.
func (r *Runner) Workers() Workers { return Workers{r} }

// Start starts processing inboxes, sending and writing flow counters.
func (w Workers) Start(ctx context.Context) error {
	if err := w.r.inbox.Start(ctx); err != nil {
		return err
	}
	if err := w.r.outbox.Start(ctx); err != nil {
		return err
	}
	w.r.statsMu.Lock()
	defer w.r.statsMu.Unlock()
	if w.r.stopStats == nil {
		w.r.stopStats, w.r.statsDone = make(chan struct{}), make(chan struct{})
		go w.r.flushStatsLoop(w.r.stopStats, w.r.statsDone)
	}
	return nil
}

// Stop stops the dispatchers, letting work under way finish, then writes
// the flow counters counted so far.
func (w Workers) Stop() {
	w.r.inbox.Stop()
	w.r.outbox.Stop()
	w.r.statsMu.Lock()
	stop, done := w.r.stopStats, w.r.statsDone
	w.r.stopStats = nil
	w.r.statsMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Backlog reports what the dispatchers hold in memory, for metrics,
// benchmarks and tests.
func (r *Runner) Backlog() (inbox, send dispatch.Stats) {
	return r.inbox.Stats(), r.outbox.Stats()
}

// held is the due time of a row this process just queued: it is ours
// until then, and the poller of any process takes it after.
func (r *Runner) held(now time.Time) time.Time { return now.Add(r.d.Lease) }

// notifyContact wakes the inbox worker once the transaction commits.
func (r *Runner) notifyContact(q store.Queries, projectID, contactID string) {
	q.AfterCommit(func() { r.inbox.Notify(contactKey{projectID, contactID}, false) })
}

// queuedSend is a message handed to this process's senders with what they
// would otherwise read: to, when known, is the address the contact just
// wrote from on the message's channel.
type queuedSend struct {
	m  domain.Message
	to *domain.URN
}

// notifySend wakes a sender once the transaction commits.
func (r *Runner) notifySend(q store.Queries, m domain.Message, to *domain.URN) {
	q.AfterCommit(func() {
		r.sending.Store(m.ID, queuedSend{m: m, to: to})
		if !r.outbox.Notify(messageKey{m.ProjectID, m.ID}, m.Priority == "reply") {
			r.sending.Delete(m.ID) // the poller will read it
		}
	})
}

func (r *Runner) pollInbox(ctx context.Context, limit int) ([]dispatch.Item[contactKey], error) {
	return pollDue(ctx, r, limit, r.st.ContactEventsDue, store.Queries.ContactEventsClaim,
		func(d store.DueRef) dispatch.Item[contactKey] {
			return dispatch.Item[contactKey]{Key: contactKey{d.ProjectID, d.ID}}
		})
}

func (r *Runner) pollOutbox(ctx context.Context, limit int) ([]dispatch.Item[messageKey], error) {
	return pollDue(ctx, r, limit, r.st.MessagesDue, store.Queries.MessageClaim,
		func(d store.DueRef) dispatch.Item[messageKey] {
			return dispatch.Item[messageKey]{Key: messageKey{d.ProjectID, d.ID}, Urgent: d.Reply}
		})
}

// pollDue lists the rows due now and claims them for this process, in one
// transaction; the ones another process claimed first are left out.
func pollDue[K comparable](ctx context.Context, r *Runner, limit int,
	list func(ctx context.Context, p store.DueParams) ([]store.DueRef, error),
	claim func(q store.Queries, ctx context.Context, p store.ClaimParams) (bool, error),
	item func(store.DueRef) dispatch.Item[K],
) ([]dispatch.Item[K], error) {
	now := r.d.Clock.Now()
	due, err := list(ctx, store.DueParams{Now: now, Limit: limit})
	if err != nil || len(due) == 0 {
		return nil, err
	}
	var out []dispatch.Item[K]
	err = r.st.InTx(ctx, func(q store.Queries) error {
		out = out[:0]
		for _, d := range due {
			ok, err := claim(q, ctx, store.ClaimParams{ID: d.ID, Now: now, Until: r.held(now)})
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

// eventError is a failure handling one inbox event.
type eventError struct {
	ev  domain.ContactEvent
	err error
}

func (e *eventError) Error() string { return e.err.Error() }
func (e *eventError) Unwrap() error { return e.err }

// workInbox drains a contact's inbox. A failing event is pushed back with
// a growing delay (any process's poller takes it up then); after
// PoisonAttempts failures it is set aside as failed so the contact's later
// events go on.
func (r *Runner) workInbox(ctx context.Context, k contactKey) time.Duration {
	err := r.processInbox(ctx, k.contact)
	if errors.Is(err, errBudget) {
		return 0 // more to do: back of the line
	}
	if err == nil || ctx.Err() != nil {
		return dispatch.Done
	}
	var ee *eventError
	if !errors.As(err, &ee) {
		// Reading the inbox failed: the rows stay held; try again shortly.
		r.d.Logger.Error("reading a contact's inbox failed", "contact", k.contact, "err", err)
		return time.Second + jitter(time.Second)
	}
	now := r.d.Clock.Now()
	attempts, rerr := r.st.ContactEventRetry(ctx, store.ContactEventRetryParams{Seq: ee.ev.Seq, DueAt: now.Add(eventBackoff(ee.ev.Attempts + 1))})
	if errors.Is(rerr, store.ErrConflict) {
		return 0 // handled meanwhile by another process
	}
	if rerr != nil {
		r.d.Logger.Error("recording a failed contact event failed", "contact", k.contact, "seq", ee.ev.Seq, "err", rerr)
		return time.Second + jitter(time.Second)
	}
	if attempts < PoisonAttempts {
		r.d.Logger.Warn("handling a contact event failed; it will be retried", "contact", k.contact, "seq", ee.ev.Seq,
			"kind", ee.ev.Kind, "attempt", attempts, "err", err)
		return dispatch.Done
	}
	if err := r.setAside(ctx, ee.ev, err); err != nil {
		r.d.Logger.Error("setting aside a failing contact event failed", "contact", k.contact, "seq", ee.ev.Seq, "err", err)
		return dispatch.Done
	}
	return 0 // the events behind it go on
}

// eventBackoff is the delay before the n-th retry of an event: n⁴ seconds
// with jitter, about a quarter of an hour over PoisonAttempts.
func eventBackoff(n int) time.Duration {
	d := time.Duration(n*n*n*n) * time.Second
	return d + jitter(d/10+time.Millisecond)
}

// sendBackoff is the delay before the n-th retry of a send: exponential
// with jitter, capped at ten minutes.
func sendBackoff(n int) time.Duration {
	d := min(time.Second<<min(n, 10), 10*time.Minute)
	return d/2 + jitter(d/2)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Collectors are the dispatchers' gauges for /metrics: what waits in
// memory, what is being worked, and what was left to the pollers because
// memory was full.
func (r *Runner) Collectors() []prometheus.Collector {
	gauge := func(name, help, queue string, f func(dispatch.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"queue": queue}},
			func() float64 {
				in, out := r.Backlog()
				if queue == "inbox" {
					return f(in)
				}
				return f(out)
			})
	}
	var cs []prometheus.Collector
	for _, q := range []string{"inbox", "send"} {
		cs = append(cs,
			gauge("parley_dispatch_waiting", "Contacts (inbox) or messages (send) waiting in memory for a worker.", q, func(s dispatch.Stats) float64 { return float64(s.Waiting) }),
			gauge("parley_dispatch_running", "Contacts (inbox) or messages (send) being worked.", q, func(s dispatch.Stats) float64 { return float64(s.Running) }),
			gauge("parley_dispatch_dropped", "Notifications left to the poller because memory was full, since start.", q, func(s dispatch.Stats) float64 { return float64(s.Dropped) }),
		)
	}
	return cs
}
