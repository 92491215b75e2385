package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/storetest"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// unmigrated opens a store on a fresh database holding River's tables (as
// Migrate makes them: Parley's migrations may clean up their rows) and none
// of Parley's, with a provider to walk those one version at a time.
func unmigrated(t *testing.T) (*postgres.Store, *sql.DB, *goose.Provider) {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db := stdlib.OpenDBFromPool(s.Pool())
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(s.Pool()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	return s, db, p
}

func TestTraceMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db, p := unmigrated(t)
	storetest.TraceMigration(t, s, storetest.MigrateTo(ctx, p), storetest.OldTrace{
		Insert: func(sessionID, kind, nodeID, data string, at time.Time) error {
			_, err := db.ExecContext(ctx, `INSERT INTO session_trace (project_id, session_id, kind, node_id, data, created_at) VALUES ('p1', $1, $2, $3, $4, $5)`,
				sessionID, kind, nodeID, data, at)
			return err
		},
		ReadBack: func() (string, error) {
			var got string
			err := db.QueryRowContext(ctx, `SELECT string_agg(session_id || ':' || kind || ':' || node_id || ':' || coalesce(data->>'message_id', '-'), '|' ORDER BY id) FROM session_trace`).Scan(&got)
			return got, err
		},
	})
}

func TestLegacyJobsMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil { // River's tables, then ours
		t.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(s.Pool())
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	storetest.LegacyJobsMigration(t, storetest.MigrateTo(ctx, p), storetest.OldJobs{
		Insert: func(kind string) error {
			_, err := db.ExecContext(ctx, `INSERT INTO river_job (kind, args, max_attempts, queue) VALUES ($1, '{}', 25, 'inbox')`, kind)
			return err
		},
		Kinds: func() (string, error) {
			var got string
			err := db.QueryRowContext(ctx, `SELECT coalesce(string_agg(kind, ',' ORDER BY kind), '') FROM river_job`).Scan(&got)
			return got, err
		},
	})
}
