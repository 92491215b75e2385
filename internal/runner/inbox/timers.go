package inbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
)

// Timeouts of waiting sessions are their own rows' timeout_at: the sprint
// that parks a session writes it with the session, and the timer loop here
// reads the due ones, earliest first, a batch per transaction, from where
// its last batch ended (a cursor kept in memory), and queues each as a
// timer event in its contact's inbox (store.Queries.SessionTimersDue,
// ContactEventsAppendNew). The event's dedupe key, one per wait, is what
// makes a timeout fire once: reading it again (after a restart, in
// another process, or on a rewind) queues nothing. A crash before the
// commit leaves the cursor where it was; after it, the events are in the
// inbox like any other. So a timeout fires once, never lost, without a job
// row per waiting session, and firing writes the event alone: the session
// row is written once, by the sprint that handles the event.
//
// The cursor starts from the beginning again every timerRewind, so that a
// timeout written behind it (a process whose clock is behind this one's
// by more than a wait's timeout) is still fired, and one whose event was
// handled without moving the session on is tried again.

// Defaults of the timer loop.
const (
	// DefaultTimerEvery is how often due timeouts are looked for: half of
	// it is the average lateness of a timeout when none is backed up.
	DefaultTimerEvery = 100 * time.Millisecond
	// timerBatch is how many timeouts one transaction takes; a full batch
	// is followed by another at once.
	timerBatch = 500
	// DefaultRetention is how long a handled inbox event is kept: long
	// enough for whoever queued it to read how it was handled (the API
	// settles a contact's inbox and reads the event back at once); after
	// that nothing reads it, and a million waiting sessions would keep a
	// million start events.
	DefaultRetention = time.Minute
	// purgeEvery is how often handled events are looked for; purgeChunk
	// how many events one transaction looks at; purgeRestart how often a
	// pass starts from the inbox's oldest event again.
	purgeEvery   = time.Second
	purgeChunk   = 2000
	purgeRestart = 10 * time.Minute
	// timerRewind is how often the timer cursor starts over; a rewind
	// reads again the timeouts fired but not handled yet.
	timerRewind = 10 * time.Minute
	// statsEvery is how often the loop asks the store to bring the
	// planner's statistics up to date (store.Store.StatisticsRefresh).
	statsEvery = 10 * time.Second
)

// timers runs the timer loop.
type timers struct {
	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
	// cursor and restarted are where the purge goes on from and when it
	// last started from the beginning (the upkeep's goroutine only).
	cursor    int64
	restarted time.Time
	purged    atomic.Int64
	// fire serialises FireTimers: due and rewound are its cursor (the
	// last timeout queued) and when it last started over.
	fire    sync.Mutex
	due     store.TimerCursor
	rewound time.Time
	// mark is the sprints' stripes copied before a read (sprint.AheadMark).
	mark []uint32
}

func (box *Inbox) startTimers(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	box.timers.mu.Lock()
	box.timers.stop, box.timers.done = cancel, done
	box.timers.mu.Unlock()
	every := box.c.TimerEvery
	if every <= 0 {
		every = DefaultTimerEvery
	}
	// Upkeep (deleting handled events, refreshing the planner's
	// statistics) runs beside the firing, not between its batches: an
	// ANALYZE of a large table takes a second or more on a busy machine,
	// and every timeout falling due meanwhile would wait for it.
	go func() {
		defer close(done)
		upkept := make(chan struct{})
		go func() {
			defer close(upkept)
			box.upkeep(ctx)
		}()
		defer func() { <-upkept }()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			box.drain(ctx, "firing due session timeouts", box.FireTimers)
			box.drain(ctx, "firing session expiries", box.FireExpiries)
		}
	}()
}

// upkeep deletes handled inbox events every purgeEvery and asks the store
// to refresh the planner's statistics every statsEvery, until ctx ends.
func (box *Inbox) upkeep(ctx context.Context) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	var analyzed time.Time
	for {
		if _, err := box.PurgeHandled(ctx); err != nil && ctx.Err() == nil {
			box.c.Logger.Warn("deleting handled inbox events", "err", err)
		}
		if now := time.Now(); now.Sub(analyzed) >= statsEvery {
			analyzed = now
			tables, err := box.st.StatisticsRefresh(ctx)
			if err != nil && ctx.Err() == nil {
				box.c.Logger.Warn("refreshing the planner's statistics", "err", err)
			}
			if len(tables) > 0 {
				box.c.Logger.Debug("refreshed the planner's statistics", "tables", tables)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// drain fires batches with fire until one is not full.
func (box *Inbox) drain(ctx context.Context, doing string, fire func(context.Context, int) (int, error)) {
	for ctx.Err() == nil {
		n, err := fire(ctx, timerBatch)
		if err != nil {
			if ctx.Err() == nil {
				box.c.Logger.Warn(doing, "err", err)
			}
			return
		}
		if n < timerBatch {
			return
		}
	}
}

// PurgeHandled deletes the inbox events handled more than the retention
// ago, a chunk per transaction, from where the last pass stopped up to
// the first event handled or queued since, and returns how many it
// deleted. A pass starts from the inbox's oldest event again every
// purgeRestart, so that events handled late (after retries) are not left
// behind. Only the timer loop's upkeep calls it, or a test while the loop
// is not running.
func (box *Inbox) PurgeHandled(ctx context.Context) (int, error) {
	keep := box.c.Retention
	if keep <= 0 {
		keep = DefaultRetention
	}
	if time.Since(box.timers.restarted) >= purgeRestart {
		box.timers.restarted, box.timers.cursor = time.Now(), 0
	}
	before := box.c.Clock.Now().Add(-keep)
	total := 0
	for ctx.Err() == nil {
		var got store.ContactEventsPurged
		err := box.st.InTx(ctx, func(q store.Queries) error {
			var err error
			got, err = q.ContactEventsPurge(ctx, store.ContactEventsPurgeParams{After: box.timers.cursor, Limit: purgeChunk, Before: before})
			return err
		})
		if err != nil {
			return total, fmt.Errorf("deleting handled inbox events: %w", err)
		}
		total += got.Deleted
		box.timers.purged.Add(int64(got.Deleted))
		box.timers.cursor = got.Next
		if !got.More {
			break
		}
	}
	return total, nil
}

// Purged reports how many handled inbox events this process has deleted.
func (box *Inbox) Purged() int64 { return box.timers.purged.Load() }

func (box *Inbox) stopTimers() {
	box.timers.mu.Lock()
	stop, done := box.timers.stop, box.timers.done
	box.timers.stop, box.timers.done = nil, nil
	box.timers.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// FireTimers queues, in one transaction, the timer events of at most limit
// sessions whose timeout is due now, earliest first, from where the last
// call stopped, and reports how many it read. A timeout whose event is
// queued already (by an earlier read, another process, or a job of an
// earlier version, see QueueTimer) is read and left as it is.
func (box *Inbox) FireTimers(ctx context.Context, limit int) (int, error) {
	t := &box.timers
	t.fire.Lock()
	defer t.fire.Unlock()
	if time.Since(t.rewound) >= timerRewind {
		t.rewound, t.due = time.Now(), store.TimerCursor{}
	}
	now := box.c.Clock.Now()
	// Each session is read with its timeout and handed to the sprint of
	// its event (sprint.Handler.Ahead), before the contact is worked.
	t.mark = box.sprint.AheadMark(t.mark)
	var due []store.SessionTimer
	err := box.st.InTx(ctx, func(q store.Queries) error {
		var err error
		due, err = q.SessionTimersDue(ctx, store.SessionTimersDueParams{Now: now, After: t.due, Limit: limit, Sessions: true})
		if err != nil || len(due) == 0 {
			return err
		}
		events := make([]domain.ContactEvent, len(due))
		read := make(map[string]*store.SessionFlow, len(due)) // by event dedupe key
		for i, tm := range due {
			events[i] = box.stamped(timerEvent(tm), now)
			read[events[i].DedupeKey] = tm.Session
		}
		queued, err := q.ContactEventsAppendNew(ctx, events)
		if err != nil {
			return err
		}
		mark := t.mark
		q.AfterCommit(func() {
			for _, e := range queued {
				if sf := read[e.DedupeKey]; sf != nil {
					box.sprint.Ahead(mark, *sf)
				}
				box.read.Delete(e.ContactID) // it knows nothing of this event
				box.disp.Notify(contactKey{e.ProjectID, e.ContactID}, false)
			}
		})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("firing due session timeouts: %w", err)
	}
	if len(due) > 0 {
		last := due[len(due)-1]
		t.due = store.TimerCursor{At: last.At, SessionID: last.SessionID}
	}
	return len(due), nil
}

// FireExpiries queues, in one transaction, the expire events of at most
// limit live sessions whose expiry has passed, earliest first, and reports
// how many it took. An expire event queued already (by a job of an
// earlier version) leaves the session marked only.
func (box *Inbox) FireExpiries(ctx context.Context, limit int) (int, error) {
	var taken []store.SessionTimer
	err := box.st.InTx(ctx, func(q store.Queries) error {
		var err error
		taken, err = q.SessionExpiriesTake(ctx, store.SessionTimersTakeParams{Now: box.c.Clock.Now(), Limit: limit})
		if err != nil {
			return err
		}
		for _, t := range taken {
			if err := box.queueExpire(ctx, q, t.ProjectID, t.ContactID, t.SessionID); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		for _, t := range taken {
			if err := box.expireOne(ctx, t.ProjectID, t.ContactID, t.SessionID); err != nil {
				return 0, err
			}
		}
		return len(taken), nil
	}
	if err != nil {
		return 0, fmt.Errorf("firing session expiries: %w", err)
	}
	return len(taken), nil
}

// expireOne marks session id's expiry queued, if it is not, and queues
// its expire event; an event queued already leaves it marked.
func (box *Inbox) expireOne(ctx context.Context, projectID, contactID, id string) error {
	take := func(q store.Queries) ([]store.SessionTimer, error) {
		return q.SessionExpiriesTake(ctx, store.SessionTimersTakeParams{SessionID: id})
	}
	err := box.st.InTx(ctx, func(q store.Queries) error {
		taken, err := take(q)
		if err != nil || len(taken) == 0 {
			return err
		}
		return box.queueExpire(ctx, q, projectID, contactID, id)
	})
	if errors.Is(err, store.ErrConflict) {
		err = box.st.InTx(ctx, func(q store.Queries) error { _, err := take(q); return err })
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("firing the expiry of session %s: %w", id, err)
	}
	return nil
}

// queueExpire queues a session's expire event in its contact's inbox: a
// timer event at seq 0, which the engine answers by ending the session
// as expired (its expiry has passed).
func (box *Inbox) queueExpire(ctx context.Context, q store.Queries, projectID, contactID, id string) error {
	_, err := box.Queue(ctx, q, domain.ContactEvent{ProjectID: projectID, ContactID: contactID, Kind: domain.EventTimer,
		DedupeKey: expireKey(id), Payload: sprint.Payload{SessionID: id}.Raw()})
	return err
}

// expireKey is the dedupe key of a session's expire event.
func expireKey(sessionID string) string { return "expire:" + sessionID }

// fireOne takes session id's timeout at wait seq, if still there, and
// queues its event; an event queued already leaves the timeout cleared.
func (box *Inbox) fireOne(ctx context.Context, projectID, contactID, id string, seq int) error {
	take := func(q store.Queries) ([]store.SessionTimer, error) {
		return q.SessionTimersTake(ctx, store.SessionTimersTakeParams{SessionID: id, Seq: seq})
	}
	err := box.st.InTx(ctx, func(q store.Queries) error {
		if _, err := take(q); err != nil {
			return err
		}
		return box.queueTimer(ctx, q, store.SessionTimer{ProjectID: projectID, ContactID: contactID, SessionID: id, Seq: seq})
	})
	if errors.Is(err, store.ErrConflict) {
		err = box.st.InTx(ctx, func(q store.Queries) error { _, err := take(q); return err })
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("firing the timeout of session %s: %w", id, err)
	}
	return nil
}

// queueTimer queues a taken timeout in its contact's inbox.
func (box *Inbox) queueTimer(ctx context.Context, q store.Queries, t store.SessionTimer) error {
	_, err := box.Queue(ctx, q, timerEvent(t))
	return err
}

// timerEvent is the inbox event of a timeout: one per wait, by its dedupe
// key.
func timerEvent(t store.SessionTimer) domain.ContactEvent {
	return domain.ContactEvent{ProjectID: t.ProjectID, ContactID: t.ContactID, Kind: domain.EventTimer,
		DedupeKey: timerKey(t.SessionID, uint32(t.Seq)), Payload: sprint.Payload{SessionID: t.SessionID, Seq: uint32(t.Seq)}.Raw()}
}

// timerKey is the dedupe key of a wait's timer event: one per wait.
func timerKey(sessionID string, seq uint32) string { return fmt.Sprintf("timer:%s:%d", sessionID, seq) }
