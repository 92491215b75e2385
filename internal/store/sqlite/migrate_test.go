package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestTraceMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.wdb, sub)
	if err != nil {
		t.Fatal(err)
	}
	// River's tables, which later migrations clean up, as Migrate makes them.
	m, err := rivermigrate.New(riversqlite.New(s.wdb), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	storetest.TraceMigration(t, s, storetest.MigrateTo(ctx, p), storetest.OldTrace{
		Insert: func(sessionID, kind, nodeID, data string, at time.Time) error {
			_, err := s.wdb.ExecContext(ctx, `INSERT INTO session_trace (project_id, session_id, kind, node_id, data, created_at) VALUES ('p1', ?, ?, ?, ?, ?)`,
				sessionID, kind, nodeID, data, at)
			return err
		},
		ReadBack: func() (string, error) {
			var got string
			err := s.wdb.QueryRowContext(ctx, `SELECT group_concat(session_id || ':' || kind || ':' || node_id || ':' || coalesce(json_extract(data, '$.message_id'), '-'), '|')
				FROM (SELECT * FROM session_trace ORDER BY id)`).Scan(&got)
			return got, err
		},
	})
}

func TestLegacyJobsMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil { // River's tables, then ours
		t.Fatal(err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.wdb, sub)
	if err != nil {
		t.Fatal(err)
	}
	storetest.LegacyJobsMigration(t, storetest.MigrateTo(ctx, p), storetest.OldJobs{
		Insert: func(kind string) error {
			_, err := s.wdb.ExecContext(ctx, `INSERT INTO river_job (kind, queue) VALUES (?, 'inbox')`, kind)
			return err
		},
		Kinds: func() (string, error) {
			var got string
			err := s.wdb.QueryRowContext(ctx, `SELECT coalesce(group_concat(kind, ','), '') FROM (SELECT kind FROM river_job ORDER BY kind)`).Scan(&got)
			return got, err
		},
	})
}
