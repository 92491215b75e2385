package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunChannels runs the suite of store.Channels.
func RunChannels(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Channels", testChannels},
	})
}

func testChannels(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	c := must(s.ChannelCreate(ctx, domain.Channel{ID: "c1", ProjectID: p1, Type: "whatsapp", Name: "Main", Address: "1001", Config: json.RawMessage(`{"waba_id":"9"}`), Secrets: "v1:x", Status: "active", CreatedAt: t0, UpdatedAt: t0}))(t)
	if c.Address != "1001" || c.Secrets != "v1:x" {
		t.Fatalf("channel = %+v", c)
	}
	_, err := s.ChannelCreate(ctx, domain.Channel{ID: "c2", ProjectID: p2, Type: "whatsapp", Name: "Dup", Address: "1001", Status: "active", CreatedAt: t0, UpdatedAt: t0})
	wantCode(t, err, domain.CodeConflict)
	must(s.ChannelCreate(ctx, domain.Channel{ID: "c3", ProjectID: p2, Type: "webchat", Name: "Web", Status: "active", CreatedAt: t0, UpdatedAt: t0}))(t)
	must(s.ChannelCreate(ctx, domain.Channel{ID: "c4", ProjectID: p2, Type: "webchat", Name: "Web 2", Status: "active", CreatedAt: t0, UpdatedAt: t0}))(t)
	if got := must(s.ChannelGetByAddress(ctx, store.ChannelGetByAddressParams{Type: "whatsapp", Address: "1001"}))(t); got.ID != "c1" {
		t.Fatalf("by address = %+v", got)
	}
	_, err = s.ChannelGet(ctx, store.Ref{ProjectID: p2, ID: "c1"})
	wantCode(t, err, domain.CodeNotFound)
	if l := must(s.ChannelListByType(ctx, "webchat"))(t); len(l) != 2 {
		t.Fatalf("by type = %+v", l)
	}
	if l := must(s.ChannelList(ctx, p2))(t); len(l) != 2 {
		t.Fatalf("list = %+v", l)
	}
	c.Name, c.UpdatedAt = "Renamed", t0.Add(time.Hour)
	if got := must(s.ChannelUpdate(ctx, c))(t); got.Name != "Renamed" {
		t.Fatalf("updated = %+v", got)
	}
	wantCode(t, s.ChannelDelete(ctx, store.Ref{ProjectID: p2, ID: "c1"}), domain.CodeNotFound)
	check(t, s.ChannelDelete(ctx, store.Ref{ProjectID: p1, ID: "c1"}))
	_, err = s.ChannelGetAny(ctx, "c1")
	wantCode(t, err, domain.CodeNotFound)
}
