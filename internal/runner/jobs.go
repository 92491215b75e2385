package runner

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner/sprint"
)

// QueueInbox is the River queue the runner's jobs (timers) run on.
const QueueInbox = sprint.QueueInbox

// Queues returns the queue configuration the runner needs. Timers are the
// runner's only jobs: inboxes and sends are worked by its own dispatchers
// over their rows (contact_event, message). Every queue is one more poll
// of the database on SQLite, so there is just the one.
func Queues(workers int) map[string]river.QueueConfig {
	return map[string]river.QueueConfig{QueueInbox: {MaxWorkers: workers}}
}

// TimerArgs fires a session's wait timeout or delay, or its expiry.
type TimerArgs = sprint.TimerArgs

// Workers returns the registration of the runner's River workers. River
// needs them before the store opens, and they need the runner, which needs
// the store: they find the runner in r, which the application sets once
// it has built it, before the job client starts (see jobs.Bound).
func Workers(r *jobs.Bound[Runner]) func(*river.Workers) {
	return func(w *river.Workers) {
		river.AddWorker(w, &timerWorker{r: r})
	}
}

type timerWorker struct {
	river.WorkerDefaults[TimerArgs]
	r *jobs.Bound[Runner]
}

// Work queues the timer in the contact's inbox (see inbox.QueueTimer).
func (w *timerWorker) Work(ctx context.Context, job *river.Job[TimerArgs]) error {
	r, err := w.r.Get()
	if err != nil {
		return err
	}
	return r.Inbox.QueueTimer(ctx, job.Args)
}
