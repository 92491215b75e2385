// Package eventhook owns event webhooks: a project's subscriptions to
// Parley's events (message received, message status, session started and
// ended, variable captured, form completed, handoff requested, campaign
// progress), the recording of each event in the transaction of the change
// that caused it (an outbox of deliveries, so nothing acknowledged is
// lost), and the worker that delivers them signed, in order per contact,
// retried with back-off for 24 hours, through the SSRF-guarded HTTP client
// (docs/webhooks.md).
package eventhook

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// The event types a subscription can ask for.
const (
	MessageReceived  = "message.received"
	MessageStatus    = "message.status"
	SessionStarted   = "session.started"
	SessionEnded     = "session.ended"
	VariableCaptured = "variable.captured"
	FormCompleted    = "form.completed"
	HandoffRequested = "handoff.requested"
	CampaignProgress = "campaign.progress"
)

// TypeInfo describes an event type for the API and the UI.
type TypeInfo struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// Types are every event type, in the order the UI lists them.
var Types = []TypeInfo{
	{MessageReceived, "A contact's message was received (any channel)"},
	{MessageStatus, "An outbound message moved to sent, delivered, read or failed"},
	{SessionStarted, "A flow session started for a contact"},
	{SessionEnded, "A flow session ended (completed, expired, failed or interrupted)"},
	{VariableCaptured, "A flow set a session variable (an answer captured, a value computed)"},
	{FormCompleted, "A contact submitted a WhatsApp Flow (form)"},
	{HandoffRequested, "A flow handed the conversation to a person"},
	{CampaignProgress, "A campaign execution's counts changed, or it paused, completed or stopped"},
}

// KnownType reports whether t is an event type (or "*", every type).
func KnownType(t string) bool {
	if t == "*" {
		return true
	}
	for _, ti := range Types {
		if ti.Type == t {
			return true
		}
	}
	return false
}

// Event is one of Parley's events, to record for the project's subscribers.
type Event struct {
	ProjectID string
	Type      string
	// ContactID orders the event among the contact's; empty for events of
	// no contact (campaign progress orders by OrderKey).
	ContactID string
	// OrderKey overrides the order key (default: the contact's ID).
	OrderKey string
	// Data is the event's own object, the payload's "data".
	Data any
	// Fill, when set, completes the event (Data, ContactID), called only
	// when a subscription wants it: what it reads costs nothing for the
	// events nobody subscribed to (most of them, on a busy channel).
	Fill func(e *Event) error
}

// Payload is the JSON body of every delivery: the same for every
// subscription, fixed when the event is recorded.
type Payload struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	ProjectID string    `json:"project_id"`
	ContactID string    `json:"contact_id,omitempty"`
	Data      any       `json:"data"`
}

// Recorder records events in the caller's transaction. A nil *Recorder
// records nothing (hosts and tests without event webhooks).
type Recorder struct {
	clock domain.Clock
	ids   domain.IDGen
	wake  func()
	subs  subsCache
}

// NewRecorder returns a recorder; wake (may be nil) is called after the
// commit of a transaction that recorded deliveries, to wake the worker.
func NewRecorder(clock domain.Clock, ids domain.IDGen, wake func()) *Recorder {
	return &Recorder{clock: clock, ids: ids, wake: wake, subs: subsCache{m: map[string]wanted{}}}
}

// forget drops what the recorder knows of a project's subscriptions, after
// this process changed them: its next event reads them again.
func (r *Recorder) forget(projectID string) {
	if r != nil {
		r.subs.forget(projectID)
	}
}

// Record writes a delivery of each event for every active subscription of
// its project that asked for its type, in the transaction q belongs to.
// With no such subscription it writes nothing.
func (r *Recorder) Record(ctx context.Context, q store.Queries, events ...Event) error {
	if r == nil {
		return nil
	}
	n := 0
	for _, e := range events {
		want, err := r.subs.wants(ctx, q, r.clock.Now(), e.ProjectID)
		if err != nil {
			return fmt.Errorf("recording the %s event: %w", e.Type, err)
		}
		if !want.has(e.Type) {
			continue
		}
		if e.Fill != nil {
			if err := e.Fill(&e); err != nil {
				return fmt.Errorf("recording the %s event: %w", e.Type, err)
			}
		}
		id := r.ids.NewID()
		now := r.clock.Now()
		body, err := json.Marshal(Payload{ID: id, Type: e.Type, CreatedAt: now, ProjectID: e.ProjectID, ContactID: e.ContactID, Data: e.Data})
		if err != nil {
			return fmt.Errorf("encoding the %s event: %w", e.Type, err)
		}
		key := e.OrderKey
		if key == "" {
			key = e.ContactID
		}
		k, err := q.WebhookEventRecord(ctx, store.WebhookEventRecordParams{ProjectID: e.ProjectID, EventID: id, Type: e.Type, OrderKey: key, Payload: body, Now: now})
		if err != nil {
			return fmt.Errorf("recording the %s event: %w", e.Type, err)
		}
		n += k
	}
	if n > 0 && r.wake != nil {
		q.AfterCommit(r.wake)
	}
	return nil
}

// subsTTL is how long a process trusts what it read of a project's
// subscriptions. Most events have no subscriber, and asking the database
// for every one of them was the cost of a statement per message status on
// the busiest path. Changes made through this process's Service apply to
// its next event; other processes see them within subsTTL.
const subsTTL = time.Second

// wanted is what a project's active subscriptions ask for.
type wanted struct {
	all   bool
	types map[string]bool
	at    time.Time
}

func (w wanted) has(t string) bool { return w.all || w.types[t] }

// subsCache remembers each project's wanted types for subsTTL. gen moves on
// every forget, so that a read begun before a change is not kept after it.
type subsCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]wanted
}

func (c *subsCache) wants(ctx context.Context, q store.Queries, now time.Time, projectID string) (wanted, error) {
	c.mu.Lock()
	w, ok := c.m[projectID]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(w.at) < subsTTL && !now.Before(w.at) {
		return w, nil
	}
	subs, err := q.WebhookSubscriptionList(ctx, projectID)
	if err != nil {
		return wanted{}, fmt.Errorf("reading the project's webhook subscriptions: %w", err)
	}
	w = wanted{types: map[string]bool{}, at: now}
	for _, s := range subs {
		if !s.Active {
			continue
		}
		for _, t := range s.Events {
			if t == "*" {
				w.all = true
			}
			w.types[t] = true
		}
	}
	c.mu.Lock()
	if c.gen == gen {
		c.m[projectID] = w
	}
	c.mu.Unlock()
	return w, nil
}

func (c *subsCache) forget(projectID string) {
	c.mu.Lock()
	c.gen++
	delete(c.m, projectID)
	c.mu.Unlock()
}
