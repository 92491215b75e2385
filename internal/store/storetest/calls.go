package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// RunCalls runs the suite of store.Calls.
func RunCalls(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Calls", testCalls},
		{"ClaimSkipsChannels", testCallClaimSkip},
		{"ClaimAddressed", testCallClaimAddressed},
		{"StaleAddressed", testCallStaleAddressed},
		{"Answer", testCallAnswer},
		{"Recordings", testCallRecordings},
	})
}

func aCall(id, project string, at time.Time) store.Call {
	return store.Call{ID: id, ProjectID: project, ChannelID: "voice-1", ContactID: "c1", SessionID: "s1", Token: "s1.1", Direction: "outbound",
		From: "+14155550199", To: "+14155550111", Request: json.RawMessage(`{"prompt":"hi"}`), Status: store.CallQueued, CreatedAt: at, UpdatedAt: at}
}

func testCalls(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	check(t, s.CallCreate(ctx, aCall("k1", p1, t0)))
	check(t, s.CallCreate(ctx, aCall("k2", p1, t0.Add(time.Second))))
	check(t, s.CallCreate(ctx, aCall("k3", p2, t0.Add(2*time.Second))))

	g := must(s.CallGet(ctx, store.Ref{ProjectID: p1, ID: "k1"}))(t)
	jsonEqual(t, g.Request, json.RawMessage(`{"prompt":"hi"}`))
	if g.Status != store.CallQueued || g.LeaseUntil != nil || g.EndedAt != nil || g.Result != nil || g.Token != "s1.1" || !g.CreatedAt.Equal(t0) {
		t.Fatalf("got %+v", g)
	}
	_, err := s.CallGet(ctx, store.Ref{ProjectID: p2, ID: "k1"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another project's call: %v, want ErrNotFound", err)
	}

	// Two owners claim: each call goes to exactly one.
	lease := t0.Add(time.Minute)
	a := must(s.CallClaim(ctx, store.CallClaimParams{Owner: "A", Now: t0, LeaseUntil: lease, Limit: 2}))(t)
	b := must(s.CallClaim(ctx, store.CallClaimParams{Owner: "B", Now: t0, LeaseUntil: lease, Limit: 10}))(t)
	if len(a) != 2 || a[0].ID != "k1" || a[1].ID != "k2" || a[0].Status != store.CallDialing || a[0].Owner != "A" || !a[0].LeaseUntil.Equal(lease) {
		t.Fatalf("A claimed %+v", a)
	}
	if len(b) != 1 || b[0].ID != "k3" {
		t.Fatalf("B claimed %+v, want only k3", b)
	}
	if again := must(s.CallClaim(ctx, store.CallClaimParams{Owner: "C", Now: t0, LeaseUntil: lease}))(t); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}

	// Only the owner writes a call's progress.
	c := a[0]
	c.Status, c.ProviderID, c.UpdatedAt = "in_progress", "SIM1", t0.Add(time.Second)
	c.Owner = "B"
	if err := s.CallUpdate(ctx, c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update by another owner: %v, want ErrNotFound", err)
	}
	c.Owner = "A"
	check(t, s.CallUpdate(ctx, c))

	// A renewal keeps A's calls alive; B's lease runs out.
	later := t0.Add(5 * time.Minute)
	if n := must(s.CallRenew(ctx, store.CallRenewParams{Owner: "A", LeaseUntil: later.Add(time.Minute)}))(t); n != 2 {
		t.Fatalf("renewed %d calls, want A's two", n)
	}
	stale := must(s.CallListStale(ctx, store.CallStaleParams{Now: later}))(t)
	if len(stale) != 1 || stale[0].ID != "k3" || stale[0].Owner != "B" {
		t.Fatalf("stale = %+v, want k3 (B's)", stale)
	}

	// The end is written once.
	end := t0.Add(2 * time.Minute)
	c.Status, c.Result, c.EndedAt, c.LeaseUntil = "completed", json.RawMessage(`{"status":"completed","exit":"completed"}`), &end, nil
	check(t, s.CallUpdate(ctx, c))
	if err := s.CallUpdate(ctx, c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second end: %v, want ErrNotFound", err)
	}
	g = must(s.CallGet(ctx, store.Ref{ProjectID: p1, ID: "k1"}))(t)
	jsonEqual(t, g.Result, json.RawMessage(`{"status":"completed","exit":"completed"}`))
	if g.Status != "completed" || g.EndedAt == nil || !g.EndedAt.Equal(end) || g.ProviderID != "SIM1" {
		t.Fatalf("ended = %+v", g)
	}
	if n := must(s.CallRenew(ctx, store.CallRenewParams{Owner: "A", LeaseUntil: later}))(t); n != 1 {
		t.Fatalf("renewed %d, want only the live one", n)
	}

	l := must(s.CallList(ctx, store.CallListParams{ProjectID: p1}))(t)
	if len(l) != 2 || l[0].ID != "k2" {
		t.Fatalf("list = %+v, want newest first", l)
	}
	if l := must(s.CallList(ctx, store.CallListParams{ProjectID: p1, SessionID: "nope"}))(t); len(l) != 0 {
		t.Fatalf("filtered list = %+v", l)
	}
}

// testCallClaimSkip: a claim leaves the queued calls of skipped voice
// numbers alone (their pacing allows no call now) and takes the others.
func testCallClaimSkip(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := twoProjects(t, s)
	for i, ch := range []string{"voice-1", "voice-2", "voice-3", "voice-1"} {
		c := aCall(fmt.Sprintf("q%d", i), p1, t0.Add(time.Duration(i)*time.Second))
		c.ChannelID = ch
		check(t, s.CallCreate(ctx, c))
	}
	lease := t0.Add(time.Minute)
	got := must(s.CallClaim(ctx, store.CallClaimParams{Owner: "A", Now: t0, LeaseUntil: lease, Limit: 10, SkipChannels: []string{"voice-1", "voice-3"}}))(t)
	if len(got) != 1 || got[0].ID != "q1" {
		t.Fatalf("claimed %+v, want only q1 (voice-2)", got)
	}
	got = must(s.CallClaim(ctx, store.CallClaimParams{Owner: "A", Now: t0, LeaseUntil: lease, Limit: 1, SkipChannels: []string{"voice-3"}}))(t)
	if len(got) != 1 || got[0].ID != "q0" {
		t.Fatalf("claimed %+v, want q0 (the oldest of voice-1)", got)
	}
}

// testCallClaimAddressed: a queued call created with an owner (a transfer
// of a call that process holds) is claimed by that owner only; one with
// none by anybody.
func testCallClaimAddressed(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := twoProjects(t, s)
	for i, owner := range []string{"B", "", "A"} {
		c := aCall(fmt.Sprintf("t%d", i), p1, t0.Add(time.Duration(i)*time.Second))
		c.Direction, c.Owner = "transfer", owner
		check(t, s.CallCreate(ctx, c))
	}
	lease := t0.Add(time.Minute)
	got := must(s.CallClaim(ctx, store.CallClaimParams{Owner: "A", Now: t0, LeaseUntil: lease, Limit: 10}))(t)
	if len(got) != 2 || got[0].ID != "t1" || got[1].ID != "t2" || got[1].Owner != "A" {
		t.Fatalf("A claimed %+v, want t1 (no owner) and t2 (addressed to A)", got)
	}
	got = must(s.CallClaim(ctx, store.CallClaimParams{Owner: "B", Now: t0, LeaseUntil: lease, Limit: 10}))(t)
	if len(got) != 1 || got[0].ID != "t0" || got[0].Status != store.CallDialing {
		t.Fatalf("B claimed %+v, want t0", got)
	}
}

// testCallStaleAddressed: a queued call addressed to an owner (a transfer
// of the call that process holds) is renewed by that owner and listed
// stale once its lease ran out (or, with none, AddressedLease after it was
// written): its process stopped during the hold. Queued calls addressed
// to nobody never are.
func testCallStaleAddressed(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := twoProjects(t, s)
	lease := t0.Add(store.AddressedLease)
	for _, c := range []struct {
		id, owner string
		lease     *time.Time
	}{{"a-live", "A", &lease}, {"b-dead", "B", &lease}, {"c-old", "C", nil}, {"anyone", "", nil}} {
		call := aCall(c.id, p1, t0)
		call.Direction, call.Owner, call.LeaseUntil = "transfer", c.owner, c.lease
		check(t, s.CallCreate(ctx, call))
	}
	if stale := must(s.CallListStale(ctx, store.CallStaleParams{Now: t0.Add(time.Second)}))(t); len(stale) != 0 {
		t.Fatalf("stale right after the transfers were queued: %+v", stale)
	}
	// A is alive and renews what is addressed to it; B and C stopped.
	later := t0.Add(store.AddressedLease + time.Minute)
	if n := must(s.CallRenew(ctx, store.CallRenewParams{Owner: "A", LeaseUntil: later.Add(time.Minute)}))(t); n != 1 {
		t.Fatalf("A renewed %d calls, want its queued transfer", n)
	}
	stale := must(s.CallListStale(ctx, store.CallStaleParams{Now: later}))(t)
	ids := []string{}
	for _, c := range stale {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"b-dead", "c-old"}) {
		t.Fatalf("stale = %v, want the transfers queued for B and C", ids)
	}
	// Ending one as the stopped owner's takes it out.
	c := stale[0]
	end := later
	c.Status, c.EndedAt, c.LeaseUntil, c.UpdatedAt = "failed", &end, nil, later
	check(t, s.CallUpdate(ctx, c))
	if again := must(s.CallListStale(ctx, store.CallStaleParams{Now: later}))(t); len(again) != 1 || again[0].ID == c.ID {
		t.Fatalf("stale after ending %s: %+v", c.ID, again)
	}
}

// testCallAnswer: an inbound caller is matched to the newest call awaited
// from their number on that voice number, once; a passed deadline, another
// number or another caller finds nothing; claims leave awaited calls alone.
func testCallAnswer(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := twoProjects(t, s)
	await := func(id, channel, from string, at time.Time, deadline *time.Time) {
		c := aCall(id, p1, at)
		c.ChannelID, c.From, c.To, c.Direction, c.Status, c.LeaseUntil = channel, from, "", "inbound", store.CallAwaiting, deadline
		check(t, s.CallCreate(ctx, c))
	}
	past, future := t0.Add(-time.Minute), t0.Add(time.Hour)
	await("old", "voice-1", "+351910000001", t0.Add(-time.Hour), nil)
	await("new", "voice-1", "+351910000001", t0.Add(-time.Second), &future)
	await("late", "voice-1", "+351910000002", t0.Add(-time.Hour), &past)
	if got := must(s.CallClaim(ctx, store.CallClaimParams{Owner: "A", Now: t0, LeaseUntil: future, Limit: 10}))(t); len(got) != 0 {
		t.Fatalf("a claim took awaited calls: %+v", got)
	}
	p := store.CallAnswerParams{ChannelID: "voice-1", From: "+351910000001", ProviderID: "SIM1", Owner: "A", Now: t0, LeaseUntil: t0.Add(time.Minute)}
	c := must(s.CallAnswer(ctx, p))(t)
	if c.ID != "new" || c.Status != "in_progress" || c.Owner != "A" || c.ProviderID != "SIM1" || !c.LeaseUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("answered %+v, want the newest awaited call, in progress", c)
	}
	if c = must(s.CallAnswer(ctx, p))(t); c.ID != "old" {
		t.Fatalf("second answer %+v, want the older one", c)
	}
	for _, q := range []store.CallAnswerParams{p, {ChannelID: "voice-1", From: "+351910000002", Owner: "A", Now: t0, LeaseUntil: future},
		{ChannelID: "voice-2", From: "+351910000001", Owner: "A", Now: t0, LeaseUntil: future}} {
		if _, err := s.CallAnswer(ctx, q); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("answer %+v: %v, want ErrNotFound", q, err)
		}
	}
}

// testCallRecordings: a recording lands in its call's project, is read
// back byte for byte (binary data), is replaced when delivered again, is
// not found from another project, and needs an existing call.
func testCallRecordings(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	check(t, s.CallCreate(ctx, aCall("r1", p1, t0)))
	if _, err := s.CallRecordingGet(ctx, store.Ref{ProjectID: p1, ID: "r1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before any recording: %v, want ErrNotFound", err)
	}
	audio := append([]byte("RIFF\x00\x01\xff"), bytes.Repeat([]byte{0, 0x80, 0xff}, 5000)...)
	check(t, s.CallRecordingPut(ctx, store.CallRecording{CallID: "r1", ProviderID: "RE1", ContentType: "audio/wav", Duration: 1500 * time.Millisecond, Data: audio, CreatedAt: t0}))
	cases := []struct {
		name    string
		ref     store.Ref
		wantErr bool
	}{
		{"own project", store.Ref{ProjectID: p1, ID: "r1"}, false},
		{"another project", store.Ref{ProjectID: p2, ID: "r1"}, true},
		{"no such call", store.Ref{ProjectID: p1, ID: "nope"}, true},
	}
	for _, tc := range cases {
		got, err := s.CallRecordingGet(ctx, tc.ref)
		if tc.wantErr {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s: %v, want ErrNotFound", tc.name, err)
			}
			continue
		}
		check(t, err)
		if got.ProjectID != p1 || got.ProviderID != "RE1" || got.ContentType != "audio/wav" || got.Duration != 1500*time.Millisecond ||
			!bytes.Equal(got.Data, audio) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("%s: got %+v (%d bytes)", tc.name, got, len(got.Data))
		}
	}
	// Delivered again (a provider's retry): replaced, still one.
	check(t, s.CallRecordingPut(ctx, store.CallRecording{CallID: "r1", ProviderID: "RE2", ContentType: "audio/mpeg", Data: []byte("ID3"), CreatedAt: t0.Add(time.Second)}))
	if got := must(s.CallRecordingGet(ctx, store.Ref{ProjectID: p1, ID: "r1"}))(t); got.ProviderID != "RE2" || string(got.Data) != "ID3" || got.ContentType != "audio/mpeg" {
		t.Fatalf("replaced: got %+v", got)
	}
	if err := s.CallRecordingPut(ctx, store.CallRecording{CallID: "ghost", ContentType: "audio/wav", Data: []byte("x"), CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a recording of no call: %v, want ErrNotFound", err)
	}
}
