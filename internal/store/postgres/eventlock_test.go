package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// TestEventDoneTakesTheContactLock: marking an event handled with its
// contact's lock (one statement on PostgreSQL) waits while another
// transaction holds that contact's row. Once it may go on, it handles the
// event, or, if that transaction handled it meanwhile, finds so: a
// conflict, not a second handling.
func TestEventDoneTakesTheContactLock(t *testing.T) {
	t.Parallel()
	for _, holderHandles := range []bool{false, true} {
		name := map[bool]string{false: "the holder only locks", true: "the holder handles the event"}[holderHandles]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openWriters(t, 2)
			now := time.Now()
			if _, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: now}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: "p1", Scheme: "whatsapp", Path: "1", NewID: "k1", Now: now}); err != nil {
				t.Fatal(err)
			}
			ev, err := s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: "p1", ContactID: "k1", Kind: domain.EventTimer, CreatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			holder, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Rollback(ctx) //nolint:errcheck // committed below
			if _, err := holder.Exec(ctx, `SELECT id FROM contacts WHERE id = 'k1' FOR UPDATE`); err != nil {
				t.Fatal(err)
			}
			if holderHandles {
				if _, err := holder.Exec(ctx, `UPDATE contact_events SET handled_at = now(), result = 'holder' WHERE seq = $1`, ev.Seq); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() {
				done <- s.InTx(store.Replayable(ctx), func(q store.Queries) error {
					return q.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: ev.Seq, Result: "second", Now: now, Lock: &store.Ref{ProjectID: "p1", ID: "k1"}})
				})
			}()
			select {
			case err := <-done:
				t.Fatalf("marked handled while another transaction held the contact: %v", err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := holder.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			want := "second"
			select {
			case err := <-done:
				switch {
				case holderHandles && !errors.Is(err, store.ErrConflict):
					t.Fatalf("after the holder handled the event: %v, want a conflict", err)
				case !holderHandles && err != nil:
					t.Fatalf("after the holder let go: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still waiting after the holder committed")
			}
			if holderHandles {
				want = "holder"
			}
			got, err := s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: "p1", Seq: ev.Seq})
			if err != nil || got.Result != want {
				t.Fatalf("event = %+v, %v; want result %q", got, err, want)
			}
		})
	}
}
