package store

import (
	"context"
	"encoding/json"
	"time"
)

// Channel log kinds: what an entry records.
const (
	// ChannelLogRequest is a call Parley made to a provider and its answer.
	ChannelLogRequest = "request"
	// ChannelLogWebhook is a webhook a provider sent to Parley and our answer.
	ChannelLogWebhook = "webhook"
)

// ChannelLogs store the channel log: every provider call and webhook of a
// channel, secrets already redacted, kept for the retention period.
type ChannelLogs interface {
	// ChannelLogAppend stores entries in one statement; the caller batches.
	ChannelLogAppend(ctx context.Context, entries []ChannelLogEntry) error
	// ChannelLogList lists a channel's entries, newest first.
	ChannelLogList(ctx context.Context, p ChannelLogListParams) (List[ChannelLogEntry], error)
	// ChannelLogPurge deletes entries older than Before, at most Limit of
	// them, and says how many went.
	ChannelLogPurge(ctx context.Context, p ChannelLogPurgeParams) (int, error)
}

// ChannelLogEntry is one request to a provider or one webhook from it.
// Headers and bodies are stored as recorded: redacted and capped by the
// channellog package before they get here.
type ChannelLogEntry struct {
	ID        string `json:"id"`
	ProjectID string `json:"-"`
	ChannelID string `json:"channel_id"`
	// MessageID is the message the call was made for, when known.
	MessageID string `json:"message_id,omitempty"`
	Kind      string `json:"kind" enum:"request,webhook"`
	Method    string `json:"method"`
	URL       string `json:"url"`
	// RequestHeaders and ResponseHeaders are JSON objects of string lists.
	RequestHeaders  json.RawMessage `json:"request_headers"`
	RequestBody     string          `json:"request_body"`
	StatusCode      int             `json:"status_code"`
	ResponseHeaders json.RawMessage `json:"response_headers"`
	ResponseBody    string          `json:"response_body"`
	DurationMS      int64           `json:"duration_ms"`
	// Error is why the exchange failed: a transport error, or for a
	// webhook the reason it was refused or dead-lettered.
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Failed reports whether the entry records a failure.
func (e ChannelLogEntry) Failed() bool { return e.Error != "" || e.StatusCode >= 400 }

// ChannelLogListParams filters a channel's log.
type ChannelLogListParams struct {
	ProjectID string
	ChannelID string
	// MessageID, when set, keeps the entries of one message.
	MessageID string
	// Kind, when set, keeps one kind (ChannelLogRequest, ChannelLogWebhook).
	Kind string
	// ErrorsOnly keeps entries with an error or a status of 400 and above.
	ErrorsOnly bool
	Page       Page
}

// ChannelLogPurgeParams deletes old entries in bounded batches.
type ChannelLogPurgeParams struct {
	Before time.Time
	// Limit bounds one call's deletes (0: 10,000) so a purge never holds
	// the writer long.
	Limit int
}

// DeadLetters store authentic webhooks that could not be processed
// because of their content, to be replayed after a fix.
type DeadLetters interface {
	DeadLetterCreate(ctx context.Context, d DeadLetter) (DeadLetter, error)
	DeadLetterGet(ctx context.Context, p DeadLetterGetParams) (DeadLetter, error)
	// DeadLetterList lists a channel's dead letters, newest first.
	DeadLetterList(ctx context.Context, p DeadLetterListParams) (List[DeadLetter], error)
	// DeadLetterMarkReplayed records a replay's time and outcome.
	DeadLetterMarkReplayed(ctx context.Context, p DeadLetterMarkReplayedParams) (DeadLetter, error)
}

// DeadLetter is a webhook kept raw because it could not be processed.
type DeadLetter struct {
	ID          string
	ProjectID   string
	ChannelID   string
	ChannelType string
	// Body is the raw body, byte for byte, so a replay verifies and parses
	// exactly what the provider sent.
	Body []byte
	// Headers are the request's headers, redacted (a JSON object).
	Headers    json.RawMessage
	Reason     string
	ReceivedAt time.Time
	// ReplayedAt is the last replay's time; nil when never replayed.
	ReplayedAt *time.Time
	// ReplayOutcome is "ok" or why the last replay failed.
	ReplayOutcome string
}

// DeadLetterGetParams names a dead letter of a project.
type DeadLetterGetParams struct {
	ProjectID string
	ID        string
}

// DeadLetterListParams lists a channel's dead letters.
type DeadLetterListParams struct {
	ProjectID string
	ChannelID string
	Page      Page
}

// DeadLetterMarkReplayedParams records a replay.
type DeadLetterMarkReplayedParams struct {
	ProjectID string
	ID        string
	Outcome   string
	Now       time.Time
}
