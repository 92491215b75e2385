package sqlstore

import (
	"context"
	"strings"

	"github.com/parleyhq/parley/internal/store"
)

const projectDatabaseCols = `project_id, status, reason, location, attempts, updated_at`

func scanProjectDatabase(r Row) (store.ProjectDatabase, error) {
	var d store.ProjectDatabase
	err := r.Scan(&d.ProjectID, &d.Status, &d.Reason, &d.Location, &d.Attempts, &d.UpdatedAt)
	d.UpdatedAt = d.UpdatedAt.UTC()
	return d, err
}

// ProjectDatabaseGet implements store.Queries.
func (q *Queries) ProjectDatabaseGet(ctx context.Context, projectID string) (store.ProjectDatabase, error) {
	d, err := scanProjectDatabase(q.r.QueryRow(ctx, `SELECT `+projectDatabaseCols+` FROM project_databases WHERE project_id = ?`, projectID))
	if err == ErrNoRows {
		return d, notFound("project database", projectID)
	}
	return d, q.translate(err, "getting a project's database state")
}

// ProjectDatabaseSave implements store.Queries.
func (q *Queries) ProjectDatabaseSave(ctx context.Context, d store.ProjectDatabase) (store.ProjectDatabase, error) {
	out, err := scanProjectDatabase(q.w.QueryRow(ctx, `INSERT INTO project_databases (`+projectDatabaseCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, location = excluded.location,
			attempts = excluded.attempts, updated_at = excluded.updated_at
		RETURNING `+projectDatabaseCols, d.ProjectID, d.Status, d.Reason, d.Location, d.Attempts, d.UpdatedAt))
	return out, q.translate(err, "saving a project's database state")
}

// ProjectDatabaseList implements store.Queries.
func (q *Queries) ProjectDatabaseList(ctx context.Context, projectIDs []string) ([]store.ProjectDatabase, error) {
	out := []store.ProjectDatabase{}
	if len(projectIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(projectIDs))
	for i, id := range projectIDs {
		args[i] = id
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(projectIDs)), ", ")
	rows, err := q.r.Query(ctx, `SELECT `+projectDatabaseCols+` FROM project_databases WHERE project_id IN (`+marks+`)`, args...)
	items, err := collect(rows, err, func(r Rows) (store.ProjectDatabase, error) { return scanProjectDatabase(r) })
	if items != nil {
		out = items
	}
	return out, q.translate(err, "listing project database states")
}
