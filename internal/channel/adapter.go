package channel

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// Adapter is what every channel type implements. Implementations are safe
// for concurrent use.
type Adapter interface {
	// Type is the channel type, e.g. "whatsapp".
	Type() string
	// VerifyHandshake answers the provider's webhook subscription check: it
	// returns the body to echo and whether the request is genuine.
	VerifyHandshake(query url.Values) (challenge string, ok bool)
	// VerifySignature checks the provider's signature over the raw request
	// body, in constant time, before anything parses it.
	VerifySignature(rawBody []byte, header http.Header) bool
	// Parse turns a verified webhook body into events. It never panics; a
	// body it cannot read is an error, a shape it does not act on is an
	// event of KindIgnored.
	Parse(rawBody []byte) ([]Event, error)
	// Send sends one message. Failures are *SendError.
	Send(ctx context.Context, msg Outbound) (SendResult, error)
	// Secrets are the configured secrets, to redact from logs.
	Secrets() []string
}

// MediaFetcher is implemented by adapters whose inbound media is fetched
// on demand.
type MediaFetcher interface {
	// FetchMedia streams the media with the given ID, at most maxBytes.
	// The caller closes the reader.
	FetchMedia(ctx context.Context, id string, maxBytes int64) (MediaInfo, io.ReadCloser, error)
}

// MediaInfo describes fetched media.
type MediaInfo struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256,omitempty"`
	Size     int64  `json:"file_size,omitempty"`
}

// Checker is implemented by adapters that can confirm their credentials.
type Checker interface {
	Check(ctx context.Context) CheckReport
}

// CheckReport is the outcome of a credentials check, step by step.
type CheckReport struct {
	OK    bool        `json:"ok"`
	Steps []CheckStep `json:"steps"`
}

// CheckStep is one thing checked.
type CheckStep struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Detail says what was found or, on failure, what to fix.
	Detail string `json:"detail,omitempty"`
}
