package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Queues the runner's jobs run on: contacts' inboxes and sends are kept
// apart so a slow provider never delays processing inbound messages.
const (
	QueueInbox = "inbox"
	QueueSend  = "send"
)

// Queues returns the queue configuration the runner needs.
func Queues(workers int) map[string]river.QueueConfig {
	return map[string]river.QueueConfig{QueueInbox: {MaxWorkers: workers}, QueueSend: {MaxWorkers: workers}}
}

// ProcessArgs processes a contact's inbox.
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

// SendArgs sends one stored outbound message.
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
	err := w.r.ProcessContact(ctx, job.Args.ProjectID, job.Args.ContactID)
	if err == nil || job.Attempt < PoisonAttempts {
		return err
	}
	// The contact's oldest event has failed PoisonAttempts times (River backs
	// off for about a quarter of an hour in all): record it as failed so the
	// events behind it are not held up forever, and carry on.
	if skipErr := w.r.skipHead(ctx, job.Args.ContactID, err); skipErr != nil {
		return errors.Join(err, skipErr)
	}
	return w.r.ProcessContact(ctx, job.Args.ProjectID, job.Args.ContactID)
}

// PoisonAttempts is how many times a contact's oldest event may fail before
// it is set aside as failed.
const PoisonAttempts = 5

// skipHead marks the contact's oldest unhandled event as failed.
func (r *Runner) skipHead(ctx context.Context, contactID string, cause error) error {
	ev, err := r.st.ContactEventNext(ctx, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.d.Logger.Error("setting aside a contact event that keeps failing", "contact", contactID, "seq", ev.Seq, "kind", ev.Kind, "err", cause)
	err = r.st.ContactEventDone(ctx, ev.Seq, "failed: "+cause.Error(), r.d.Clock.Now())
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
