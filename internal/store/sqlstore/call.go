package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/parleyhq/parley/internal/store"
)

const callCols = `id, project_id, channel_id, contact_id, session_id, token, direction, from_number, to_number, request, status,
	provider_id, owner, lease_until, result, simulated, created_at, updated_at, ended_at`

func scanCall(r Row) (store.Call, error) {
	var c store.Call
	var req, res string
	err := r.Scan(&c.ID, &c.ProjectID, &c.ChannelID, &c.ContactID, &c.SessionID, &c.Token, &c.Direction, &c.From, &c.To, &req, &c.Status,
		&c.ProviderID, &c.Owner, &c.LeaseUntil, &res, &c.Simulated, &c.CreatedAt, &c.UpdatedAt, &c.EndedAt)
	c.Request = json.RawMessage(req)
	if res != "" {
		c.Result = json.RawMessage(res)
	}
	c.LeaseUntil, c.EndedAt = utcPtr(c.LeaseUntil), utcPtr(c.EndedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

// CallCreate implements store.Queries.
func (q *Queries) CallCreate(ctx context.Context, c store.Call) error {
	req := string(c.Request)
	if req == "" {
		req = "{}"
	}
	_, err := q.w.Exec(ctx, `INSERT INTO voice_calls (`+callCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ProjectID, c.ChannelID, c.ContactID, c.SessionID, c.Token, c.Direction, c.From, c.To, req, c.Status,
		c.ProviderID, c.Owner, utcPtr(c.LeaseUntil), string(c.Result), c.Simulated, c.CreatedAt.UTC(), c.UpdatedAt.UTC(), utcPtr(c.EndedAt))
	return q.translate(err, "creating voice call")
}

// CallGet implements store.Queries.
func (q *Queries) CallGet(ctx context.Context, r store.Ref) (store.Call, error) {
	c, err := scanCall(q.r.QueryRow(ctx, `SELECT `+callCols+` FROM voice_calls WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return c, notFound("voice call", r.ID)
	}
	return c, q.translate(err, "getting voice call")
}

// CallClaim implements store.Queries.
func (q *Queries) CallClaim(ctx context.Context, p store.CallClaimParams) ([]store.Call, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 10
	}
	skip, args := "", []any{store.CallQueued, p.Owner}
	if len(p.SkipChannels) > 0 {
		skip = ` AND channel_id NOT IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(p.SkipChannels)), ", ") + `)`
		for _, ch := range p.SkipChannels {
			args = append(args, ch)
		}
	}
	args = append(args, limit)
	ids, err := queryAll(ctx, q.w, func(r Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT id FROM voice_calls WHERE status = ? AND owner IN ('', ?)`+skip+` ORDER BY created_at, id LIMIT ?`, args...)
	if err != nil {
		return nil, q.translate(err, "listing queued voice calls")
	}
	out := []store.Call{}
	for _, id := range ids {
		// The conditional update is the claim: of two processes, one
		// moves the row out of queued and the other changes nothing.
		c, err := scanCall(q.w.QueryRow(ctx, `UPDATE voice_calls SET status = ?, owner = ?, lease_until = ?, updated_at = ?
			WHERE id = ? AND status = ? RETURNING `+callCols, store.CallDialing, p.Owner, p.LeaseUntil.UTC(), p.Now.UTC(), id, store.CallQueued))
		if err == ErrNoRows {
			continue
		}
		if err != nil {
			return out, q.translate(err, "claiming voice call")
		}
		out = append(out, c)
	}
	return out, nil
}

// CallAnswer implements store.Queries.
func (q *Queries) CallAnswer(ctx context.Context, p store.CallAnswerParams) (store.Call, error) {
	var id string
	err := q.w.QueryRow(ctx, `SELECT id FROM voice_calls WHERE channel_id = ? AND from_number = ? AND status = ? AND ended_at IS NULL
		AND (lease_until IS NULL OR lease_until > ?) ORDER BY created_at DESC, id DESC LIMIT 1`, p.ChannelID, p.From, store.CallAwaiting, p.Now.UTC()).Scan(&id)
	if err == ErrNoRows {
		return store.Call{}, notFound("voice call awaited from "+p.From, p.ChannelID)
	}
	if err != nil {
		return store.Call{}, q.translate(err, "finding the awaited voice call")
	}
	c, err := scanCall(q.w.QueryRow(ctx, `UPDATE voice_calls SET status = ?, owner = ?, provider_id = ?, lease_until = ?, updated_at = ?
		WHERE id = ? AND status = ? RETURNING `+callCols, "in_progress", p.Owner, p.ProviderID, p.LeaseUntil.UTC(), p.Now.UTC(), id, store.CallAwaiting))
	if err == ErrNoRows {
		return store.Call{}, notFound("voice call awaited from "+p.From, p.ChannelID)
	}
	return c, q.translate(err, "answering the awaited voice call")
}

// CallUpdate implements store.Queries.
func (q *Queries) CallUpdate(ctx context.Context, c store.Call) error {
	n, err := q.w.Exec(ctx, `UPDATE voice_calls SET status = ?, provider_id = ?, lease_until = ?, result = ?, updated_at = ?, ended_at = ?
		WHERE project_id = ? AND id = ? AND owner = ? AND ended_at IS NULL`,
		c.Status, c.ProviderID, utcPtr(c.LeaseUntil), string(c.Result), c.UpdatedAt.UTC(), utcPtr(c.EndedAt), c.ProjectID, c.ID, c.Owner)
	if err == nil && n == 0 {
		return notFound("live voice call held by "+c.Owner, c.ID)
	}
	return q.translate(err, "updating voice call")
}

// CallRenew implements store.Queries.
func (q *Queries) CallRenew(ctx context.Context, p store.CallRenewParams) (int, error) {
	n, err := q.w.Exec(ctx, `UPDATE voice_calls SET lease_until = ? WHERE owner = ? AND ended_at IS NULL`, p.LeaseUntil.UTC(), p.Owner)
	return int(n), q.translate(err, "renewing voice call leases")
}

// CallListStale implements store.Queries.
func (q *Queries) CallListStale(ctx context.Context, p store.CallStaleParams) ([]store.Call, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	out, err := queryAll(ctx, q.r, func(r Rows) (store.Call, error) { return scanCall(r) },
		`SELECT `+callCols+` FROM voice_calls WHERE ended_at IS NULL AND (status IN ('dialing', 'ringing', 'in_progress') AND lease_until < ?
			OR status = ? AND owner <> '' AND (lease_until < ? OR lease_until IS NULL AND updated_at < ?))
		ORDER BY lease_until, updated_at LIMIT ?`, p.Now.UTC(), store.CallQueued, p.Now.UTC(), p.Now.Add(-store.AddressedLease).UTC(), limit)
	if out == nil {
		out = []store.Call{}
	}
	return out, q.translate(err, "listing voice calls whose process died")
}

// CallList implements store.Queries.
func (q *Queries) CallList(ctx context.Context, p store.CallListParams) ([]store.Call, error) {
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = store.DefaultPageSize
	}
	query := `SELECT ` + callCols + ` FROM voice_calls WHERE project_id = ?`
	args := []any{p.ProjectID}
	if p.ContactID != "" {
		query += ` AND contact_id = ?`
		args = append(args, p.ContactID)
	}
	if p.SessionID != "" {
		query += ` AND session_id = ?`
		args = append(args, p.SessionID)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	out, err := queryAll(ctx, q.r, func(r Rows) (store.Call, error) { return scanCall(r) }, query, args...)
	if out == nil {
		out = []store.Call{}
	}
	return out, q.translate(err, "listing voice calls")
}
