package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

const webhookSubCols = `id, project_id, url, events, description, secret_sealed, active, created_at, updated_at`

// eventsColumn stores event names with a comma on each side of every
// name, so one LIKE finds a name; "*" stays as it is.
func eventsColumn(events []string) string {
	if len(events) == 1 && events[0] == "*" {
		return "*"
	}
	return "," + strings.Join(events, ",") + ","
}

func eventsOf(col string) []string {
	if col == "*" {
		return []string{"*"}
	}
	out := []string{}
	for _, e := range strings.Split(strings.Trim(col, ","), ",") {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

func scanWebhookSub(r Row) (store.WebhookSubscription, error) {
	var s store.WebhookSubscription
	var events string
	err := r.Scan(&s.ID, &s.ProjectID, &s.URL, &events, &s.Description, &s.SecretSealed, &s.Active, &s.CreatedAt, &s.UpdatedAt)
	s.Events = eventsOf(events)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, err
}

// WebhookSubscriptionCreate implements store.Queries.
func (q *Queries) WebhookSubscriptionCreate(ctx context.Context, s store.WebhookSubscription) (store.WebhookSubscription, error) {
	out, err := scanWebhookSub(q.w.QueryRow(ctx, `INSERT INTO webhook_subscriptions (`+webhookSubCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+webhookSubCols,
		s.ID, s.ProjectID, s.URL, eventsColumn(s.Events), s.Description, s.SecretSealed, s.Active, s.CreatedAt, s.UpdatedAt))
	return out, q.translate(err, "creating webhook subscription")
}

// WebhookSubscriptionGet implements store.Queries.
func (q *Queries) WebhookSubscriptionGet(ctx context.Context, r store.Ref) (store.WebhookSubscription, error) {
	s, err := scanWebhookSub(q.r.QueryRow(ctx, `SELECT `+webhookSubCols+` FROM webhook_subscriptions WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return s, notFound("webhook subscription", r.ID)
	}
	return s, q.translate(err, "getting webhook subscription")
}

// WebhookSubscriptionUpdate implements store.Queries.
func (q *Queries) WebhookSubscriptionUpdate(ctx context.Context, s store.WebhookSubscription) (store.WebhookSubscription, error) {
	out, err := scanWebhookSub(q.w.QueryRow(ctx, `UPDATE webhook_subscriptions SET url = ?, events = ?, description = ?, secret_sealed = ?,
			active = ?, updated_at = ? WHERE project_id = ? AND id = ? RETURNING `+webhookSubCols,
		s.URL, eventsColumn(s.Events), s.Description, s.SecretSealed, s.Active, s.UpdatedAt, s.ProjectID, s.ID))
	if err == ErrNoRows {
		return out, notFound("webhook subscription", s.ID)
	}
	return out, q.translate(err, "updating webhook subscription")
}

// WebhookSubscriptionDelete implements store.Queries.
func (q *Queries) WebhookSubscriptionDelete(ctx context.Context, r store.Ref) error {
	n, err := q.w.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID)
	if err == nil && n == 0 {
		return notFound("webhook subscription", r.ID)
	}
	return q.translate(err, "deleting webhook subscription")
}

// WebhookSubscriptionList implements store.Queries.
func (q *Queries) WebhookSubscriptionList(ctx context.Context, projectID string) ([]store.WebhookSubscription, error) {
	rows, err := q.r.Query(ctx, `SELECT `+webhookSubCols+` FROM webhook_subscriptions WHERE project_id = ? ORDER BY created_at, id`, projectID)
	items, err := collect(rows, err, func(r Rows) (store.WebhookSubscription, error) { return scanWebhookSub(r) })
	if items == nil {
		items = []store.WebhookSubscription{}
	}
	return items, q.translate(err, "listing webhook subscriptions")
}

// WebhookEventRecord implements store.Queries. The subscriptions are read
// on the transaction's connection (q.w), so a subscription created or
// deactivated by a committed transaction is seen by the next event.
func (q *Queries) WebhookEventRecord(ctx context.Context, p store.WebhookEventRecordParams) (int, error) {
	rows, err := q.w.Query(ctx, `SELECT id FROM webhook_subscriptions WHERE project_id = ? AND active = ? AND (events = '*' OR events LIKE ?)`,
		p.ProjectID, true, "%,"+p.Type+",%")
	subs, err := collect(rows, err, func(r Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return 0, q.translate(err, "finding the event's webhook subscriptions")
	}
	for _, sub := range subs {
		_, err := q.w.Exec(ctx, `INSERT INTO webhook_deliveries (id, project_id, subscription_id, event_id, event_type, order_key, payload,
				state, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
			p.EventID+"."+sub, p.ProjectID, sub, p.EventID, p.Type, p.OrderKey, string(p.Payload), p.Now, p.Now, p.Now)
		if err != nil {
			return 0, q.translate(err, "recording a webhook delivery")
		}
	}
	return len(subs), nil
}

const webhookDeliveryCols = `id, project_id, subscription_id, event_id, event_type, order_key, payload, state, attempts, next_attempt_at,
	last_status, last_error, created_at, updated_at`

func scanWebhookDelivery(r Row) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var payload string
	err := r.Scan(&d.ID, &d.ProjectID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.OrderKey, &payload, &d.State, &d.Attempts,
		&d.NextAttemptAt, &d.LastStatus, &d.LastError, &d.CreatedAt, &d.UpdatedAt)
	d.Payload = []byte(payload)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, err
}

// WebhookDeliveriesClaim implements store.Queries. A claim moves the
// delivery's next attempt to the lease's end: a process that dies while
// delivering leaves it due again then, and no other process takes it
// meanwhile. A pending predecessor (same subscription and order key,
// earlier event) keeps a delivery waiting, leased or not.
func (q *Queries) WebhookDeliveriesClaim(ctx context.Context, p store.WebhookDeliveriesClaimParams) ([]store.WebhookDelivery, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 10
	}
	rows, err := q.r.Query(ctx, `SELECT `+webhookDeliveryCols+` FROM webhook_deliveries d
		WHERE d.state = 'pending' AND d.next_attempt_at <= ?
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE d.order_key <> '' AND e.subscription_id = d.subscription_id
			AND e.order_key = d.order_key AND e.state = 'pending' AND e.event_id < d.event_id)
		ORDER BY d.next_attempt_at, d.event_id LIMIT ?`, p.Now, limit)
	due, err := collect(rows, err, func(r Rows) (store.WebhookDelivery, error) { return scanWebhookDelivery(r) })
	if err != nil {
		return nil, q.translate(err, "finding due webhook deliveries")
	}
	out := due[:0]
	for _, d := range due {
		n, err := q.w.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?`,
			p.LeaseUntil, d.ID, p.Now)
		if err != nil {
			return nil, q.translate(err, "claiming a webhook delivery")
		}
		if n == 1 {
			out = append(out, d)
		}
	}
	return out, nil
}

// WebhookDeliveryGet implements store.Queries.
func (q *Queries) WebhookDeliveryGet(ctx context.Context, r store.Ref) (store.WebhookDelivery, error) {
	d, err := scanWebhookDelivery(q.r.QueryRow(ctx, `SELECT `+webhookDeliveryCols+` FROM webhook_deliveries WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return d, notFound("webhook delivery", r.ID)
	}
	return d, q.translate(err, "getting webhook delivery")
}

// WebhookDeliveryUpdate implements store.Queries.
func (q *Queries) WebhookDeliveryUpdate(ctx context.Context, d store.WebhookDelivery) error {
	n, err := q.w.Exec(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, updated_at = ?
		WHERE project_id = ? AND id = ?`, d.State, d.Attempts, d.NextAttemptAt, d.LastStatus, d.LastError, d.UpdatedAt, d.ProjectID, d.ID)
	if err == nil && n == 0 {
		return notFound("webhook delivery", d.ID)
	}
	return q.translate(err, "updating webhook delivery")
}

// WebhookDeliveryList implements store.Queries.
func (q *Queries) WebhookDeliveryList(ctx context.Context, p store.WebhookDeliveryListParams) (store.List[store.WebhookDelivery], error) {
	where, limit, pargs := pageClause(p.Page, "id")
	args := []any{p.ProjectID}
	cond := ""
	if p.SubscriptionID != "" {
		cond = " AND subscription_id = ?"
		args = append(args, p.SubscriptionID)
	}
	args = append(args, pargs...)
	rows, err := q.r.Query(ctx, `SELECT `+webhookDeliveryCols+` FROM webhook_deliveries WHERE project_id = ?`+cond+where+limit, args...)
	items, err := collect(rows, err, func(r Rows) (store.WebhookDelivery, error) { return scanWebhookDelivery(r) })
	if err != nil {
		return store.List[store.WebhookDelivery]{}, q.translate(err, "listing webhook deliveries")
	}
	return finishPage(items, p.Page, func(d store.WebhookDelivery) string { return d.ID }), nil
}

// WebhookAttemptCreate implements store.Queries.
func (q *Queries) WebhookAttemptCreate(ctx context.Context, a store.WebhookAttempt) error {
	_, err := q.w.Exec(ctx, `INSERT INTO webhook_attempts (id, delivery_id, project_id, manual, url, signature, status_code, response_excerpt,
			error, duration_ms, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.DeliveryID, a.ProjectID, a.Manual, a.URL, a.Signature, a.StatusCode, a.ResponseExcerpt, a.Error, a.DurationMS, a.StartedAt)
	return q.translate(err, "recording a webhook attempt")
}

// WebhookAttemptList implements store.Queries.
func (q *Queries) WebhookAttemptList(ctx context.Context, r store.Ref) ([]store.WebhookAttempt, error) {
	rows, err := q.r.Query(ctx, `SELECT id, delivery_id, project_id, manual, url, signature, status_code, response_excerpt, error, duration_ms, started_at
		FROM webhook_attempts WHERE project_id = ? AND delivery_id = ? ORDER BY started_at, id`, r.ProjectID, r.ID)
	items, err := collect(rows, err, func(r Rows) (store.WebhookAttempt, error) {
		var a store.WebhookAttempt
		err := r.Scan(&a.ID, &a.DeliveryID, &a.ProjectID, &a.Manual, &a.URL, &a.Signature, &a.StatusCode, &a.ResponseExcerpt, &a.Error, &a.DurationMS, &a.StartedAt)
		a.StartedAt = a.StartedAt.UTC()
		return a, err
	})
	if items == nil {
		items = []store.WebhookAttempt{}
	}
	return items, q.translate(err, "listing webhook attempts")
}

// WebhookDeliveriesPurge implements store.Queries.
func (q *Queries) WebhookDeliveriesPurge(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.w.Exec(ctx, `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < ?`, before)
	return n, q.translate(err, "purging webhook deliveries")
}
