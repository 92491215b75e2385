// Package conversation is the service under the HTTP handlers (and, later,
// campaigns and AI) for what people and programs do to a contact's
// conversation: start a flow for a contact (by ID or phone number, once
// per Idempotency-Key), reply as an agent, release a handoff, interrupt a
// session, edit a contact, and drive the simulator. Each action is queued
// in the contact's inbox in one transaction with what it records, then
// handled at once when possible so the caller sees its outcome; if that
// fails the runner handles it shortly, nothing is lost.
package conversation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/store"
)

// Service acts on conversations through the runner.
type Service struct {
	st     store.Store
	run    *runner.Runner
	flows  *chatflow.Service
	clock  domain.Clock
	ids    domain.IDGen
	logger *slog.Logger
}

// New returns a Service.
func New(st store.Store, run *runner.Runner, flows *chatflow.Service, clock domain.Clock, ids domain.IDGen, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, run: run, flows: flows, clock: clock, ids: ids, logger: logger}
}

// Outcome is an action queued for a contact and what became of it.
type Outcome struct {
	ContactID string
	// Seq is the event's place in the contact's inbox.
	Seq int64
	// Handled is false when the event is still queued (the runner handles
	// it shortly).
	Handled bool
	// Result is what handling it did, e.g. "resumed session".
	Result string
}

// Settle handles the contact's inbox now, so the caller sees the outcome
// of the event it queued; if that fails the runner does it later, nothing
// is lost.
func (s *Service) Settle(ctx context.Context, ev domain.ContactEvent) Outcome {
	out := Outcome{ContactID: ev.ContactID, Seq: ev.Seq}
	if err := s.run.ProcessContact(ctx, ev.ProjectID, ev.ContactID); err != nil {
		s.logger.Warn("handling a contact's inbox inline failed; it will be retried", "contact", ev.ContactID, "err", err)
		return out
	}
	if h, err := s.st.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: ev.ProjectID, Seq: ev.Seq}); err == nil && h.HandledAt != nil {
		out.Handled, out.Result = true, h.Result
	}
	return out
}

// queue queues an event in a transaction of its own and settles it.
func (s *Service) queue(ctx context.Context, add func(q store.Queries) (domain.ContactEvent, error)) (Outcome, error) {
	var ev domain.ContactEvent
	err := s.st.InTx(ctx, func(q store.Queries) error {
		var err error
		ev, err = add(q)
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	return s.Settle(ctx, ev), nil
}

// Release gives a contact's conversation back to the bot (the handoff
// node's released exit).
func (s *Service) Release(ctx context.Context, projectID, contactID string) (Outcome, error) {
	return s.queue(ctx, func(q store.Queries) (domain.ContactEvent, error) {
		return s.run.Inbox.Release(ctx, q, projectID, contactID)
	})
}

// Interrupt stops a live session; reason is recorded as its end reason.
func (s *Service) Interrupt(ctx context.Context, projectID, sessionID, reason string) (Outcome, error) {
	sess, err := s.st.SessionGet(ctx, store.Ref{ProjectID: projectID, ID: sessionID})
	if err != nil {
		return Outcome{}, err
	}
	if !domain.SessionLive(sess.Status) {
		return Outcome{}, domain.Errorf(domain.CodeConflict, "the session already ended (%s)", sess.Status)
	}
	if reason == "" {
		reason = "interrupted through the API"
	}
	return s.queue(ctx, func(q store.Queries) (domain.ContactEvent, error) {
		return s.run.Inbox.Interrupt(ctx, q, projectID, sess.ContactID, sess.ID, reason)
	})
}

// ReplyParams are an agent's message to a contact.
type ReplyParams struct {
	ProjectID string
	ContactID string
	// ChannelID defaults to the channel the contact last wrote on.
	ChannelID string
	Text      string
}

// Reply queues a message written by a person (an agent) to the contact.
func (s *Service) Reply(ctx context.Context, p ReplyParams) (domain.Message, error) {
	channelID := p.ChannelID
	urns, err := s.st.ContactURNs(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ContactID})
	if err != nil {
		return domain.Message{}, err
	}
	simulated := false
	for _, u := range urns {
		simulated = simulated || u.Scheme == SimulatorScheme
	}
	if channelID == "" && !simulated {
		var last time.Time
		for _, u := range urns {
			if u.ChannelID != "" && (u.LastInboundAt == nil && last.IsZero() || u.LastInboundAt != nil && u.LastInboundAt.After(last)) {
				channelID = u.ChannelID
				if u.LastInboundAt != nil {
					last = *u.LastInboundAt
				}
			}
		}
		if channelID == "" {
			return domain.Message{}, domain.Invalid("/channel_id", "the contact has no channel to reply on; name one in channel_id")
		}
	}
	if channelID != "" || !simulated {
		if _, err := s.st.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: channelID}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return domain.Message{}, domain.Invalid("/channel_id", "channel %q not found", channelID)
			}
			return domain.Message{}, err
		}
	}
	if simulated {
		// Queued, it could only fail: no channel reaches a made-up contact.
		return domain.Message{}, domain.Errorf(domain.CodeUnprocessable, "this contact is the simulator's: an agent message cannot reach it (answer in the simulator instead)")
	}
	var m domain.Message
	err = s.st.InTx(ctx, func(q store.Queries) error {
		var err error
		m, err = s.run.Outbox.AgentSend(ctx, q, p.ProjectID, p.ContactID, channelID, p.Text)
		return err
	})
	return m, err
}

// ContactChanges edit a contact; nil fields are left as they are, fields
// and tags are replaced whole.
type ContactChanges struct {
	Name     *string
	Language *string
	Fields   map[string]any
	Tags     []string
	OptedOut *bool
	Assignee *string
}

// UpdateContact applies changes to a contact, serialised with the sprints
// that change it too (its row is locked).
func (s *Service) UpdateContact(ctx context.Context, projectID, contactID string, ch ContactChanges) (domain.Contact, error) {
	var out domain.Contact
	err := s.st.InTx(ctx, func(q store.Queries) error {
		if err := q.ContactLock(ctx, store.Ref{ProjectID: projectID, ID: contactID}); err != nil {
			return err
		}
		c, err := q.ContactGet(ctx, store.Ref{ProjectID: projectID, ID: contactID})
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if ch.Name != nil {
			c.Name = strings.TrimSpace(*ch.Name)
		}
		if ch.Language != nil {
			c.Language = *ch.Language
		}
		if ch.Fields != nil {
			c.Fields = ch.Fields
		}
		if ch.Tags != nil {
			c.Tags = ch.Tags
		}
		if ch.OptedOut != nil && *ch.OptedOut != c.OptedOut {
			c.OptedOut = *ch.OptedOut
			c.OptedOutAt = nil
			if c.OptedOut {
				c.OptedOutAt = &now
			}
		}
		if ch.Assignee != nil {
			c.Assignee = *ch.Assignee
		}
		c.UpdatedAt = now
		out, err = q.ContactUpdate(ctx, c)
		return err
	})
	return out, err
}

// MergeContacts makes contact fromID part of contact intoID: its addresses,
// messages, pending events and session move over and fromID is deleted
// (store.ContactMerge), so the conversation view shows every channel's
// messages in one timeline. Events that were waiting in fromID's inbox are
// handled now as intoID's.
func (s *Service) MergeContacts(ctx context.Context, projectID, intoID, fromID string) (domain.Contact, error) {
	var out domain.Contact
	err := s.st.InTx(ctx, func(q store.Queries) error {
		var err error
		out, err = q.ContactMerge(ctx, store.ContactMergeParams{ProjectID: projectID, IntoID: intoID, FromID: fromID, Now: s.clock.Now()})
		return err
	})
	if err != nil {
		return out, err
	}
	if err := s.run.ProcessContact(ctx, projectID, intoID); err != nil {
		s.logger.Warn("handling a merged contact's inbox inline failed; it will be retried", "contact", intoID, "err", err)
	}
	return out, nil
}

// StartParams start a published flow for a contact.
type StartParams struct {
	ProjectID string
	FlowID    string
	// ContactID names the contact; or Phone (E.164, or local with
	// Country) finds or creates one on the channel, named Name.
	ContactID string
	Phone     string
	Country   string
	Name      string
	// ChannelID is the channel the flow talks on.
	ChannelID string
	Vars      map[string]any
	// IdempotencyKey, when given, makes a repeated start answer with the
	// first one's session and start nothing.
	IdempotencyKey string
}

// Started is a start's outcome.
type Started struct {
	// SessionID is the ID the session has (or will have, while queued).
	SessionID string
	Outcome
	// Status is the session's status once handled, or "queued".
	Status string
}

// errRepeated: the Idempotency-Key was used before.
var errRepeated = errors.New("repeated request")

// idempotentStart is what an Idempotency-Key remembers of a start.
type idempotentStart struct {
	SessionID string `json:"session_id"`
	ContactID string `json:"contact_id"`
}

// idempotencyScope prefixes the keys of flow starts.
const idempotencyScope = "flow-start:"

// StartFlow starts a published flow for a contact.
func (s *Service) StartFlow(ctx context.Context, p StartParams) (Started, error) {
	ch, err := s.st.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ChannelID})
	if errors.Is(err, store.ErrNotFound) {
		return Started{}, domain.Invalid("/channel_id", "channel %q not found; list channels with GET /channels/", p.ChannelID)
	}
	if err != nil {
		return Started{}, err
	}
	sessionID := s.ids.NewID()
	var ev domain.ContactEvent
	err = s.st.InTx(ctx, func(q store.Queries) error {
		contactID, err := s.EnsureContact(ctx, q, ch, ContactRef{ContactID: p.ContactID, Phone: p.Phone, Country: p.Country, Name: p.Name})
		if err != nil {
			return err
		}
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.FlowID})
		if err != nil {
			return err
		}
		if f.Status != store.FlowPublished {
			return domain.Errorf(domain.CodeConflict, "flow %q is not published; publish it before starting it", f.Name)
		}
		if p.IdempotencyKey != "" {
			// Claimed in the same transaction as the start: of two requests
			// with one key, exactly one starts anything.
			raw, _ := json.Marshal(idempotentStart{SessionID: sessionID, ContactID: contactID})
			if err := q.IdempotencyPut(ctx, store.IdempotencyPutParams{ProjectID: p.ProjectID, Key: idempotencyScope + p.IdempotencyKey, Response: raw, Now: s.clock.Now()}); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return errRepeated
				}
				return err
			}
		}
		ev, err = s.run.StartFlow(ctx, q, runner.StartParams{ProjectID: p.ProjectID, FlowID: p.FlowID, ContactID: contactID, ChannelID: ch.ID,
			Vars: p.Vars, SessionID: sessionID})
		return err
	})
	if errors.Is(err, errRepeated) {
		return s.repeatedStart(ctx, p.ProjectID, p.IdempotencyKey)
	}
	if err != nil {
		return Started{}, err
	}
	out := Started{SessionID: sessionID, Outcome: s.Settle(ctx, ev), Status: "queued"}
	if sess, err := s.st.SessionGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: sessionID}); err == nil {
		out.Status = sess.Status
	}
	return out, nil
}

// repeatedStart answers a repeated request with the first one's session,
// as it is now.
func (s *Service) repeatedStart(ctx context.Context, projectID, key string) (Started, error) {
	raw, err := s.st.IdempotencyGet(ctx, store.IdempotencyKey{ProjectID: projectID, Key: idempotencyScope + key})
	if err != nil {
		return Started{}, err
	}
	var first idempotentStart
	if err := json.Unmarshal(raw, &first); err != nil {
		return Started{}, fmt.Errorf("reading what Idempotency-Key %q remembers: %w", key, err)
	}
	out := Started{SessionID: first.SessionID, Outcome: Outcome{ContactID: first.ContactID}, Status: "queued"}
	if sess, err := s.st.SessionGet(ctx, store.Ref{ProjectID: projectID, ID: first.SessionID}); err == nil {
		out.Status, out.Handled, out.Result = sess.Status, true, "repeated request: the first request started this session"
	}
	return out, nil
}

// ContactRef names a contact: by ID, or by phone number (E.164, or local
// with Country) on a channel, with the Name a new contact gets.
type ContactRef struct {
	ContactID string
	Phone     string
	Country   string
	Name      string
}

// EnsureContact is the ID of the contact ref names, in ch's project, in
// the caller's transaction; a phone number no contact has yet on the
// channel creates one.
func (s *Service) EnsureContact(ctx context.Context, q store.Queries, ch domain.Channel, ref ContactRef) (string, error) {
	if (ref.ContactID == "") == (ref.Phone == "") {
		return "", domain.Invalid("/contact_id", "give either contact_id or phone")
	}
	if ref.ContactID != "" {
		if _, err := q.ContactGet(ctx, store.Ref{ProjectID: ch.ProjectID, ID: ref.ContactID}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", domain.Invalid("/contact_id", "contact %q not found", ref.ContactID)
			}
			return "", err
		}
		return ref.ContactID, nil
	}
	e164, err := NormalizePhone(ref.Phone, ref.Country)
	if err != nil {
		return "", domain.Invalid("/phone", "%v", err)
	}
	c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: ch.ProjectID, Scheme: ch.Type, Path: strings.TrimPrefix(e164, "+"),
		ChannelID: ch.ID, NewID: s.ids.NewID(), Name: ref.Name, Phone: e164, Now: s.clock.Now()})
	return c.ID, err
}

// NormalizePhone returns a phone number in E.164; country (ISO 3166, e.g.
// "PT") reads numbers written without their country code.
func NormalizePhone(raw, country string) (string, error) {
	num, err := phonenumbers.Parse(raw, strings.ToUpper(country))
	if err != nil {
		return "", fmt.Errorf("\"%s\" is not a phone number: %w (use E.164 like +15551234567, or give default_country)", raw, err)
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", fmt.Errorf("\"%s\" is not a possible phone number", raw)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// TemplateSendParams send an approved template to a contact on a channel,
// or start the published flow whose start template it is (FlowID).
type TemplateSendParams struct {
	Channel  domain.Channel
	Contact  ContactRef
	FlowID   string
	Template engine.Template
}

// TemplateSent is what SendTemplate did: the message queued, or the
// session started (SessionID) and its status.
type TemplateSent struct {
	ContactID string
	SessionID string
	Message   domain.Message
	// Status is the message's status, or the session's once handled (or
	// "queued").
	Status string
}

// SendTemplate finds (or creates) the contact and queues the template or
// starts the flow, in one transaction; a started flow is run at once.
func (s *Service) SendTemplate(ctx context.Context, p TemplateSendParams) (TemplateSent, error) {
	ch := p.Channel
	var out TemplateSent
	if p.FlowID != "" {
		out.SessionID = s.ids.NewID()
	}
	var ev domain.ContactEvent
	err := s.st.InTx(ctx, func(q store.Queries) error {
		contactID, err := s.EnsureContact(ctx, q, ch, p.Contact)
		if err != nil {
			return err
		}
		out.ContactID = contactID
		if p.FlowID != "" {
			ev, err = s.run.StartFlow(ctx, q, runner.StartParams{ProjectID: ch.ProjectID, FlowID: p.FlowID, ContactID: contactID, ChannelID: ch.ID,
				SessionID: out.SessionID})
			return err
		}
		out.Message, err = s.run.Outbox.SendTemplate(ctx, q, ch.ProjectID, contactID, ch.ID, p.Template)
		return err
	})
	if err != nil {
		return TemplateSent{}, err
	}
	out.Status = out.Message.Status
	if p.FlowID != "" {
		s.Settle(ctx, ev)
		out.Status = "queued"
		if sess, err := s.st.SessionGet(ctx, store.Ref{ProjectID: ch.ProjectID, ID: out.SessionID}); err == nil {
			out.Status = sess.Status
		}
	}
	return out, nil
}
