// Package testdb opens a migrated database for tests: SQLite in a temporary
// directory by default, or a fresh PostgreSQL database when TEST_DATABASE_URL
// is set, so that `go test ./...` runs everywhere and CI runs the same tests
// again on PostgreSQL.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// EnvVar names the variable that switches tests to PostgreSQL.
const EnvVar = "TEST_DATABASE_URL"

// Migrator is a Store that can apply its migrations.
type Migrator interface {
	store.Store
	Migrate(ctx context.Context) error
}

// Open returns a migrated store for the test, closed when the test ends.
func Open(t testing.TB, opts store.OpenOptions) Migrator {
	t.Helper()
	ctx := context.Background()
	var s Migrator
	var err error
	if os.Getenv(EnvVar) != "" {
		s, err = postgres.Open(ctx, PostgresURL(t), opts)
	} else {
		s, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "parley.db"), opts)
	}
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return s
}

// OpenSQLite returns a migrated SQLite store whatever the environment says.
func OpenSQLite(t testing.TB, opts store.OpenOptions) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"), opts)
	if err != nil {
		t.Fatalf("opening SQLite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrating SQLite: %v", err)
	}
	return s
}

// PostgresURL creates a fresh, empty database on the server named by
// TEST_DATABASE_URL and returns its URL; the database is dropped when the
// test ends. It skips the test when the variable is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip("PostgreSQL tests skipped: set " + EnvVar + " (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run them")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", EnvVar, err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "parley_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		roles := ownRoles(ctx, base, name)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		// Roles are the server's: those the test made (project databases'
		// roles) would outlive its database.
		for _, r := range roles {
			_, _ = c.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", EnvVar, err)
	}
	u.Path = "/" + name
	// A test store's pool is capped (the server's default is 32): packages
	// run side by side, each with parallel tests and child processes, and
	// together they must stay under the server's max_connections (100).
	q := u.Query()
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", "8")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// ownRoles finds the roles, other than superusers, that own objects in
// the test database, and drops what they own there so they can be dropped
// with it.
func ownRoles(ctx context.Context, base, name string) []string {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	u.Path = "/" + name
	c, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return nil
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT DISTINCT r.rolname FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
		WHERE d.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) AND d.deptype IN ('o', 'a')
		AND NOT r.rolsuper AND r.rolname <> current_user
		AND (d.dbid <> 0 OR d.objid = (SELECT oid FROM pg_database WHERE datname = current_database()))`)
	if err != nil {
		return nil
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil
	}
	for _, r := range roles {
		_, _ = c.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{r}.Sanitize())
	}
	return roles
}

// OpenSQL is sql.Open for a test reading a server's database directly. A
// PostgreSQL URL is read with pgxpool's parser: the URLs PostgresURL gives
// carry pool settings, which plain pgx would send to the server as unknown
// runtime parameters.
func OpenSQL(driver, dsn string) (*sql.DB, error) {
	if driver != "pgx" {
		return sql.Open(driver, dsn)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the PostgreSQL URL: %w", err)
	}
	return stdlib.OpenDB(*cfg.ConnConfig), nil
}
