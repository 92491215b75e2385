package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/parleyhq/parley/internal/store"
)

const channelLogCols = `id, project_id, channel_id, message_id, kind, method, url, request_headers, request_body,
	status_code, response_headers, response_body, duration_ms, error, created_at`

// channelLogBatch bounds the rows of one INSERT: 15 columns × 200 rows stays
// far below both databases' limits on bound parameters.
const channelLogBatch = 200

var _ store.ChannelLogs = (*Queries)(nil)

// ChannelLogAppend implements store.ChannelLogs.
func (q *Queries) ChannelLogAppend(ctx context.Context, entries []store.ChannelLogEntry) error {
	for len(entries) > 0 {
		n := min(len(entries), channelLogBatch)
		var sb strings.Builder
		sb.WriteString(`INSERT INTO channel_logs (` + channelLogCols + `) VALUES `)
		args := make([]any, 0, n*15)
		row := "(" + placeholders(15) + ")"
		for i, e := range entries[:n] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(row)
			args = append(args, e.ID, e.ProjectID, e.ChannelID, e.MessageID, e.Kind, e.Method, e.URL,
				jsonOrEmpty(e.RequestHeaders), e.RequestBody, e.StatusCode, jsonOrEmpty(e.ResponseHeaders), e.ResponseBody,
				e.DurationMS, e.Error, e.CreatedAt)
		}
		if _, err := q.w.Exec(ctx, sb.String(), args...); err != nil {
			return q.translate(err, "appending channel log entries")
		}
		entries = entries[n:]
	}
	return nil
}

// ChannelLogList implements store.ChannelLogs.
func (q *Queries) ChannelLogList(ctx context.Context, p store.ChannelLogListParams) (store.List[store.ChannelLogEntry], error) {
	sql := `SELECT ` + channelLogCols + ` FROM channel_logs WHERE project_id = ? AND channel_id = ?`
	args := []any{p.ProjectID, p.ChannelID}
	if p.MessageID != "" {
		sql += ` AND message_id = ?`
		args = append(args, p.MessageID)
	}
	if p.Kind != "" {
		sql += ` AND kind = ?`
		args = append(args, p.Kind)
	}
	if p.ErrorsOnly {
		sql += ` AND (error <> '' OR status_code >= 400)`
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (store.ChannelLogEntry, error) {
		var e store.ChannelLogEntry
		var reqH, resH string
		err := r.Scan(&e.ID, &e.ProjectID, &e.ChannelID, &e.MessageID, &e.Kind, &e.Method, &e.URL, &reqH, &e.RequestBody,
			&e.StatusCode, &resH, &e.ResponseBody, &e.DurationMS, &e.Error, &e.CreatedAt)
		e.RequestHeaders, e.ResponseHeaders, e.CreatedAt = json.RawMessage(reqH), json.RawMessage(resH), e.CreatedAt.UTC()
		return e, err
	})
	if err != nil {
		return store.List[store.ChannelLogEntry]{}, q.translate(err, "listing the channel log")
	}
	return finishPage(items, p.Page, func(e store.ChannelLogEntry) string { return e.ID }), nil
}

// ChannelLogPurge implements store.ChannelLogs.
func (q *Queries) ChannelLogPurge(ctx context.Context, p store.ChannelLogPurgeParams) (int, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 10_000
	}
	n, err := q.w.Exec(ctx, `DELETE FROM channel_logs WHERE id IN (SELECT id FROM channel_logs WHERE created_at < ? LIMIT ?)`, p.Before, limit)
	if err != nil {
		return 0, q.translate(err, "purging the channel log")
	}
	return int(n), nil
}

const deadLetterCols = `id, project_id, channel_id, channel_type, body, headers, reason, received_at, replayed_at, replay_outcome`

var _ store.DeadLetters = (*Queries)(nil)

func scanDeadLetter(r Row) (store.DeadLetter, error) {
	var d store.DeadLetter
	var headers string
	err := r.Scan(&d.ID, &d.ProjectID, &d.ChannelID, &d.ChannelType, &d.Body, &headers, &d.Reason, &d.ReceivedAt, &d.ReplayedAt, &d.ReplayOutcome)
	d.Headers, d.ReceivedAt, d.ReplayedAt = json.RawMessage(headers), d.ReceivedAt.UTC(), utcPtr(d.ReplayedAt)
	return d, err
}

// DeadLetterCreate implements store.DeadLetters.
func (q *Queries) DeadLetterCreate(ctx context.Context, d store.DeadLetter) (store.DeadLetter, error) {
	if d.Body == nil {
		d.Body = []byte{}
	}
	out, err := scanDeadLetter(q.w.QueryRow(ctx, `INSERT INTO dead_letters (`+deadLetterCols+`) VALUES (`+placeholders(10)+`) RETURNING `+deadLetterCols,
		d.ID, d.ProjectID, d.ChannelID, d.ChannelType, d.Body, jsonOrEmpty(d.Headers), d.Reason, d.ReceivedAt, d.ReplayedAt, d.ReplayOutcome))
	return out, q.translate(err, "storing a dead letter")
}

// DeadLetterGet implements store.DeadLetters.
func (q *Queries) DeadLetterGet(ctx context.Context, p store.DeadLetterGetParams) (store.DeadLetter, error) {
	out, err := scanDeadLetter(q.r.QueryRow(ctx, `SELECT `+deadLetterCols+` FROM dead_letters WHERE project_id = ? AND id = ?`, p.ProjectID, p.ID))
	return out, q.translate(err, "reading dead letter "+p.ID)
}

// DeadLetterList implements store.DeadLetters.
func (q *Queries) DeadLetterList(ctx context.Context, p store.DeadLetterListParams) (store.List[store.DeadLetter], error) {
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, `SELECT `+deadLetterCols+` FROM dead_letters WHERE project_id = ? AND channel_id = ?`+where+limit,
		append([]any{p.ProjectID, p.ChannelID}, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (store.DeadLetter, error) { return scanDeadLetter(r) })
	if err != nil {
		return store.List[store.DeadLetter]{}, q.translate(err, "listing dead letters")
	}
	return finishPage(items, p.Page, func(d store.DeadLetter) string { return d.ID }), nil
}

// DeadLetterMarkReplayed implements store.DeadLetters.
func (q *Queries) DeadLetterMarkReplayed(ctx context.Context, p store.DeadLetterMarkReplayedParams) (store.DeadLetter, error) {
	out, err := scanDeadLetter(q.w.QueryRow(ctx, `UPDATE dead_letters SET replayed_at = ?, replay_outcome = ? WHERE project_id = ? AND id = ? RETURNING `+deadLetterCols,
		p.Now, p.Outcome, p.ProjectID, p.ID))
	return out, q.translate(err, "recording the replay of dead letter "+p.ID)
}
