package eventhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
)

// Delivery timing.
const (
	// RetryFor is how long a delivery is retried before it is given up.
	RetryFor = 24 * time.Hour
	// FirstRetry is the wait after the first failed attempt; each later
	// one doubles it, up to MaxRetryWait.
	FirstRetry   = 30 * time.Second
	MaxRetryWait = time.Hour
	// RequestTimeout bounds one attempt.
	RequestTimeout = 10 * time.Second
	// excerpt is how much of an answer's body the log keeps.
	excerpt = 1024
)

// Backoff is the wait after the n-th failed attempt (n ≥ 1).
func Backoff(n int) time.Duration {
	d := FirstRetry
	for i := 1; i < n && d < MaxRetryWait; i++ {
		d *= 2
	}
	return min(d, MaxRetryWait)
}

// Start runs the delivery worker until Stop.
func (s *Service) Start(ctx context.Context) error {
	if s.cancel != nil {
		return errors.New("eventhook: already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	if err := s.beat.Start(ctx); err != nil {
		return err
	}
	go s.loop(ctx)
	return nil
}

// Stop stops the worker and waits for attempts in flight.
func (s *Service) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.beat.Stop()
	s.cancel = nil
}

// hold adds (or with false removes) deliveries whose leases the heartbeat
// renews.
func (s *Service) hold(ids []string, on bool) {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	for _, id := range ids {
		if on {
			s.held[id] = struct{}{}
		} else {
			delete(s.held, id)
		}
	}
}

// heldIDs lists the deliveries being attempted now.
func (s *Service) heldIDs() []string {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	out := make([]string, 0, len(s.held))
	for id := range s.held {
		out = append(out, id)
	}
	return out
}

func (s *Service) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.d.PollEvery)
	defer t.Stop()
	var purged time.Time
	for {
		for {
			n, err := s.RunDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.d.Logger.Error("delivering event webhooks", "err", err)
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		if now := s.d.Clock.Now(); now.Sub(purged) > time.Hour {
			purged = now
			if n, err := s.d.Store.WebhookDeliveriesPurge(ctx, now.Add(-s.d.Retention)); err != nil && ctx.Err() == nil {
				s.d.Logger.Error("purging old event webhook deliveries", "err", err)
			} else if n > 0 {
				s.d.Logger.Info("purged old event webhook deliveries", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wakeCh:
		}
	}
}

// RunDue claims the due deliveries for a lease, which the heartbeat renews
// until each attempt is recorded, and makes one attempt at each, several
// at a time (never two of one contact: a contact's next delivery is not
// due while its previous one is pending). It returns how many it tried.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	now := s.d.Clock.Now()
	due, err := s.d.Store.WebhookDeliveriesClaim(ctx, store.WebhookDeliveriesClaimParams{Now: now, LeaseUntil: now.Add(s.d.Lease), Limit: 4 * s.d.Workers})
	if err != nil || len(due) == 0 {
		return 0, err
	}
	ids := make([]string, len(due))
	for i, d := range due {
		ids[i] = d.ID
	}
	s.hold(ids, true)
	defer s.hold(ids, false)
	subs := map[string]*store.WebhookSubscription{}
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, s.d.Workers)
	var wg sync.WaitGroup
	for _, d := range due {
		sub, ok := subs[d.SubscriptionID]
		if !ok {
			g, err := s.d.Store.WebhookSubscriptionGet(ctx, store.Ref{ProjectID: d.ProjectID, ID: d.SubscriptionID})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			sub = &g
			subs[d.SubscriptionID] = sub
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.deliver(ctx, *sub, d); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// deliver makes one attempt at d and records it with what follows: done,
// a retry at the back-off's time, or given up after RetryFor.
func (s *Service) deliver(ctx context.Context, sub store.WebhookSubscription, d store.WebhookDelivery) error {
	var a attempt
	if !sub.Active {
		now := s.d.Clock.Now()
		a = attempt{store.WebhookAttempt{ID: s.d.IDs.NewID(), DeliveryID: d.ID, ProjectID: d.ProjectID, URL: sub.URL,
			Error: "not sent: the subscription is inactive", StartedAt: now}}
	} else {
		a = s.attempt(ctx, sub, d, false)
	}
	d.Attempts++
	d.LastStatus, d.LastError, d.UpdatedAt = a.StatusCode, a.Error, s.d.Clock.Now()
	switch next := a.StartedAt.Add(Backoff(d.Attempts)); {
	case a.ok():
		d.State = store.DeliveryDelivered
	case !sub.Active || next.Sub(d.CreatedAt) > RetryFor:
		d.State = store.DeliveryFailed
	default:
		d.NextAttemptAt = next
	}
	return s.d.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.WebhookAttemptCreate(ctx, a.WebhookAttempt); err != nil {
			return err
		}
		return q.WebhookDeliveryUpdate(ctx, d)
	})
}

// attempt is a recorded attempt; ok when the answer was 2xx.
type attempt struct{ store.WebhookAttempt }

func (a attempt) ok() bool { return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 }

// attempt makes one signed request for d.
func (s *Service) attempt(ctx context.Context, sub store.WebhookSubscription, d store.WebhookDelivery, manual bool) attempt {
	start := s.d.Clock.Now()
	a := attempt{store.WebhookAttempt{ID: s.d.IDs.NewID(), DeliveryID: d.ID, ProjectID: d.ProjectID, Manual: manual, URL: sub.URL, StartedAt: start}}
	sec, err := s.d.Box.Open(sub.SecretSealed)
	if err != nil {
		a.Error = "not sent: the subscription's secret cannot be opened with this server's key"
		return a
	}
	a.Signature = Sign(sec, start, d.Payload)
	req := engine.HTTPRequest{Method: "POST", URL: sub.URL, Body: string(d.Payload), Timeout: RequestTimeout, Headers: []engine.HTTPHeader{
		{Name: "Content-Type", Value: "application/json"},
		{Name: "User-Agent", Value: "Parley-Webhooks/1"},
		{Name: SignatureHeader, Value: a.Signature},
		{Name: "Parley-Event", Value: d.EventType},
		{Name: "Parley-Event-Id", Value: d.EventID},
		{Name: "Parley-Delivery", Value: d.ID},
	}}
	t0 := time.Now()
	resp, err := s.d.HTTP.Do(ctx, req)
	a.DurationMS = time.Since(t0).Milliseconds()
	a.StatusCode = resp.Status
	a.ResponseExcerpt = clip(resp.Body)
	switch {
	case err != nil:
		a.Error = err.Error()
	case !a.ok():
		a.Error = fmt.Sprintf("answered %d", resp.Status)
	}
	return a
}

// clip is the start of an answer's body as valid UTF-8 text.
func clip(b []byte) string {
	if len(b) > excerpt {
		b = b[:excerpt]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
