package httpapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/store"
)

// EventSubscriptionView is an event webhook subscription; its secret is
// returned only when it is made (Secret, on create and rotate).
type EventSubscriptionView struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	Active      bool      `json:"active"`
	Secret      string    `json:"secret,omitempty" doc:"The signing secret: in the answer to create and rotate only, never again"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func eventSubView(s store.WebhookSubscription, secret string) EventSubscriptionView {
	return EventSubscriptionView{ID: s.ID, URL: s.URL, Events: s.Events, Description: s.Description, Active: s.Active, Secret: secret,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// EventSubscriptionBody sets a subscription.
type EventSubscriptionBody struct {
	URL         string   `json:"url" maxLength:"2000" doc:"Where events are POSTed (http or https; internal addresses only when PARLEY_HTTP_ALLOW lets them in)"`
	Events      []string `json:"events" minItems:"1" maxItems:"20" doc:"Event types (GET /event-types/), or [\"*\"] for every event"`
	Description string   `json:"description,omitempty" maxLength:"500"`
	Active      *bool    `json:"active,omitempty" doc:"Default true; an inactive subscription records nothing new and gives up its pending deliveries"`
}

func (b EventSubscriptionBody) input() eventhook.SubscriptionInput {
	return eventhook.SubscriptionInput{URL: b.URL, Events: b.Events, Description: b.Description, Active: b.Active}
}

// EventSubscriptionPath names a subscription.
type EventSubscriptionPath struct {
	SubscriptionID string `path:"subscription_id" maxLength:"100"`
}

// EventSubscriptionCreateInput creates a subscription.
type EventSubscriptionCreateInput struct {
	Body EventSubscriptionBody
}

// EventSubscriptionUpdateInput changes a subscription.
type EventSubscriptionUpdateInput struct {
	EventSubscriptionPath
	Body EventSubscriptionBody
}

// EventDeliveriesInput pages a subscription's deliveries.
type EventDeliveriesInput struct {
	EventSubscriptionPath
	Limit  int    `query:"limit" minimum:"0" maximum:"500"`
	Cursor string `query:"cursor" maxLength:"200"`
}

// EventDeliveryView is one event on its way to one subscription.
type EventDeliveryView struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	EventID        string          `json:"event_id"`
	EventType      string          `json:"event_type"`
	State          string          `json:"state" enum:"pending,delivered,failed" doc:"pending: to send or retry at next_attempt_at; failed: given up after 24 h"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  *time.Time      `json:"next_attempt_at,omitempty"`
	LastStatus     int             `json:"last_status" doc:"The last answer's HTTP status, 0 when none came"`
	LastError      string          `json:"last_error"`
	Payload        json.RawMessage `json:"payload" doc:"The request body, as sent"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

func eventDeliveryView(d store.WebhookDelivery) EventDeliveryView {
	v := EventDeliveryView{ID: d.ID, SubscriptionID: d.SubscriptionID, EventID: d.EventID, EventType: d.EventType, State: d.State, Attempts: d.Attempts,
		LastStatus: d.LastStatus, LastError: d.LastError, Payload: json.RawMessage(d.Payload), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.State == store.DeliveryPending {
		t := d.NextAttemptAt
		v.NextAttemptAt = &t
	}
	if !json.Valid(v.Payload) {
		v.Payload = json.RawMessage("null")
	}
	return v
}

// EventAttemptView is one request made to deliver an event.
type EventAttemptView struct {
	ID              string    `json:"id"`
	Manual          bool      `json:"manual" doc:"A redelivery someone asked for"`
	URL             string    `json:"url"`
	Signature       string    `json:"signature" doc:"The Parley-Signature header sent"`
	StatusCode      int       `json:"status_code"`
	ResponseExcerpt string    `json:"response_excerpt" doc:"The answer's first KiB"`
	Error           string    `json:"error"`
	DurationMS      int64     `json:"duration_ms"`
	StartedAt       time.Time `json:"started_at"`
}

func eventAttemptView(a store.WebhookAttempt) EventAttemptView {
	return EventAttemptView{ID: a.ID, Manual: a.Manual, URL: a.URL, Signature: a.Signature, StatusCode: a.StatusCode, ResponseExcerpt: a.ResponseExcerpt,
		Error: a.Error, DurationMS: a.DurationMS, StartedAt: a.StartedAt}
}

// EventDeliveryDetail is a delivery with its attempts.
type EventDeliveryDetail struct {
	EventDeliveryView
	AttemptLog []EventAttemptView `json:"attempt_log"`
}

// EventDeliveryPath names a delivery.
type EventDeliveryPath struct {
	DeliveryID string `path:"delivery_id" maxLength:"200"`
}

type eventHookAPI struct{ s *Server }

func (h eventHookAPI) svc() *eventhook.Service { return h.s.deps.EventHooks }

func (h eventHookAPI) ref(ctx context.Context, id string) store.Ref {
	return store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: id}
}

func (h eventHookAPI) types(ctx context.Context, _ *struct{}) (*Body[[]eventhook.TypeInfo], error) {
	return bodyOf(eventhook.Types), nil
}

func (h eventHookAPI) list(ctx context.Context, _ *struct{}) (*ListOutput[EventSubscriptionView], error) {
	l, err := h.svc().List(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	out := store.List[EventSubscriptionView]{Items: make([]EventSubscriptionView, len(l))}
	for i, s := range l {
		out.Items[i] = eventSubView(s, "")
	}
	return listOf(out), nil
}

func (h eventHookAPI) create(ctx context.Context, in *EventSubscriptionCreateInput) (*Body[EventSubscriptionView], error) {
	s, secret, err := h.svc().Create(ctx, principalFrom(ctx).ProjectID, in.Body.input())
	if err != nil {
		return nil, err
	}
	return bodyOf(eventSubView(s, secret)), nil
}

func (h eventHookAPI) get(ctx context.Context, in *EventSubscriptionPath) (*Body[EventSubscriptionView], error) {
	s, err := h.svc().Get(ctx, h.ref(ctx, in.SubscriptionID))
	if err != nil {
		return nil, err
	}
	return bodyOf(eventSubView(s, "")), nil
}

func (h eventHookAPI) update(ctx context.Context, in *EventSubscriptionUpdateInput) (*Body[EventSubscriptionView], error) {
	s, err := h.svc().Update(ctx, h.ref(ctx, in.SubscriptionID), in.Body.input())
	if err != nil {
		return nil, err
	}
	return bodyOf(eventSubView(s, "")), nil
}

func (h eventHookAPI) remove(ctx context.Context, in *EventSubscriptionPath) (*struct{}, error) {
	return nil, h.svc().Delete(ctx, h.ref(ctx, in.SubscriptionID))
}

func (h eventHookAPI) rotate(ctx context.Context, in *EventSubscriptionPath) (*Body[EventSubscriptionView], error) {
	s, secret, err := h.svc().RotateSecret(ctx, h.ref(ctx, in.SubscriptionID))
	if err != nil {
		return nil, err
	}
	return bodyOf(eventSubView(s, secret)), nil
}

func (h eventHookAPI) deliveries(ctx context.Context, in *EventDeliveriesInput) (*ListOutput[EventDeliveryView], error) {
	if _, err := h.svc().Get(ctx, h.ref(ctx, in.SubscriptionID)); err != nil {
		return nil, err
	}
	l, err := h.svc().Deliveries(ctx, store.WebhookDeliveryListParams{ProjectID: principalFrom(ctx).ProjectID, SubscriptionID: in.SubscriptionID,
		Page: store.Page{Limit: in.Limit, After: in.Cursor}})
	if err != nil {
		return nil, err
	}
	out := store.List[EventDeliveryView]{Items: make([]EventDeliveryView, len(l.Items)), Next: l.Next}
	for i, d := range l.Items {
		out.Items[i] = eventDeliveryView(d)
	}
	return listOf(out), nil
}

func (h eventHookAPI) delivery(ctx context.Context, in *EventDeliveryPath) (*Body[EventDeliveryDetail], error) {
	d, attempts, err := h.svc().Delivery(ctx, h.ref(ctx, in.DeliveryID))
	if err != nil {
		return nil, err
	}
	out := EventDeliveryDetail{EventDeliveryView: eventDeliveryView(d), AttemptLog: make([]EventAttemptView, len(attempts))}
	for i, a := range attempts {
		out.AttemptLog[i] = eventAttemptView(a)
	}
	return bodyOf(out), nil
}

func (h eventHookAPI) redeliver(ctx context.Context, in *EventDeliveryPath) (*Body[EventAttemptView], error) {
	a, err := h.svc().Redeliver(ctx, h.ref(ctx, in.DeliveryID))
	if err != nil {
		return nil, err
	}
	return bodyOf(eventAttemptView(a)), nil
}
