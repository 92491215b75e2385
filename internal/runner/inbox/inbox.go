// Package inbox is the runner's receiving side. Every event that may move
// a contact's session — an inbound message, a timer, an API start, an
// agent's release or interrupt — is first queued in the contact's inbox
// (contact_events) in the transaction that records it (webhooks are stored
// by Ingest, which the store's group commit batches with other writers).
// Once it commits, this process holds the event for the lease and a worker
// drains the contact's inbox, one event at a time in arrival order, each
// a sprint (package sprint); any process's poller takes up the events
// whose holder died or whose retry is due. One contact is worked by one
// goroutine of a process at a time, and a sprint's commit fails when
// another process handled its event first, so each event has exactly one
// effect, in order, whatever the number of workers and processes.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/receipt"
	"github.com/parleyhq/parley/internal/runner/lease"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
)

// Config is what an Inbox needs besides the store and the sprint handler.
type Config struct {
	Clock  domain.Clock
	IDs    domain.IDGen
	Logger *slog.Logger
	// Receipts count the receipts kept for messages not known yet.
	Receipts *receipt.Counters
	// Events records event webhooks' events in the ingest's transaction;
	// nil records none.
	Events *eventhook.Recorder
	// Notices acts on the providers' account notices (quality flagged,
	// limit lowered, account restricted) in the ingest's transaction; nil
	// only logs them.
	Notices Notices
	// Settings hold events for a lease; Workers is how many contacts are
	// worked at once.
	lease.Settings
	// TimerEvery is how often due session timeouts are looked for
	// (DefaultTimerEvery).
	TimerEvery time.Duration
	// Retention is how long handled events are kept (DefaultRetention).
	Retention time.Duration
}

// Notices acts on a provider's notice about a channel's number or business
// account (campaign.Service pauses the executions sending on it).
type Notices interface {
	// AccountNotice acts on n, received on ch, in the webhook's
	// transaction; it returns how many things it changed.
	AccountNotice(ctx context.Context, q store.Queries, ch domain.Channel, businessID string, n channel.AccountNotice) (int, error)
}

// Inbox queues contact events and works each contact's inbox in order.
type Inbox struct {
	st     store.Store
	c      Config
	sprint *sprint.Handler
	disp   *dispatch.Dispatcher[contactKey]
	// beat renews the leases on the contacts disp holds.
	beat *lease.Heartbeat
	// passes serialises this process's passes over one contact's inbox:
	// the dispatcher's workers and callers of ProcessContact (the
	// simulator, API starts) would otherwise run the same event at once,
	// and a node's side effects (an HTTP call, a model call, a write to
	// the project database) would happen twice before one commit lost.
	passes passLocks
	// timers is the loop that fires due session timeouts (timers.go).
	timers timers
	// read are contacts' inboxes read in the transaction that queued
	// their newest event (store.Received.Inbox), by contact ID, for the
	// pass that event's commit asks for: it reads no inbox of its own.
	read sync.Map
}

// contactKey names a contact whose inbox has events.
type contactKey struct{ project, contact string }

// New returns an Inbox whose events are handled by sp; Start starts its
// workers.
func New(st store.Store, sp *sprint.Handler, c Config) *Inbox {
	c.Settings = c.Settings.WithDefaults()
	box := &Inbox{st: st, c: c, sprint: sp}
	box.disp = dispatch.New(dispatch.Config[contactKey]{
		Name: "inbox", Workers: c.Workers, PollEvery: c.PollEvery, Logger: c.Logger,
		Poll: box.poll, Work: box.work,
	})
	box.beat = lease.NewHeartbeat(lease.HeartbeatConfig{Name: "inbox", Settings: c.Settings, Clock: c.Clock, Logger: c.Logger,
		Renew: st.ContactEventsRenew, Held: func() []string {
			held := box.disp.Held()
			ids := make([]string, len(held))
			for i, k := range held {
				ids[i] = k.contact
			}
			return ids
		}})
	return box
}

// Start starts working inboxes, renewing the leases on them and firing
// due session timeouts into them.
func (box *Inbox) Start(ctx context.Context) error {
	if err := box.disp.Start(ctx); err != nil {
		return err
	}
	if err := box.beat.Start(ctx); err != nil {
		box.disp.Stop()
		return err
	}
	box.startTimers(ctx)
	return nil
}

// Stop stops firing timeouts, working inboxes and renewing their leases,
// letting sprints under way finish; the rest stays queued for the next
// start or another process.
func (box *Inbox) Stop() {
	box.stopTimers()
	box.disp.Stop()
	box.beat.Stop()
}

// Stats reports what the workers hold in memory, for metrics and tests.
func (box *Inbox) Stats() dispatch.Stats { return box.disp.Stats() }

// Queue appends an event to a contact's inbox in the caller's transaction;
// this process holds it and is told once the transaction commits.
func (box *Inbox) Queue(ctx context.Context, q store.Queries, e domain.ContactEvent) (domain.ContactEvent, error) {
	out, err := q.ContactEventAppend(ctx, box.stamped(e, box.c.Clock.Now()))
	if err != nil {
		return out, err
	}
	box.notify(q, e)
	return out, nil
}

// notify tells the dispatcher of e's contact once q's transaction commits.
func (box *Inbox) notify(q store.Queries, e domain.ContactEvent) {
	box.notifyRead(q, e, nil)
}

// notifyRead is notify handing the pass the inbox read with e, if any. A
// read must not hide an event queued after it: another event's read
// waiting already may lack e (their transactions overlapped), so neither
// is kept, and an event queued without a read drops the one waiting; the
// pass then reads the inbox itself.
func (box *Inbox) notifyRead(q store.Queries, e domain.ContactEvent, in *store.ContactInbox) {
	k := contactKey{e.ProjectID, e.ContactID}
	q.AfterCommit(func() {
		if in == nil {
			box.read.Delete(k.contact)
		} else if _, waiting := box.read.LoadOrStore(k.contact, in); waiting {
			box.read.Delete(k.contact)
		}
		if !box.disp.Notify(k, false) && in != nil {
			box.read.Delete(k.contact) // the poller's pass will read it
		}
	})
}

// stamped is e queued at now: due to other processes' pollers once this
// one's lease on it has run out (this process is told at its commit).
func (box *Inbox) stamped(e domain.ContactEvent, now time.Time) domain.ContactEvent {
	e.CreatedAt, e.DueAt = now, now.Add(box.c.Lease)
	return e
}

// QueueTimer turns a fired timer into an inbox event, so it is ordered
// with the contact's messages: a reply and a timeout that race are handled
// one after the other, and whichever comes second finds the wait gone. A
// timer queued before (a retried job) or of a contact that is gone is not
// an error.
//
// Wait timeouts and expiries are fired by the timer loop (timers.go) from
// the sessions' rows; a timer job is one an earlier version queued: it
// takes the session's timeout or expiry first, so the loop does not fire
// it again.
func (box *Inbox) QueueTimer(ctx context.Context, a sprint.TimerArgs) error {
	if !a.Expire {
		return box.fireOne(ctx, a.ProjectID, a.ContactID, a.SessionID, int(a.Seq))
	}
	return box.expireOne(ctx, a.ProjectID, a.ContactID, a.SessionID)
}

// processBudget bounds one pass over a contact's inbox, so one busy contact
// cannot hold a worker while others wait.
const processBudget = 30 * time.Second

// errBudget: the pass stopped with events left.
var errBudget = errors.New("inbox: pass out of time")

// ProcessContact handles the contact's unhandled events in order until
// none is left (or its time budget is spent: the rest stays queued).
func (box *Inbox) ProcessContact(ctx context.Context, projectID, contactID string) error {
	err := box.process(ctx, contactID)
	if errors.Is(err, errBudget) {
		box.disp.Notify(contactKey{projectID, contactID}, false)
		return nil
	}
	return err
}

// batch is how many of a contact's events one read takes.
const batch = 8

// process is ProcessContact reporting a spent budget (errBudget) and which
// event failed (*eventError). A read that finds fewer than batch events
// ends the pass: an event committed after it wakes the contact again
// (dispatch.Notify runs a contact being worked once more).
func (box *Inbox) process(ctx context.Context, contactID string) error {
	defer box.passes.lock(contactID)()
	deadline := time.Now().Add(processBudget)
	// The inbox read where the newest event was queued serves the first
	// read: as a read of our own, it may be out of date by the time it is
	// used, and a sprint that finds so (an event handled already, a
	// session moved on) reads again.
	handed, _ := box.read.LoadAndDelete(contactID)
	for {
		var in store.ContactInbox
		if r, ok := handed.(*store.ContactInbox); ok {
			in, handed = *r, nil
		} else {
			var err error
			in, err = box.st.ContactEventsNextWithContact(ctx, store.ContactEventsNextParams{ContactID: contactID, Limit: batch})
			if err != nil {
				return fmt.Errorf("reading the inbox of contact %s: %w", contactID, err)
			}
		}
		evs := in.Events
		raced := false
		for i, ev := range evs {
			if time.Now().After(deadline) {
				return errBudget
			}
			// The contact and its live session read with the events serve
			// the first event only: each sprint may change them for the next.
			var read *store.ContactInbox
			if i == 0 {
				read = &in
			}
			if err := box.sprint.HandleWith(ctx, ev, read); err != nil {
				if errors.Is(err, sprint.ErrRace) {
					raced = true // someone else moved on: read again
					break
				}
				return &eventError{ev: ev, err: fmt.Errorf("handling event %d (%s) of contact %s: %w", ev.Seq, ev.Kind, contactID, err)}
			}
		}
		if !raced && len(evs) < batch {
			return nil
		}
	}
}

func (box *Inbox) poll(ctx context.Context, limit int) ([]dispatch.Item[contactKey], error) {
	now := box.c.Clock.Now()
	return lease.PollDue(ctx, box.st, now, now.Add(box.c.Lease), limit, box.st.ContactEventsDue, store.Queries.ContactEventsClaim,
		func(d store.DueRef) dispatch.Item[contactKey] {
			// Due events found here may be newer than a read waiting for
			// the contact's pass (another process queued them).
			box.read.Delete(d.ID)
			return dispatch.Item[contactKey]{Key: contactKey{d.ProjectID, d.ID}}
		})
}

// eventError is a failure handling one inbox event.
type eventError struct {
	ev  domain.ContactEvent
	err error
}

func (e *eventError) Error() string { return e.err.Error() }
func (e *eventError) Unwrap() error { return e.err }

// PoisonAttempts is how many times a contact's oldest event may fail before
// it is set aside as failed.
const PoisonAttempts = 5

// Work drains a contact's inbox as a worker does, and says when to work it
// again (dispatch.Done: not before it is told of a new event). A failing
// event is pushed back with a growing delay (any process's poller takes it
// up then); after PoisonAttempts failures it is set aside as failed so the
// contact's later events go on.
func (box *Inbox) Work(ctx context.Context, projectID, contactID string) time.Duration {
	return box.work(ctx, contactKey{projectID, contactID})
}

func (box *Inbox) work(ctx context.Context, k contactKey) time.Duration {
	err := box.process(ctx, k.contact)
	if errors.Is(err, errBudget) {
		return 0 // more to do: back of the line
	}
	if err == nil || ctx.Err() != nil {
		return dispatch.Done
	}
	var ee *eventError
	if !errors.As(err, &ee) {
		// Reading the inbox failed: the rows stay held; try again shortly.
		box.c.Logger.Error("reading a contact's inbox failed", "contact", k.contact, "err", err)
		return time.Second + lease.Jitter(time.Second)
	}
	now := box.c.Clock.Now()
	attempts, rerr := box.st.ContactEventRetry(ctx, store.ContactEventRetryParams{Seq: ee.ev.Seq, DueAt: now.Add(eventBackoff(ee.ev.Attempts + 1))})
	if errors.Is(rerr, store.ErrConflict) {
		return 0 // handled meanwhile by another process
	}
	if rerr != nil {
		box.c.Logger.Error("recording a failed contact event failed", "contact", k.contact, "seq", ee.ev.Seq, "err", rerr)
		return time.Second + lease.Jitter(time.Second)
	}
	if attempts < PoisonAttempts {
		box.c.Logger.Warn("handling a contact event failed; it will be retried", "contact", k.contact, "seq", ee.ev.Seq,
			"kind", ee.ev.Kind, "attempt", attempts, "err", err)
		return dispatch.Done
	}
	if err := box.setAside(ctx, ee.ev, err); err != nil {
		box.c.Logger.Error("setting aside a failing contact event failed", "contact", k.contact, "seq", ee.ev.Seq, "err", err)
		return dispatch.Done
	}
	return 0 // the events behind it go on
}

// setAside records a contact event that keeps failing as failed.
func (box *Inbox) setAside(ctx context.Context, ev domain.ContactEvent, cause error) error {
	box.c.Logger.Error("setting aside a contact event that keeps failing", "contact", ev.ContactID, "seq", ev.Seq, "kind", ev.Kind, "err", cause)
	err := box.st.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: ev.Seq, Result: "failed: " + cause.Error(), Now: box.c.Clock.Now()})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// eventBackoff is the delay before the n-th retry of an event: n⁴ seconds
// with jitter, about a quarter of an hour over PoisonAttempts.
func eventBackoff(n int) time.Duration {
	d := time.Duration(n*n*n*n) * time.Second
	return d + lease.Jitter(d/10+time.Millisecond)
}
