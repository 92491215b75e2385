package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunRuntime runs the suite of store.Runtime.
func RunRuntime(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Contacts", testContacts},
		{"Messages", testMessages},
		{"MessageReceive", testMessageReceive},
		{"MessageStatusMove", testMessageStatusMove},
		{"ContactMerge", testContactMerge},
		{"VerifiedPhone", testVerifiedPhone},
		{"ContactEvents", testContactEvents},
		{"Sessions", testSessions},
		{"SessionTimers", testSessionTimers},
		{"EventsAppendNew", testEventsAppendNew},
		{"SessionExpiries", testSessionExpiries},
		{"ContactEventsPurge", testContactEventsPurge},
		{"Trace", testTrace},
		{"Receipts", testReceipts},
		{"StatusUpTo", testStatusUpTo},
	})
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
	_, err := s.ContactGet(ctx, store.Ref{ProjectID: p2, ID: "k1"})
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
	urns := must(s.ContactURNs(ctx, store.Ref{ProjectID: p1, ID: "k1"}))(t)
	if len(urns) != 1 || urns[0].ChannelID != "ch" || urns[0].LastInboundAt == nil || !urns[0].LastInboundAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("urns = %+v", urns)
	}
	// Finding a known address without an inbound message changes nothing.
	found, created := ensure(p1, "15551234567", "k-unused", "", false, t0.Add(time.Hour))
	if created || found.ID != "k1" || !found.LastInboundAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("ensure without inbound = %+v (created %v)", found, created)
	}
	if urns := must(s.ContactURNs(ctx, store.Ref{ProjectID: p1, ID: "k1"}))(t); !urns[0].LastInboundAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("urns after an ensure without inbound = %+v", urns)
	}
	// Simulator contacts are never listed.
	_, _, err = s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "sim", Path: "x", NewID: "ksim", Simulated: true, Now: t0})
	check(t, err)
	if l := must(s.ContactList(ctx, store.ContactListParams{ProjectID: p1}))(t); len(l.Items) != 2 {
		t.Fatalf("list includes simulated contacts: %+v", l.Items)
	}
	check(t, s.InTx(ctx, func(q store.Queries) error { return q.ContactLock(ctx, store.Ref{ProjectID: p1, ID: "k1"}) }))
	wantCode(t, s.InTx(ctx, func(q store.Queries) error { return q.ContactLock(ctx, store.Ref{ProjectID: p2, ID: "k1"}) }), domain.CodeNotFound)
}

// testMessageReceive: an inbound message and its event are stored
// together, alone or in a transaction (where PostgreSQL holds the message's
// insert back for the event's), with or without the contact's inbox read
// in the same round trip; a re-delivery stores and queues nothing.
func testMessageReceive(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "1", NewID: "k1", Now: t0})
	check(t, err)
	type way struct {
		inTx bool
		read int
	}
	receive := func(w way, id, provider string) (store.Received, error) {
		t.Helper()
		p := store.MessageReceiveParams{
			Message: domain.Message{ID: id, ProjectID: p1, ContactID: "k1", ChannelID: "ch", Direction: domain.DirectionIn, Type: "text",
				Content: json.RawMessage(`{"text":"hi"}`), Status: domain.MessageReceived, ProviderID: provider, CreatedAt: t0},
			Event:     domain.ContactEvent{ProjectID: p1, ContactID: "k1", Kind: domain.EventMessage, Payload: json.RawMessage(`{"n":1}`), CreatedAt: t0},
			ReadInbox: w.read,
		}
		if !w.inTx {
			return s.MessageReceive(ctx, p)
		}
		var r store.Received
		err := s.InTx(ctx, func(q store.Queries) error {
			var err error
			r, err = q.MessageReceive(ctx, p)
			return err
		})
		return r, err
	}
	var seqs []int64
	// The last two read the inbox with the event: enough of it, and less
	// than the contact's pending events (the event is not among them).
	ways := []way{{false, 0}, {true, 0}, {true, 10}, {true, 1}}
	for i, w := range ways {
		id, provider := fmt.Sprint("mr", i), fmt.Sprint("wamid.r", i)
		r, err := receive(w, id, provider)
		check(t, err)
		m, e := r.Message, r.Event
		if m.ID != id || e.MessageID != id || e.Seq == 0 || e.Kind != domain.EventMessage {
			t.Fatalf("received (%+v): message %+v, event %+v", w, m, e)
		}
		if r.Inbox != nil {
			// As ContactEventsNextWithContact reads it once committed.
			want := must(s.ContactEventsNextWithContact(ctx, store.ContactEventsNextParams{ContactID: "k1", Limit: w.read}))(t)
			if !reflect.DeepEqual(*r.Inbox, want) {
				t.Fatalf("inbox read with the event (%+v) = %+v; after the commit %+v", w, *r.Inbox, want)
			}
			if w.read > i && r.Inbox.Events[len(r.Inbox.Events)-1].Seq != e.Seq {
				t.Fatalf("inbox read with the event (%+v) ends with %+v, want the event %d", w, r.Inbox.Events, e.Seq)
			}
		}
		got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: id}))(t)
		if got.ProviderID != provider {
			t.Fatalf("stored message = %+v", got)
		}
		jsonEqual(t, got.Content, json.RawMessage(`{"text":"hi"}`))
		ev := must(s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p1, Seq: e.Seq}))(t)
		if ev.MessageID != id {
			t.Fatalf("queued event = %+v", ev)
		}
		jsonEqual(t, ev.Payload, json.RawMessage(`{"n":1}`))
		seqs = append(seqs, e.Seq)
		// The channel delivers it again: a new ID, the same provider ID.
		_, err = receive(w, id+"-again", provider)
		wantCode(t, err, domain.CodeConflict)
		if _, err := s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: id + "-again"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the re-delivered message was stored: %v", err)
		}
	}
	evs := must(s.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: "k1", Limit: 10}))(t)
	if len(evs) != len(ways) {
		t.Fatalf("queued events = %+v, want the %d received messages' only", evs, len(ways))
	}
	for i := range evs {
		if evs[i].Seq != seqs[i] {
			t.Fatalf("queued events = %+v, want seqs %v", evs, seqs)
		}
	}
}

// testMessageStatusMove: a status moves the message forward, or says it
// is there but moved nothing (an older status), or that it is not there
// (another project's ID counts as not there); alone and in a transaction.
func testMessageStatusMove(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "1", NewID: "k1", Now: t0})
	check(t, err)
	must(s.MessageCreate(ctx, domain.Message{ID: "sm1", ProjectID: p1, ContactID: "k1", ChannelID: "ch", Direction: domain.DirectionOut, Type: "text",
		Content: json.RawMessage(`{"text":"hello"}`), Status: domain.MessageSent, ProviderID: "wamid.sm1", CreatedAt: t0}))(t)
	for _, inTx := range []bool{false, true} {
		move := func(project, id, status string) store.StatusMove {
			t.Helper()
			p := store.MessageStatusParams{ID: id, ProjectID: project, Status: status, Now: t0.Add(time.Minute)}
			if !inTx {
				return must(s.MessageStatusMove(ctx, p))(t)
			}
			var mv store.StatusMove
			check(t, s.InTx(ctx, func(q store.Queries) error {
				var err error
				mv, err = q.MessageStatusMove(ctx, p)
				return err
			}))
			return mv
		}
		want := func(got, want store.StatusMove, what string) {
			t.Helper()
			if got != want {
				t.Fatalf("%s (in a transaction: %v) = %+v, want %+v", what, inTx, got, want)
			}
		}
		next := domain.MessageDelivered
		if inTx {
			next = domain.MessageRead
		}
		want(move(p1, "sm1", next), store.StatusMove{Moved: true, Found: true}, "a status forward")
		if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "sm1"}))(t); got.Status != next {
			t.Fatalf("status after the move = %q, want %q", got.Status, next)
		}
		want(move(p1, "sm1", domain.MessageSent), store.StatusMove{Found: true}, "an older status")
		want(move("", "sm1", next), store.StatusMove{Found: true}, "the same status, any project")
		want(move(p1, "sm-none", next), store.StatusMove{}, "an unknown message")
		want(move(p2, "sm1", domain.MessageRead), store.StatusMove{}, "another project's message")
	}
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "sm1"}))(t); got.Status != domain.MessageRead {
		t.Fatalf("status at the end = %q, want read", got.Status)
	}
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
	got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "m2"}))(t)
	if got.Status != domain.MessageRead || got.ProviderID != "wamid.out" || got.SentAt == nil {
		t.Fatalf("message = %+v", got)
	}
	if byP := must(s.MessageGetByProviderID(ctx, store.MessageGetByProviderIDParams{ChannelID: "ch", Direction: domain.DirectionOut, ProviderID: "wamid.out"}))(t); byP.ID != "m2" {
		t.Fatalf("by provider = %+v", byP)
	}
	// A failure after delivery is recorded with its reason.
	must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "m3", Status: domain.MessageDelivered, Now: t0}))(t)
	must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "m3", Status: domain.MessageFailed, ErrorCode: "131047", ErrorReason: "outside the 24-hour window", Now: t0}))(t)
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "m3"}))(t); got.Status != domain.MessageFailed || got.ErrorCode != "131047" {
		t.Fatalf("failed message = %+v", got)
	}
	// A message that failed before the provider took it (no provider ID)
	// is not moved by a later status (#12.10).
	if changed := must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: "m3", Status: domain.MessageRead, ProviderID: "wamid.late", Now: t0}))(t); changed {
		t.Fatal("a status moved a message that failed without a provider ID")
	}
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "m3"}))(t); got.Status != domain.MessageFailed || got.ProviderID != "" {
		t.Fatalf("failed message after a late status = %+v", got)
	}
	// MessageRecordStatus moves a message the same way, without saying
	// whether it did (held back inside a transaction on PostgreSQL).
	check(t, s.InTx(ctx, func(q store.Queries) error {
		if err := q.MessageRecordStatus(ctx, store.MessageStatusParams{ID: "m2", Status: domain.MessageDelivered, Now: t0}); err != nil {
			return err // late: read already, nothing moves
		}
		return q.MessageRecordStatus(ctx, store.MessageStatusParams{ID: "m3", Status: domain.MessageRead, Now: t0})
	}))
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "m2"}))(t); got.Status != domain.MessageRead {
		t.Fatalf("message after a late recorded status = %+v", got)
	}
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "m3"}))(t); got.Status != domain.MessageFailed {
		t.Fatalf("failed message after a recorded status = %+v", got)
	}
	l := must(s.MessageList(ctx, store.MessageListParams{ProjectID: p1, ContactID: "k1"}))(t)
	if len(l.Items) != 3 || l.Items[0].ID != "m3" {
		t.Fatalf("conversation = %+v", l.Items)
	}
	// One channel's part of the conversation.
	web := domain.Message{ID: "m4", ProjectID: p1, ContactID: "k1", ChannelID: "web", Direction: domain.DirectionIn, Type: "text", Content: json.RawMessage(`{"text":"from the site"}`), Status: domain.MessageReceived, CreatedAt: t0}
	must(s.MessageCreate(ctx, web))(t)
	if l := must(s.MessageList(ctx, store.MessageListParams{ProjectID: p1, ContactID: "k1", ChannelID: "web"}))(t); len(l.Items) != 1 || l.Items[0].ID != "m4" {
		t.Fatalf("the web channel's messages = %+v", l.Items)
	}
	if l := must(s.MessageList(ctx, store.MessageListParams{ProjectID: p1, ContactID: "k1"}))(t); len(l.Items) != 4 {
		t.Fatalf("every channel's messages = %+v", l.Items)
	}
	// In one transaction, a message Parley creates and its recorded status
	// (both held back on PostgreSQL): the status applies to the new row.
	check(t, s.InTx(ctx, func(q store.Queries) error {
		reply := domain.Message{ID: "m5", ProjectID: p1, ContactID: "k1", ChannelID: "web", Direction: domain.DirectionOut, Type: "text",
			Content: json.RawMessage(`{"text":"reply"}`), Status: domain.MessageQueued, CreatedAt: t0}
		if _, err := q.MessageCreate(ctx, reply); err != nil {
			return err
		}
		return q.MessageRecordStatus(ctx, store.MessageStatusParams{ID: "m5", Status: domain.MessageSent, ProviderID: "wamid.m5", Now: t0.Add(time.Second)})
	}))
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "m5"}))(t); got.Status != domain.MessageSent || got.ProviderID != "wamid.m5" || got.SentAt == nil {
		t.Fatalf("a created message after its recorded status = %+v", got)
	}
}

// testContactMerge: one person on two channels becomes one contact with
// both addresses, both conversations and one session at most.
func testContactMerge(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	ensure := func(project, scheme, path, id, name, phone string) {
		t.Helper()
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: project, Scheme: scheme, Path: path, ChannelID: scheme + "-ch", NewID: id, Name: name, Phone: phone, Inbound: true, Now: t0})
		check(t, err)
	}
	ensure(p1, "whatsapp", "15551234567", "wa", "", "+15551234567")
	ensure(p1, "webchat", "v1", "web", "Ann", "")
	ensure(p1, "webchat", "v2", "other", "Bob", "")
	ensure(p2, "webchat", "v3", "foreign", "Eve", "")
	web := must(s.ContactGet(ctx, store.Ref{ProjectID: p1, ID: "web"}))(t)
	web.Tags, web.Fields, web.UpdatedAt = []string{"site"}, map[string]any{"plan": "pro"}, t0
	must(s.ContactUpdate(ctx, web))(t)
	for i, c := range []struct{ contact, channel string }{{"wa", "whatsapp-ch"}, {"web", "webchat-ch"}, {"web", "webchat-ch"}} {
		must(s.MessageCreate(ctx, domain.Message{ID: fmt.Sprint("mm", i), ProjectID: p1, ContactID: c.contact, ChannelID: c.channel, Direction: domain.DirectionIn,
			Type: "text", Content: json.RawMessage(`{"text":"hi"}`), Status: domain.MessageReceived, CreatedAt: t0}))(t)
	}
	must(s.ContactEventAppend(ctx, domain.ContactEvent{ProjectID: p1, ContactID: "web", Kind: domain.EventMessage, MessageID: "mm2", CreatedAt: t0}))(t)
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: domain.FlowSession{ID: "s-web", ProjectID: p1, ContactID: "web", FlowID: "f", Revision: 1, Status: domain.SessionWaiting, Version: 1, CreatedAt: t0, UpdatedAt: t0}}))
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: domain.FlowSession{ID: "s-other", ProjectID: p1, ContactID: "other", FlowID: "f", Revision: 1, Status: domain.SessionWaiting, Version: 1, CreatedAt: t0, UpdatedAt: t0}}))

	merge := func(project, into, from string) (domain.Contact, error) {
		var out domain.Contact
		err := s.InTx(ctx, func(q store.Queries) error {
			var err error
			out, err = q.ContactMerge(ctx, store.ContactMergeParams{ProjectID: project, IntoID: into, FromID: from, Now: t0.Add(time.Hour)})
			return err
		})
		return out, err
	}
	_, err := merge(p1, "wa", "wa")
	wantCode(t, err, domain.CodeUnprocessable)
	_, err = merge(p1, "wa", "foreign") // another project's contact
	wantCode(t, err, domain.CodeNotFound)
	_, err = merge(p2, "wa", "web")
	wantCode(t, err, domain.CodeNotFound)

	c := must(merge(p1, "wa", "web"))(t)
	if c.ID != "wa" || c.Name != "Ann" || c.Phone != "+15551234567" || len(c.Tags) != 1 || c.Fields["plan"] != "pro" {
		t.Fatalf("merged contact = %+v", c)
	}
	_, err = s.ContactGet(ctx, store.Ref{ProjectID: p1, ID: "web"})
	wantCode(t, err, domain.CodeNotFound)
	urns := must(s.ContactURNs(ctx, store.Ref{ProjectID: p1, ID: "wa"}))(t)
	if len(urns) != 2 || urns[0].Scheme != "webchat" || urns[1].Scheme != "whatsapp" {
		t.Fatalf("addresses after the merge = %+v", urns)
	}
	if got := must(s.ContactGetByURN(ctx, store.ContactGetByURNParams{ProjectID: p1, Scheme: "webchat", Path: "v1"}))(t); got.ID != "wa" {
		t.Fatalf("the visitor's address finds %s", got.ID)
	}
	_, err = s.ContactGetByURN(ctx, store.ContactGetByURNParams{ProjectID: p2, Scheme: "webchat", Path: "v1"})
	wantCode(t, err, domain.CodeNotFound)
	if l := must(s.MessageList(ctx, store.MessageListParams{ProjectID: p1, ContactID: "wa"}))(t); len(l.Items) != 3 {
		t.Fatalf("one timeline after the merge = %+v", l.Items)
	}
	if evs := must(s.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: "wa", Limit: 5}))(t); len(evs) != 1 {
		t.Fatalf("the merged contact's pending events = %+v", evs)
	}
	if live := must(s.SessionLive(ctx, "wa"))(t); live.ID != "s-web" {
		t.Fatalf("the session moved with the contact: %+v", live)
	}
	// Two sessions in progress cannot become one contact's.
	_, err = merge(p1, "wa", "other")
	wantCode(t, err, domain.CodeConflict)
	if _, err := s.ContactGet(ctx, store.Ref{ProjectID: p1, ID: "other"}); err != nil {
		t.Fatalf("a refused merge changed the contact: %v", err)
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

	oldest := func() []domain.ContactEvent {
		t.Helper()
		// The events read with their contact are the same events, and the
		// contact is ContactGet's (the zero value with no events).
		for _, limit := range []int{1, 5} {
			p := store.ContactEventsNextParams{ContactID: "k1", Limit: limit}
			in := must(s.ContactEventsNextWithContact(ctx, p))(t)
			alone := must(s.ContactEventsNext(ctx, p))(t)
			if len(in.Events) != len(alone) || (len(alone) > 0 && !reflect.DeepEqual(in.Events, alone)) {
				t.Fatalf("events with their contact = %+v; alone %+v", in.Events, alone)
			}
			want := domain.Contact{}
			if len(alone) > 0 {
				want = must(s.ContactGet(ctx, store.Ref{ProjectID: p1, ID: "k1"}))(t)
			}
			if !reflect.DeepEqual(in.Contact, want) {
				t.Fatalf("contact with its events = %+v; ContactGet %+v", in.Contact, want)
			}
			// So is the live session (and its flow), as SessionLiveWithFlow
			// reads it.
			live, err := s.SessionLiveWithFlow(ctx, "k1")
			switch {
			case len(alone) == 0 || errors.Is(err, store.ErrNotFound):
				if in.Live != nil {
					t.Fatalf("live session with the events = %+v, want none (%v)", in.Live, err)
				}
			case err != nil:
				t.Fatal(err)
			case in.Live == nil || !reflect.DeepEqual(*in.Live, live):
				t.Fatalf("live session with the events = %+v; SessionLiveWithFlow %+v", in.Live, live)
			}
		}
		return must(s.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: "k1", Limit: 1}))(t)
	}
	evs := oldest()
	if len(evs) != 1 {
		t.Fatalf("next = %+v, want one event", evs)
	}
	next := evs[0]
	if next.Seq != seqs[0] || next.MessageID != "m0" {
		t.Fatalf("next = %+v", next)
	}
	check(t, s.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: next.Seq, Result: "handled", Now: t0}))
	if got := must(s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p1, Seq: next.Seq}))(t); got.HandledAt == nil || got.Result != "handled" {
		t.Fatalf("handled event = %+v", got)
	}
	_, err = s.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: "p2", Seq: next.Seq})
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, s.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: next.Seq, Result: "again", Now: t0}), domain.CodeConflict)
	// The same in a transaction, where PostgreSQL holds the write back and
	// its conflict shows only when it is sent.
	wantCode(t, s.InTx(ctx, func(q store.Queries) error {
		return q.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: next.Seq, Result: "again", Now: t0})
	}), domain.CodeConflict)
	// A simulated session is not the contact's live one; a waiting one is,
	// read with its flow's head, and then one whose flow is gone.
	due := t0.Add(time.Hour)
	sess := domain.FlowSession{ID: "ev-sim", ProjectID: p1, ContactID: "k1", FlowID: "ev-flow", Revision: 1, Status: domain.SessionWaiting, State: []byte{7},
		WaitSeq: 2, WaitingFor: "reply", NodeID: "ask", TimeoutAt: &due, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, Simulated: true, CreatedAt: t0, UpdatedAt: t0}
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: sess}))
	if in := must(s.ContactEventsNextWithContact(ctx, store.ContactEventsNextParams{ContactID: "k1", Limit: 1}))(t); in.Live != nil {
		t.Fatalf("a simulated session read as the contact's live one: %+v", in.Live)
	}
	must(s.FlowCreate(ctx, newFlow("ev-flow", p1, "Events")))(t)
	sess.ID, sess.Simulated = "ev-live", false
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: sess}))
	if in := must(s.ContactEventsNextWithContact(ctx, store.ContactEventsNextParams{ContactID: "k1", Limit: 5}))(t); in.Live == nil || in.Live.Session.ID != "ev-live" || in.Live.Flow.ID != "ev-flow" {
		t.Fatalf("live session with the events = %+v, want ev-live with its flow", in.Live)
	}
	if evs := oldest(); len(evs) != 1 || evs[0].Seq != seqs[1] {
		t.Fatalf("next after done = %+v", evs)
	}
	check(t, s.FlowDelete(ctx, store.FlowDeleteParams{ProjectID: p1, ID: "ev-flow"}))
	if in := must(s.ContactEventsNextWithContact(ctx, store.ContactEventsNextParams{ContactID: "k1", Limit: 1}))(t); in.Live == nil || in.Live.Session.ID != "ev-live" || in.Live.Flow.ID != "" {
		t.Fatalf("live session whose flow is gone = %+v, want ev-live without a flow", in.Live)
	}
	oldest()
	for _, sq := range seqs[1:] {
		check(t, s.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: sq, Result: "ok", Now: t0}))
	}
	if evs := oldest(); len(evs) != 0 {
		t.Fatalf("no more events: %+v", evs)
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
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: sess}))
	second := sess
	second.ID = "s2"
	wantCode(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: second}), domain.CodeConflict) // one live session per contact
	wantCode(t, s.InTx(ctx, func(q store.Queries) error { return q.SessionCreate(ctx, store.SessionCreateParams{Session: second}) }), domain.CodeConflict)
	sim := sess
	sim.ID, sim.Simulated = "s3", true
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: sim})) // simulated sessions do not count

	live := must(s.SessionLive(ctx, "k1"))(t)
	if live.ID != "s1" || string(live.State) != string([]byte{1, 2, 3, 0, 255}) || live.TimeoutAt == nil || live.Revision != 2 {
		t.Fatalf("live = %+v", live)
	}
	_, err = s.SessionGet(ctx, store.Ref{ProjectID: p2, ID: "s1"})
	wantCode(t, err, domain.CodeNotFound)

	// The session and its flow's head in one read: while flow f1 does not
	// exist, the session alone; once it does, its head, as FlowHeadGet.
	withFlow := func(want domain.FlowSession, wantFlow string) {
		t.Helper()
		byID := must(s.SessionWithFlow(ctx, store.Ref{ProjectID: p1, ID: want.ID}))(t)
		byContact := must(s.SessionLiveWithFlow(ctx, want.ContactID))(t)
		for _, got := range []store.SessionFlow{byID, byContact} {
			if !reflect.DeepEqual(got.Session, want) {
				t.Fatalf("session with its flow = %+v; alone %+v", got.Session, want)
			}
			if wantFlow == "" {
				if !reflect.DeepEqual(got.Flow, store.Flow{}) {
					t.Fatalf("flow of a session whose flow is gone = %+v", got.Flow)
				}
				continue
			}
			if head := must(s.FlowHeadGet(ctx, store.Ref{ProjectID: p1, ID: wantFlow}))(t); !reflect.DeepEqual(got.Flow, head) {
				t.Fatalf("flow with the session = %+v; FlowHeadGet %+v", got.Flow, head)
			}
		}
	}
	withFlow(live, "")
	must(s.FlowCreate(ctx, newFlow("f1", p1, "Booking")))(t)
	withFlow(live, "f1")
	_, err = s.SessionWithFlow(ctx, store.Ref{ProjectID: p2, ID: "s1"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = s.SessionLiveWithFlow(ctx, "nobody")
	wantCode(t, err, domain.CodeNotFound)

	live.Version, live.Status, live.State, live.WaitSeq = 2, domain.SessionCompleted, []byte{9}, 2
	live.EndedAt, live.TimeoutAt = &timeout, nil
	check(t, s.SessionUpdate(ctx, live))
	stale := live // still version 2: someone else already saved version 2
	stale.Status = domain.SessionFailed
	wantCode(t, s.SessionUpdate(ctx, stale), domain.CodeConflict)
	wantCode(t, s.InTx(ctx, func(q store.Queries) error { return q.SessionUpdate(ctx, stale) }), domain.CodeConflict)
	got := must(s.SessionGet(ctx, store.Ref{ProjectID: p1, ID: "s1"}))(t)
	if got.Status != domain.SessionCompleted || got.Version != 2 || got.TimeoutAt != nil || got.EndedAt == nil {
		t.Fatalf("after update = %+v", got)
	}
	_, err = s.SessionLive(ctx, "k1")
	wantCode(t, err, domain.CodeNotFound)
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: second})) // the old one ended, so a new one may start

	// The contact list marks and filters conversations waiting for a
	// human: a live (not simulated) session waiting at a handoff.
	waiting := func() []domain.Contact {
		return must(s.ContactList(ctx, store.ContactListParams{ProjectID: p1, WaitingForHuman: true}))(t).Items
	}
	if w := waiting(); len(w) != 0 {
		t.Fatalf("waiting for a human while s2 waits for a button: %+v", w)
	}
	_, _, err = s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "2", NewID: "k2", Now: t0})
	check(t, err)
	handoff := sess
	handoff.ID, handoff.ContactID, handoff.WaitingFor, handoff.TimeoutAt = "s4", "k2", "handoff", nil
	handoff.ExpiresAt = t0.Add(1000 * time.Hour) // out of the expiry checks below
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: handoff}))
	simHandoff := handoff
	simHandoff.ID, simHandoff.ContactID, simHandoff.Simulated = "s5", "k1", true
	check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: simHandoff}))
	if w := waiting(); len(w) != 1 || w[0].ID != "k2" || !w[0].WaitingForHuman {
		t.Fatalf("waiting for a human = %+v", w)
	}
	for _, c := range must(s.ContactList(ctx, store.ContactListParams{ProjectID: p1}))(t).Items {
		if c.WaitingForHuman != (c.ID == "k2") {
			t.Fatalf("contact %s marked waiting_for_human %v", c.ID, c.WaitingForHuman)
		}
	}
	if w := must(s.ContactList(ctx, store.ContactListParams{ProjectID: p2, WaitingForHuman: true}))(t).Items; len(w) != 0 {
		t.Fatalf("another project's = %+v", w)
	}

	l := must(s.SessionList(ctx, store.SessionListParams{ProjectID: p1, ContactID: "k1"}))(t)
	if len(l.Items) != 2 {
		t.Fatalf("sessions = %+v", l.Items)
	}
	l = must(s.SessionList(ctx, store.SessionListParams{ProjectID: p1, Status: domain.SessionCompleted}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "s1" {
		t.Fatalf("completed sessions = %+v", l.Items)
	}
	exp := must(s.SessionExpiring(ctx, store.DueParams{Now: t0.Add(25 * time.Hour), Limit: 10}))(t)
	if len(exp) != 2 { // s2 and the simulated s3
		t.Fatalf("expiring = %+v", exp)
	}
}

func testTrace(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	// A trace belongs to its session, which exists first.
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "351910000000", ChannelID: "ch", NewID: "k1", Now: t0})
	check(t, err)
	for _, id := range []string{"s1", "s2"} {
		check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: domain.FlowSession{ID: id, ProjectID: p1, ContactID: "k1", FlowID: "f1", Revision: 1, ChannelID: "ch",
			Status: domain.SessionCompleted, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, CreatedAt: t0, UpdatedAt: t0}}))
	}
	if err := s.TraceAppend(ctx, []domain.TraceEvent{{ProjectID: p1, SessionID: "no-such-session", Kind: "node_entered", CreatedAt: t0}}); err == nil {
		t.Fatal("a trace of no session was stored")
	}
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{
		{ProjectID: p1, SessionID: "s1", Kind: "node_entered", NodeID: "start", CreatedAt: t0},
		{ProjectID: p1, SessionID: "s1", Kind: "message_out", NodeID: "ask", Data: json.RawMessage(`{"text":"hi"}`), CreatedAt: t0},
	}))
	// A later sprint, and one of another session in the same call.
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{
		{ProjectID: p1, SessionID: "s1", Kind: "session_ended", Data: json.RawMessage(`{"status":"completed","note":"caf\u00e9 \"quoted\""}`), CreatedAt: t0.Add(time.Minute)},
		{ProjectID: p1, SessionID: "s2", Kind: "node_entered", NodeID: "n\"1", CreatedAt: t0.Add(time.Minute)},
	}))
	tr := must(s.TraceList(ctx, store.Ref{ProjectID: p1, ID: "s1"}))(t)
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
	if tr := must(s.TraceList(ctx, store.Ref{ProjectID: p1, ID: "s2"}))(t); len(tr) != 1 || tr[0].NodeID != `n"1` || tr[0].ID != 1 {
		t.Fatalf("trace of s2 = %+v", tr)
	}
	if tr := must(s.TraceList(ctx, store.Ref{ProjectID: p2, ID: "s1"}))(t); len(tr) != 0 {
		t.Fatalf("trace visible from another project: %+v", tr)
	}
}

// testVerifiedPhone: a new address reporting a verified phone that a
// contact already has joins that contact; an unverified phone never does.
func testVerifiedPhone(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	ensure := func(project, scheme, path, id, phone string, verified bool) domain.Contact {
		t.Helper()
		var c domain.Contact
		check(t, s.InTx(ctx, func(q store.Queries) error {
			var err error
			c, _, err = q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: project, Scheme: scheme, Path: path, ChannelID: scheme + "-ch", NewID: id,
				Phone: phone, PhoneVerified: verified, Inbound: true, Now: t0})
			return err
		}))
		return c
	}
	wa := ensure(p1, "whatsapp", "15551234567", "wa", "+15551234567", true)
	if urns := must(s.ContactURNs(ctx, store.Ref{ProjectID: p1, ID: wa.ID}))(t); len(urns) != 2 || urns[0].Scheme != domain.SchemeTel || urns[0].Path != "+15551234567" {
		t.Fatalf("a verified phone is an address: %+v", urns)
	}
	// The same verified number on another channel: the same contact.
	if vb := ensure(p1, "viber", "vb-user", "vb", "+15551234567", true); vb.ID != wa.ID {
		t.Fatalf("viber contact %s, want the WhatsApp contact %s", vb.ID, wa.ID)
	}
	// A number someone typed (not verified) makes its own contact.
	if web := ensure(p1, "webchat", "v1", "web", "+15551234567", false); web.ID == wa.ID {
		t.Fatal("an unverified phone joined a contact")
	}
	// Another project's contact with the number is another person.
	if other := ensure(p2, "viber", "vb-user", "vb2", "+15551234567", true); other.ID == wa.ID {
		t.Fatal("a verified phone joined another project's contact")
	}
	urns := must(s.ContactURNs(ctx, store.Ref{ProjectID: p1, ID: wa.ID}))(t)
	if len(urns) != 3 {
		t.Fatalf("addresses = %+v", urns)
	}

	// A verified phone reported LATER by a known address: the address's
	// contact merges into the one that has that verified phone.
	late := ensure(p1, "messenger", "psid-1", "late", "", false)
	if late.ID == wa.ID {
		t.Fatal("an address without a phone joined a contact")
	}
	if again := ensure(p1, "messenger", "psid-1", "late-2", "+15551234567", true); again.ID != wa.ID {
		t.Fatalf("messenger contact %s after its verified phone, want %s", again.ID, wa.ID)
	}
	if _, err := s.ContactGet(ctx, store.Ref{ProjectID: p1, ID: late.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the merged contact is still there: %v", err)
	}
	if urns := must(s.ContactURNs(ctx, store.Ref{ProjectID: p1, ID: wa.ID}))(t); len(urns) != 4 {
		t.Fatalf("addresses after the late merge = %+v", urns)
	}
	// A verified phone nobody has yet becomes the contact's, and a later
	// first message with it joins that contact.
	solo := ensure(p1, "viber", "vb-solo", "solo", "", false)
	if got := ensure(p1, "viber", "vb-solo", "solo-2", "+15559990000", true); got.ID != solo.ID || got.Phone != "+15559990000" {
		t.Fatalf("contact after a new verified phone = %+v", got)
	}
	if wa2 := ensure(p1, "whatsapp", "15559990000", "wa2", "+15559990000", true); wa2.ID != solo.ID {
		t.Fatalf("whatsapp contact %s, want %s (verified phone recorded later)", wa2.ID, solo.ID)
	}
}

// testReceipts: receipts kept before their message's provider ID is
// known are taken by provider ID (and watermark ones by recipient), once,
// and expire by age.
func testReceipts(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	up := t0.Add(time.Minute)
	keep := []domain.Receipt{
		{ProjectID: p1, ChannelID: "ch", ProviderID: "mid.1", Recipient: "u1", Status: domain.MessageDelivered, ReceivedAt: t0},
		{ProjectID: p1, ChannelID: "ch", ProviderID: "mid.1", Recipient: "u1", Status: domain.MessageFailed, ErrorCode: "6", ErrorReason: "gone", ReceivedAt: t0.Add(time.Second)},
		{ProjectID: p1, ChannelID: "ch", ProviderID: "mid.2", Recipient: "u1", Status: domain.MessageRead, ReceivedAt: t0},
		{ProjectID: p1, ChannelID: "other", ProviderID: "mid.1", Status: domain.MessageRead, ReceivedAt: t0},
		{ProjectID: p1, ChannelID: "ch", Recipient: "u1", Status: domain.MessageRead, UpTo: &up, ReceivedAt: t0.Add(2 * time.Hour)},
		{ProjectID: p1, ChannelID: "ch", Recipient: "u2", Status: domain.MessageRead, UpTo: &up, ReceivedAt: t0},
	}
	check(t, s.InTx(ctx, func(q store.Queries) error {
		for _, r := range keep {
			if err := q.ReceiptLock(ctx, store.ReceiptLockParams{ChannelID: r.ChannelID, ProviderID: r.ProviderID, Recipient: r.Recipient}); err != nil {
				return err
			}
			if err := q.ReceiptHold(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}))
	cases := []struct {
		name string
		p    store.ReceiptsTakeParams
		want []string // status/error code/up_to of what is taken, in order
	}{
		{"by provider ID, in arrival order", store.ReceiptsTakeParams{ChannelID: "ch", ProviderID: "mid.1"}, []string{"delivered", "failed/6"}},
		{"taken once", store.ReceiptsTakeParams{ChannelID: "ch", ProviderID: "mid.1"}, nil},
		{"and the recipient's watermark", store.ReceiptsTakeParams{ChannelID: "ch", ProviderID: "mid.2", Recipient: "u1"}, []string{"read", "read@up"}},
		{"nothing for an unknown ID", store.ReceiptsTakeParams{ChannelID: "ch", ProviderID: "mid.9"}, nil},
	}
	for _, c := range cases {
		got := must(s.ReceiptsTake(ctx, c.p))(t)
		var desc []string
		for _, r := range got {
			d := r.Status
			if r.ErrorCode != "" {
				d += "/" + r.ErrorCode + ""
				if r.ErrorReason != "gone" || r.ProjectID != p1 {
					t.Errorf("%s: %+v", c.name, r)
				}
			}
			if r.UpTo != nil {
				if !r.UpTo.Equal(up) {
					t.Errorf("%s: up_to %v", c.name, r.UpTo)
				}
				d += "@up"
			}
			desc = append(desc, d)
		}
		if fmt.Sprint(desc) != fmt.Sprint(c.want) {
			t.Errorf("%s: took %v, want %v", c.name, desc, c.want)
		}
	}
	// A send's answer recorded with the take: the message is sent, with
	// its provider ID, and the receipt kept for that ID comes back.
	_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: "rc1", NewID: "rk1", Now: t0})
	check(t, err)
	for i, inTx := range []bool{false, true} {
		id, pid := fmt.Sprint("ans", i), fmt.Sprint("mid.ans", i)
		must(s.MessageCreate(ctx, domain.Message{ID: id, ProjectID: p1, ContactID: "rk1", ChannelID: "ch", Direction: domain.DirectionOut, Type: "text",
			Content: json.RawMessage(`{"text":"hi"}`), Status: domain.MessageQueued, CreatedAt: t0}))(t)
		check(t, s.ReceiptHold(ctx, domain.Receipt{ProjectID: p1, ChannelID: "ch", ProviderID: pid, Status: domain.MessageDelivered, ReceivedAt: t0}))
		tp := store.ReceiptsTakeParams{ChannelID: "ch", ProviderID: pid,
			Answer: &store.MessageStatusParams{ID: id, ProjectID: p1, Status: domain.MessageSent, ProviderID: pid, Now: t0.Add(time.Second)}}
		var got []domain.Receipt
		if inTx {
			check(t, s.InTx(ctx, func(q store.Queries) error {
				var err error
				got, err = q.ReceiptsTake(ctx, tp)
				return err
			}))
		} else {
			got = must(s.ReceiptsTake(ctx, tp))(t)
		}
		if len(got) != 1 || got[0].Status != domain.MessageDelivered {
			t.Errorf("in a transaction %v: took %+v with the answer, want the delivered receipt", inTx, got)
		}
		m := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: id}))(t)
		if m.Status != domain.MessageSent || m.ProviderID != pid || m.DueAt != nil {
			t.Errorf("in a transaction %v: the answered message is %s, provider ID %q, lease %v", inTx, m.Status, m.ProviderID, m.DueAt)
		}
	}
	// Left: mid.1 on "other" (t0) and u2's watermark (t0); an hour on,
	// both expire.
	if n := must(s.ReceiptsExpire(ctx, store.ReceiptsExpireParams{Before: t0}))(t); n != 0 {
		t.Fatalf("expired %d received at the cut-off", n)
	}
	if n := must(s.ReceiptsExpire(ctx, store.ReceiptsExpireParams{Before: t0.Add(time.Hour)}))(t); n != 2 {
		t.Fatalf("expired %d, want 2", n)
	}
	if got := must(s.ReceiptsTake(ctx, store.ReceiptsTakeParams{ChannelID: "other", ProviderID: "mid.1"}))(t); len(got) != 0 {
		t.Fatalf("an expired receipt was kept: %+v", got)
	}
}

// testStatusUpTo: a watermark receipt moves the contact's sent and
// delivered messages on the channel sent at or before it, and nothing
// else; the sent time is the one given (the send's start).
func testStatusUpTo(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	for _, k := range []string{"k1", "k2"} {
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "messenger", Path: k, NewID: k, Now: t0})
		check(t, err)
	}
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	msgs := []struct {
		id, contact, channel, status string
		sent                         int
	}{
		{"early", "k1", "ch", domain.MessageSent, 1},
		{"delivered", "k1", "ch", domain.MessageDelivered, 2},
		{"at", "k1", "ch", domain.MessageSent, 3},
		{"late", "k1", "ch", domain.MessageSent, 4},
		{"failed", "k1", "ch", domain.MessageFailed, 1},
		{"queued", "k1", "ch", domain.MessageQueued, 0},
		{"otherchannel", "k1", "ch2", domain.MessageSent, 1},
		{"othercontact", "k2", "ch", domain.MessageSent, 1},
	}
	for _, m := range msgs {
		must(s.MessageCreate(ctx, domain.Message{ID: m.id, ProjectID: p1, ContactID: m.contact, ChannelID: m.channel, Direction: domain.DirectionOut,
			Type: "text", Content: json.RawMessage(`{}`), Status: domain.MessageQueued, CreatedAt: t0}))(t)
		if m.status != domain.MessageQueued {
			must(s.MessageSetStatus(ctx, store.MessageStatusParams{ID: m.id, Status: m.status, ProviderID: "mid." + m.id, SentAt: at(m.sent), Now: at(m.sent + 1)}))(t)
		}
	}
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "at"}))(t); got.SentAt == nil || !got.SentAt.Equal(at(3)) {
		t.Fatalf("sent_at = %v, want the send's start %v", got.SentAt, at(3))
	}
	res := must(s.MessagesSetStatusUpTo(ctx, store.MessagesStatusUpToParams{ProjectID: p1, ChannelID: "ch", ContactID: "k1", Status: domain.MessageRead, UpTo: at(3), Now: at(10)}))(t)
	if res.Moved != 3 || res.Queued != 1 {
		t.Fatalf("result = %+v, want 3 moved, 1 queued", res)
	}
	want := map[string]string{"early": "read", "delivered": "read", "at": "read", "late": "sent", "failed": "failed", "queued": "queued", "otherchannel": "sent", "othercontact": "sent"}
	for id, st := range want {
		if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: id}))(t); got.Status != st {
			t.Errorf("%s: status %s, want %s", id, got.Status, st)
		}
	}
	// Delivered up to later never moves a read message back.
	res = must(s.MessagesSetStatusUpTo(ctx, store.MessagesStatusUpToParams{ProjectID: p1, ChannelID: "ch", ContactID: "k1", Status: domain.MessageDelivered, UpTo: at(5), Now: at(11)}))(t)
	if res.Moved != 1 {
		t.Fatalf("delivered up to: %+v, want 1 moved (late)", res)
	}
	if got := must(s.MessageGet(ctx, store.Ref{ProjectID: p1, ID: "early"}))(t); got.Status != domain.MessageRead {
		t.Fatalf("early went back to %s", got.Status)
	}
}
