package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestDBCopyCommand: `parley db copy --to postgres://…` moves a trial's
// SQLite database (made by the admin commands) to PostgreSQL and prints a
// table with every table's rows and checksum; the way back with --from
// writes a new SQLite file; a second copy into the filled database is
// refused, and so is a missing --to.
func TestDBCopyCommand(t *testing.T) {
	ctx := context.Background()
	if _, _, err := run(t, ctx, t.TempDir(), "db", "copy"); err == nil || !strings.Contains(err.Error(), "--to DATABASE is required") {
		t.Fatalf("db copy without --to: %v", err)
	}
	pg := testdb.PostgresURL(t)
	dir := t.TempDir()
	if _, _, err := run(t, ctx, dir, "project", "create", "--name", "Acme"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, ctx, dir, "token", "create", "--project", "Acme", "--name", "ci"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, ctx, dir, "db", "copy", "--to", pg)
	if err != nil {
		t.Fatalf("db copy: %v\n%s", err, out)
	}
	for _, re := range []string{
		`(?m)^TABLE\s+SOURCE ROWS\s+TARGET ROWS\s+CHECKSUM\s+SAME`,
		`(?m)^projects\s+1\s+1\s+[0-9a-f]{16}\s+yes`,
		`(?m)^api_tokens\s+1\s+1\s+[0-9a-f]{16}\s+yes`,
		`(?m)^river_job\s+\d+\s+\d+\s+[0-9a-f]{16}\s+yes`,
		`not copied: goose_db_version`,
		`counts and checksums match`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("db copy output lacks %s:\n%s", re, out)
		}
	}
	if regexp.MustCompile(`\sNO\s`).MatchString(out) {
		t.Errorf("a table differs:\n%s", out)
	}
	back := filepath.Join(t.TempDir(), "back.db")
	if out, _, err := run(t, ctx, dir, "db", "copy", "--from", pg, "--to", back); err != nil || !regexp.MustCompile(`(?m)^projects\s+1\s+1\s`).MatchString(out) {
		t.Fatalf("db copy back: %v\n%s", err, out)
	}
	if _, _, err := run(t, ctx, dir, "db", "copy", "--to", pg); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second copy into the same database: %v", err)
	}
}
