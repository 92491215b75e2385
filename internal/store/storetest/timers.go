package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// testSessionTimers: due timeouts are listed earliest first, in batches
// that go on from a cursor, ties in session ID order across a batch's
// end; listing changes nothing; a session that waits again is due again;
// simulated, ended and not-yet-due sessions are never listed; one
// session's timeout is taken by ID (cleared) only at its wait.
func testSessionTimers(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	must(s.FlowCreate(ctx, newFlow("f1", p1, "Timers")))(t) // the sessions' flow, read with them
	mk := func(i int, status string, timeout *time.Time, simulated bool) domain.FlowSession {
		t.Helper()
		k := fmt.Sprintf("tk%d", i)
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: k, NewID: k, Now: t0})
		check(t, err)
		sess := domain.FlowSession{ID: fmt.Sprintf("ts%d", i), ProjectID: p1, ContactID: k, FlowID: "f1", Revision: 1, Status: status,
			WaitSeq: 3, WaitingFor: "reply", TimeoutAt: timeout, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, Simulated: simulated, CreatedAt: t0, UpdatedAt: t0}
		check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: sess}))
		return sess
	}
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	// Six due (created out of order; ts5 and ts2 at the same instant), one
	// later, one simulated, one ended, one without a timeout.
	for i, d := range []time.Duration{5000, 1000, 2500, 4000, 2000, 2500} {
		mk(i, domain.SessionWaiting, at(d*time.Millisecond+123456*time.Nanosecond), false)
	}
	later := mk(6, domain.SessionWaiting, at(time.Hour), false)
	mk(7, domain.SessionWaiting, at(time.Second), true)
	mk(8, domain.SessionCompleted, at(time.Second), false)
	mk(9, domain.SessionWaiting, nil, false)

	due := func(now time.Time, after store.TimerCursor, limit int) []store.SessionTimer {
		t.Helper()
		var out []store.SessionTimer
		check(t, s.InTx(ctx, func(q store.Queries) error {
			var err error
			out, err = q.SessionTimersDue(ctx, store.SessionTimersDueParams{Now: now, After: after, Limit: limit})
			return err
		}))
		return out
	}
	ids := func(ts []store.SessionTimer) string {
		var out []string
		for _, tm := range ts {
			out = append(out, tm.SessionID)
		}
		return fmt.Sprint(out)
	}
	now := t0.Add(time.Minute)
	var cur store.TimerCursor
	var order []store.SessionTimer
	for range 4 { // batches of 2 across the tie, then an empty one
		got := due(now, cur, 2)
		order = append(order, got...)
		if len(got) > 0 {
			last := got[len(got)-1]
			cur = store.TimerCursor{At: last.At, SessionID: last.SessionID}
		}
	}
	if ids(order) != "[ts1 ts4 ts2 ts5 ts3 ts0]" {
		t.Fatalf("listed in order %v, want earliest first, ties by ID: [ts1 ts4 ts2 ts5 ts3 ts0]", ids(order))
	}
	for _, tm := range order {
		if tm.ProjectID != p1 || tm.Seq != 3 || tm.At.After(now) || tm.ContactID == "" {
			t.Errorf("listed %+v", tm)
		}
	}
	if got := due(now, store.TimerCursor{}, 10); len(got) != 6 {
		t.Fatalf("listing changed something: from the start again %v, want all six", ids(got))
	}
	// Read with their sessions: the same timeouts, each with its session as
	// SessionWithFlow reads it.
	var withSessions []store.SessionTimer
	check(t, s.InTx(ctx, func(q store.Queries) error {
		var err error
		withSessions, err = q.SessionTimersDue(ctx, store.SessionTimersDueParams{Now: now, Limit: 10, Sessions: true})
		return err
	}))
	if ids(withSessions) != ids(order) {
		t.Fatalf("listed with their sessions %v, want %v", ids(withSessions), ids(order))
	}
	for i, tm := range withSessions {
		plain := order[i]
		plain.Session = tm.Session
		if tm != plain || tm.Session == nil {
			t.Fatalf("listed with its session %+v, want %+v", tm, plain)
		}
		want := must(s.SessionWithFlow(ctx, store.Ref{ProjectID: p1, ID: tm.SessionID}))(t)
		if !reflect.DeepEqual(*tm.Session, want) {
			t.Fatalf("session listed with its timeout\n%+v\nwant as SessionWithFlow reads it\n%+v", *tm.Session, want)
		}
	}
	if withSessions[0].Session.Flow.ID != "f1" {
		t.Fatalf("listed without its flow's head: %+v", withSessions[0].Session.Flow)
	}
	if got := due(t0.Add(2500*time.Millisecond), store.TimerCursor{}, 10); ids(got) != "[ts1 ts4]" {
		t.Fatalf("due at 2.5 s = %v, want [ts1 ts4] (not yet due are not listed)", ids(got))
	}
	got := must(s.SessionGet(ctx, store.Ref{ProjectID: p1, ID: "ts1"}))(t)
	if got.TimeoutAt == nil || got.Version != 1 {
		t.Fatalf("a listed session is untouched: %+v", got)
	}
	// Waiting again (its sprint's update) makes it due again, later.
	got.WaitSeq, got.TimeoutAt, got.Version = 4, at(2*time.Minute), 2
	check(t, s.SessionUpdate(ctx, got))
	if got := due(t0.Add(3*time.Minute), cur, 10); ids(got) != "[ts1]" || got[0].Seq != 4 {
		t.Fatalf("due again after the cursor = %+v", got)
	}
	// One session's timeout, by ID, at its wait only, due or not.
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
	if one := take(store.SessionTimersTakeParams{SessionID: later.ID, Seq: 2}); len(one) != 0 {
		t.Fatalf("another wait's timeout taken: %+v", one)
	}
	// A transaction that fails after taking leaves it there.
	boom := fmt.Errorf("boom")
	if err := s.InTx(ctx, func(q store.Queries) error {
		got, err := q.SessionTimersTake(ctx, store.SessionTimersTakeParams{SessionID: later.ID, Seq: 3})
		if err == nil && len(got) != 1 {
			t.Errorf("took %d in the failed transaction, want 1", len(got))
		}
		return boom
	}); err != boom {
		t.Fatalf("rolled back take: %v", err)
	}
	if one := take(store.SessionTimersTakeParams{SessionID: later.ID, Seq: 3}); len(one) != 1 || one[0].SessionID != later.ID {
		t.Fatalf("by ID = %+v", one)
	}
	if again := take(store.SessionTimersTakeParams{SessionID: later.ID, Seq: 3}); len(again) != 0 {
		t.Fatalf("taken twice: %+v", again)
	}
	if rest := due(t0.Add(48*time.Hour), cur, 10); ids(rest) != "[ts1]" {
		t.Fatalf("after the cursor at 48 h = %v, want [ts1] alone: the taken one, simulated, ended or timeout-less sessions are never due", ids(rest))
	}
	if err := s.InTx(ctx, func(q store.Queries) error {
		_, err := q.SessionTimersTake(ctx, store.SessionTimersTakeParams{})
		return err
	}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("take without an ID = %v, want invalid", err)
	}
}

// testEventsAppendNew: of a batch of events, those whose dedupe key is
// new are queued, in the order given; the others are skipped without
// failing the transaction; an event without a key, or a key given twice,
// is invalid.
func testEventsAppendNew(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	for _, k := range []string{"an1", "an2"} {
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: k, NewID: k, Now: t0})
		check(t, err)
	}
	ev := func(contact, key string) domain.ContactEvent {
		return domain.ContactEvent{ProjectID: p1, ContactID: contact, Kind: domain.EventTimer, DedupeKey: key, CreatedAt: t0, DueAt: t0.Add(time.Second),
			Payload: []byte(`{"session_id": "` + key + `"}`)} // PostgreSQL's jsonb form
	}
	check(t, s.InTx(ctx, func(q store.Queries) error {
		_, err := q.ContactEventAppend(ctx, ev("an1", "an:old"))
		return err
	}))
	var queued []domain.ContactEvent
	check(t, s.InTx(ctx, func(q store.Queries) error {
		var err error
		queued, err = q.ContactEventsAppendNew(ctx, []domain.ContactEvent{ev("an2", "an:c"), ev("an1", "an:old"), ev("an1", "an:a"), ev("an2", "an:b")})
		if err != nil {
			return err
		}
		// The transaction goes on after the skipped one (PostgreSQL too).
		_, err = q.ContactEventAppend(ctx, ev("an1", "an:after"))
		return err
	}))
	var keys []string
	for _, e := range queued {
		keys = append(keys, e.DedupeKey)
		stored := must(s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p1, Seq: e.Seq}))(t)
		if stored.DedupeKey != e.DedupeKey || stored.ContactID != e.ContactID || !stored.DueAt.Equal(t0.Add(time.Second)) || string(stored.Payload) != string(e.Payload) {
			t.Errorf("returned %+v, stored %+v", e, stored)
		}
	}
	if fmt.Sprint(keys) != "[an:c an:a an:b]" {
		t.Fatalf("queued %v, want the new ones in the order given [an:c an:a an:b]", keys)
	}
	var again []domain.ContactEvent
	check(t, s.InTx(ctx, func(q store.Queries) error {
		var err error
		again, err = q.ContactEventsAppendNew(ctx, []domain.ContactEvent{ev("an2", "an:c"), ev("an1", "an:a")})
		return err
	}))
	if len(again) != 0 {
		t.Fatalf("queued twice: %+v", again)
	}
	for _, bad := range [][]domain.ContactEvent{{ev("an1", "")}, {ev("an1", "an:x"), ev("an2", "an:x")}} {
		err := s.InTx(ctx, func(q store.Queries) error { _, err := q.ContactEventsAppendNew(ctx, bad); return err })
		if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("AppendNew(%d events with a missing or repeated key) = %v, want invalid", len(bad), err)
		}
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
		check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: sess}))
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
