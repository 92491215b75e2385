package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestStatisticsRefresh: a table that grew by more than StatisticsRefresh's
// threshold since it was last analyzed is analyzed (so prepared statements
// are planned again for its size), and not again while its statistics are
// fresh. The server reports changes to its statistics views a moment after
// the commit, so the first refresh is polled for.
func TestStatisticsRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testdb.PostgresURL(t), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: now}); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(q store.Queries) error {
		for i := range 1500 {
			k := fmt.Sprintf("35191%07d", i)
			if _, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: "p1", Scheme: "whatsapp", Path: k, NewID: "c" + k, Now: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(got, "contacts"); {
		if time.Now().After(deadline) {
			t.Fatalf("1,500 new contacts: refreshed %v, never contacts", got)
		}
		time.Sleep(200 * time.Millisecond)
		if got, err = s.StatisticsRefresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.StatisticsRefresh(ctx); err != nil || slices.Contains(got, "contacts") {
		t.Fatalf("refreshed again at once: %v, %v; want contacts left alone while its statistics are fresh", got, err)
	}
}
