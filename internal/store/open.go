package store

import (
	"log/slog"

	"github.com/riverqueue/river"
)

// OpenOptions configure an implementation's Open.
type OpenOptions struct {
	// Jobs configures the River client (workers, queues, periodic jobs). Nil
	// opens the store with no job client: JobInsert then fails.
	Jobs *river.Config
	// Logger receives the database layer's logs; nil discards them.
	Logger *slog.Logger
	// GroupCommitWriters is, on PostgreSQL, how many group-commit batches
	// (shared transactions, each on its own connection) run at once; 0
	// takes the default. SQLite has one writer whatever it says.
	GroupCommitWriters int
}
