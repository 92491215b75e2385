package storetest

import (
	"context"
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
	_, err = s.MessageRetry(ctx, store.MessageRetryParams{ID: "held", DueAt: retryAt, Failed: true})
	wantCode(t, err, domain.CodeConflict)
	if due := must(s.MessagesDue(ctx, store.DueParams{Now: retryAt.Add(time.Hour), Limit: 10}))(t); len(due) != 1 || due[0].ID != "bulk" {
		t.Fatalf("a sent message is still due: %+v", due)
	}
	if n := must(s.MessagesRelease(ctx, later))(t); n != 0 {
		t.Fatalf("released %d messages, want 0 (bulk is due already, held was sent)", n)
	}
}
