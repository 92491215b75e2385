package runner

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
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
	// Name is the profile name the channel reports; Phone its E.164 number.
	Name  string
	Phone string
	// ProviderID is the channel's message ID; duplicates are dropped.
	ProviderID string
	// Type and Content are stored as the message (content is JSON).
	Type    string
	Content json.RawMessage
	// Input is what the message means to a waiting flow.
	Input engine.Input
	At    time.Time
	// payload is the inbox event's payload when it was made ahead of the
	// transaction (see eventPayload).
	payload json.RawMessage
}

// eventPayload is the payload of the inbox event the message queues.
func (in *Inbound) eventPayload() json.RawMessage {
	input := in.Input
	return payload{ChannelID: in.ChannelID, Input: &input, Reply: true, Address: in.Address}.raw()
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
func (r *Runner) Receive(ctx context.Context, q store.Queries, in Inbound) (Receipt, error) {
	return r.receive(ctx, q, in, true)
}

// receive stores an inbound message and, when it moves the conversation,
// queues it for its contact.
func (r *Runner) receive(ctx context.Context, q store.Queries, in Inbound, queue bool) (Receipt, error) {
	now := r.d.Clock.Now()
	if in.At.IsZero() {
		in.At = now
	}
	c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: in.ProjectID, Scheme: in.Scheme, Path: in.Address, ChannelID: in.ChannelID,
		NewID: r.d.IDs.NewID(), Name: in.Name, Phone: in.Phone, Inbound: true, Now: now})
	if err != nil {
		return Receipt{}, err
	}
	m, err := q.MessageCreate(ctx, domain.Message{ID: r.d.IDs.NewID(), ProjectID: in.ProjectID, ContactID: c.ID, ChannelID: in.ChannelID,
		Direction: domain.DirectionIn, Type: in.Type, Content: in.Content, Status: domain.MessageReceived, ProviderID: in.ProviderID, CreatedAt: in.At})
	if errors.Is(err, store.ErrConflict) && in.ProviderID != "" {
		return Receipt{ContactID: c.ID, Duplicate: true}, nil // the channel delivered it before
	}
	if err != nil || !queue {
		return Receipt{MessageID: m.ID, ContactID: c.ID}, err
	}
	pl := in.payload
	if pl == nil {
		pl = in.eventPayload()
	}
	ev, err := r.queue(ctx, q, domain.ContactEvent{ProjectID: in.ProjectID, ContactID: c.ID, Kind: domain.EventMessage, MessageID: m.ID,
		Payload: pl})
	return Receipt{MessageID: m.ID, ContactID: c.ID, Seq: ev.Seq}, err
}

// StartParams start a flow for a contact.
type StartParams struct {
	ProjectID string
	FlowID    string
	ContactID string
	ChannelID string
	Vars      map[string]any
	// SessionID is the ID the new session gets (callers make it up front so
	// they can answer with it before the start is processed).
	SessionID string
	// Simulated starts a simulator session; Draft runs the working draft
	// instead of the live revision.
	Simulated bool
	Draft     bool
	// Input is the message that caused the start, if any.
	Input *engine.Input
}

// Start queues a flow start for a contact in the caller's transaction.
func (r *Runner) Start(ctx context.Context, q store.Queries, p StartParams) (domain.ContactEvent, error) {
	return r.queue(ctx, q, domain.ContactEvent{ProjectID: p.ProjectID, ContactID: p.ContactID, Kind: domain.EventStart,
		DedupeKey: "start:" + p.SessionID, Payload: payload{ChannelID: p.ChannelID, FlowID: p.FlowID, Vars: p.Vars, SessionID: p.SessionID,
			Simulated: p.Simulated, Draft: p.Draft, Input: p.Input}.raw()})
}

// Say records a simulator contact's message and queues it for the session,
// in the caller's transaction.
func (r *Runner) Say(ctx context.Context, q store.Queries, s domain.FlowSession, typ string, content json.RawMessage, in engine.Input) (domain.Message, error) {
	m, err := q.MessageCreate(ctx, domain.Message{ID: r.d.IDs.NewID(), ProjectID: s.ProjectID, ContactID: s.ContactID, SessionID: s.ID,
		Direction: domain.DirectionIn, Type: typ, Content: content, Status: domain.MessageReceived, CreatedAt: r.d.Clock.Now()})
	if err != nil {
		return m, err
	}
	_, err = r.queue(ctx, q, domain.ContactEvent{ProjectID: s.ProjectID, ContactID: s.ContactID, Kind: domain.EventMessage, MessageID: m.ID,
		Payload: payload{SessionID: s.ID, Input: &in, Simulated: true, Reply: true}.raw()})
	return m, err
}

// FireTimer queues the session's pending timer now (the simulator's "fire
// timeout"), in the caller's transaction.
func (r *Runner) FireTimer(ctx context.Context, q store.Queries, s domain.FlowSession) error {
	_, err := r.queue(ctx, q, domain.ContactEvent{ProjectID: s.ProjectID, ContactID: s.ContactID, Kind: domain.EventTimer,
		Payload: payload{SessionID: s.ID, Seq: uint32(s.WaitSeq), Simulated: s.Simulated}.raw()})
	return err
}

// SendTemplate queues a template message to a contact outside any flow,
// in the caller's transaction. It is not a reply: opted-out contacts are
// not sent it.
func (r *Runner) SendTemplate(ctx context.Context, q store.Queries, projectID, contactID, channelID string, t engine.Template) (domain.Message, error) {
	c, err := q.ContactGet(ctx, store.Ref{ProjectID: projectID, ID: contactID})
	if err != nil {
		return domain.Message{}, err
	}
	content, err := json.Marshal(engine.Message{Type: engine.MessageTemplate, Template: &t})
	if err != nil {
		return domain.Message{}, err
	}
	m := domain.Message{ID: r.d.IDs.NewID(), ProjectID: projectID, ContactID: contactID, ChannelID: channelID, Direction: domain.DirectionOut,
		Type: string(engine.MessageTemplate), Content: content, Status: domain.MessageQueued, Priority: "bulk", CreatedAt: r.d.Clock.Now()}
	if c.OptedOut {
		m.Status, m.ErrorCode, m.ErrorReason = domain.MessageFailed, "opted_out", "the contact opted out"
	}
	return r.queueSend(ctx, q, m, nil)
}

// AgentSend queues a text written by a person (an agent replying in the
// conversation) on the channel, in the caller's transaction.
func (r *Runner) AgentSend(ctx context.Context, q store.Queries, projectID, contactID, channelID, text string) (domain.Message, error) {
	content, err := json.Marshal(engine.Message{Type: engine.MessageText, Text: text})
	if err != nil {
		return domain.Message{}, err
	}
	m := domain.Message{ID: r.d.IDs.NewID(), ProjectID: projectID, ContactID: contactID, ChannelID: channelID,
		Direction: domain.DirectionOut, Type: string(engine.MessageText), Content: content, Status: domain.MessageQueued, Priority: "reply", CreatedAt: r.d.Clock.Now()}
	return r.queueSend(ctx, q, m, nil)
}

// Release queues the release of a contact's handoff.
func (r *Runner) Release(ctx context.Context, q store.Queries, projectID, contactID string) (domain.ContactEvent, error) {
	return r.queue(ctx, q, domain.ContactEvent{ProjectID: projectID, ContactID: contactID, Kind: domain.EventRelease, Payload: payload{}.raw()})
}

// Interrupt queues the interruption of a session.
func (r *Runner) Interrupt(ctx context.Context, q store.Queries, projectID, contactID, sessionID, reason string) (domain.ContactEvent, error) {
	return r.queue(ctx, q, domain.ContactEvent{ProjectID: projectID, ContactID: contactID, Kind: domain.EventInterrupt,
		Payload: payload{SessionID: sessionID, Reason: reason}.raw()})
}
