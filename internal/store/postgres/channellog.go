package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// channelLogColumns are channel_logs' columns in the order
// ChannelLogAppend copies them.
var channelLogColumns = []string{"id", "project_id", "channel_id", "message_id", "kind", "method", "url", "request_headers", "request_body",
	"status_code", "response_headers", "response_body", "duration_ms", "error", "created_at"}

// ChannelLogAppend implements store.ChannelLogs with COPY instead of the
// dialects' multi-row INSERT. The log writer stores every provider call
// and webhook, two entries an exchange with a body each: as an INSERT of
// up to 200 rows, each batch size was a statement of its own to parse and
// keep prepared, with 15 parameters a row, and pgx built its bind message
// by doubling a buffer from 1 KB — 13 % of an exchange's allocated bytes
// in bench/whatsapp. COPY streams the rows in chunks of one reused buffer
// and is all or nothing like the INSERT.
func (s *Store) ChannelLogAppend(ctx context.Context, entries []store.ChannelLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	row := make([]any, len(channelLogColumns))
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"channel_logs"}, channelLogColumns, pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
		e := &entries[i]
		reqH, resH := string(e.RequestHeaders), string(e.ResponseHeaders)
		if reqH == "" {
			reqH = "{}"
		}
		if resH == "" {
			resH = "{}"
		}
		row[0], row[1], row[2], row[3], row[4], row[5], row[6] = e.ID, e.ProjectID, e.ChannelID, e.MessageID, e.Kind, e.Method, e.URL
		row[7], row[8], row[9], row[10], row[11] = reqH, e.RequestBody, e.StatusCode, resH, e.ResponseBody
		row[12], row[13], row[14] = e.DurationMS, e.Error, e.CreatedAt
		return row, nil
	}))
	return s.Translate(err, "appending channel log entries")
}
