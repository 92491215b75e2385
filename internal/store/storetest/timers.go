package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// testSessionTimers: due timeouts are taken earliest first, in batches,
// once each; a session that waits again is due again; simulated, ended
// and not-yet-due sessions are never taken; a taken timeout whose
// transaction rolls back stays due.
func testSessionTimers(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	mk := func(i int, status string, timeout *time.Time, simulated bool) domain.FlowSession {
		t.Helper()
		k := fmt.Sprintf("tk%d", i)
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: k, NewID: k, Now: t0})
		check(t, err)
		sess := domain.FlowSession{ID: fmt.Sprintf("ts%d", i), ProjectID: p1, ContactID: k, FlowID: "f1", Revision: 1, Status: status,
			WaitSeq: 3, WaitingFor: "reply", TimeoutAt: timeout, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, Simulated: simulated, CreatedAt: t0, UpdatedAt: t0}
		check(t, s.SessionCreate(ctx, sess))
		return sess
	}
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	// Five due (created out of order), one later, one simulated, one ended, one without a timeout.
	for i, d := range []time.Duration{5, 1, 4, 2, 3} {
		mk(i, domain.SessionWaiting, at(d*time.Second), false)
	}
	later := mk(5, domain.SessionWaiting, at(time.Hour), false)
	mk(6, domain.SessionWaiting, at(time.Second), true)
	mk(7, domain.SessionCompleted, at(time.Second), false)
	mk(8, domain.SessionWaiting, nil, false)

	take := func(p store.SessionTimersTakeParams) []store.SessionTimer {
		t.Helper()
		var out []store.SessionTimer
		check(t, s.InTx(ctx, func(q store.Queries) error {
			var err error
			out, err = q.SessionTimersTake(ctx, p)
			return err
		}))
		return out
	}
	now := t0.Add(time.Minute)
	// A transaction that fails after taking leaves them due.
	boom := fmt.Errorf("boom")
	if err := s.InTx(ctx, func(q store.Queries) error {
		got, err := q.SessionTimersTake(ctx, store.SessionTimersTakeParams{Now: now, Limit: 10})
		if err == nil && len(got) != 5 {
			t.Errorf("took %d in the failed transaction, want 5", len(got))
		}
		return boom
	}); err != boom {
		t.Fatalf("rolled back take: %v", err)
	}
	first := take(store.SessionTimersTakeParams{Now: now, Limit: 3})
	second := take(store.SessionTimersTakeParams{Now: now, Limit: 3})
	var order []string
	for _, tm := range append(first, second...) {
		order = append(order, tm.SessionID)
		if tm.ProjectID != p1 || tm.Seq != 3 || tm.At.After(now) {
			t.Errorf("taken %+v", tm)
		}
	}
	if fmt.Sprint(order) != "[ts1 ts3 ts4 ts2 ts0]" {
		t.Fatalf("taken in order %v, want earliest first [ts1 ts3 ts4 ts2 ts0]", order)
	}
	if again := take(store.SessionTimersTakeParams{Now: now, Limit: 10}); len(again) != 0 {
		t.Fatalf("taken twice: %+v", again)
	}
	got := must(s.SessionGet(ctx, store.Ref{ProjectID: p1, ID: "ts1"}))(t)
	if got.TimeoutAt != nil || got.Status != domain.SessionWaiting || got.Version != 1 {
		t.Fatalf("a taken session keeps waiting with no timeout, untouched otherwise: %+v", got)
	}
	// Waiting again (its sprint's update) makes it due again.
	got.WaitSeq, got.TimeoutAt, got.Version = 4, at(2*time.Minute), 2
	check(t, s.SessionUpdate(ctx, got))
	if due := take(store.SessionTimersTakeParams{Now: now, Limit: 10}); len(due) != 0 {
		t.Fatalf("not due yet: %+v", due)
	}
	if due := take(store.SessionTimersTakeParams{Now: t0.Add(3 * time.Minute), Limit: 10}); len(due) != 1 || due[0].SessionID != "ts1" || due[0].Seq != 4 {
		t.Fatalf("due again = %+v", due)
	}
	// One session's timeout, by ID, at its wait only, due or not.
	if one := take(store.SessionTimersTakeParams{SessionID: later.ID, Seq: 2}); len(one) != 0 {
		t.Fatalf("another wait's timeout taken: %+v", one)
	}
	if one := take(store.SessionTimersTakeParams{SessionID: later.ID, Seq: 3}); len(one) != 1 || one[0].SessionID != later.ID {
		t.Fatalf("by ID = %+v", one)
	}
	if rest := take(store.SessionTimersTakeParams{Now: t0.Add(48 * time.Hour), Limit: 10}); len(rest) != 0 {
		t.Fatalf("simulated, ended or timeout-less sessions taken: %+v", rest)
	}
}

// testSessionExpiries: expired live sessions are taken earliest first,
// once each (marked expire_queued); simulated, ended and unexpired ones
// never; by ID whenever it expires; a rolled-back take stays due.
func testSessionExpiries(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	mk := func(i int, status string, expires time.Duration, simulated bool) domain.FlowSession {
		t.Helper()
		k := fmt.Sprintf("ek%d", i)
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: k, NewID: k, Now: t0})
		check(t, err)
		sess := domain.FlowSession{ID: fmt.Sprintf("es%d", i), ProjectID: p1, ContactID: k, FlowID: "f1", Revision: 1, Status: status,
			WaitSeq: 1, WaitingFor: "reply", ExpiresAt: t0.Add(expires), Version: 1, Simulated: simulated, CreatedAt: t0, UpdatedAt: t0}
		check(t, s.SessionCreate(ctx, sess))
		return sess
	}
	for i, d := range []time.Duration{3, 1, 2} {
		mk(i, domain.SessionWaiting, d*time.Second, false)
	}
	later := mk(3, domain.SessionWaiting, time.Hour, false)
	mk(4, domain.SessionWaiting, time.Second, true)
	mk(5, domain.SessionCompleted, time.Second, false)
	take := func(p store.SessionTimersTakeParams) []string {
		t.Helper()
		var ids []string
		check(t, s.InTx(ctx, func(q store.Queries) error {
			out, err := q.SessionExpiriesTake(ctx, p)
			for _, e := range out {
				if e.ProjectID != p1 || e.ContactID == "" || e.At.IsZero() {
					t.Errorf("taken %+v", e)
				}
				ids = append(ids, e.SessionID)
			}
			return err
		}))
		return ids
	}
	now := t0.Add(time.Minute)
	boom := fmt.Errorf("boom")
	if err := s.InTx(ctx, func(q store.Queries) error {
		_, err := q.SessionExpiriesTake(ctx, store.SessionTimersTakeParams{Now: now, Limit: 10})
		if err != nil {
			return err
		}
		return boom
	}); err != boom {
		t.Fatalf("rolled back take: %v", err)
	}
	if got := take(store.SessionTimersTakeParams{Now: now, Limit: 2}); fmt.Sprint(got) != "[es1 es2]" {
		t.Fatalf("first batch %v, want [es1 es2]", got)
	}
	if got := take(store.SessionTimersTakeParams{Now: now, Limit: 10}); fmt.Sprint(got) != "[es0]" {
		t.Fatalf("second batch %v, want [es0]", got)
	}
	if got := take(store.SessionTimersTakeParams{Now: now, Limit: 10}); len(got) != 0 {
		t.Fatalf("taken twice: %v", got)
	}
	if got := take(store.SessionTimersTakeParams{SessionID: later.ID}); fmt.Sprint(got) != "[es3]" {
		t.Fatalf("by ID = %v", got)
	}
	if got := take(store.SessionTimersTakeParams{Now: t0.Add(48 * time.Hour), Limit: 10}); len(got) != 0 {
		t.Fatalf("simulated, ended or queued sessions taken: %v", got)
	}
}

// testContactEventsPurge: handled events older than Before go; unhandled
// ones are passed over whatever their age; the walk stops at the first
// event handled or queued since Before, and goes on from Next.
func testContactEventsPurge(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "pk", NewID: "pk", Now: t0})
	check(t, err)
	var seqs []int64
	for i := range 6 {
		e := must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "pk", Kind: domain.EventMessage,
			DedupeKey: fmt.Sprint("purge:", i), CreatedAt: t0.Add(time.Duration(i) * time.Minute), DueAt: t0}))(t)
		seqs = append(seqs, e.Seq)
	}
	// Handled: 0 and 2 long ago, 4 just now; 1, 3 and 5 never.
	for i, at := range map[int]time.Duration{0: time.Minute, 2: 3 * time.Minute, 4: 10 * time.Minute} {
		check(t, s.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: seqs[i], Result: "ok", Now: t0.Add(at)}))
	}
	before := t0.Add(5 * time.Minute)
	purge := func(after int64, limit int) store.ContactEventsPurged {
		t.Helper()
		var out store.ContactEventsPurged
		check(t, s.InTx(ctx, func(q store.Queries) error {
			var err error
			out, err = q.ContactEventsPurge(ctx, store.ContactEventsPurgeParams{After: after, Limit: limit, Before: before})
			return err
		}))
		return out
	}
	got := purge(0, 2) // events 0 (deleted) and 1 (unhandled, old: passed over)
	if got.Deleted != 1 || got.Next != seqs[1] || !got.More {
		t.Fatalf("first chunk = %+v, want 1 deleted, next %d, more", got, seqs[1])
	}
	got = purge(got.Next, 10) // 2 deleted, 3 passed over, stops at 4 (handled since)
	if got.Deleted != 1 || got.Next != seqs[3] || got.More {
		t.Fatalf("second chunk = %+v, want 1 deleted, next %d, no more", got, seqs[3])
	}
	left := must(s.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: "pk", Limit: 10}))(t)
	if len(left) != 3 {
		t.Fatalf("unhandled events left: %d, want 3", len(left))
	}
	for i, want := range []bool{false, true, false, true, true, true} {
		_, err := s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p1, Seq: seqs[i]})
		if (err == nil) != want {
			t.Errorf("event %d kept = %v, want %v", i, err == nil, want)
		}
	}
	if got := purge(seqs[5], 10); got.Deleted != 0 || got.Next != seqs[5] || got.More {
		t.Fatalf("past the end = %+v", got)
	}
}
