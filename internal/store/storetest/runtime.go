package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// runRuntime runs the runtime part of the suite.
func runRuntime(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Channels", testChannels},
		{"Contacts", testContacts},
		{"Messages", testMessages},
		{"ContactEvents", testContactEvents},
		{"InboxLeases", testInboxLeases},
		{"SendLeases", testSendLeases},
		{"AfterCommit", testAfterCommit},
		{"Sessions", testSessions},
		{"TraceAndIdempotency", testTraceAndIdempotency},
		{"TemplateUpdates", testTemplateUpdates},
		{"ChannelLogs", testChannelLogs},
		{"DeadLetters", testDeadLetters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func runtimeProjects(t *testing.T, s store.Store) (string, string) {
	ctx := context.Background()
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}))(t)
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p2", Name: "Two", Now: t0}))(t)
	return "p1", "p2"
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
	if got := must(s.ChannelGetByAddress(ctx, "whatsapp", "1001"))(t); got.ID != "c1" {
		t.Fatalf("by address = %+v", got)
	}
	_, err = s.ChannelGet(ctx, p2, "c1")
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
	wantCode(t, s.ChannelDelete(ctx, p2, "c1"), domain.CodeNotFound)
	check(t, s.ChannelDelete(ctx, p1, "c1"))
	_, err = s.ChannelGetAny(ctx, "c1")
	wantCode(t, err, domain.CodeNotFound)
}

func testContacts(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	ensure := func(project, path, id, name string, inbound bool, at time.Time) (domain.Contact, bool) {
		c, created, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: project, Scheme: "whatsapp", Path: path, ChannelID: "ch", NewID: id, Name: name, Phone: "+" + path, Inbound: inbound, Now: at})
		check(t, err)
		return c, created
	}
	c, created := ensure(p1, "15551234567", "k1", "Ann", true, t0)
	if !created || c.Name != "Ann" || c.Phone != "+15551234567" || c.LastInboundAt == nil || !c.LastInboundAt.Equal(t0) {
		t.Fatalf("created contact = %+v (created %v)", c, created)
	}
	again, created := ensure(p1, "15551234567", "k-unused", "Other Name", true, t0.Add(time.Minute))
	if created || again.ID != "k1" || again.Name != "Ann" || !again.LastInboundAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second ensure = %+v (created %v)", again, created)
	}
	other, created := ensure(p2, "15551234567", "k2", "Ann in P2", false, t0)
	if !created || other.ID != "k2" || other.LastInboundAt != nil {
		t.Fatalf("same address in another project must be another contact: %+v", other)
	}
	ensure(p1, "15550000000", "k3", "Bob", false, t0)

	c.Fields = map[string]any{"city": "Lisbon", "guests": 4.0}
	c.Tags = []string{"vip", "new"}
	c.OptedOut, c.OptedOutAt, c.UpdatedAt = true, &t0, t0.Add(time.Hour)
	up := must(s.ContactUpdate(ctx, c))(t)
	if up.Fields["city"] != "Lisbon" || len(up.Tags) != 2 || !up.OptedOut {
		t.Fatalf("updated = %+v", up)
	}
	_, err := s.ContactGet(ctx, p2, "k1")
	wantCode(t, err, domain.CodeNotFound)

	l := must(s.ContactList(ctx, store.ContactListParams{ProjectID: p1, Search: "an"}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "k1" {
		t.Fatalf("search = %+v", l.Items)
	}
	l = must(s.ContactList(ctx, store.ContactListParams{ProjectID: p1, Search: "5550000"}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "k3" {
		t.Fatalf("search by phone = %+v", l.Items)
	}
	l = must(s.ContactList(ctx, store.ContactListParams{ProjectID: p1, Tag: "vip"}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "k1" {
		t.Fatalf("by tag = %+v", l.Items)
	}
	urns := must(s.ContactURNs(ctx, p1, "k1"))(t)
	if len(urns) != 1 || urns[0].ChannelID != "ch" || urns[0].LastInboundAt == nil || !urns[0].LastInboundAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("urns = %+v", urns)
	}
	// Finding a known address without an inbound message changes nothing.
	found, created := ensure(p1, "15551234567", "k-unused", "", false, t0.Add(time.Hour))
	if created || found.ID != "k1" || !found.LastInboundAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("ensure without inbound = %+v (created %v)", found, created)
	}
	if urns := must(s.ContactURNs(ctx, p1, "k1"))(t); !urns[0].LastInboundAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("urns after an ensure without inbound = %+v", urns)
	}
	// Simulator contacts are never listed.
	_, _, err = s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "sim", Path: "x", NewID: "ksim", Simulated: true, Now: t0})
	check(t, err)
	if l := must(s.ContactList(ctx, store.ContactListParams{ProjectID: p1}))(t); len(l.Items) != 2 {
		t.Fatalf("list includes simulated contacts: %+v", l.Items)
	}
	check(t, s.InTx(ctx, func(q store.Queries) error { return q.ContactLock(ctx, p1, "k1") }))
	wantCode(t, s.InTx(ctx, func(q store.Queries) error { return q.ContactLock(ctx, p2, "k1") }), domain.CodeNotFound)
}

func testMessages(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "1", NewID: "k1", Now: t0})
	check(t, err)
	in := domain.Message{ID: "m1", ProjectID: p1, ContactID: "k1", ChannelID: "ch", Direction: domain.DirectionIn, Type: "text", Content: json.RawMessage(`{"text":"hi"}`), Status: domain.MessageReceived, ProviderID: "wamid.1", CreatedAt: t0}
	must(s.MessageCreate(ctx, in))(t)
	dup := in
	dup.ID = "m1b"
	_, err = s.MessageCreate(ctx, dup)
	wantCode(t, err, domain.CodeConflict)

	out := domain.Message{ID: "m2", ProjectID: p1, ContactID: "k1", ChannelID: "ch", Direction: domain.DirectionOut, Type: "text", Content: json.RawMessage(`{"text":"hello"}`), Status: domain.MessageQueued, CreatedAt: t0}
	must(s.MessageCreate(ctx, out))(t)
	out2 := out
	out2.ID = "m3"
	must(s.MessageCreate(ctx, out2))(t) // two queued outbound messages: no provider ID yet, no conflict

	step := func(status, provider string, want bool) {
		t.Helper()
		changed := must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "m2", Status: status, ProviderID: provider, Now: t0.Add(time.Minute)}))(t)
		if changed != want {
			t.Fatalf("set %s: changed = %v, want %v", status, changed, want)
		}
	}
	step(domain.MessageSent, "wamid.out", true)
	step(domain.MessageRead, "", true)
	step(domain.MessageDelivered, "", false) // late: never back from read
	step(domain.MessageSent, "", false)
	got := must(s.MessageGet(ctx, p1, "m2"))(t)
	if got.Status != domain.MessageRead || got.ProviderID != "wamid.out" || got.SentAt == nil {
		t.Fatalf("message = %+v", got)
	}
	if byP := must(s.MessageGetByProviderID(ctx, "ch", domain.DirectionOut, "wamid.out"))(t); byP.ID != "m2" {
		t.Fatalf("by provider = %+v", byP)
	}
	// A failure after delivery is recorded with its reason.
	must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "m3", Status: domain.MessageDelivered, Now: t0}))(t)
	must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "m3", Status: domain.MessageFailed, ErrorCode: "131047", ErrorReason: "outside the 24-hour window", Now: t0}))(t)
	if got := must(s.MessageGet(ctx, p1, "m3"))(t); got.Status != domain.MessageFailed || got.ErrorCode != "131047" {
		t.Fatalf("failed message = %+v", got)
	}
	l := must(s.MessageList(ctx, store.MessageListParams{ProjectID: p1, ContactID: "k1"}))(t)
	if len(l.Items) != 3 || l.Items[0].ID != "m3" {
		t.Fatalf("conversation = %+v", l.Items)
	}
}

func testContactEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	for _, k := range []string{"k1", "k2"} {
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: k, NewID: k, Now: t0})
		check(t, err)
	}
	var seqs []int64
	for i := range 3 {
		e := must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "k1", Kind: domain.EventMessage, MessageID: fmt.Sprint("m", i), DedupeKey: fmt.Sprint("msg:", i), CreatedAt: t0}))(t)
		seqs = append(seqs, e.Seq)
	}
	if !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) {
		t.Fatalf("seqs not increasing: %v", seqs)
	}
	_, err := s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "k1", Kind: domain.EventMessage, DedupeKey: "msg:1", CreatedAt: t0})
	wantCode(t, err, domain.CodeConflict)
	must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "k2", Kind: domain.EventTimer, CreatedAt: t0}))(t)
	must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "k2", Kind: domain.EventTimer, CreatedAt: t0}))(t) // no dedupe key: no conflict

	next := must(s.ContactEventNext(ctx, "k1"))(t)
	if next.Seq != seqs[0] || next.MessageID != "m0" {
		t.Fatalf("next = %+v", next)
	}
	check(t, s.ContactEventDone(ctx, next.Seq, "handled", t0))
	if got := must(s.ContactEventGet(ctx, p1, next.Seq))(t); got.HandledAt == nil || got.Result != "handled" {
		t.Fatalf("handled event = %+v", got)
	}
	_, err = s.ContactEventGet(ctx, "p2", next.Seq)
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, s.ContactEventDone(ctx, next.Seq, "again", t0), domain.CodeConflict)
	if next := must(s.ContactEventNext(ctx, "k1"))(t); next.Seq != seqs[1] {
		t.Fatalf("next after done = %+v", next)
	}
	for _, sq := range seqs[1:] {
		check(t, s.ContactEventDone(ctx, sq, "ok", t0))
	}
	_, err = s.ContactEventNext(ctx, "k1")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no more events: %v", err)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "1", NewID: "k1", Now: t0})
	check(t, err)
	timeout := t0.Add(time.Hour)
	sess := domain.FlowSession{ID: "s1", ProjectID: p1, ContactID: "k1", FlowID: "f1", Revision: 2, Status: domain.SessionWaiting, State: []byte{1, 2, 3, 0, 255},
		WaitSeq: 1, WaitingFor: "button", NodeID: "ask", TimeoutAt: &timeout, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, CreatedAt: t0, UpdatedAt: t0}
	check(t, s.SessionCreate(ctx, sess))
	second := sess
	second.ID = "s2"
	wantCode(t, s.SessionCreate(ctx, second), domain.CodeConflict) // one live session per contact
	sim := sess
	sim.ID, sim.Simulated = "s3", true
	check(t, s.SessionCreate(ctx, sim)) // simulated sessions do not count

	live := must(s.SessionLive(ctx, "k1"))(t)
	if live.ID != "s1" || string(live.State) != string([]byte{1, 2, 3, 0, 255}) || live.TimeoutAt == nil || live.Revision != 2 {
		t.Fatalf("live = %+v", live)
	}
	_, err = s.SessionGet(ctx, p2, "s1")
	wantCode(t, err, domain.CodeNotFound)

	live.Version, live.Status, live.State, live.WaitSeq = 2, domain.SessionCompleted, []byte{9}, 2
	live.EndedAt, live.TimeoutAt = &timeout, nil
	check(t, s.SessionUpdate(ctx, live))
	stale := live // still version 2: someone else already saved version 2
	stale.Status = domain.SessionFailed
	wantCode(t, s.SessionUpdate(ctx, stale), domain.CodeConflict)
	got := must(s.SessionGet(ctx, p1, "s1"))(t)
	if got.Status != domain.SessionCompleted || got.Version != 2 || got.TimeoutAt != nil || got.EndedAt == nil {
		t.Fatalf("after update = %+v", got)
	}
	_, err = s.SessionLive(ctx, "k1")
	wantCode(t, err, domain.CodeNotFound)
	check(t, s.SessionCreate(ctx, second)) // the old one ended, so a new one may start

	l := must(s.SessionList(ctx, store.SessionListParams{ProjectID: p1, ContactID: "k1"}))(t)
	if len(l.Items) != 2 {
		t.Fatalf("sessions = %+v", l.Items)
	}
	l = must(s.SessionList(ctx, store.SessionListParams{ProjectID: p1, Status: domain.SessionCompleted}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "s1" {
		t.Fatalf("completed sessions = %+v", l.Items)
	}
	exp := must(s.SessionExpiring(ctx, t0.Add(25*time.Hour), 10))(t)
	if len(exp) != 2 { // s2 and the simulated s3
		t.Fatalf("expiring = %+v", exp)
	}
}

func testTraceAndIdempotency(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{
		{ProjectID: p1, SessionID: "s1", Kind: "node_entered", NodeID: "start", CreatedAt: t0},
		{ProjectID: p1, SessionID: "s1", Kind: "message_out", NodeID: "ask", Data: json.RawMessage(`{"text":"hi"}`), CreatedAt: t0},
	}))
	// A later sprint, and one of another session in the same call.
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{
		{ProjectID: p1, SessionID: "s1", Kind: "session_ended", Data: json.RawMessage(`{"status":"completed","note":"caf\u00e9 \"quoted\""}`), CreatedAt: t0.Add(time.Minute)},
		{ProjectID: p1, SessionID: "s2", Kind: "node_entered", NodeID: "n\"1", CreatedAt: t0.Add(time.Minute)},
	}))
	tr := must(s.TraceList(ctx, p1, "s1"))(t)
	if len(tr) != 3 || tr[0].Kind != "node_entered" || tr[0].NodeID != "start" || tr[1].Kind != "message_out" || tr[2].Kind != "session_ended" {
		t.Fatalf("trace = %+v", tr)
	}
	for i, e := range tr {
		if e.ID != int64(i+1) || e.SessionID != "s1" {
			t.Fatalf("trace event %d = %+v, want ID %d of session s1", i, e, i+1)
		}
	}
	if !tr[0].CreatedAt.Equal(t0) || !tr[2].CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("trace times = %v, %v", tr[0].CreatedAt, tr[2].CreatedAt)
	}
	var data map[string]string
	if err := json.Unmarshal(tr[1].Data, &data); err != nil || data["text"] != "hi" {
		t.Fatalf("message_out data = %s (%v)", tr[1].Data, err)
	}
	if err := json.Unmarshal(tr[2].Data, &data); err != nil || data["note"] != `café "quoted"` {
		t.Fatalf("session_ended data = %s (%v)", tr[2].Data, err)
	}
	if err := json.Unmarshal(tr[0].Data, &data); err != nil {
		t.Fatalf("an event without data reads back %q (%v)", tr[0].Data, err)
	}
	if tr := must(s.TraceList(ctx, p1, "s2"))(t); len(tr) != 1 || tr[0].NodeID != `n"1` || tr[0].ID != 1 {
		t.Fatalf("trace of s2 = %+v", tr)
	}
	if tr := must(s.TraceList(ctx, p2, "s1"))(t); len(tr) != 0 {
		t.Fatalf("trace visible from another project: %+v", tr)
	}
	_, err := s.IdempotencyGet(ctx, p1, "k")
	wantCode(t, err, domain.CodeNotFound)
	check(t, s.IdempotencyPut(ctx, p1, "k", []byte(`{"id":"s1"}`), t0))
	wantCode(t, s.IdempotencyPut(ctx, p1, "k", []byte(`{"id":"s2"}`), t0), domain.CodeConflict)
	if got := must(s.IdempotencyGet(ctx, p1, "k"))(t); string(got) != `{"id":"s1"}` && string(got) != `{"id": "s1"}` {
		t.Fatalf("stored response = %s", got)
	}
	check(t, s.IdempotencyPut(ctx, p2, "k", []byte(`{}`), t0)) // keys are per project
}

func testTemplateUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	tpl := must(s.TemplateCreate(ctx, store.TemplateCreateParams{ID: "t1", ProjectID: p1, ChannelID: "c1", Name: "order_update", Language: "en_US",
		Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"Hi"}]`), Status: "PENDING", Now: t0}))(t)
	if tpl.ChannelID != "c1" || tpl.Reason != "" {
		t.Fatalf("created = %+v", tpl)
	}
	tpl.Status, tpl.MetaTemplateID, tpl.Reason, tpl.Quality, tpl.UpdatedAt = "REJECTED", "9001", "INVALID_FORMAT", "RED", t0.Add(time.Hour)
	up := must(s.TemplateUpdate(ctx, tpl))(t)
	if up.Status != "REJECTED" || up.Reason != "INVALID_FORMAT" || up.Quality != "RED" || !up.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("updated = %+v", up)
	}
	if got := must(s.TemplateGetByMetaID(ctx, p1, "9001"))(t); got.ID != "t1" {
		t.Fatalf("by Meta ID = %+v", got)
	}
	_, err := s.TemplateGetByMetaID(ctx, p2, "9001")
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, s.TemplateDelete(ctx, p2, "t1"), domain.CodeNotFound)
	check(t, s.TemplateDelete(ctx, p1, "t1"))
	_, err = s.TemplateGet(ctx, p1, "t1")
	wantCode(t, err, domain.CodeNotFound)
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
	due := must(s.ContactEventsDue(ctx, t0.Add(time.Second), 10))(t)
	if len(due) != 1 || due[0].ID != "k2" || due[0].ProjectID != p1 {
		t.Fatalf("due at t0+1s = %+v, want only k2 (k1 is held)", due)
	}
	// After the lease k1 is due too (once, though it has two events), the
	// longest due first.
	later := held.Add(time.Second)
	due = must(s.ContactEventsDue(ctx, later, 10))(t)
	if len(due) != 2 || due[0].ID != "k2" || due[1].ID != "k1" {
		t.Fatalf("due after the lease = %+v, want k2 then k1", due)
	}
	if got := must(s.ContactEventsDue(ctx, later, 1))(t); len(got) != 1 {
		t.Fatalf("limit 1 gave %d", len(got))
	}
	// Two pollers claim k1: only the first gets it.
	if !must(s.ContactEventsClaim(ctx, "k1", later, later.Add(time.Minute)))(t) {
		t.Fatal("first claim refused")
	}
	if must(s.ContactEventsClaim(ctx, "k1", later, later.Add(time.Minute)))(t) {
		t.Fatal("second claim of a held contact granted")
	}
	if must(s.ContactEventsClaim(ctx, "k3", later, later.Add(time.Minute)))(t) {
		t.Fatal("claim of a contact without events granted")
	}
	// A failure counts and pushes the event back.
	retryAt := later.Add(16 * time.Second)
	if n := must(s.ContactEventRetry(ctx, e1.Seq, retryAt))(t); n != 1 {
		t.Fatalf("attempts after one failure = %d", n)
	}
	if n := must(s.ContactEventRetry(ctx, e1.Seq, retryAt))(t); n != 2 {
		t.Fatalf("attempts after two failures = %d", n)
	}
	got := must(s.ContactEventGet(ctx, p1, e1.Seq))(t)
	if got.Attempts != 2 || !got.DueAt.Equal(retryAt) {
		t.Fatalf("retried event attempts=%d due=%v, want 2 and %v", got.Attempts, got.DueAt, retryAt)
	}
	check(t, s.ContactEventDone(ctx, e1.Seq, "ok", later))
	_, err := s.ContactEventRetry(ctx, e1.Seq, retryAt)
	wantCode(t, err, domain.CodeConflict)
	// Releasing (SQLite after a restart) makes everything due now.
	if n := must(s.ContactEventsRelease(ctx, later))(t); n != 1 {
		t.Fatalf("released %d events, want 1 (k1's second; k2's was due already)", n)
	}
	if due := must(s.ContactEventsDue(ctx, later, 10))(t); len(due) != 2 {
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
	due := must(s.MessagesDue(ctx, t0.Add(time.Second), 10))(t)
	if len(due) != 1 || due[0].ID != "bulk" || due[0].Reply {
		t.Fatalf("due at t0+1s = %+v, want only the bulk message", due)
	}
	later := held.Add(time.Second)
	due = must(s.MessagesDue(ctx, later, 10))(t)
	if len(due) != 2 || due[1].ID != "held" || !due[1].Reply {
		t.Fatalf("due after the lease = %+v", due)
	}
	if !must(s.MessageClaim(ctx, "held", later, later.Add(time.Minute)))(t) {
		t.Fatal("first claim refused")
	}
	if must(s.MessageClaim(ctx, "held", later, later.Add(time.Minute)))(t) {
		t.Fatal("second claim granted")
	}
	if must(s.MessageClaim(ctx, "failed", later, later.Add(time.Minute)))(t) {
		t.Fatal("claim of a message that is not queued granted")
	}
	retryAt := later.Add(4 * time.Second)
	if n := must(s.MessageRetry(ctx, "held", retryAt, false))(t); n != 0 {
		t.Fatalf("a paced retry counted an attempt: %d", n)
	}
	if n := must(s.MessageRetry(ctx, "held", retryAt, true))(t); n != 1 {
		t.Fatalf("attempts after a failure = %d", n)
	}
	if got := must(s.MessageGet(ctx, p1, "held"))(t); got.Attempts != 1 || got.DueAt == nil || !got.DueAt.Equal(retryAt) {
		t.Fatalf("retried message attempts=%d due=%v", got.Attempts, got.DueAt)
	}
	must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "held", Status: domain.MessageSent, Now: later}))(t)
	_, err = s.MessageRetry(ctx, "held", retryAt, true)
	wantCode(t, err, domain.CodeConflict)
	if due := must(s.MessagesDue(ctx, retryAt.Add(time.Hour), 10))(t); len(due) != 1 || due[0].ID != "bulk" {
		t.Fatalf("a sent message is still due: %+v", due)
	}
	if n := must(s.MessagesRelease(ctx, later))(t); n != 0 {
		t.Fatalf("released %d messages, want 0 (bulk is due already, held was sent)", n)
	}
}

// testAfterCommit: hooks run after the commit, never after a rollback,
// and at once outside a transaction.
func testAfterCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	ran := 0
	s.AfterCommit(func() { ran++ })
	if ran != 1 {
		t.Fatal("AfterCommit outside a transaction did not run at once")
	}
	err := s.InTx(ctx, func(q store.Queries) error {
		if _, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "pa", Name: "After", Now: t0}); err != nil {
			return err
		}
		q.AfterCommit(func() {
			ran++
			// The hook sees the committed row from outside the transaction.
			if _, err := s.ProjectGet(ctx, "pa"); err != nil {
				t.Errorf("hook ran before the commit was visible: %v", err)
			}
		})
		if ran != 1 {
			t.Error("hook ran inside the transaction")
		}
		return nil
	})
	check(t, err)
	if ran != 2 {
		t.Fatalf("hook ran %d times after the commit", ran-1)
	}
	boom := errors.New("boom")
	err = s.InTx(ctx, func(q store.Queries) error {
		q.AfterCommit(func() { ran++ })
		return boom
	})
	if !errors.Is(err, boom) || ran != 2 {
		t.Fatalf("rolled back: err=%v, hook runs=%d", err, ran-2)
	}
}
