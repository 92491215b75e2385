package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
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

// Factory builds an adapter from its JSON config (secrets included).
type Factory func(config json.RawMessage) (Adapter, error)

// Registry maps channel types to factories. The composition root fills one
// at start-up; it is not a global so that tests build their own.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds a factory for a type; registering a type twice is a bug.
func (r *Registry) Register(typ string, f Factory) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.factories[typ]; dup {
		return fmt.Errorf("registering channel type %q: already registered", typ)
	}
	r.factories[typ] = f
	return nil
}

// New builds an adapter of the given type.
func (r *Registry) New(typ string, config json.RawMessage) (Adapter, error) {
	r.mu.RLock()
	f, ok := r.factories[typ]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("building channel: unknown channel type %q", typ)
	}
	a, err := f(config)
	if err != nil {
		return nil, fmt.Errorf("building %s channel: %w", typ, err)
	}
	return a, nil
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.factories))
	for t := range r.factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
