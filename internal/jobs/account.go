package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// ProvisionArgs prepares a new project: it fills the default settings and
// marks the project ready. It is enqueued in the transaction that creates
// the project.
type ProvisionArgs struct {
	ProjectID string `json:"project_id"`
}

// Kind implements river.JobArgs.
func (ProvisionArgs) Kind() string { return "project_provision" }

// DefaultSettings returns a new project's settings; keys the creator set win.
func DefaultSettings() map[string]any {
	return map[string]any{
		"timezone":               "UTC",
		"session_expiry_seconds": 86400,
		// Built-in keywords work in every flow unless a project turns them off.
		"keywords": map[string]any{
			"enabled": true,
			"opt_out": []string{"STOP", "UNSUBSCRIBE"},
			"opt_in":  []string{"START"},
		},
	}
}

type provisionWorker struct {
	river.WorkerDefaults[ProvisionArgs]
	deps *Bound[Deps]
}

// Work is idempotent: a project already ready is left alone, so a retried
// job never provisions twice. The project's own database is created after
// the project is ready; its failure is recorded in its state (shown with
// a retry in the project list), not retried here.
func (w *provisionWorker) Work(ctx context.Context, job *river.Job[ProvisionArgs]) error {
	d, err := w.deps.Get()
	if err != nil {
		return err
	}
	if err := w.settings(ctx, d, job); err != nil {
		return err
	}
	if d.Databases != nil {
		if err := d.Databases.ProvisionDatabase(ctx, job.Args.ProjectID); err != nil {
			d.Logger.Warn("a project's database could not be created; it can be retried from the Data page", "project_id", job.Args.ProjectID, "err", err)
		}
	}
	return nil
}

func (w *provisionWorker) settings(ctx context.Context, d *Deps, job *river.Job[ProvisionArgs]) error {
	return d.Store.InTx(ctx, func(q store.Queries) error {
		p, err := q.ProjectGet(ctx, job.Args.ProjectID)
		if errors.Is(err, store.ErrNotFound) {
			return river.JobCancel(fmt.Errorf("project %s no longer exists", job.Args.ProjectID))
		}
		if err != nil {
			return err
		}
		if p.Status == domain.ProjectReady {
			return nil
		}
		settings := DefaultSettings()
		if len(p.Settings) > 0 {
			var own map[string]any
			if err := json.Unmarshal(p.Settings, &own); err == nil {
				for k, v := range own {
					settings[k] = v
				}
			}
		}
		raw, err := json.Marshal(settings)
		if err != nil {
			return err
		}
		ready, now := domain.ProjectReady, d.Clock.Now()
		if _, err := q.ProjectUpdate(ctx, store.ProjectUpdateParams{ID: p.ID, Settings: raw, Status: &ready, Now: now}); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{
			ID: d.IDs.NewID(), ProjectID: p.ID, Actor: "system", Action: "project.provisioned",
			Target: p.ID, Data: json.RawMessage(fmt.Sprintf(`{"job_id": %d}`, job.ID)), CreatedAt: now,
		})
	})
}

// HousekeepingArgs runs periodically: it deletes expired web sessions.
type HousekeepingArgs struct{}

// Kind implements river.JobArgs.
func (HousekeepingArgs) Kind() string { return "housekeeping" }

// InsertOpts makes housekeeping unique per period, so several processes
// starting together do not pile up copies.
func (HousekeepingArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

type housekeepingWorker struct {
	river.WorkerDefaults[HousekeepingArgs]
	deps *Bound[Deps]
}

func (w *housekeepingWorker) Work(ctx context.Context, _ *river.Job[HousekeepingArgs]) error {
	d, err := w.deps.Get()
	if err != nil {
		return err
	}
	n, err := d.Store.WebSessionDeleteExpired(ctx, d.Clock.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		d.Logger.Info("housekeeping: deleted expired web sessions", "count", n)
	}
	keep := d.KeepReceipts
	if keep <= 0 {
		keep = DefaultKeepReceipts
	}
	n, err = d.Store.ReceiptsExpire(ctx, store.ReceiptsExpireParams{Before: d.Clock.Now().Add(-keep)})
	if err != nil {
		return fmt.Errorf("expiring kept receipts: %w", err)
	}
	if n > 0 {
		// Acknowledged receipts that never found their message: counted,
		// and said, never dropped silently.
		d.Receipts.Expired(n)
		d.Logger.Warn("housekeeping: receipts that never matched a message expired", "count", n, "kept_for", keep)
	}
	return nil
}
