package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// CallRecordingPut implements store.Queries: the project comes from the
// call, so a recording cannot land in another project.
func (q *Queries) CallRecordingPut(ctx context.Context, r store.CallRecording) error {
	n, err := q.w.Exec(ctx, `INSERT INTO call_recordings (call_id, project_id, provider_id, content_type, duration_ms, size_bytes, data, created_at)
		SELECT id, project_id, ?, ?, ?, ?, ?, ? FROM voice_calls WHERE id = ?
		ON CONFLICT (call_id) DO UPDATE SET provider_id = excluded.provider_id, content_type = excluded.content_type,
			duration_ms = excluded.duration_ms, size_bytes = excluded.size_bytes, data = excluded.data, created_at = excluded.created_at`,
		r.ProviderID, r.ContentType, r.Duration.Milliseconds(), int64(len(r.Data)), r.Data, r.CreatedAt.UTC(), r.CallID)
	if err != nil {
		return q.translate(err, "storing the recording of voice call "+r.CallID)
	}
	if n == 0 {
		return notFound("voice call", r.CallID)
	}
	return nil
}

// CallRecordingGet implements store.Queries.
func (q *Queries) CallRecordingGet(ctx context.Context, ref store.Ref) (store.CallRecording, error) {
	var r store.CallRecording
	var ms int64
	err := q.r.QueryRow(ctx, `SELECT call_id, project_id, provider_id, content_type, duration_ms, data, created_at FROM call_recordings
		WHERE project_id = ? AND call_id = ?`, ref.ProjectID, ref.ID).Scan(&r.CallID, &r.ProjectID, &r.ProviderID, &r.ContentType, &ms, &r.Data, &r.CreatedAt)
	if err == ErrNoRows {
		return r, notFound("recording of voice call", ref.ID)
	}
	if err != nil {
		return r, q.translate(err, "getting the recording of voice call "+ref.ID)
	}
	r.Duration, r.CreatedAt = time.Duration(ms)*time.Millisecond, r.CreatedAt.UTC()
	return r, nil
}
