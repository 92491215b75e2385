package channellog

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// WebhookOutcome is what became of a webhook, for its log entry.
type WebhookOutcome struct {
	ProjectID string
	ChannelID string
	// MessageID is set when the webhook is about one message we know.
	MessageID string
	// Status is the HTTP status Parley answered.
	Status int
	// Response is the body Parley answered, when worth keeping.
	Response string
	// Error says why the webhook was refused or dead-lettered.
	Error string
	// Secrets are the channel's secrets (the adapter's Secrets()).
	Secrets []string
	// Started is when the request arrived; zero records no duration.
	Started time.Time
}

// Webhook builds the log entry of a webhook received: the request as the
// provider sent it, redacted, and Parley's answer.
func Webhook(r *http.Request, body []byte, o WebhookOutcome) store.ChannelLogEntry {
	red := NewRedactor(o.Secrets)
	e := store.ChannelLogEntry{ProjectID: o.ProjectID, ChannelID: o.ChannelID, MessageID: o.MessageID, Kind: store.ChannelLogWebhook,
		Method: r.Method, URL: red.URL(r.URL), RequestHeaders: red.Header(r.Header),
		RequestBody: red.Body(body, int64(len(body)), r.Header.Get("Content-Type")),
		StatusCode:  o.Status, ResponseHeaders: []byte("{}"), ResponseBody: red.Body([]byte(o.Response), int64(len(o.Response)), "text/plain"),
		Error: clean(red.String(o.Error))}
	if !o.Started.IsZero() {
		e.DurationMS = time.Since(o.Started).Milliseconds()
	}
	return e
}
