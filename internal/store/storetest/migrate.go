package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// MigrateTo moves p's database up or down to a migration version.
func MigrateTo(ctx context.Context, p *goose.Provider) func(version int64) error {
	return func(v int64) error {
		cur, err := p.GetDBVersion(ctx)
		if err != nil {
			return err
		}
		if v >= cur {
			_, err = p.UpTo(ctx, v)
		} else {
			_, err = p.DownTo(ctx, v)
		}
		return err
	}
}

// OldTrace is what a dialect's test does with the per-event trace table of
// migrations 3–7 (session_trace): insert a row, and read every row back in
// order as "session:kind:node:message_id" ("-" without one), joined by "|".
type OldTrace struct {
	Insert   func(sessionID, kind, nodeID, data string, at time.Time) error
	ReadBack func() (string, error)
}

// TraceMigration checks that migration 8 turns the per-event trace rows
// into per-sprint rows without losing or reordering an event, and back.
// migrateTo moves s's empty database up or down to a version.
func TraceMigration(t *testing.T, s store.Store, migrateTo func(version int64) error, old OldTrace) {
	t.Helper()
	ctx := context.Background()
	check(t, migrateTo(7))
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "P", Now: t0}))(t)
	for _, row := range []struct {
		session, kind, node, data string
		at                        time.Time
	}{
		{"s1", "node_entered", "start", "{}", t0},
		{"s2", "node_entered", "other", "{}", t0},
		{"s1", "message_out", "ask", `{"message_id":"m1","message":{"text":"hi"}}`, t0.Add(time.Second)},
		{"gone", "node_entered", "start", "{}", t0},
	} {
		check(t, old.Insert(row.session, row.kind, row.node, row.data, row.at))
	}
	check(t, migrateTo(8))
	// The rows 00008 wrote are read as they are after 00045, which packs
	// new rows: a packed row after them reads in order. From 00049 a trace
	// belongs to its session (the rows of session "gone", deleted, go).
	check(t, migrateTo(45))
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: "p1", Scheme: "whatsapp", Path: "351910000000", ChannelID: "ch", NewID: "k1", Now: t0})
	check(t, err)
	for _, id := range []string{"s1", "s2"} {
		check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: domain.FlowSession{ID: id, ProjectID: "p1", ContactID: "k1", FlowID: "f1", Revision: 1, ChannelID: "ch",
			Status: domain.SessionCompleted, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, CreatedAt: t0, UpdatedAt: t0}}))
	}
	// From 00050 a session's first trace may be in its row, listed first.
	check(t, migrateTo(50))
	first := store.PackTrace([]domain.TraceEvent{{ProjectID: "p1", SessionID: "s3", Kind: "node_entered", NodeID: "start", Data: json.RawMessage(`{}`), CreatedAt: t0}})
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: domain.FlowSession{ID: "s3", ProjectID: "p1", ContactID: "k1", FlowID: "f1", Revision: 1, ChannelID: "ch",
		Status: domain.SessionCompleted, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, CreatedAt: t0, UpdatedAt: t0}, Trace: first[0].Packed}))
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{{ProjectID: "p1", SessionID: "s3", Kind: "session_ended", NodeID: "end", Data: json.RawMessage(`{}`), CreatedAt: t0.Add(time.Second)}}))
	if tr := must(s.TraceList(ctx, store.Ref{ProjectID: "p1", ID: "s3"}))(t); len(tr) != 2 || tr[0].Kind != "node_entered" || tr[0].ID != 1 || !tr[0].CreatedAt.Equal(t0) ||
		tr[1].Kind != "session_ended" || tr[1].ID != 2 {
		t.Fatalf("trace of a session whose first is in its row = %+v", tr)
	}
	if tr := must(s.TraceList(ctx, store.Ref{ProjectID: "p2", ID: "s3"}))(t); len(tr) != 0 {
		t.Fatalf("another project read the session's first trace: %+v", tr)
	}
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{{ProjectID: "p1", SessionID: "s1", Kind: "session_ended", NodeID: "end",
		Data: json.RawMessage(`{"kind":"session_ended","status":"completed"}`), CreatedAt: t0.Add(2 * time.Second)}}))
	tr := must(s.TraceList(ctx, store.Ref{ProjectID: "p1", ID: "s1"}))(t)
	if len(tr) != 3 || tr[2].Kind != "session_ended" || tr[2].ID != 3 || string(tr[2].Data) != `{"kind":"session_ended","status":"completed"}` {
		t.Fatalf("trace with a packed row = %+v", tr)
	}
	tr = tr[:2]
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
	check(t, migrateTo(7))
	got, err := old.ReadBack()
	check(t, err)
	// The packed row reads as an empty array after going down, so it
	// leaves no row behind.
	if want := "s1:node_entered:start:-|s2:node_entered:other:-|s1:message_out:ask:m1"; got != want {
		t.Fatalf("trace rows after going back = %s, want %s", got, want)
	}
}

// OldJobs is what a dialect's test does with River's job table: insert a
// job of a kind, and list the kinds of every job left, sorted, joined by ",".
type OldJobs struct {
	Insert func(kind string) error
	Kinds  func() (string, error)
}

// LegacyJobsMigration checks that migration 11 deletes the jobs of the
// retired kinds (contact_process, message_send) and keeps the others.
// migrateTo moves s's database up or down to a version.
func LegacyJobsMigration(t *testing.T, migrateTo func(version int64) error, jobs OldJobs) {
	t.Helper()
	check(t, migrateTo(10))
	for _, kind := range []string{"contact_process", "session_timer", "message_send", "project_provision", "contact_process"} {
		check(t, jobs.Insert(kind))
	}
	check(t, migrateTo(11))
	got, err := jobs.Kinds()
	check(t, err)
	if want := "project_provision,session_timer"; got != want {
		t.Fatalf("jobs after migration 11: %q, want %q", got, want)
	}
	check(t, migrateTo(10)) // down is a no-op, and must not fail
}
