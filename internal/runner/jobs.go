package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// QueueInbox is the queue the runner's timer jobs run on. Timers are the
// runner's only jobs: inboxes and sends are worked by its own dispatchers
// over their rows (contact_event, message).
const QueueInbox = "inbox"

// Queues returns the queue configuration the runner needs. Every queue is
// one more poll of the database on SQLite, so there is just the one.
func Queues(workers int) map[string]river.QueueConfig {
	return map[string]river.QueueConfig{QueueInbox: {MaxWorkers: workers}}
}

// TimerArgs fires a session's wait timeout or delay (Seq), or its expiry.
type TimerArgs struct {
	ProjectID string `json:"project_id"`
	ContactID string `json:"contact_id"`
	SessionID string `json:"session_id"`
	Seq       uint32 `json:"seq"`
	Expire    bool   `json:"expire,omitempty"`
}

// Kind implements river.JobArgs.
func (TimerArgs) Kind() string { return "session_timer" }

// InsertOpts puts timers on the inbox queue.
func (TimerArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueInbox} }

// Register adds the runner's workers.
func (r *Runner) Register(w *river.Workers) {
	river.AddWorker(w, &timerWorker{r: r})
}

// PoisonAttempts is how many times a contact's oldest event may fail before
// it is set aside as failed.
const PoisonAttempts = 5

// setAside records a contact event that keeps failing as failed.
func (r *Runner) setAside(ctx context.Context, ev domain.ContactEvent, cause error) error {
	r.d.Logger.Error("setting aside a contact event that keeps failing", "contact", ev.ContactID, "seq", ev.Seq, "kind", ev.Kind, "err", cause)
	err := r.st.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: ev.Seq, Result: "failed: " + cause.Error(), Now: r.d.Clock.Now()})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

type timerWorker struct {
	river.WorkerDefaults[TimerArgs]
	r *Runner
}

// Work turns the timer into an inbox event, so it is ordered with the
// contact's messages: a reply and a timeout that race are handled one after
// the other, and whichever comes second finds the wait gone.
func (w *timerWorker) Work(ctx context.Context, job *river.Job[TimerArgs]) error {
	a := job.Args
	key := fmt.Sprintf("timer:%s:%d", a.SessionID, a.Seq)
	if a.Expire {
		key = "expire:" + a.SessionID
	}
	err := w.r.st.InTx(ctx, func(q store.Queries) error {
		_, err := w.r.queue(ctx, q, domain.ContactEvent{ProjectID: a.ProjectID, ContactID: a.ContactID, Kind: domain.EventTimer,
			DedupeKey: key, Payload: payload{SessionID: a.SessionID, Seq: a.Seq}.raw()})
		return err
	})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil // already queued (a retried job), or the contact is gone
	}
	return err
}
