package postgres_test

import (
	"context"
	"testing"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestServerAdviceReadsTheServer checks the settings' query on a real
// server: one sentence for each of the two settings at or under its
// packaged default, as SHOW reports them.
func TestServerAdviceReadsTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	advice, err := s.ServerAdvice(ctx)
	if err != nil {
		t.Fatalf("ServerAdvice: %v", err)
	}
	var buffers, maxWAL string
	if err := s.Pool().QueryRow(ctx, `SELECT current_setting('shared_buffers'), current_setting('max_wal_size')`).Scan(&buffers, &maxWAL); err != nil {
		t.Fatal(err)
	}
	want := 0
	if buffers == "128MB" || buffers == "64MB" || buffers == "32MB" {
		want++
	}
	if maxWAL == "1GB" || maxWAL == "512MB" {
		want++
	}
	if len(advice) != want {
		t.Errorf("shared_buffers %s, max_wal_size %s: ServerAdvice = %q, want %d sentences", buffers, maxWAL, advice, want)
	}
}
