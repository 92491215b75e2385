package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunQueue runs the suite of store.Queue: the inbox and outbox leases.
func RunQueue(t *testing.T, open Opener) {
	run(t, open, []test{
		{"InboxLeases", testInboxLeases},
		{"SendLeases", testSendLeases},
		{"RenewLeases", testRenewLeases},
	})
}

// testInboxLeases: the process that queues an event holds it until its due
// time; the poller sees only due events, claims them once, and failures
// push them back.
func testInboxLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	for _, k := range []string{"k1", "k2", "k3"} {
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: k, NewID: k, Now: t0})
		check(t, err)
	}
	held := t0.Add(2 * time.Minute)
	e1 := must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "k1", Kind: domain.EventMessage, CreatedAt: t0, DueAt: held}))(t)
	must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "k1", Kind: domain.EventMessage, CreatedAt: t0, DueAt: held}))(t)
	must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "k2", Kind: domain.EventMessage, CreatedAt: t0}))(t) // due at once
	if !e1.DueAt.Equal(held) || e1.Attempts != 0 {
		t.Fatalf("appended event due=%v attempts=%d", e1.DueAt, e1.Attempts)
	}
	due := must(s.ContactEventsDue(ctx, store.DueParams{Now: t0.Add(time.Second), Limit: 10}))(t)
	if len(due) != 1 || due[0].ID != "k2" || due[0].ProjectID != p1 {
		t.Fatalf("due at t0+1s = %+v, want only k2 (k1 is held)", due)
	}
	// After the lease k1 is due too (once, though it has two events), the
	// longest due first.
	later := held.Add(time.Second)
	due = must(s.ContactEventsDue(ctx, store.DueParams{Now: later, Limit: 10}))(t)
	if len(due) != 2 || due[0].ID != "k2" || due[1].ID != "k1" {
		t.Fatalf("due after the lease = %+v, want k2 then k1", due)
	}
	if got := must(s.ContactEventsDue(ctx, store.DueParams{Now: later, Limit: 1}))(t); len(got) != 1 {
		t.Fatalf("limit 1 gave %d", len(got))
	}
	// Two pollers claim k1: only the first gets it.
	if !must(s.ContactEventsClaim(ctx, store.ClaimParams{ID: "k1", Now: later, Until: later.Add(time.Minute)}))(t) {
		t.Fatal("first claim refused")
	}
	if must(s.ContactEventsClaim(ctx, store.ClaimParams{ID: "k1", Now: later, Until: later.Add(time.Minute)}))(t) {
		t.Fatal("second claim of a held contact granted")
	}
	if must(s.ContactEventsClaim(ctx, store.ClaimParams{ID: "k3", Now: later, Until: later.Add(time.Minute)}))(t) {
		t.Fatal("claim of a contact without events granted")
	}
	// A failure counts and pushes the event back.
	retryAt := later.Add(16 * time.Second)
	if n := must(s.ContactEventRetry(ctx, store.ContactEventRetryParams{Seq: e1.Seq, DueAt: retryAt}))(t); n != 1 {
		t.Fatalf("attempts after one failure = %d", n)
	}
	if n := must(s.ContactEventRetry(ctx, store.ContactEventRetryParams{Seq: e1.Seq, DueAt: retryAt}))(t); n != 2 {
		t.Fatalf("attempts after two failures = %d", n)
	}
	got := must(s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p1, Seq: e1.Seq}))(t)
	if got.Attempts != 2 || !got.DueAt.Equal(retryAt) {
		t.Fatalf("retried event attempts=%d due=%v, want 2 and %v", got.Attempts, got.DueAt, retryAt)
	}
	check(t, s.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: e1.Seq, Result: "ok", Now: later}))
	_, err := s.ContactEventRetry(ctx, store.ContactEventRetryParams{Seq: e1.Seq, DueAt: retryAt})
	wantCode(t, err, domain.CodeConflict)
	// Releasing (SQLite after a restart) makes everything due now.
	if n := must(s.ContactEventsRelease(ctx, later))(t); n != 1 {
		t.Fatalf("released %d events, want 1 (k1's second; k2's was due already)", n)
	}
	if due := must(s.ContactEventsDue(ctx, store.DueParams{Now: later, Limit: 10}))(t); len(due) != 2 {
		t.Fatalf("due after release = %+v", due)
	}
}

// testSendLeases: queued outbound messages are the send queue, with the
// same hold, claim and retry rules.
func testSendLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "1", NewID: "k1", Now: t0})
	check(t, err)
	held := t0.Add(2 * time.Minute)
	msg := func(id, status, priority, direction string, due *time.Time) {
		t.Helper()
		must(s.MessageCreate(ctx, domain.Message{ID: id, ProjectID: p1, ContactID: "k1", ChannelID: "ch", Direction: direction, Type: "text",
			Status: status, Priority: priority, CreatedAt: t0, DueAt: due}))(t)
	}
	msg("held", domain.MessageQueued, "reply", domain.DirectionOut, &held)
	msg("bulk", domain.MessageQueued, "bulk", domain.DirectionOut, nil) // due at once
	msg("failed", domain.MessageFailed, "reply", domain.DirectionOut, nil)
	msg("inbound", domain.MessageReceived, "reply", domain.DirectionIn, nil)
	due := must(s.MessagesDue(ctx, store.DueParams{Now: t0.Add(time.Second), Limit: 10}))(t)
	if len(due) != 1 || due[0].ID != "bulk" || due[0].Reply {
		t.Fatalf("due at t0+1s = %+v, want only the bulk message", due)
	}
	later := held.Add(time.Second)
	due = must(s.MessagesDue(ctx, store.DueParams{Now: later, Limit: 10}))(t)
	if len(due) != 2 || due[1].ID != "held" || !due[1].Reply {
		t.Fatalf("due after the lease = %+v", due)
	}
	if !must(s.MessageClaim(ctx, store.ClaimParams{ID: "held", Now: later, Until: later.Add(time.Minute)}))(t) {
		t.Fatal("first claim refused")
	}
	if must(s.MessageClaim(ctx, store.ClaimParams{ID: "held", Now: later, Until: later.Add(time.Minute)}))(t) {
		t.Fatal("second claim granted")
	}
	if must(s.MessageClaim(ctx, store.ClaimParams{ID: "failed", Now: later, Until: later.Add(time.Minute)}))(t) {
		t.Fatal("claim of a message that is not queued granted")
	}
	retryAt := later.Add(4 * time.Second)
	if n := must(s.MessageRetry(ctx, store.MessageRetryParams{ID: "held", DueAt: retryAt, Failed: false}))(t); n != 0 {
		t.Fatalf("a paced retry counted an attempt: %d", n)
	}
	if n := must(s.MessageRetry(ctx, store.MessageRetryParams{ID: "held", DueAt: retryAt, Failed: true}))(t); n != 1 {
		t.Fatalf("attempts after a failure = %d", n)
	}
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "held"}))(t); got.Attempts != 1 || got.DueAt == nil || !got.DueAt.Equal(retryAt) {
		t.Fatalf("retried message attempts=%d due=%v", got.Attempts, got.DueAt)
	}
	must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "held", Status: domain.MessageSent, Now: later}))(t)
	// Out of the queue, out of the outbox index: the send lease goes with
	// the status that takes it out, and no later status sets it again.
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "held"}))(t); got.DueAt != nil {
		t.Fatalf("a sent message keeps its send lease %v", got.DueAt)
	}
	must(s.MessageStatusMove(ctx, store.MessageStatusParams{ID: "held", ProjectID: p1, Status: domain.MessageDelivered, Now: later}))(t)
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "held"}))(t); got.DueAt != nil || got.Status != domain.MessageDelivered {
		t.Fatalf("after delivered: status %s, send lease %v", got.Status, got.DueAt)
	}
	if n := must(s.MessagesSettle(ctx))(t); n != 0 {
		t.Fatalf("settled %d messages, want 0: this version leaves no lease on what left the queue", n)
	}
	_, err = s.MessageRetry(ctx, store.MessageRetryParams{ID: "held", DueAt: retryAt, Failed: true})
	wantCode(t, err, domain.CodeConflict)
	if due := must(s.MessagesDue(ctx, store.DueParams{Now: retryAt.Add(time.Hour), Limit: 10}))(t); len(due) != 1 || due[0].ID != "bulk" {
		t.Fatalf("a sent message is still due: %+v", due)
	}
	if n := must(s.MessagesRelease(ctx, later))(t); n != 0 {
		t.Fatalf("released %d messages, want 0 (bulk is due already, held was sent)", n)
	}
}

// testRenewLeases: a live process extends the leases it holds; a lease
// that ran out (another process may have it), a retry set beyond the new
// end, handled events and sent messages are left as they are.
func testRenewLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	for _, k := range []string{"r1", "r2", "r3"} {
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: k, NewID: k, Now: t0})
		check(t, err)
	}
	now := t0.Add(time.Minute)
	until := now.Add(10 * time.Second)
	live, expired, later := now.Add(3*time.Second), now.Add(-time.Second), now.Add(time.Hour)
	ev := func(contact string, due time.Time) domain.ContactEvent {
		t.Helper()
		return must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: contact, Kind: domain.EventMessage, CreatedAt: t0, DueAt: due}))(t)
	}
	a, b, c, d := ev("r1", live), ev("r1", later), ev("r2", expired), ev("r3", live)
	e := ev("r1", live)
	check(t, s.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: e.Seq, Result: "ok", Now: now}))
	if n := must(s.ContactEventsRenew(ctx, store.RenewParams{IDs: []string{"r1", "r2"}, Now: now, Until: until}))(t); n != 1 {
		t.Fatalf("renewed %d events, want 1 (r1's live lease only)", n)
	}
	for _, w := range []struct {
		ev   domain.ContactEvent
		want time.Time
	}{{a, until}, {b, later}, {c, expired}, {d, live}} {
		if got := must(s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p1, Seq: w.ev.Seq}))(t); !got.DueAt.Equal(w.want) {
			t.Errorf("event %d of %s due %v after renewal, want %v", w.ev.Seq, w.ev.ContactID, got.DueAt, w.want)
		}
	}
	if n := must(s.ContactEventsRenew(ctx, store.RenewParams{Now: now, Until: until}))(t); n != 0 {
		t.Fatalf("renewing no contacts renewed %d", n)
	}
	// A lease that already runs to Fresh is left as it is (the heartbeat
	// spares the rows just claimed); an older one is renewed.
	fresh := ev("r3", now.Add(9*time.Second))
	if n := must(s.ContactEventsRenew(ctx, store.RenewParams{IDs: []string{"r3"}, Now: now, Until: until, Fresh: now.Add(8 * time.Second)}))(t); n != 1 {
		t.Fatalf("renewed %d of r3's events with Fresh, want 1 (the older lease only)", n)
	}
	for _, w := range []struct {
		ev   domain.ContactEvent
		want time.Time
	}{{d, until}, {fresh, now.Add(9 * time.Second)}} {
		if got := must(s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p1, Seq: w.ev.Seq}))(t); !got.DueAt.Equal(w.want) {
			t.Errorf("event %d of r3 due %v after renewal with Fresh, want %v", w.ev.Seq, got.DueAt, w.want)
		}
	}

	msg := func(id, status string, due time.Time) {
		t.Helper()
		must(s.MessageCreate(ctx, domain.Message{ID: id, ProjectID: p1, ContactID: "r1", ChannelID: "ch", Direction: domain.DirectionOut, Type: "text",
			Status: status, Priority: "reply", CreatedAt: t0, DueAt: &due}))(t)
	}
	msg("m-live", domain.MessageQueued, live)
	msg("m-expired", domain.MessageQueued, expired)
	msg("m-later", domain.MessageQueued, later)
	msg("m-sent", domain.MessageSent, live)
	msg("m-other", domain.MessageQueued, live)
	// More IDs than one statement binds.
	ids := []string{"m-live", "m-expired", "m-later", "m-sent"}
	for i := range 1200 {
		ids = append(ids, fmt.Sprintf("absent-%d", i))
	}
	msg("m-fresh", domain.MessageQueued, now.Add(9*time.Second))
	ids = append(ids, "m-fresh")
	if n := must(s.MessagesRenew(ctx, store.RenewParams{IDs: ids, Now: now, Until: until, Fresh: now.Add(8 * time.Second)}))(t); n != 1 {
		t.Fatalf("renewed %d messages, want 1 (m-live; m-fresh's lease runs past Fresh)", n)
	}
	for id, want := range map[string]time.Time{"m-live": until, "m-expired": expired, "m-later": later, "m-other": live, "m-fresh": now.Add(9 * time.Second)} {
		got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: id}))(t)
		if got.DueAt == nil || !got.DueAt.Equal(want) {
			t.Errorf("message %s due %v after renewal, want %v", id, got.DueAt, want)
		}
	}
}
