package store

import (
	"context"
	"time"
)

// ProjectDatabases are the repository methods of the state of each
// project's own database (the data itself lives in that database).
type ProjectDatabases interface {
	// ProjectDatabaseGet returns a project's database state, ErrNotFound
	// when it was never provisioned.
	ProjectDatabaseGet(ctx context.Context, projectID string) (ProjectDatabase, error)
	// ProjectDatabaseSave creates or replaces a project's database state.
	ProjectDatabaseSave(ctx context.Context, d ProjectDatabase) (ProjectDatabase, error)
	// ProjectDatabaseList returns the states of the given projects (those
	// that have one), in no particular order.
	ProjectDatabaseList(ctx context.Context, projectIDs []string) ([]ProjectDatabase, error)
}

// ProjectDatabase is the provisioning state of a project's own database.
type ProjectDatabase struct {
	ProjectID string
	// Status is provisioning, ready or failed.
	Status string
	// Reason says why provisioning failed.
	Reason string
	// Location names the database: the file on SQLite, the schema on
	// PostgreSQL.
	Location  string
	Attempts  int
	UpdatedAt time.Time
}
