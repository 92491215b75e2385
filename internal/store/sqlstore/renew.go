package sqlstore

import (
	"context"

	"github.com/parleyhq/parley/internal/store"
)

// renewChunk bounds the IDs bound in one statement (SQLite's limit on
// variables, PostgreSQL's statement size).
const renewChunk = 500

// ContactEventsRenew implements store.Queries.
func (q *Queries) ContactEventsRenew(ctx context.Context, p store.RenewParams) (int, error) {
	return q.renew(ctx, "contact_events", "seq", "handled_at IS NULL", "contact_id", "due_at", p, "renewing inbox leases")
}

// MessagesRenew implements store.Queries.
func (q *Queries) MessagesRenew(ctx context.Context, p store.RenewParams) (int, error) {
	return q.renew(ctx, "messages", "id", "status = 'queued'", "id", "due_at", p, "renewing send leases")
}

// WebhookDeliveriesRenew implements store.Queries: a claimed delivery's
// lease is its next_attempt_at (see WebhookDeliveriesClaim).
func (q *Queries) WebhookDeliveriesRenew(ctx context.Context, p store.RenewParams) (int, error) {
	return q.renew(ctx, "webhook_deliveries", "id", "state = 'pending'", "id", "next_attempt_at", p, "renewing webhook delivery leases")
}

// renew extends the lease (column due) of table's rows (key pk) that are
// still cond, leased and not already to p.Fresh (p.Until), whose col is
// one of p.IDs, in chunks. On
// PostgreSQL it renews only the rows it can lock at once (SKIP LOCKED, in
// key order): a row locked by another transaction is being claimed,
// handled or sent right now, and a renewal that waited for it could close
// a deadlock with that transaction; the next beat renews what it skipped.
func (q *Queries) renew(ctx context.Context, table, pk, cond, col, due string, p store.RenewParams, doing string) (int, error) {
	where := cond + ` AND ` + due + ` > ? AND ` + due + ` < ? AND ` + col + ` IN (`
	fresh := p.Fresh
	if fresh.IsZero() || fresh.After(p.Until) {
		fresh = p.Until
	}
	total := 0
	for ids := p.IDs; len(ids) > 0; {
		n := min(len(ids), renewChunk)
		args := make([]any, 0, n+3)
		args = append(args, p.Until.UTC(), p.Now.UTC(), fresh.UTC())
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		sql := `UPDATE ` + table + ` SET ` + due + ` = ? WHERE ` + where + placeholders(n) + `)`
		if q.d.Name == "postgres" {
			sql = `UPDATE ` + table + ` SET ` + due + ` = ? WHERE ` + pk + ` IN (SELECT ` + pk + ` FROM ` + table + ` WHERE ` + where + placeholders(n) +
				`) ORDER BY ` + pk + ` FOR UPDATE SKIP LOCKED)`
		}
		affected, err := q.w.Exec(ctx, sql, args...)
		if err != nil {
			return total, q.translate(err, doing)
		}
		total += int(affected)
		ids = ids[n:]
	}
	return total, nil
}
