package whatsapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
)

// Adapter is the WhatsApp channel.Adapter: one configured phone number.
type Adapter struct {
	cfg    Config
	client *Client
}

var (
	_ channel.Adapter      = (*Adapter)(nil)
	_ channel.MediaFetcher = (*Adapter)(nil)
	_ channel.Checker      = (*Adapter)(nil)
)

// New returns an adapter for cfg (validated, defaults applied). A nil hc
// means a dedicated http.Client.
func New(cfg Config, hc *http.Client) (*Adapter, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg, client: NewClient(cfg, hc)}, nil
}

// Factory builds adapters from stored configs (channel.Type.New); hc
// makes the Graph API calls.
func Factory(raw json.RawMessage, hc *http.Client) (channel.Adapter, error) {
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	return New(cfg, hc)
}

// Type returns "whatsapp".
func (a *Adapter) Type() string { return ChannelType }

// Config returns the adapter's configuration.
func (a *Adapter) Config() Config { return a.cfg }

// Client returns the Graph API client (templates, media upload).
func (a *Adapter) Client() *Client { return a.client }

// VerifyHandshake answers Meta's subscription check with the verify token.
func (a *Adapter) VerifyHandshake(q url.Values) (string, bool) {
	return VerifyHandshake(q, a.cfg.VerifyToken)
}

// VerifySignature checks X-Hub-Signature-256 with the app secret.
func (a *Adapter) VerifySignature(rawBody []byte, h http.Header) bool {
	return VerifySignature(rawBody, h.Get(SignatureHeader), a.cfg.AppSecret)
}

// Parse parses a webhook body.
func (a *Adapter) Parse(rawBody []byte) ([]channel.Event, error) { return Parse(rawBody) }

// Send sends a message.
func (a *Adapter) Send(ctx context.Context, msg channel.Outbound) (channel.SendResult, error) {
	return a.client.Send(ctx, msg)
}

// FetchMedia streams received media.
func (a *Adapter) FetchMedia(ctx context.Context, id string, maxBytes int64) (channel.MediaInfo, io.ReadCloser, error) {
	return a.client.FetchMedia(ctx, id, maxBytes)
}

// Check confirms the credentials.
func (a *Adapter) Check(ctx context.Context) channel.CheckReport { return a.client.Check(ctx) }

// Secrets returns the token, app secret and verify token.
func (a *Adapter) Secrets() []string { return a.cfg.Secrets() }

// LimiterConfig is the rate limiter setup for this number: its messages per
// second and Meta's pair pacing.
func (a *Adapter) LimiterConfig() ratelimit.Config {
	return ratelimit.Config{Rate: a.cfg.MessagesPerSecond, PairInterval: PairInterval, PairBurst: PairBurst}
}
