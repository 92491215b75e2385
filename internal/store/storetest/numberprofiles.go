package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunNumberProfiles runs the suite of store.NumberProfiles.
func RunNumberProfiles(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Signups", testSignups},
		{"DisplayNameRequests", testDisplayNameRequests},
	})
}

func testSignups(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	check(t, s.WhatsAppSignupCreate(ctx, store.WhatsAppSignup{ID: "su1", ProjectID: p1, WABAID: "w", PhoneNumberID: "p", Name: "Shop",
		Steps: []byte(`[]`), Status: "running", CreatedAt: t0, UpdatedAt: t0}))
	_, err := s.WhatsAppSignupGet(ctx, store.Ref{ProjectID: p2, ID: "su1"})
	wantCode(t, err, domain.CodeNotFound)
	g := must(s.WhatsAppSignupGet(ctx, store.Ref{ProjectID: p1, ID: "su1"}))(t)
	if g.WABAID != "w" || g.PhoneNumberID != "p" || g.Name != "Shop" || string(g.Steps) != `[]` || g.Status != "running" || !g.CreatedAt.Equal(t0) {
		t.Fatalf("signup = %+v", g)
	}
	g.TokenSealed, g.Steps, g.Status, g.ChannelID, g.UpdatedAt = "sealed", []byte(`[{"name":"exchange"}]`), "done", "ch1", t0.Add(time.Minute)
	check(t, s.WhatsAppSignupUpdate(ctx, g))
	g2 := must(s.WhatsAppSignupGet(ctx, store.Ref{ProjectID: p1, ID: "su1"}))(t)
	if g2.TokenSealed != "sealed" || string(g2.Steps) != `[{"name":"exchange"}]` || g2.Status != "done" || g2.ChannelID != "ch1" || !g2.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("updated = %+v", g2)
	}
	g.ProjectID = p2
	wantCode(t, s.WhatsAppSignupUpdate(ctx, g), domain.CodeNotFound)
}

func testDisplayNameRequests(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	must(s.ChannelCreate(ctx, domain.Channel{ID: "c1", ProjectID: p1, Type: "whatsapp", Name: "One", Address: "1", Status: "active", CreatedAt: t0, UpdatedAt: t0}))(t)
	check(t, s.DisplayNameRequestCreate(ctx, store.DisplayNameRequest{ID: "d1", ProjectID: p1, ChannelID: "c1", Name: "Old Shop", RequestedAt: t0}))
	check(t, s.DisplayNameRequestCreate(ctx, store.DisplayNameRequest{ID: "d2", ProjectID: p1, ChannelID: "c1", Name: "New Shop", RequestedAt: t0.Add(time.Hour)}))
	l := must(s.DisplayNameRequestList(ctx, store.Ref{ProjectID: p1, ID: "c1"}))(t)
	if len(l) != 2 || l[0].ID != "d2" || l[0].Status != store.DisplayNamePending || l[0].DecidedAt != nil {
		t.Fatalf("list = %+v", l)
	}
	if l := must(s.DisplayNameRequestList(ctx, store.Ref{ProjectID: p2, ID: "c1"}))(t); len(l) != 0 {
		t.Fatalf("another project's list = %+v", l)
	}
	// Another project's channel, or a name never requested: nothing decided.
	if ok := must(s.DisplayNameRequestDecide(ctx, store.DisplayNameDecideParams{ProjectID: p2, ChannelID: "c1", Name: "New Shop", Status: "approved", At: t0}))(t); ok {
		t.Fatal("decided another project's request")
	}
	if ok := must(s.DisplayNameRequestDecide(ctx, store.DisplayNameDecideParams{ProjectID: p1, ChannelID: "c1", Name: "Other", Status: "approved", At: t0}))(t); ok {
		t.Fatal("decided a name never requested")
	}
	at := t0.Add(2 * time.Hour)
	if ok := must(s.DisplayNameRequestDecide(ctx, store.DisplayNameDecideParams{ProjectID: p1, ChannelID: "c1", Name: "New Shop", Status: "declined", Reason: "guidelines", At: at}))(t); !ok {
		t.Fatal("the pending request was not decided")
	}
	l = must(s.DisplayNameRequestList(ctx, store.Ref{ProjectID: p1, ID: "c1"}))(t)
	if l[0].Status != "declined" || l[0].Reason != "guidelines" || l[0].DecidedAt == nil || !l[0].DecidedAt.Equal(at) || l[1].Status != "pending" {
		t.Fatalf("after the review: %+v", l)
	}
	// Decided once: a repeated webhook finds nothing pending.
	if ok := must(s.DisplayNameRequestDecide(ctx, store.DisplayNameDecideParams{ProjectID: p1, ChannelID: "c1", Name: "New Shop", Status: "approved", At: at}))(t); ok {
		t.Fatal("a decided request was decided again")
	}
}
