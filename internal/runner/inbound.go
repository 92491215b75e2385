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
	now := r.d.Clock.Now()
	if in.At.IsZero() {
		in.At = now
	}
	c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: in.ProjectID, Scheme: in.Scheme, Path: in.Address, ChannelID: in.ChannelID,
		NewID: r.d.IDs.NewID(), Name: in.Name, Phone: in.Phone, Inbound: true, Now: now})
	if err != nil {
		return Receipt{}, err
	}
	if in.ProviderID != "" {
		if _, err := q.MessageGetByProviderID(ctx, in.ChannelID, domain.DirectionIn, in.ProviderID); err == nil {
			return Receipt{ContactID: c.ID, Duplicate: true}, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return Receipt{}, err
		}
	}
	m, err := q.MessageCreate(ctx, domain.Message{ID: r.d.IDs.NewID(), ProjectID: in.ProjectID, ContactID: c.ID, ChannelID: in.ChannelID,
		Direction: domain.DirectionIn, Type: in.Type, Content: in.Content, Status: domain.MessageReceived, ProviderID: in.ProviderID, CreatedAt: in.At})
	if err != nil {
		return Receipt{}, err
	}
	input := in.Input
	ev, err := r.queue(ctx, q, domain.ContactEvent{ProjectID: in.ProjectID, ContactID: c.ID, Kind: domain.EventMessage, MessageID: m.ID,
		Payload: payload{ChannelID: in.ChannelID, Input: &input, Reply: true}.raw()})
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
}

// Start queues a flow start for a contact in the caller's transaction.
func (r *Runner) Start(ctx context.Context, q store.Queries, p StartParams) (domain.ContactEvent, error) {
	return r.queue(ctx, q, domain.ContactEvent{ProjectID: p.ProjectID, ContactID: p.ContactID, Kind: domain.EventStart,
		DedupeKey: "start:" + p.SessionID, Payload: payload{ChannelID: p.ChannelID, FlowID: p.FlowID, Vars: p.Vars, SessionID: p.SessionID}.raw()})
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
