package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

const waFlowCols = `id, project_id, channel_id, name, categories, flow_json, status, meta_flow_id, validation_errors, endpoint,
	preview_url, synced_at, version, created_at, updated_at`

func scanWAFlow(r Row) (store.WhatsAppFlow, error) {
	var f store.WhatsAppFlow
	var cats, verrs, endpoint string
	err := r.Scan(&f.ID, &f.ProjectID, &f.ChannelID, &f.Name, &cats, &f.JSON, &f.Status, &f.MetaFlowID, &verrs, &endpoint,
		&f.PreviewURL, &f.SyncedAt, &f.Version, &f.CreatedAt, &f.UpdatedAt)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal([]byte(cats), &f.Categories); err != nil {
		return f, err
	}
	f.ValidationErrors, f.Endpoint = json.RawMessage(verrs), json.RawMessage(endpoint)
	f.CreatedAt, f.UpdatedAt, f.SyncedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC(), utcPtr(f.SyncedAt)
	return f, nil
}

// waFlowArgs are the stored forms of f's JSON columns.
func waFlowArgs(f store.WhatsAppFlow) (cats, verrs, endpoint string) {
	if f.Categories == nil {
		f.Categories = []string{}
	}
	b, _ := json.Marshal(f.Categories)
	return string(b), jsonOr(f.ValidationErrors, "[]"), jsonOr(f.Endpoint, "{}")
}

func jsonOr(b json.RawMessage, empty string) string {
	if len(b) == 0 || string(b) == "null" {
		return empty
	}
	return string(b)
}

// WhatsAppFlowCreate implements store.Queries.
func (q *Queries) WhatsAppFlowCreate(ctx context.Context, f store.WhatsAppFlow) (store.WhatsAppFlow, error) {
	cats, verrs, endpoint := waFlowArgs(f)
	out, err := scanWAFlow(q.w.QueryRow(ctx, `INSERT INTO whatsapp_flows (`+waFlowCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING `+waFlowCols,
		f.ID, f.ProjectID, f.ChannelID, f.Name, cats, f.JSON, f.Status, f.MetaFlowID, verrs, endpoint, f.PreviewURL, f.SyncedAt,
		f.CreatedAt, f.UpdatedAt))
	if err != nil && q.d.IsUniqueViolation(err) {
		return out, domain.Errorf(domain.CodeConflict, "a WhatsApp Flow named %q already exists", f.Name)
	}
	return out, q.translate(err, "creating WhatsApp Flow")
}

// WhatsAppFlowGet implements store.Queries.
func (q *Queries) WhatsAppFlowGet(ctx context.Context, r store.Ref) (store.WhatsAppFlow, error) {
	f, err := scanWAFlow(q.r.QueryRow(ctx, `SELECT `+waFlowCols+` FROM whatsapp_flows WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return f, notFound("WhatsApp Flow", r.ID)
	}
	return f, q.translate(err, "getting WhatsApp Flow")
}

// WhatsAppFlowGetByMetaID implements store.Queries.
func (q *Queries) WhatsAppFlowGetByMetaID(ctx context.Context, p store.WhatsAppFlowGetByMetaIDParams) (store.WhatsAppFlow, error) {
	if p.MetaID == "" {
		return store.WhatsAppFlow{}, notFound("WhatsApp Flow", p.MetaID)
	}
	f, err := scanWAFlow(q.r.QueryRow(ctx, `SELECT `+waFlowCols+` FROM whatsapp_flows WHERE project_id = ? AND meta_flow_id = ?`, p.ProjectID, p.MetaID))
	if err == ErrNoRows {
		return f, notFound("WhatsApp Flow", p.MetaID)
	}
	return f, q.translate(err, "getting WhatsApp Flow by Meta ID")
}

// WhatsAppFlowUpdate implements store.Queries.
func (q *Queries) WhatsAppFlowUpdate(ctx context.Context, f store.WhatsAppFlow) (store.WhatsAppFlow, error) {
	cats, verrs, endpoint := waFlowArgs(f)
	sql := `UPDATE whatsapp_flows SET channel_id = ?, name = ?, categories = ?, flow_json = ?, status = ?, meta_flow_id = ?,
			validation_errors = ?, endpoint = ?, preview_url = ?, synced_at = ?, version = version + 1, updated_at = ?
		WHERE project_id = ? AND id = ?`
	args := []any{f.ChannelID, f.Name, cats, f.JSON, f.Status, f.MetaFlowID, verrs, endpoint, f.PreviewURL, f.SyncedAt, f.UpdatedAt, f.ProjectID, f.ID}
	if f.Version > 0 {
		sql += ` AND version = ?`
		args = append(args, f.Version)
	}
	out, err := scanWAFlow(q.w.QueryRow(ctx, sql+` RETURNING `+waFlowCols, args...))
	switch {
	case err == ErrNoRows && f.Version > 0:
		cur, gerr := q.WhatsAppFlowGet(ctx, store.Ref{ProjectID: f.ProjectID, ID: f.ID})
		if gerr != nil {
			return out, gerr
		}
		return out, domain.Errorf(domain.CodeConflict, "WhatsApp Flow %q was changed since version %d (it is now at version %d)", f.ID, f.Version, cur.Version)
	case err == ErrNoRows:
		return out, notFound("WhatsApp Flow", f.ID)
	case err != nil && q.d.IsUniqueViolation(err):
		return out, domain.Errorf(domain.CodeConflict, "a WhatsApp Flow named %q already exists", f.Name)
	}
	return out, q.translate(err, "updating WhatsApp Flow")
}

// WhatsAppFlowDelete implements store.Queries.
func (q *Queries) WhatsAppFlowDelete(ctx context.Context, r store.Ref) error {
	n, err := q.w.Exec(ctx, `DELETE FROM whatsapp_flows WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID)
	if err == nil && n == 0 {
		return notFound("WhatsApp Flow", r.ID)
	}
	return q.translate(err, "deleting WhatsApp Flow")
}

// WhatsAppFlowList implements store.Queries.
func (q *Queries) WhatsAppFlowList(ctx context.Context, p store.WhatsAppFlowListParams) (store.List[store.WhatsAppFlow], error) {
	sql := `SELECT ` + waFlowCols + ` FROM whatsapp_flows WHERE project_id = ?`
	args := []any{p.ProjectID}
	if p.Status != "" {
		sql += ` AND status = ?`
		args = append(args, p.Status)
	}
	if p.ChannelID != "" {
		sql += ` AND channel_id = ?`
		args = append(args, p.ChannelID)
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (store.WhatsAppFlow, error) { return scanWAFlow(r) })
	if err != nil {
		return store.List[store.WhatsAppFlow]{}, q.translate(err, "listing WhatsApp Flows")
	}
	return finishPage(items, p.Page, func(f store.WhatsAppFlow) string { return f.ID }), nil
}

// WhatsAppFlowLookup implements store.Queries.
func (q *Queries) WhatsAppFlowLookup(ctx context.Context, id string) (store.WhatsAppFlow, error) {
	f, err := scanWAFlow(q.r.QueryRow(ctx, `SELECT `+waFlowCols+` FROM whatsapp_flows WHERE id = ?`, id))
	if err == ErrNoRows {
		return f, notFound("WhatsApp Flow", id)
	}
	return f, q.translate(err, "looking up WhatsApp Flow")
}

// WhatsAppFlowKeyPut implements store.Queries.
func (q *Queries) WhatsAppFlowKeyPut(ctx context.Context, k store.WhatsAppFlowKey) error {
	_, err := q.w.Exec(ctx, `INSERT INTO whatsapp_flow_keys (project_id, channel_id, public_key, private_key_sealed, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (project_id, channel_id) DO UPDATE SET public_key = excluded.public_key, private_key_sealed = excluded.private_key_sealed, created_at = excluded.created_at`,
		k.ProjectID, k.ChannelID, k.PublicKey, k.PrivateKeySealed, k.CreatedAt)
	return q.translate(err, "storing a WhatsApp Flows key pair")
}

// WhatsAppFlowKeyGet implements store.Queries.
func (q *Queries) WhatsAppFlowKeyGet(ctx context.Context, r store.Ref) (store.WhatsAppFlowKey, error) {
	var k store.WhatsAppFlowKey
	err := q.r.QueryRow(ctx, `SELECT project_id, channel_id, public_key, private_key_sealed, created_at FROM whatsapp_flow_keys WHERE project_id = ? AND channel_id = ?`,
		r.ProjectID, r.ID).Scan(&k.ProjectID, &k.ChannelID, &k.PublicKey, &k.PrivateKeySealed, &k.CreatedAt)
	if err == ErrNoRows {
		return k, notFound("WhatsApp Flows key of channel", r.ID)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return k, q.translate(err, "getting a WhatsApp Flows key pair")
}
