package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

const signupCols = `id, project_id, waba_id, phone_number_id, name, token_sealed, steps, status, channel_id, created_at, updated_at`

// WhatsAppSignupCreate implements store.Queries.
func (q *Queries) WhatsAppSignupCreate(ctx context.Context, s store.WhatsAppSignup) error {
	_, err := q.w.Exec(ctx, `INSERT INTO whatsapp_signups (`+signupCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.ProjectID, s.WABAID, s.PhoneNumberID, s.Name, s.TokenSealed, string(s.Steps), s.Status, s.ChannelID, s.CreatedAt, s.UpdatedAt)
	return q.translate(err, "creating WhatsApp signup")
}

// WhatsAppSignupGet implements store.Queries.
func (q *Queries) WhatsAppSignupGet(ctx context.Context, r store.Ref) (store.WhatsAppSignup, error) {
	var s store.WhatsAppSignup
	var steps string
	err := q.r.QueryRow(ctx, `SELECT `+signupCols+` FROM whatsapp_signups WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID).Scan(
		&s.ID, &s.ProjectID, &s.WABAID, &s.PhoneNumberID, &s.Name, &s.TokenSealed, &steps, &s.Status, &s.ChannelID, &s.CreatedAt, &s.UpdatedAt)
	if err == ErrNoRows {
		return s, notFound("WhatsApp signup", r.ID)
	}
	s.Steps = []byte(steps)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, q.translate(err, "getting WhatsApp signup")
}

// WhatsAppSignupUpdate implements store.Queries.
func (q *Queries) WhatsAppSignupUpdate(ctx context.Context, s store.WhatsAppSignup) error {
	n, err := q.w.Exec(ctx, `UPDATE whatsapp_signups SET token_sealed = ?, steps = ?, status = ?, channel_id = ?, updated_at = ? WHERE project_id = ? AND id = ?`,
		s.TokenSealed, string(s.Steps), s.Status, s.ChannelID, s.UpdatedAt, s.ProjectID, s.ID)
	if err == nil && n == 0 {
		return notFound("WhatsApp signup", s.ID)
	}
	return q.translate(err, "updating WhatsApp signup")
}

// DisplayNameRequestCreate implements store.Queries.
func (q *Queries) DisplayNameRequestCreate(ctx context.Context, d store.DisplayNameRequest) error {
	_, err := q.w.Exec(ctx, `INSERT INTO display_name_requests (id, project_id, channel_id, name, status, reason, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.ProjectID, d.ChannelID, d.Name, store.DisplayNamePending, "", d.RequestedAt)
	return q.translate(err, "recording the display-name request")
}

// DisplayNameRequestList implements store.Queries.
func (q *Queries) DisplayNameRequestList(ctx context.Context, r store.Ref) ([]store.DisplayNameRequest, error) {
	rows, err := q.r.Query(ctx, `SELECT id, project_id, channel_id, name, status, reason, requested_at, decided_at FROM display_name_requests
		WHERE project_id = ? AND channel_id = ? ORDER BY requested_at DESC, id DESC`, r.ProjectID, r.ID)
	items, err := collect(rows, err, func(r Rows) (store.DisplayNameRequest, error) {
		var d store.DisplayNameRequest
		var decided *time.Time
		err := r.Scan(&d.ID, &d.ProjectID, &d.ChannelID, &d.Name, &d.Status, &d.Reason, &d.RequestedAt, &decided)
		d.RequestedAt, d.DecidedAt = d.RequestedAt.UTC(), utcPtr(decided)
		return d, err
	})
	if items == nil {
		items = []store.DisplayNameRequest{}
	}
	return items, q.translate(err, "listing display-name requests")
}

// DisplayNameRequestDecide implements store.Queries.
func (q *Queries) DisplayNameRequestDecide(ctx context.Context, p store.DisplayNameDecideParams) (bool, error) {
	var id string
	err := q.w.QueryRow(ctx, `SELECT id FROM display_name_requests WHERE project_id = ? AND channel_id = ? AND name = ? AND status = 'pending'
		ORDER BY requested_at DESC, id DESC LIMIT 1`, p.ProjectID, p.ChannelID, p.Name).Scan(&id)
	if err == ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, q.translate(err, "finding the display-name request")
	}
	_, err = q.w.Exec(ctx, `UPDATE display_name_requests SET status = ?, reason = ?, decided_at = ? WHERE id = ?`, p.Status, p.Reason, p.At, id)
	return err == nil, q.translate(err, "recording the display-name review")
}
