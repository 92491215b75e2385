package account

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestOnProjectUpdate: listeners hear of a committed project change (the
// runner forgets its cached keyword settings this way), and of nothing
// else: a change that fails tells no one.
func TestOnProjectUpdate(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.OpenOptions{})
	ctx := context.Background()
	s := New(st, &testClock{t: time.Now()}, domain.UUIDv7{}, time.Hour)
	var told []string
	s.OnProjectUpdate(func(id string) { told = append(told, id) })
	p, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p-listened", Name: "Listened", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	name := "Renamed"
	if _, err := s.UpdateProject(ctx, store.ProjectUpdateParams{ID: p.ID, Name: &name}, "test"); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0] != p.ID {
		t.Fatalf("after a committed update, listeners were told %v, want [%s]", told, p.ID)
	}
	if _, err := s.UpdateProject(ctx, store.ProjectUpdateParams{ID: "no-such-project", Name: &name}, "test"); err == nil {
		t.Fatal("updating a missing project succeeded")
	}
	if len(told) != 1 {
		t.Fatalf("a failed update told listeners: %v", told)
	}
}
