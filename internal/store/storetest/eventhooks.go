package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunEventHooks runs the suite of store.EventHooks.
func RunEventHooks(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Subscriptions", testWebhookSubscriptions},
		{"RecordFansOutInTransaction", testWebhookRecord},
		{"ClaimInOrderPerKey", testWebhookClaimOrder},
		{"AttemptsListAndPurge", testWebhookAttempts},
	})
}

func webhookSub(id, project string, events ...string) store.WebhookSubscription {
	return store.WebhookSubscription{ID: id, ProjectID: project, URL: "https://example.com/" + id, Events: events, SecretSealed: "sealed-" + id,
		Active: true, CreatedAt: t0, UpdatedAt: t0}
}

func testWebhookSubscriptions(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	a := must(s.WebhookSubscriptionCreate(ctx, webhookSub("s1", p1, "message.received", "session.ended")))(t)
	if a.URL != "https://example.com/s1" || len(a.Events) != 2 || a.Events[1] != "session.ended" || !a.Active || a.SecretSealed != "sealed-s1" || !a.CreatedAt.Equal(t0) {
		t.Fatalf("created = %+v", a)
	}
	b := webhookSub("s2", p1, "*")
	b.CreatedAt = t0.Add(time.Second)
	must(s.WebhookSubscriptionCreate(ctx, b))(t)
	must(s.WebhookSubscriptionCreate(ctx, webhookSub("s3", p2, "*")))(t)
	_, err := s.WebhookSubscriptionCreate(ctx, webhookSub("s1", p1, "*"))
	wantCode(t, err, domain.CodeConflict)

	_, err = s.WebhookSubscriptionGet(ctx, store.Ref{ProjectID: p1, ID: "s3"})
	wantCode(t, err, domain.CodeNotFound)
	if l := must(s.WebhookSubscriptionList(ctx, p1))(t); len(l) != 2 || l[0].ID != "s1" || l[1].ID != "s2" || l[1].Events[0] != "*" {
		t.Fatalf("list = %+v", l)
	}
	if l := must(s.WebhookSubscriptionList(ctx, "nope"))(t); l == nil || len(l) != 0 {
		t.Fatalf("empty list = %#v", l)
	}
	a.URL, a.Events, a.Active, a.Description = "https://example.com/new", []string{"campaign.progress"}, false, "ops"
	a = must(s.WebhookSubscriptionUpdate(ctx, a))(t)
	if g := must(s.WebhookSubscriptionGet(ctx, store.Ref{ProjectID: p1, ID: "s1"}))(t); g.URL != "https://example.com/new" || g.Active ||
		len(g.Events) != 1 || g.Events[0] != "campaign.progress" || g.Description != "ops" {
		t.Fatalf("updated = %+v", g)
	}
	a.ProjectID = p2
	_, err = s.WebhookSubscriptionUpdate(ctx, a)
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, s.WebhookSubscriptionDelete(ctx, store.Ref{ProjectID: p2, ID: "s1"}), domain.CodeNotFound)
	check(t, s.WebhookSubscriptionDelete(ctx, store.Ref{ProjectID: p1, ID: "s1"}))
	_, err = s.WebhookSubscriptionGet(ctx, store.Ref{ProjectID: p1, ID: "s1"})
	wantCode(t, err, domain.CodeNotFound)
}

func record(t *testing.T, q store.Queries, project, event, typ, key string) int {
	t.Helper()
	return must(q.WebhookEventRecord(context.Background(), store.WebhookEventRecordParams{ProjectID: project, EventID: event, Type: typ,
		OrderKey: key, Payload: []byte(`{"id":"` + event + `"}`), Now: t0}))(t)
}

func testWebhookRecord(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	must(s.WebhookSubscriptionCreate(ctx, webhookSub("all", p1, "*")))(t)
	must(s.WebhookSubscriptionCreate(ctx, webhookSub("msg", p1, "message.received", "message.status")))(t)
	off := webhookSub("off", p1, "*")
	off.Active = false
	must(s.WebhookSubscriptionCreate(ctx, off))(t)
	must(s.WebhookSubscriptionCreate(ctx, webhookSub("other", p2, "*")))(t)

	// Matching: "*" and the listed type; never an inactive subscription or
	// another project's; "message" alone is not "message.received".
	if n := record(t, s, p1, "e1", "message.received", "c1"); n != 2 {
		t.Fatalf("message.received fanned out to %d subscriptions, want 2", n)
	}
	if n := record(t, s, p1, "e2", "session.started", "c1"); n != 1 {
		t.Fatalf("session.started fanned out to %d, want 1", n)
	}
	if n := record(t, s, p1, "e3", "message", "c1"); n != 1 {
		t.Fatalf("a prefix of a listed type matched: %d, want 1 (the * subscription)", n)
	}
	// A rolled-back transaction records nothing.
	boom := errors.New("rolled back")
	err := s.InTx(ctx, func(q store.Queries) error {
		record(t, q, p1, "e4", "message.received", "c1")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	l := must(s.WebhookDeliveryList(ctx, store.WebhookDeliveryListParams{ProjectID: p1}))(t)
	if len(l.Items) != 4 {
		t.Fatalf("deliveries = %+v, want 4", l.Items)
	}
	for _, d := range l.Items {
		if d.EventID == "e4" {
			t.Fatalf("a rolled-back event was recorded: %+v", d)
		}
		if d.State != store.DeliveryPending || d.Attempts != 0 || !d.NextAttemptAt.Equal(t0) || d.OrderKey != "c1" {
			t.Fatalf("new delivery = %+v", d)
		}
	}
	one := must(s.WebhookDeliveryList(ctx, store.WebhookDeliveryListParams{ProjectID: p1, SubscriptionID: "msg"}))(t)
	if len(one.Items) != 1 || one.Items[0].EventID != "e1" || string(one.Items[0].Payload) != `{"id":"e1"}` || one.Items[0].EventType != "message.received" {
		t.Fatalf("one subscription's deliveries = %+v", one.Items)
	}
	page := must(s.WebhookDeliveryList(ctx, store.WebhookDeliveryListParams{ProjectID: p1, Page: store.Page{Limit: 3}}))(t)
	if len(page.Items) != 3 || page.Next == "" {
		t.Fatalf("page = %d items, next %q", len(page.Items), page.Next)
	}
	rest := must(s.WebhookDeliveryList(ctx, store.WebhookDeliveryListParams{ProjectID: p1, Page: store.Page{Limit: 3, After: page.Next}}))(t)
	if len(rest.Items) != 1 || rest.Next != "" {
		t.Fatalf("second page = %+v", rest)
	}
	_, err = s.WebhookDeliveryGet(ctx, store.Ref{ProjectID: p2, ID: one.Items[0].ID})
	wantCode(t, err, domain.CodeNotFound)
}

func testWebhookClaimOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := twoProjects(t, s)
	must(s.WebhookSubscriptionCreate(ctx, webhookSub("s", p1, "*")))(t)
	record(t, s, p1, "e1", "message.received", "alice")
	record(t, s, p1, "e2", "message.received", "alice")
	record(t, s, p1, "e3", "message.received", "bob")
	record(t, s, p1, "e4", "campaign.progress", "")
	record(t, s, p1, "e5", "campaign.progress", "")

	lease := t0.Add(2 * time.Minute)
	got := must(s.WebhookDeliveriesClaim(ctx, store.WebhookDeliveriesClaimParams{Now: t0, LeaseUntil: lease, Limit: 10}))(t)
	ids := map[string]bool{}
	for _, d := range got {
		ids[d.EventID] = true
	}
	// Alice's second waits for her first; bob's and the unordered ones go.
	if len(got) != 4 || !ids["e1"] || ids["e2"] || !ids["e3"] || !ids["e4"] || !ids["e5"] {
		t.Fatalf("claimed %v, want e1 e3 e4 e5", ids)
	}
	// Claimed: not claimed again within the lease, even by another worker.
	if again := must(s.WebhookDeliveriesClaim(ctx, store.WebhookDeliveriesClaimParams{Now: t0.Add(time.Minute), LeaseUntil: lease, Limit: 10}))(t); len(again) != 0 {
		t.Fatalf("claimed again within the lease: %+v", again)
	}
	var e1 store.WebhookDelivery
	for _, d := range got {
		if d.EventID == "e1" {
			e1 = d
		}
	}
	// e1 failed and waits for its retry: e2 still waits behind it.
	e1.Attempts, e1.LastStatus, e1.LastError, e1.NextAttemptAt, e1.UpdatedAt = 1, 500, "answered 500", t0.Add(time.Hour), t0
	check(t, s.WebhookDeliveryUpdate(ctx, e1))
	// Past the lease the others are due again (as if their worker died);
	// alice's second still waits behind her first's retry.
	l := must(s.WebhookDeliveriesClaim(ctx, store.WebhookDeliveriesClaimParams{Now: t0.Add(30 * time.Minute), LeaseUntil: t0.Add(time.Hour), Limit: 10}))(t)
	if len(l) != 3 {
		t.Fatalf("after the lease: %+v, want e3 e4 e5", l)
	}
	for _, d := range l {
		if d.EventID == "e2" || d.EventID == "e1" {
			t.Fatalf("claimed %s while alice's first event waits for its retry", d.EventID)
		}
	}
	e1.State = store.DeliveryDelivered
	check(t, s.WebhookDeliveryUpdate(ctx, e1))
	l = must(s.WebhookDeliveriesClaim(ctx, store.WebhookDeliveriesClaimParams{Now: t0.Add(30 * time.Minute), LeaseUntil: t0.Add(time.Hour), Limit: 10}))(t)
	if len(l) != 1 || l[0].EventID != "e2" {
		t.Fatalf("after alice's first was delivered: %+v, want e2", l)
	}
	g := must(s.WebhookDeliveryGet(ctx, store.Ref{ProjectID: p1, ID: e1.ID}))(t)
	if g.State != store.DeliveryDelivered || g.Attempts != 1 || g.LastStatus != 500 || g.LastError != "answered 500" {
		t.Fatalf("updated = %+v", g)
	}
	e1.ProjectID = "nope"
	wantCode(t, s.WebhookDeliveryUpdate(ctx, e1), domain.CodeNotFound)
}

func testWebhookAttempts(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	must(s.WebhookSubscriptionCreate(ctx, webhookSub("s", p1, "*")))(t)
	record(t, s, p1, "e1", "message.received", "c")
	record(t, s, p1, "e2", "message.received", "d")
	id := "e1.s"
	check(t, s.WebhookAttemptCreate(ctx, store.WebhookAttempt{ID: "a2", DeliveryID: id, ProjectID: p1, URL: "https://x", Signature: "t=1,v1=ab",
		StatusCode: 200, ResponseExcerpt: "ok", DurationMS: 12, StartedAt: t0.Add(time.Minute), Manual: true}))
	check(t, s.WebhookAttemptCreate(ctx, store.WebhookAttempt{ID: "a1", DeliveryID: id, ProjectID: p1, URL: "https://x", Signature: "t=0,v1=cd",
		Error: "connection refused", StartedAt: t0}))
	l := must(s.WebhookAttemptList(ctx, store.Ref{ProjectID: p1, ID: id}))(t)
	if len(l) != 2 || l[0].ID != "a1" || l[1].ID != "a2" || !l[1].Manual || l[1].StatusCode != 200 || l[1].ResponseExcerpt != "ok" ||
		l[1].DurationMS != 12 || l[0].Error != "connection refused" || !l[0].StartedAt.Equal(t0) {
		t.Fatalf("attempts = %+v", l)
	}
	if l := must(s.WebhookAttemptList(ctx, store.Ref{ProjectID: p2, ID: id}))(t); len(l) != 0 {
		t.Fatalf("another project's attempts = %+v", l)
	}
	// Purge: finished deliveries older than the cut-off go, with their
	// attempts; pending ones stay whatever their age.
	d := must(s.WebhookDeliveryGet(ctx, store.Ref{ProjectID: p1, ID: id}))(t)
	d.State, d.UpdatedAt = store.DeliveryDelivered, t0
	check(t, s.WebhookDeliveryUpdate(ctx, d))
	if n := must(s.WebhookDeliveriesPurge(ctx, t0.Add(time.Hour)))(t); n != 1 {
		t.Fatalf("purged %d, want 1", n)
	}
	_, err := s.WebhookDeliveryGet(ctx, store.Ref{ProjectID: p1, ID: id})
	wantCode(t, err, domain.CodeNotFound)
	if l := must(s.WebhookAttemptList(ctx, store.Ref{ProjectID: p1, ID: id}))(t); len(l) != 0 {
		t.Fatalf("attempts outlived their delivery: %+v", l)
	}
	must(s.WebhookDeliveryGet(ctx, store.Ref{ProjectID: p1, ID: "e2.s"}))(t)
}
