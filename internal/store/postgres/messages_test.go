package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/groupcommit"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// openWithMessage opens a migrated store holding project p1, contact c1
// and the queued outbound message m1.
func openWithMessage(t *testing.T) (*postgres.Store, time.Time) {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: "p1", Scheme: "whatsapp", Path: "351910000000", ChannelID: "ch",
		NewID: "c1", Name: "Ann", Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MessageCreate(ctx, domain.Message{ID: "m1", ProjectID: "p1", ContactID: "c1", ChannelID: "ch", Direction: domain.DirectionOut,
		Type: "text", Content: []byte(`{"type":"text","text":"hi"}`), Status: domain.MessageQueued, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return s, now
}

// TestStatusUpdatesAreHOT: once a message is sent, its delivered and read
// statuses touch no indexed column, so PostgreSQL updates it in place (a
// HOT update: no new index entries). Before migration 00053 the outbox
// index's predicate named status, and every status rewrote all three of
// the message's index entries.
func TestStatusUpdatesAreHOT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, now := openWithMessage(t)
	if err := s.InTx(ctx, func(q store.Queries) error {
		return q.MessageRecordStatus(ctx, store.MessageStatusParams{ID: "m1", ProjectID: "p1", Status: domain.MessageSent, ProviderID: "wamid.1", Now: now})
	}); err != nil {
		t.Fatal(err)
	}
	var hot, all int64
	if err := s.InTx(ctx, func(q store.Queries) error {
		// PostgreSQL 15 counts in these views what this backend has not
		// yet reported of earlier transactions too: the difference is ours.
		const counts = `SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'messages'`
		var hot0, all0 int64
		if err := groupcommit.Conn(q).QueryRow(ctx, counts).Scan(&hot0, &all0); err != nil {
			return err
		}
		for _, st := range []string{domain.MessageDelivered, domain.MessageRead} {
			mv, err := q.MessageStatusMove(ctx, store.MessageStatusParams{ID: "m1", ProjectID: "p1", Status: st, Now: now})
			if err != nil {
				return err
			}
			if !mv.Moved {
				t.Errorf("status %s did not move the message", st)
			}
		}
		if err := groupcommit.Conn(q).QueryRow(ctx, counts).Scan(&hot, &all); err != nil {
			return err
		}
		hot, all = hot-hot0, all-all0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if all != 2 || hot != 2 {
		t.Fatalf("delivered and read: %d updates of which %d HOT, want 2 and 2", all, hot)
	}
	got, err := s.MessageGet(ctx, store.Ref{ProjectID: "p1", ID: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != domain.MessageRead || got.DueAt != nil || got.ProviderID != "wamid.1" {
		t.Fatalf("message after read: status %s, lease %v, provider ID %q", got.Status, got.DueAt, got.ProviderID)
	}
}

// TestMessagesSettle: a process of the previous version sends without
// clearing the lease; the message then stays in the outbox index until
// MessagesSettle clears it. Queued messages keep theirs, and the queue is
// still read through the index.
func TestMessagesSettle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, now := openWithMessage(t)
	if _, err := s.MessageCreate(ctx, domain.Message{ID: "m2", ProjectID: "p1", ContactID: "c1", ChannelID: "ch", Direction: domain.DirectionOut,
		Type: "text", Content: []byte(`{}`), Status: domain.MessageQueued, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// What the previous version's send answer wrote: status, not the lease.
	if _, err := s.Pool().Exec(ctx, `UPDATE messages SET status = 'sent', status_rank = 2 WHERE id = 'm1'`); err != nil {
		t.Fatal(err)
	}
	n, err := s.MessagesSettle(ctx)
	if err != nil || n != 1 {
		t.Fatalf("settled %d (%v), want 1", n, err)
	}
	for id, want := range map[string]bool{"m1": false, "m2": true} {
		m, err := s.MessageGet(ctx, store.Ref{ProjectID: "p1", ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if (m.DueAt != nil) != want {
			t.Errorf("message %s (%s): lease %v", id, m.Status, m.DueAt)
		}
	}
	if n, err := s.MessagesSettle(ctx); err != nil || n != 0 {
		t.Fatalf("settled again: %d (%v), want 0", n, err)
	}
	// With sequential scans priced out, the planner takes any index that
	// can answer the query: the outbox index must be one.
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	var plans []string
	rows, err := tx.Query(ctx, `EXPLAIN (COSTS OFF) SELECT project_id, id, priority FROM messages WHERE status = 'queued' AND due_at <= $1 ORDER BY due_at LIMIT 10`, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plans = append(plans, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plans, "\n"), "messages_outbox_idx") {
		t.Fatalf("the outbox's query does not use the outbox index (the previous version's query, which must too):\n%v", plans)
	}
}

// TestOutboxIndexMigration: messages sent before migration 00053 lose
// their lease, queued ones keep it, and the outbox index is the new one;
// down restores the old.
func TestOutboxIndexMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, p := unmigrated(t)
	if _, err := p.UpTo(ctx, 52); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: "p1", Scheme: "whatsapp", Path: "351910000000", ChannelID: "ch",
		NewID: "c1", Now: now}); err != nil {
		t.Fatal(err)
	}
	// More than one batch of the migration's, sent as the old version
	// left them (with their lease), and one still queued.
	if _, err := s.Pool().Exec(ctx, `INSERT INTO messages (id, project_id, contact_id, channel_id, direction, type, status, status_rank, created_at, updated_at, due_at)
		SELECT 'old' || lpad(g::text, 6, '0'), 'p1', 'c1', 'ch', 'out', 'text', CASE WHEN g = 7000 THEN 'queued' ELSE 'delivered' END,
			CASE WHEN g = 7000 THEN 0 ELSE 3 END, $1, $1, $1
		FROM generate_series(1, 12000) g`, now); err != nil {
		t.Fatal(err)
	}
	indexes := func() (names string) {
		t.Helper()
		if err := s.Pool().QueryRow(ctx, `SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'messages' AND indexname IN ('messages_due_idx', 'messages_outbox_idx')`).Scan(&names); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if _, err := p.UpTo(ctx, 53); err != nil {
		t.Fatal(err)
	}
	var leased int
	var queued string
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), min(id) FROM messages WHERE due_at IS NOT NULL`).Scan(&leased, &queued); err != nil {
		t.Fatal(err)
	}
	if leased != 1 || queued != "old007000" {
		t.Fatalf("after the migration %d messages keep a lease (first %s), want only the queued old007000", leased, queued)
	}
	if got := indexes(); got != "messages_outbox_idx" {
		t.Fatalf("indexes after up: %s", got)
	}
	if _, err := p.DownTo(ctx, 52); err != nil {
		t.Fatal(err)
	}
	if got := indexes(); got != "messages_due_idx" {
		t.Fatalf("indexes after down: %s", got)
	}
}

// TestMessageReceiveOneStatement: a received message and its event are one
// statement on PostgreSQL (the insert in a WITH), read with the inbox in
// one round trip; a re-delivery stores nothing and says so, in as many.
func TestMessageReceiveOneStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, now := openWithMessage(t)
	receive := func(id string) (store.Received, int64, error) {
		st0, _, _ := s.StatementStats()
		var got store.Received
		err := s.InTx(ctx, func(q store.Queries) error {
			var err error
			got, err = q.MessageReceive(ctx, store.MessageReceiveParams{
				Message: domain.Message{ID: id, ProjectID: "p1", ContactID: "c1", ChannelID: "ch", Direction: domain.DirectionIn, Type: "text",
					Content: []byte(`{"type":"text","text":"hello"}`), Status: domain.MessageReceived, ProviderID: "wamid.in1", CreatedAt: now},
				Event:     domain.ContactEvent{ProjectID: "p1", ContactID: "c1", Kind: "message", Payload: []byte(`{}`), CreatedAt: now},
				ReadInbox: 10,
			})
			return err
		})
		st1, _, _ := s.StatementStats()
		return got, st1 - st0, err
	}
	got, n, err := receive("in1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Inbox == nil || got.Event.MessageID != "in1" || got.Event.Seq == 0 {
		t.Fatalf("received: event %+v, inbox read %v", got.Event, got.Inbox != nil)
	}
	// BEGIN, the message with its event, the inbox read, COMMIT.
	if n != 4 {
		t.Errorf("a received message took %d statements, want 4", n)
	}
	_, n, err = receive("in1-again")
	if de := new(domain.Error); !errors.As(err, &de) || de.Code != domain.CodeConflict {
		t.Fatalf("a re-delivery answered %v, want a conflict", err)
	}
	if n != 4 {
		t.Errorf("a re-delivery took %d statements, want 4", n)
	}
	if _, err := s.MessageGet(ctx, store.Ref{ProjectID: "p1", ID: "in1-again"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the re-delivery stored a message: %v", err)
	}
}

// TestSendAnswerOneStatement: a send's answer is recorded in the statement
// that takes the receipts kept for it, after the receipt locks.
func TestSendAnswerOneStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, now := openWithMessage(t)
	st0, _, _ := s.StatementStats()
	var kept []domain.Receipt
	if err := s.InTx(ctx, func(q store.Queries) error {
		if err := q.ReceiptLock(ctx, store.ReceiptLockParams{ChannelID: "ch", ProviderID: "wamid.1", Recipient: "351910000000"}); err != nil {
			return err
		}
		var err error
		kept, err = q.ReceiptsTake(ctx, store.ReceiptsTakeParams{ChannelID: "ch", ProviderID: "wamid.1", Recipient: "351910000000",
			Answer: &store.MessageStatusParams{ID: "m1", ProjectID: "p1", Status: domain.MessageSent, ProviderID: "wamid.1", Now: now}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st1, _, _ := s.StatementStats()
	// BEGIN, the locks, the answer with the take, COMMIT.
	if n := st1 - st0; n != 4 {
		t.Errorf("a send's answer took %d statements, want 4", n)
	}
	if len(kept) != 0 {
		t.Errorf("took %+v, want nothing", kept)
	}
	m, err := s.MessageGet(ctx, store.Ref{ProjectID: "p1", ID: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != domain.MessageSent || m.ProviderID != "wamid.1" {
		t.Fatalf("answered message: %s, provider ID %q", m.Status, m.ProviderID)
	}
}
