package store

import (
	"context"
	"time"
)

// EventHooks are the repository methods of event webhooks: a project's
// subscriptions to Parley's events, the deliveries written in the
// transaction of the change that caused each event, and every attempt to
// deliver them.
type EventHooks interface {
	// WebhookSubscriptionCreate stores a new subscription.
	WebhookSubscriptionCreate(ctx context.Context, s WebhookSubscription) (WebhookSubscription, error)
	WebhookSubscriptionGet(ctx context.Context, r Ref) (WebhookSubscription, error)
	// WebhookSubscriptionUpdate writes URL, events, description, secret,
	// active and updated_at.
	WebhookSubscriptionUpdate(ctx context.Context, s WebhookSubscription) (WebhookSubscription, error)
	// WebhookSubscriptionDelete removes a subscription with its deliveries.
	WebhookSubscriptionDelete(ctx context.Context, r Ref) error
	// WebhookSubscriptionList lists a project's subscriptions, oldest first.
	WebhookSubscriptionList(ctx context.Context, projectID string) ([]WebhookSubscription, error)

	// WebhookEventRecord writes one pending delivery of the event for each
	// active subscription of the project that asked for its type, and
	// returns how many. Called inside the transaction of the change the
	// event reports.
	WebhookEventRecord(ctx context.Context, p WebhookEventRecordParams) (int, error)
	// WebhookDeliveriesClaim claims up to Limit due deliveries (pending,
	// next attempt at or before Now, not leased) that are the oldest
	// pending delivery of their subscription and order key, leasing them
	// until LeaseUntil. A contact's next event waits for the previous one.
	WebhookDeliveriesClaim(ctx context.Context, p WebhookDeliveriesClaimParams) ([]WebhookDelivery, error)
	// WebhookDeliveriesRenew extends to p.Until the leases of the claimed
	// deliveries p.IDs names, where the lease still runs at p.Now and ends
	// before p.Until (as ContactEventsRenew): the process delivering them
	// is alive.
	WebhookDeliveriesRenew(ctx context.Context, p RenewParams) (int, error)
	WebhookDeliveryGet(ctx context.Context, r Ref) (WebhookDelivery, error)
	// WebhookDeliveryUpdate writes state, attempts, next attempt, last
	// status and error, and clears the lease.
	WebhookDeliveryUpdate(ctx context.Context, d WebhookDelivery) error
	// WebhookDeliveryList lists a project's deliveries, newest first,
	// optionally of one subscription.
	WebhookDeliveryList(ctx context.Context, p WebhookDeliveryListParams) (List[WebhookDelivery], error)
	// WebhookAttemptCreate records one attempt to deliver.
	WebhookAttemptCreate(ctx context.Context, a WebhookAttempt) error
	// WebhookAttemptList lists a delivery's attempts, oldest first.
	WebhookAttemptList(ctx context.Context, r Ref) ([]WebhookAttempt, error)
	// WebhookDeliveriesPurge deletes finished (delivered or failed)
	// deliveries last changed before Before, and returns how many.
	WebhookDeliveriesPurge(ctx context.Context, before time.Time) (int64, error)
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookSubscription is a project's subscription to some of Parley's
// events, delivered to URL signed with the (sealed) secret.
type WebhookSubscription struct {
	ID        string
	ProjectID string
	URL       string
	// Events are the event types asked for; ["*"] is every event.
	Events       []string
	Description  string
	SecretSealed string
	Active       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// WebhookEventRecordParams is one event to fan out to subscriptions.
type WebhookEventRecordParams struct {
	ProjectID string
	EventID   string
	Type      string
	// OrderKey groups the events delivered in order: the contact's ID, the
	// campaign execution's, or empty for none.
	OrderKey string
	// Payload is the JSON body every subscription receives.
	Payload []byte
	Now     time.Time
}

// WebhookDeliveriesClaimParams asks for due deliveries.
type WebhookDeliveriesClaimParams struct {
	Now        time.Time
	LeaseUntil time.Time
	Limit      int
}

// WebhookDelivery is one event on its way to one subscription.
type WebhookDelivery struct {
	ID             string
	ProjectID      string
	SubscriptionID string
	EventID        string
	EventType      string
	OrderKey       string
	Payload        []byte
	State          string
	Attempts       int
	NextAttemptAt  time.Time
	LastStatus     int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// WebhookDeliveryListParams selects deliveries to list.
type WebhookDeliveryListParams struct {
	ProjectID string
	// SubscriptionID, when set, lists only that subscription's.
	SubscriptionID string
	Page           Page
}

// WebhookAttempt is one HTTP request made to deliver an event.
type WebhookAttempt struct {
	ID         string
	DeliveryID string
	ProjectID  string
	// Manual: a redelivery someone asked for.
	Manual    bool
	URL       string
	Signature string
	// StatusCode is the answer's status, 0 when none came.
	StatusCode      int
	ResponseExcerpt string
	Error           string
	DurationMS      int64
	StartedAt       time.Time
}
