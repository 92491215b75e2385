package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunWhatsAppFlows runs the suite of store.WhatsAppFlows.
func RunWhatsAppFlows(t *testing.T, open Opener) {
	run(t, open, []test{
		{"WhatsAppFlows", testWhatsAppFlows},
		{"WhatsAppFlowUpdates", testWhatsAppFlowUpdates},
		{"WhatsAppFlowKeys", testWhatsAppFlowKeys},
	})
}

const waFlowJSON = "{\n  \"version\": \"7.1\",\n  \"screens\": []\n}"

func waFlow(id, project, name string) store.WhatsAppFlow {
	return store.WhatsAppFlow{ID: id, ProjectID: project, Name: name, Categories: []string{"APPOINTMENT_BOOKING"}, JSON: waFlowJSON,
		Status: store.WhatsAppFlowDraft, CreatedAt: t0, UpdatedAt: t0}
}

func testWhatsAppFlows(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	f := must(s.WhatsAppFlowCreate(ctx, waFlow("w1", p1, "booking")))(t)
	if f.Status != store.WhatsAppFlowDraft || f.JSON != waFlowJSON || f.Version != 1 || !f.CreatedAt.Equal(t0) || f.SyncedAt != nil ||
		len(f.Categories) != 1 || f.Categories[0] != "APPOINTMENT_BOOKING" {
		t.Fatalf("created = %+v", f)
	}
	jsonEqual(t, f.ValidationErrors, json.RawMessage(`[]`))
	jsonEqual(t, f.Endpoint, json.RawMessage(`{}`))
	must(s.WhatsAppFlowCreate(ctx, waFlow("w2", p1, "survey")))(t)
	must(s.WhatsAppFlowCreate(ctx, waFlow("w3", p2, "booking")))(t) // same name, other project
	_, err := s.WhatsAppFlowCreate(ctx, waFlow("w4", p1, "booking"))
	wantCode(t, err, domain.CodeConflict)

	_, err = s.WhatsAppFlowGet(ctx, store.Ref{ProjectID: p1, ID: "w3"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = s.WhatsAppFlowGetByMetaID(ctx, store.WhatsAppFlowGetByMetaIDParams{ProjectID: p1, MetaID: ""})
	wantCode(t, err, domain.CodeNotFound)

	l := must(s.WhatsAppFlowList(ctx, store.WhatsAppFlowListParams{ProjectID: p1}))(t)
	if len(l.Items) != 2 || l.Items[0].ID != "w2" {
		t.Fatalf("list = %+v", l.Items)
	}
	l = must(s.WhatsAppFlowList(ctx, store.WhatsAppFlowListParams{ProjectID: p1, Page: store.Page{Limit: 1}}))(t)
	if len(l.Items) != 1 || l.Next != "w2" {
		t.Fatalf("page = %+v", l)
	}
	l = must(s.WhatsAppFlowList(ctx, store.WhatsAppFlowListParams{ProjectID: p1, Page: store.Page{Limit: 1, After: l.Next}}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "w1" || l.Next != "" {
		t.Fatalf("second page = %+v", l)
	}

	wantCode(t, s.WhatsAppFlowDelete(ctx, store.Ref{ProjectID: p2, ID: "w1"}), domain.CodeNotFound)
	if err := s.WhatsAppFlowDelete(ctx, store.Ref{ProjectID: p1, ID: "w1"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.WhatsAppFlowGet(ctx, store.Ref{ProjectID: p1, ID: "w1"})
	wantCode(t, err, domain.CodeNotFound)
}

func testWhatsAppFlowUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := twoProjects(t, s)
	f := must(s.WhatsAppFlowCreate(ctx, waFlow("w1", p1, "booking")))(t)
	must(s.WhatsAppFlowCreate(ctx, waFlow("w2", p1, "survey")))(t)
	synced := t0.Add(time.Minute)
	f.Status, f.MetaFlowID, f.ChannelID, f.PreviewURL, f.SyncedAt = store.WhatsAppFlowPublished, "1234567890", "c1", "https://preview/x", &synced
	f.ValidationErrors = json.RawMessage(`[{"error":"INVALID_PROPERTY_VALUE","message":"m","pointer":"/screens/0"}]`)
	f.Endpoint = json.RawMessage(`{"uri":"https://example.com/e"}`)
	f.Categories = []string{"SURVEY", "OTHER"}
	f.UpdatedAt = t0.Add(time.Hour)
	up := must(s.WhatsAppFlowUpdate(ctx, f))(t)
	if up.Version != 2 || up.Status != store.WhatsAppFlowPublished || up.MetaFlowID != "1234567890" || up.ChannelID != "c1" ||
		up.SyncedAt == nil || !up.SyncedAt.Equal(synced) || !up.UpdatedAt.Equal(t0.Add(time.Hour)) || len(up.Categories) != 2 || up.PreviewURL != "https://preview/x" {
		t.Fatalf("updated = %+v", up)
	}
	jsonEqual(t, up.ValidationErrors, f.ValidationErrors)
	jsonEqual(t, up.Endpoint, f.Endpoint)
	got := must(s.WhatsAppFlowGetByMetaID(ctx, store.WhatsAppFlowGetByMetaIDParams{ProjectID: p1, MetaID: "1234567890"}))(t)
	if got.ID != "w1" {
		t.Fatalf("by Meta ID = %+v", got)
	}
	l := must(s.WhatsAppFlowList(ctx, store.WhatsAppFlowListParams{ProjectID: p1, Status: store.WhatsAppFlowPublished}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "w1" {
		t.Fatalf("published = %+v", l.Items)
	}
	l = must(s.WhatsAppFlowList(ctx, store.WhatsAppFlowListParams{ProjectID: p1, ChannelID: "c1"}))(t)
	if len(l.Items) != 1 {
		t.Fatalf("by channel = %+v", l.Items)
	}
	// A stale version is a conflict; no version writes unconditionally.
	f.Version = 1
	_, err := s.WhatsAppFlowUpdate(ctx, f)
	wantCode(t, err, domain.CodeConflict)
	f.Version = 0
	f.Status = "NOT_A_STATUS"
	if _, err := s.WhatsAppFlowUpdate(ctx, f); err == nil {
		t.Fatal("an unknown status was stored")
	}
	f.Status, f.Name = store.WhatsAppFlowDraft, "survey"
	_, err = s.WhatsAppFlowUpdate(ctx, f)
	wantCode(t, err, domain.CodeConflict)
	f.ID = "nope"
	f.Name = "other"
	_, err = s.WhatsAppFlowUpdate(ctx, f)
	wantCode(t, err, domain.CodeNotFound)
}

func testWhatsAppFlowKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	f := must(s.WhatsAppFlowCreate(ctx, waFlow("w1", p1, "booking")))(t)
	if got := must(s.WhatsAppFlowLookup(ctx, "w1"))(t); got.ProjectID != p1 || got.Name != f.Name {
		t.Fatalf("lookup = %+v", got)
	}
	_, err := s.WhatsAppFlowLookup(ctx, "nope")
	wantCode(t, err, domain.CodeNotFound)

	_, err = s.WhatsAppFlowKeyGet(ctx, store.Ref{ProjectID: p1, ID: "c1"})
	wantCode(t, err, domain.CodeNotFound)
	k := store.WhatsAppFlowKey{ProjectID: p1, ChannelID: "c1", PublicKey: "PUB1", PrivateKeySealed: "SEALED1", CreatedAt: t0}
	if err := s.WhatsAppFlowKeyPut(ctx, k); err != nil {
		t.Fatal(err)
	}
	k.PublicKey, k.PrivateKeySealed, k.CreatedAt = "PUB2", "SEALED2", t0.Add(time.Hour)
	if err := s.WhatsAppFlowKeyPut(ctx, k); err != nil { // a new pair replaces the old
		t.Fatal(err)
	}
	got := must(s.WhatsAppFlowKeyGet(ctx, store.Ref{ProjectID: p1, ID: "c1"}))(t)
	if got.PublicKey != "PUB2" || got.PrivateKeySealed != "SEALED2" || !got.CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("key = %+v", got)
	}
	_, err = s.WhatsAppFlowKeyGet(ctx, store.Ref{ProjectID: p2, ID: "c1"})
	wantCode(t, err, domain.CodeNotFound)
}
