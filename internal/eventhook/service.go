package eventhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/lease"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
)

// Store is what the service needs of the database.
type Store interface {
	store.EventHooks
	store.Transactor
}

// Deps are the service's dependencies.
type Deps struct {
	Store Store
	Box   *secret.Box
	// HTTP delivers; the host gives the SSRF-guarded client of the HTTP
	// node (internal/httpclient) with the operator's PARLEY_HTTP_ALLOW.
	HTTP   engine.HTTPDoer
	Clock  domain.Clock
	IDs    domain.IDGen
	Logger *slog.Logger
	// Workers deliver in parallel (different contacts); default 4.
	Workers int
	// PollEvery is how often the worker looks for due deliveries without
	// being woken; default 1 s.
	PollEvery time.Duration
	// Retention is how long finished deliveries are kept; default 30 days.
	Retention time.Duration
	// Lease is how long a claimed delivery is kept from other processes
	// (lease.DefaultLease, PARLEY_WORK_LEASE): a heartbeat renews it while
	// the attempt runs, so a dead process's deliveries are taken over a
	// lease and a poll after its last beat.
	Lease time.Duration
}

// Service manages subscriptions and deliveries, and runs the delivery
// worker (Start/Stop).
type Service struct {
	d        Deps
	recorder *Recorder
	wakeCh   chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}
	beat     *lease.Heartbeat
	// held are the deliveries being attempted now, whose leases beat
	// renews.
	heldMu sync.Mutex
	held   map[string]struct{}
}

// New returns the service.
func New(d Deps) *Service {
	if d.Workers <= 0 {
		d.Workers = 4
	}
	if d.PollEvery <= 0 {
		d.PollEvery = time.Second
	}
	if d.Retention <= 0 {
		d.Retention = 30 * 24 * time.Hour
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Lease <= 0 {
		d.Lease = lease.DefaultLease
	}
	s := &Service{d: d, wakeCh: make(chan struct{}, 1), held: map[string]struct{}{}}
	s.beat = lease.NewHeartbeat(lease.HeartbeatConfig{Name: "event webhooks", Settings: lease.Settings{Lease: d.Lease}, Clock: d.Clock,
		Logger: d.Logger, Held: s.heldIDs, Renew: d.Store.WebhookDeliveriesRenew})
	s.recorder = NewRecorder(d.Clock, d.IDs, s.wake)
	return s
}

// Recorder is the recorder the runner and campaigns record events with;
// its commits wake this service's worker.
func (s *Service) Recorder() *Recorder { return s.recorder }

func (s *Service) wake() {
	select {
	case s.wakeCh <- struct{}{}:
	default:
	}
}

// SubscriptionInput creates or changes a subscription.
type SubscriptionInput struct {
	URL         string
	Events      []string
	Description string
	// Active: nil keeps the current value (true for a new subscription).
	Active *bool
}

func (in SubscriptionInput) validate() error {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return domain.Errorf(domain.CodeInvalid, "url: %q is not an http(s) URL with a host", in.URL)
	}
	if len(in.URL) > 2000 {
		return domain.Errorf(domain.CodeInvalid, "url: longer than 2000 characters")
	}
	if len(in.Events) == 0 {
		return domain.Errorf(domain.CodeInvalid, "events: choose at least one event type (or \"*\" for all)")
	}
	for i, e := range in.Events {
		if !KnownType(e) {
			return domain.Errorf(domain.CodeInvalid, "events[%d]: unknown event type %q", i, e)
		}
		if e == "*" && len(in.Events) > 1 {
			return domain.Errorf(domain.CodeInvalid, "events: \"*\" means every event; list it alone")
		}
	}
	return nil
}

func normEvents(ev []string) []string {
	out := slices.Clone(ev)
	slices.Sort(out)
	return slices.Compact(out)
}

// newSecret is a subscription's signing secret: 32 random bytes.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a webhook secret: %w", err)
	}
	return "whsec_" + hex.EncodeToString(b), nil
}

// Create stores a new subscription and returns it with its secret, which
// is shown this once (it is stored sealed).
func (s *Service) Create(ctx context.Context, projectID string, in SubscriptionInput) (store.WebhookSubscription, string, error) {
	if err := in.validate(); err != nil {
		return store.WebhookSubscription{}, "", err
	}
	sec, err := newSecret()
	if err != nil {
		return store.WebhookSubscription{}, "", err
	}
	sealed, err := s.d.Box.Seal(sec)
	if err != nil {
		return store.WebhookSubscription{}, "", fmt.Errorf("sealing the webhook secret: %w", err)
	}
	now := s.d.Clock.Now()
	active := in.Active == nil || *in.Active
	sub, err := s.d.Store.WebhookSubscriptionCreate(ctx, store.WebhookSubscription{ID: s.d.IDs.NewID(), ProjectID: projectID, URL: in.URL,
		Events: normEvents(in.Events), Description: strings.TrimSpace(in.Description), SecretSealed: sealed, Active: active, CreatedAt: now, UpdatedAt: now})
	s.recorder.forget(projectID)
	return sub, sec, err
}

// Get returns a subscription.
func (s *Service) Get(ctx context.Context, r store.Ref) (store.WebhookSubscription, error) {
	return s.d.Store.WebhookSubscriptionGet(ctx, r)
}

// List returns a project's subscriptions.
func (s *Service) List(ctx context.Context, projectID string) ([]store.WebhookSubscription, error) {
	return s.d.Store.WebhookSubscriptionList(ctx, projectID)
}

// Update changes a subscription's URL, events, description or activity.
func (s *Service) Update(ctx context.Context, r store.Ref, in SubscriptionInput) (store.WebhookSubscription, error) {
	if err := in.validate(); err != nil {
		return store.WebhookSubscription{}, err
	}
	sub, err := s.d.Store.WebhookSubscriptionGet(ctx, r)
	if err != nil {
		return sub, err
	}
	sub.URL, sub.Events, sub.Description, sub.UpdatedAt = in.URL, normEvents(in.Events), strings.TrimSpace(in.Description), s.d.Clock.Now()
	if in.Active != nil {
		sub.Active = *in.Active
	}
	defer s.recorder.forget(r.ProjectID)
	return s.d.Store.WebhookSubscriptionUpdate(ctx, sub)
}

// RotateSecret replaces a subscription's secret and returns the new one,
// shown this once. Deliveries from now on are signed with it.
func (s *Service) RotateSecret(ctx context.Context, r store.Ref) (store.WebhookSubscription, string, error) {
	sub, err := s.d.Store.WebhookSubscriptionGet(ctx, r)
	if err != nil {
		return sub, "", err
	}
	sec, err := newSecret()
	if err != nil {
		return sub, "", err
	}
	if sub.SecretSealed, err = s.d.Box.Seal(sec); err != nil {
		return sub, "", fmt.Errorf("sealing the webhook secret: %w", err)
	}
	sub.UpdatedAt = s.d.Clock.Now()
	sub, err = s.d.Store.WebhookSubscriptionUpdate(ctx, sub)
	return sub, sec, err
}

// Delete removes a subscription and its deliveries.
func (s *Service) Delete(ctx context.Context, r store.Ref) error {
	defer s.recorder.forget(r.ProjectID)
	return s.d.Store.WebhookSubscriptionDelete(ctx, r)
}

// Deliveries lists a project's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, p store.WebhookDeliveryListParams) (store.List[store.WebhookDelivery], error) {
	return s.d.Store.WebhookDeliveryList(ctx, p)
}

// Delivery returns a delivery with its attempts, oldest first.
func (s *Service) Delivery(ctx context.Context, r store.Ref) (store.WebhookDelivery, []store.WebhookAttempt, error) {
	d, err := s.d.Store.WebhookDeliveryGet(ctx, r)
	if err != nil {
		return d, nil, err
	}
	at, err := s.d.Store.WebhookAttemptList(ctx, r)
	return d, at, err
}

// Redeliver sends a delivery again now, whatever its state, and records
// the attempt as manual. A success marks it delivered (so a contact's
// later events, if they waited for it, go on); a failure leaves its state
// and schedule as they were.
func (s *Service) Redeliver(ctx context.Context, r store.Ref) (store.WebhookAttempt, error) {
	d, err := s.d.Store.WebhookDeliveryGet(ctx, r)
	if err != nil {
		return store.WebhookAttempt{}, err
	}
	sub, err := s.d.Store.WebhookSubscriptionGet(ctx, store.Ref{ProjectID: d.ProjectID, ID: d.SubscriptionID})
	if err != nil {
		return store.WebhookAttempt{}, err
	}
	a := s.attempt(ctx, sub, d, true)
	err = s.d.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.WebhookAttemptCreate(ctx, a.WebhookAttempt); err != nil {
			return err
		}
		cur, err := q.WebhookDeliveryGet(ctx, r)
		if err != nil {
			return err
		}
		cur.Attempts++
		cur.LastStatus, cur.LastError, cur.UpdatedAt = a.StatusCode, a.Error, a.StartedAt
		if a.ok() {
			cur.State = store.DeliveryDelivered
		}
		return q.WebhookDeliveryUpdate(ctx, cur)
	})
	if err == nil && a.ok() {
		s.wake() // the contact's next event may be free now
	}
	return a.WebhookAttempt, err
}
