package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// TestSpecialTriggers: referral, conversation_started and story triggers
// start their flows through the real ingest path, only for the channel
// the flow is bound to; events without content start nothing else and
// never resume a flow.
func TestSpecialTriggers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	ctx := context.Background()
	mk := func(typ, name string) domain.Channel {
		ch, err := e.st.ChannelCreate(ctx, domain.Channel{ID: domain.UUIDv7{}.NewID(), ProjectID: e.project.ID, Type: typ, Name: name, Status: "active",
			Address: name, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	viber1, viber2, insta := mk("viber", "Viber 1"), mk("viber", "Viber 2"), mk("instagram", "Insta")
	flowOf := func(trigger, text string) string {
		return `{"nodes":[{"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":` + trigger + `}},
 {"id":"end","type":"end","position":{"x":0,"y":100},"data":{"text":"` + text + `"}}],"edges":[{"id":"e1","source":"start","target":"end"}]}`
	}
	bound := func(id string) func(*chatflow.CreateInput) {
		return func(in *chatflow.CreateInput) { in.ChannelID = id }
	}
	e.publish("welcome", flowOf(`{"type":"conversation_started"}`, "Welcome to Viber"), bound(viber1.ID))
	e.publish("ad", flowOf(`{"type":"referral","referrals":["ad-42"]}`, "Thanks for clicking ad 42"))
	e.publish("mention", flowOf(`{"type":"story","story_kinds":["mention"]}`, "Thanks for the mention"))
	e.publish("any", flowOf(`{"type":"inbound"}`, "Hello from inbound"))

	now := time.Now()
	tests := []struct {
		name string
		ch   domain.Channel
		ev   channel.Event
		want []string
	}{
		{"viber conversation_started on the bound account", viber1, channel.Event{Kind: channel.KindConversationStarted}, []string{"Welcome to Viber"}},
		{"viber conversation_started on another account", viber2, channel.Event{Kind: channel.KindConversationStarted}, nil},
		{"a message from an ad", e.channel, channel.Event{Kind: channel.KindText, Text: "hi", Referral: &channel.Referral{SourceID: "ad-42", SourceType: "ad"}}, []string{"Thanks for clicking ad 42"}},
		{"a message from another ad", e.channel, channel.Event{Kind: channel.KindText, Text: "hi", Referral: &channel.Referral{SourceID: "ad-7"}}, []string{"Hello from inbound"}},
		{"a referral link followed without writing", e.channel, channel.Event{Kind: channel.KindReferral, Referral: &channel.Referral{Ref: "ad-42"}}, []string{"Thanks for clicking ad 42"}},
		{"another referral link, no message", e.channel, channel.Event{Kind: channel.KindReferral, Referral: &channel.Referral{Ref: "other"}}, nil},
		{"a story mention", insta, channel.Event{Kind: channel.KindText, Text: "look", Story: &channel.Story{Kind: "mention", ID: "st-1"}}, []string{"Thanks for the mention"}},
		{"a story reply", insta, channel.Event{Kind: channel.KindText, Text: "nice", Story: &channel.Story{Kind: "reply", ID: "st-2"}}, []string{"Hello from inbound"}},
	}
	for i, tc := range tests {
		tc.ev.Channel, tc.ev.Timestamp = tc.ch.Type, now
		tc.ev.Contact = channel.Contact{Address: fmt.Sprintf("person-%d", i)}
		tc.ev.ProviderID = fmt.Sprintf("mid-%d", i)
		if err := e.r.IngestWebhook(ctx, []channels.Batch{{Channel: tc.ch, Events: []channel.Event{tc.ev}}}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, err := e.st.ContactGetByURN(ctx, store.ContactGetByURNParams{ProjectID: e.project.ID, Scheme: tc.ch.Type, Path: tc.ev.Contact.Address})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		e.eventually(tc.name+": the event is handled", func() bool {
			_, err := e.headEvent(c.ID)
			return err == store.ErrNotFound
		})
		if got := texts(e.conversation(c.ID), domain.DirectionOut); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: sent %q, want %q", tc.name, got, tc.want)
		}
	}

	// A person waiting in a flow who opens the chat again: nothing moves.
	e.publish("ask", `{"nodes":[{"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["shop"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Pick one","buttons":["A","B"]}},
 {"id":"end","type":"end","position":{"x":0,"y":200},"data":{"text":"Done"}}],
 "edges":[{"id":"e1","source":"start","target":"ask"},{"id":"e2","source":"ask","sourceHandle":"A","target":"end"},{"id":"e3","source":"ask","sourceHandle":"B","target":"end"}]}`)
	send := func(ev channel.Event) domain.Contact {
		ev.Channel, ev.Timestamp, ev.Contact = viber1.Type, now, channel.Contact{Address: "waiting-person"}
		if err := e.r.IngestWebhook(ctx, []channels.Batch{{Channel: viber1, Events: []channel.Event{ev}}}); err != nil {
			t.Fatal(err)
		}
		c, err := e.st.ContactGetByURN(ctx, store.ContactGetByURNParams{ProjectID: e.project.ID, Scheme: viber1.Type, Path: "waiting-person"})
		if err != nil {
			t.Fatal(err)
		}
		e.eventually("the event is handled", func() bool {
			_, err := e.headEvent(c.ID)
			return err == store.ErrNotFound
		})
		return c
	}
	c := send(channel.Event{Kind: channel.KindText, Text: "shop", ProviderID: "w-1"})
	send(channel.Event{Kind: channel.KindConversationStarted, ProviderID: "w-2"})
	if s := e.session(c.ID); s.Status != domain.SessionWaiting {
		t.Fatalf("conversation_started moved the waiting session: %s", s.Status)
	}
	if got := texts(e.conversation(c.ID), domain.DirectionOut); fmt.Sprint(got) != "[Pick one]" {
		t.Fatalf("sent %q", got)
	}
}

// TestStatusByOurIDThenProvider: a status moves the message its echoed ID
// names; an older one moves nothing and is not looked up again by the
// provider's ID (the message was found); one whose echoed ID is not ours
// (another system's callback data) finds the message by the provider's ID.
func TestStatusByOurIDThenProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	c := e.receive(addr(), "hello").ContactID
	m, err := e.st.MessageCreate(ctx, domain.Message{ID: domain.UUIDv7{}.NewID(), ProjectID: e.project.ID, ContactID: c, ChannelID: e.channel.ID,
		Direction: domain.DirectionOut, Type: "text", Content: json.RawMessage(`{"text":"hi"}`), Status: domain.MessageSent, ProviderID: "prov-1",
		CreatedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		ourID string
		state channel.State
		want  string
	}{
		{"our ID, forward", m.ID, channel.StateDelivered, domain.MessageDelivered},
		{"our ID, older", m.ID, channel.StateSent, domain.MessageDelivered},
		{"not our ID, the provider's finds it", "crm-7781", channel.StateRead, domain.MessageRead},
	}
	for _, s := range steps {
		ev := channel.Event{Kind: channel.KindStatus, Channel: e.channel.Type, Timestamp: time.Now(), ProviderID: "prov-1",
			Contact: channel.Contact{Address: "x"}, Status: &channel.Status{State: s.state, OurID: s.ourID, Recipient: "x"}}
		if err := e.r.IngestWebhook(ctx, []channels.Batch{{Channel: e.channel, Events: []channel.Event{ev}}}); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := e.st.MessageGet(ctx, store.Ref{ProjectID: e.project.ID, ID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != s.want {
			t.Fatalf("%s: status %q, want %q", s.name, got.Status, s.want)
		}
	}
}
