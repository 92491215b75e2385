package sqlstore

import (
	"context"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

const aiProviderCols = `id, project_id, name, base_url, model, api_key_sealed, json_mode, timeout_seconds, max_tokens, created_at, updated_at`

func scanAIProvider(r Row) (store.AIProvider, error) {
	var p store.AIProvider
	err := r.Scan(&p.ID, &p.ProjectID, &p.Name, &p.BaseURL, &p.Model, &p.APIKeySealed, &p.JSONMode, &p.TimeoutSeconds, &p.MaxTokens,
		&p.CreatedAt, &p.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// AIProviderCreate implements store.Queries.
func (q *Queries) AIProviderCreate(ctx context.Context, p store.AIProvider) (store.AIProvider, error) {
	out, err := scanAIProvider(q.w.QueryRow(ctx, `INSERT INTO ai_providers (`+aiProviderCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+aiProviderCols,
		p.ID, p.ProjectID, p.Name, p.BaseURL, p.Model, p.APIKeySealed, p.JSONMode, p.TimeoutSeconds, p.MaxTokens, p.CreatedAt, p.UpdatedAt))
	if err != nil && q.d.IsUniqueViolation(err) {
		return out, domain.Errorf(domain.CodeConflict, "an AI provider named %q already exists", p.Name)
	}
	return out, q.translate(err, "creating AI provider")
}

// AIProviderGet implements store.Queries.
func (q *Queries) AIProviderGet(ctx context.Context, r store.Ref) (store.AIProvider, error) {
	p, err := scanAIProvider(q.r.QueryRow(ctx, `SELECT `+aiProviderCols+` FROM ai_providers WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return p, notFound("AI provider", r.ID)
	}
	return p, q.translate(err, "getting AI provider")
}

// AIProviderUpdate implements store.Queries.
func (q *Queries) AIProviderUpdate(ctx context.Context, p store.AIProvider) (store.AIProvider, error) {
	out, err := scanAIProvider(q.w.QueryRow(ctx, `UPDATE ai_providers SET name = ?, base_url = ?, model = ?, api_key_sealed = ?, json_mode = ?,
			timeout_seconds = ?, max_tokens = ?, updated_at = ? WHERE project_id = ? AND id = ? RETURNING `+aiProviderCols,
		p.Name, p.BaseURL, p.Model, p.APIKeySealed, p.JSONMode, p.TimeoutSeconds, p.MaxTokens, p.UpdatedAt, p.ProjectID, p.ID))
	switch {
	case err == ErrNoRows:
		return out, notFound("AI provider", p.ID)
	case err != nil && q.d.IsUniqueViolation(err):
		return out, domain.Errorf(domain.CodeConflict, "an AI provider named %q already exists", p.Name)
	}
	return out, q.translate(err, "updating AI provider")
}

// AIProviderDelete implements store.Queries.
func (q *Queries) AIProviderDelete(ctx context.Context, r store.Ref) error {
	n, err := q.w.Exec(ctx, `DELETE FROM ai_providers WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID)
	if err == nil && n == 0 {
		return notFound("AI provider", r.ID)
	}
	return q.translate(err, "deleting AI provider")
}

// AIProviderList implements store.Queries.
func (q *Queries) AIProviderList(ctx context.Context, projectID string) ([]store.AIProvider, error) {
	rows, err := q.r.Query(ctx, `SELECT `+aiProviderCols+` FROM ai_providers WHERE project_id = ? ORDER BY created_at, id`, projectID)
	items, err := collect(rows, err, func(r Rows) (store.AIProvider, error) { return scanAIProvider(r) })
	if items == nil {
		items = []store.AIProvider{}
	}
	return items, q.translate(err, "listing AI providers")
}
