package sqlite

import (
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/parleyhq/parley/internal/store"
)

// TestTraceMigration: migration 8 turns the per-event trace rows into
// per-sprint rows without losing or reordering an event, and back.
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
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "P", Now: t0}); err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]any{
		{"s1", "node_entered", "start", "{}", t0},
		{"s2", "node_entered", "other", "{}", t0},
		{"s1", "message_out", "ask", `{"message_id":"m1","message":{"text":"hi"}}`, t0.Add(time.Second)},
	} {
		if _, err := s.wdb.ExecContext(ctx, `INSERT INTO session_trace (project_id, session_id, kind, node_id, data, created_at) VALUES ('p1', ?, ?, ?, ?, ?)`, row...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.UpTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	tr, err := s.TraceList(ctx, "p1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 2 || tr[0].Kind != "node_entered" || tr[0].NodeID != "start" || tr[1].Kind != "message_out" || tr[1].ID != 2 ||
		!tr[1].CreatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("trace after the migration = %+v", tr)
	}
	var data struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(tr[1].Data, &data); err != nil || data.MessageID != "m1" {
		t.Fatalf("message_out data = %s (%v)", tr[1].Data, err)
	}
	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	var n int
	var got string
	if err := s.wdb.QueryRowContext(ctx, `SELECT count(*), group_concat(session_id || ':' || kind || ':' || node_id || ':' || data, '|') FROM (SELECT * FROM session_trace ORDER BY id)`).Scan(&n, &got); err != nil {
		t.Fatal(err)
	}
	want := `s1:node_entered:start:{}|s2:node_entered:other:{}|s1:message_out:ask:{"message_id":"m1","message":{"text":"hi"}}`
	if n != 3 || got != want {
		t.Fatalf("trace rows after going back = %d: %s\nwant %s", n, got, want)
	}
}
