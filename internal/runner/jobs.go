package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Queues the runner's jobs run on. Only timers are jobs now; inboxes and
// sends are worked by the runner's own dispatchers over their rows.
const (
	QueueInbox = "inbox"
	QueueSend  = "send"
)

// Queues returns the queue configuration the runner needs: timers run on
// the inbox queue. The send queue is no longer worked (sends are not
// jobs); every queue is one more poll of the database on SQLite.
func Queues(workers int) map[string]river.QueueConfig {
	return map[string]river.QueueConfig{QueueInbox: {MaxWorkers: workers}}
}

// ProcessArgs processed a contact's inbox. Jobs of this kind are no longer
// queued (the inbox dispatcher works the rows); the worker remains so jobs
// queued by an older version still run.
type ProcessArgs struct {
	ProjectID string `json:"project_id"`
	ContactID string `json:"contact_id"`
}

// Kind implements river.JobArgs.
func (ProcessArgs) Kind() string { return "contact_process" }

// InsertOpts puts inbox work on its own queue.
func (ProcessArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueInbox} }

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

// SendArgs sent one stored outbound message. Jobs of this kind are no
// longer queued (the send dispatcher works the queued messages, and the
// migration made those of older versions due); the worker remains so such
// jobs complete without sending twice.
type SendArgs struct {
	ProjectID string `json:"project_id"`
	MessageID string `json:"message_id"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "message_send" }

// InsertOpts puts sends on their queue.
func (SendArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueSend} }

// Register adds the runner's workers.
func (r *Runner) Register(w *river.Workers) {
	river.AddWorker(w, &processWorker{r: r})
	river.AddWorker(w, &timerWorker{r: r})
	river.AddWorker(w, &sendWorker{r: r})
}

type processWorker struct {
	river.WorkerDefaults[ProcessArgs]
	r *Runner
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	w.r.inbox.Notify(contactKey{job.Args.ProjectID, job.Args.ContactID}, false)
	return nil
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	r *Runner
}

func (w *sendWorker) Work(context.Context, *river.Job[SendArgs]) error { return nil }

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
