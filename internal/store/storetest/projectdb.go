package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunProjectDatabases runs the suite of store.ProjectDatabases.
func RunProjectDatabases(t *testing.T, open Opener) {
	run(t, open, []test{
		{"ProjectDatabases", testProjectDatabases},
	})
}

func testProjectDatabases(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	_, err := s.ProjectDatabaseGet(ctx, p1)
	wantCode(t, err, domain.CodeNotFound)

	d := must(s.ProjectDatabaseSave(ctx, store.ProjectDatabase{ProjectID: p1, Status: "provisioning", Location: "f.db", Attempts: 1, UpdatedAt: t0}))(t)
	if d.Status != "provisioning" || d.Location != "f.db" || d.Attempts != 1 || !d.UpdatedAt.Equal(t0) {
		t.Fatalf("saved = %+v", d)
	}
	// Saving again replaces the state.
	must(s.ProjectDatabaseSave(ctx, store.ProjectDatabase{ProjectID: p1, Status: "failed", Reason: "disk full", Location: "f.db", Attempts: 2, UpdatedAt: t0.Add(time.Second)}))(t)
	g := must(s.ProjectDatabaseGet(ctx, p1))(t)
	if g.Status != "failed" || g.Reason != "disk full" || g.Attempts != 2 || !g.UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("replaced = %+v", g)
	}
	must(s.ProjectDatabaseSave(ctx, store.ProjectDatabase{ProjectID: p2, Status: "ready", UpdatedAt: t0}))(t)

	l := must(s.ProjectDatabaseList(ctx, []string{p1, p2, "nope"}))(t)
	if len(l) != 2 {
		t.Fatalf("list = %+v", l)
	}
	byID := map[string]string{}
	for _, x := range l {
		byID[x.ProjectID] = x.Status
	}
	if byID[p1] != "failed" || byID[p2] != "ready" {
		t.Fatalf("list = %+v", l)
	}
	if l := must(s.ProjectDatabaseList(ctx, nil))(t); l == nil || len(l) != 0 {
		t.Fatalf("empty list = %#v", l)
	}
}
