package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
)

// Inbound is a message from a contact, as a channel adapter normalised it.
type Inbound struct {
	ProjectID string
	ChannelID string
	// Scheme and Address identify the contact on the channel type
	// ("whatsapp" + wa_id).
	Scheme  string
	Address string
	// Name is the profile name the channel reports; Phone its E.164
	// number, which the channel vouches for (the contact is found by it
	// on other channels too).
	Name  string
	Phone string
	// ProviderID is the channel's message ID; duplicates are dropped.
	ProviderID string
	// Type and Content are stored as the message (content is JSON).
	Type    string
	Content json.RawMessage
	// Input is what the message means to a waiting flow.
	Input engine.Input
	// Trigger are the facts special triggers start on (nil: none).
	Trigger *sprint.TriggerFacts
	At      time.Time
	// payload is the inbox event's payload when it was made ahead of the
	// transaction (see eventPayload).
	payload json.RawMessage
}

// eventPayload is the payload of the inbox event the message queues.
func (in *Inbound) eventPayload() json.RawMessage {
	input := in.Input
	return sprint.Payload{ChannelID: in.ChannelID, Input: &input, Reply: true, Address: in.Address, Trigger: in.Trigger}.Raw()
}

// Receipt says what Receive stored.
type Receipt struct {
	MessageID string
	ContactID string
	// Duplicate: the channel delivered this message before; nothing new
	// was stored.
	Duplicate bool
	// Seq is the message's place in the contact's inbox.
	Seq int64
}

// Receive stores an inbound message and queues it for its contact, in the
// caller's transaction: once that commits, the message will be processed
// exactly once. Re-deliveries are reported as duplicates.
func (box *Inbox) Receive(ctx context.Context, q store.Queries, in Inbound) (Receipt, error) {
	return box.receive(ctx, q, in, true)
}

// receive stores an inbound message and, when it moves the conversation,
// queues it for its contact.
func (box *Inbox) receive(ctx context.Context, q store.Queries, in Inbound, queue bool) (Receipt, error) {
	now := box.c.Clock.Now()
	if in.At.IsZero() {
		in.At = now
	}
	c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: in.ProjectID, Scheme: in.Scheme, Path: in.Address, ChannelID: in.ChannelID,
		NewID: box.c.IDs.NewID(), Name: in.Name, Phone: in.Phone, PhoneVerified: in.Phone != "", Inbound: true, Now: now})
	if err != nil {
		return Receipt{}, err
	}
	msg := domain.Message{ID: box.c.IDs.NewID(), ProjectID: in.ProjectID, ContactID: c.ID, ChannelID: in.ChannelID,
		Direction: domain.DirectionIn, Type: in.Type, Content: in.Content, Status: domain.MessageReceived, ProviderID: in.ProviderID, CreatedAt: in.At}
	var m domain.Message
	var ev domain.ContactEvent
	var read *store.ContactInbox
	if queue {
		// The message and its event in one round trip.
		pl := in.payload
		if pl == nil {
			pl = in.eventPayload()
		}
		var r store.Received
		r, err = q.MessageReceive(ctx, store.MessageReceiveParams{Message: msg,
			Event: box.stamped(domain.ContactEvent{ProjectID: in.ProjectID, ContactID: c.ID, Kind: domain.EventMessage, Payload: pl}, now), ReadInbox: batch})
		m, ev, read = r.Message, r.Event, r.Inbox
	} else {
		m, err = q.MessageCreate(ctx, msg)
	}
	if errors.Is(err, store.ErrConflict) && in.ProviderID != "" {
		return Receipt{ContactID: c.ID, Duplicate: true}, nil // the channel delivered it before
	}
	if err != nil {
		return Receipt{MessageID: msg.ID, ContactID: c.ID}, err
	}
	if err := box.c.Events.Record(ctx, q, receivedEvents(in, m)...); err != nil {
		return Receipt{}, err
	}
	if queue {
		box.notifyRead(q, ev, read)
	}
	return Receipt{MessageID: m.ID, ContactID: c.ID, Seq: ev.Seq}, nil
}

// StartParams start a flow for a contact.
type StartParams struct {
	ProjectID string
	FlowID    string
	ContactID string
	ChannelID string
	Vars      map[string]any
	// Row is a campaign's dataset row (the flow reads it as {{column}}).
	Row map[string]any
	// SessionID is the ID the new session gets (callers make it up front so
	// they can answer with it before the start is processed).
	SessionID string
	// Simulated starts a simulator session; Draft runs the working draft
	// instead of the live revision.
	Simulated bool
	Draft     bool
	// Input is the message that caused the start, if any.
	Input *engine.Input
	// Address is the contact's address on ChannelID when the caller knows
	// it (a campaign's row): the flow's templates go there without reading
	// the contact's addresses.
	Address string
}

// StartFlow queues a flow start for a contact in the caller's transaction.
// The start has no dedupe key: its session ID is new (callers make it with
// the ID generator; a repeated API request is refused by its idempotency
// key, a campaign row by its recipient claim), and the session's primary
// key refuses a second session of that ID anyway. A key would cost every
// start an entry in the events' unique index, whose pages outlive the
// handled events on PostgreSQL.
func (box *Inbox) StartFlow(ctx context.Context, q store.Queries, p StartParams) (domain.ContactEvent, error) {
	return box.Queue(ctx, q, domain.ContactEvent{ProjectID: p.ProjectID, ContactID: p.ContactID, Kind: domain.EventStart,
		Payload: sprint.Payload{ChannelID: p.ChannelID, FlowID: p.FlowID, Vars: p.Vars, Row: p.Row, SessionID: p.SessionID,
			Simulated: p.Simulated, Draft: p.Draft, Input: p.Input, Address: p.Address}.Raw()})
}

// Delivery is something for a known contact's session that did not come
// through a channel's webhook: a voice call's result.
type Delivery struct {
	ProjectID, ContactID, ChannelID, SessionID string
	// Type and Content are stored as an inbound message; ProviderID makes
	// a second delivery of the same thing a duplicate.
	Type       string
	Content    json.RawMessage
	ProviderID string
	Input      engine.Input
	Simulated  bool
}

// Deliver records d as an inbound message of its contact and queues it
// for d's session, in the caller's transaction. A second delivery with the
// same ProviderID stores nothing and reports Duplicate.
func (box *Inbox) Deliver(ctx context.Context, q store.Queries, d Delivery) (Receipt, error) {
	m, err := q.MessageCreate(ctx, domain.Message{ID: box.c.IDs.NewID(), ProjectID: d.ProjectID, ContactID: d.ContactID, ChannelID: d.ChannelID,
		SessionID: d.SessionID, Direction: domain.DirectionIn, Type: d.Type, Content: d.Content, Status: domain.MessageReceived,
		ProviderID: d.ProviderID, CreatedAt: box.c.Clock.Now()})
	if errors.Is(err, store.ErrConflict) && d.ProviderID != "" {
		return Receipt{ContactID: d.ContactID, Duplicate: true}, nil
	}
	if err != nil {
		return Receipt{}, err
	}
	in := d.Input
	ev, err := box.Queue(ctx, q, domain.ContactEvent{ProjectID: d.ProjectID, ContactID: d.ContactID, Kind: domain.EventMessage, MessageID: m.ID,
		Payload: sprint.Payload{ChannelID: d.ChannelID, SessionID: d.SessionID, Input: &in, Simulated: d.Simulated}.Raw()})
	return Receipt{MessageID: m.ID, ContactID: d.ContactID, Seq: ev.Seq}, err
}

// Say records a simulator contact's message and queues it for the session,
// in the caller's transaction.
func (box *Inbox) Say(ctx context.Context, q store.Queries, s domain.FlowSession, typ string, content json.RawMessage, in engine.Input) (domain.Message, error) {
	m, err := q.MessageCreate(ctx, domain.Message{ID: box.c.IDs.NewID(), ProjectID: s.ProjectID, ContactID: s.ContactID, SessionID: s.ID,
		Direction: domain.DirectionIn, Type: typ, Content: content, Status: domain.MessageReceived, CreatedAt: box.c.Clock.Now()})
	if err != nil {
		return m, err
	}
	_, err = box.Queue(ctx, q, domain.ContactEvent{ProjectID: s.ProjectID, ContactID: s.ContactID, Kind: domain.EventMessage, MessageID: m.ID,
		Payload: sprint.Payload{SessionID: s.ID, Input: &in, Simulated: true, Reply: true}.Raw()})
	return m, err
}

// FireTimer queues the session's pending timer now (the simulator's "fire
// timeout"), in the caller's transaction.
func (box *Inbox) FireTimer(ctx context.Context, q store.Queries, s domain.FlowSession) error {
	_, err := box.Queue(ctx, q, domain.ContactEvent{ProjectID: s.ProjectID, ContactID: s.ContactID, Kind: domain.EventTimer,
		Payload: sprint.Payload{SessionID: s.ID, Seq: uint32(s.WaitSeq), Simulated: s.Simulated}.Raw()})
	return err
}

// Release queues the release of a contact's handoff.
func (box *Inbox) Release(ctx context.Context, q store.Queries, projectID, contactID string) (domain.ContactEvent, error) {
	return box.Queue(ctx, q, domain.ContactEvent{ProjectID: projectID, ContactID: contactID, Kind: domain.EventRelease, Payload: sprint.Payload{}.Raw()})
}

// Interrupt queues the interruption of a session.
func (box *Inbox) Interrupt(ctx context.Context, q store.Queries, projectID, contactID, sessionID, reason string) (domain.ContactEvent, error) {
	return box.Queue(ctx, q, domain.ContactEvent{ProjectID: projectID, ContactID: contactID, Kind: domain.EventInterrupt,
		Payload: sprint.Payload{SessionID: sessionID, Reason: reason}.Raw()})
}

// receivedEvents are the event webhooks' events of a stored inbound
// message: message.received, and form.completed for a submitted form.
func receivedEvents(in Inbound, m domain.Message) []eventhook.Event {
	data := map[string]any{"message_id": m.ID, "contact_id": m.ContactID, "channel_id": m.ChannelID, "channel_type": in.Scheme,
		"address": in.Address, "type": in.Type, "text": in.Input.Text, "provider_id": in.ProviderID, "received_at": in.At}
	if in.Input.MediaURL != "" {
		data["media_url"] = in.Input.MediaURL
	}
	evs := []eventhook.Event{{ProjectID: in.ProjectID, ContactID: m.ContactID, Type: eventhook.MessageReceived, Data: data}}
	if in.Input.Kind == engine.InputFlow {
		evs = append(evs, eventhook.Event{ProjectID: in.ProjectID, ContactID: m.ContactID, Type: eventhook.FormCompleted, Data: map[string]any{
			"message_id": m.ID, "contact_id": m.ContactID, "channel_id": m.ChannelID, "flow_token": in.Input.Token, "response": in.Input.Data}})
	}
	return evs
}
