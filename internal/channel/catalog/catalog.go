// Package catalog knows the channel types this build supports: how each
// one's configuration is validated and split into public settings and
// sealed secrets, and how a stored channel becomes a live adapter. Adapters
// are cached per channel (and rebuilt when it changes) so that their rate
// limiters and connections live as long as the channel does.
package catalog

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/channel/webchat"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
)

// Config is a validated channel configuration, split for storage.
type Config struct {
	// Public is stored in clear and shown by the API.
	Public map[string]any
	// Secret is sealed at rest and never shown.
	Secret map[string]any
	// Address routes webhooks to the channel (WhatsApp: phone_number_id).
	Address string
}

// Catalog validates configs and builds adapters.
type Catalog struct {
	box  *secret.Box
	http *http.Client
	// log receives every provider call's entry; nil records nothing.
	log channellog.Sink

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	updated time.Time
	adapter channel.Adapter
	limiter *ratelimit.Limiter
}

// New returns a catalog sealing secrets with box and giving adapters hc
// (nil: a shared client without a client-wide timeout). An hc with its own
// Timeout caps every channel's request timeout.
func New(box *secret.Box, hc *http.Client) *Catalog {
	if hc == nil {
		// Sends run concurrently to one host (the Graph API): keep enough
		// idle connections to reuse them instead of a handshake per send.
		// No client-wide timeout: each adapter bounds its calls with its
		// channel's own (WhatsApp: request_timeout_seconds, up to 2 min).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 64
		hc = &http.Client{Transport: t}
	}
	return &Catalog{box: box, http: hc, cache: map[string]cached{}}
}

// LogTo records every provider call of adapters built from now on into
// sink (the channel log). Call it once, before the catalog is used.
func (c *Catalog) LogTo(sink channellog.Sink) {
	c.mu.Lock()
	c.log = sink
	c.mu.Unlock()
}

// client is the HTTP client of one channel's adapter: the shared one, its
// transport wrapped to record the channel's calls when a log is set.
func (c *Catalog) client(ch domain.Channel, secrets func() []string) *http.Client {
	c.mu.Lock()
	sink := c.log
	c.mu.Unlock()
	if sink == nil {
		return c.http
	}
	hc := *c.http
	hc.Transport = &channellog.Transport{Base: c.http.Transport, ChannelID: ch.ID, ProjectID: ch.ProjectID, Secrets: secrets, Sink: sink}
	return &hc
}

// whatsAppSecrets are the config keys never shown again once saved.
var whatsAppSecrets = []string{"access_token", "app_secret"}

// Describe validates cfg for the channel type and splits it.
func (c *Catalog) Describe(typ string, cfg map[string]any) (Config, error) {
	switch typ {
	case webchat.Type:
		if len(cfg) > 0 {
			return Config{}, domain.Invalid("/config", "a web chat channel takes no configuration")
		}
		return Config{Public: map[string]any{}}, nil
	case whatsapp.ChannelType:
		if v, _ := cfg["verify_token"].(string); v == "" {
			// Meta asks for a verify token when subscribing the webhook;
			// make one up so the user only has to copy it.
			b := make([]byte, 18)
			_, _ = rand.Read(b)
			cfg["verify_token"] = base64.RawURLEncoding.EncodeToString(b)
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return Config{}, domain.Invalid("/config", "the config must be a JSON object")
		}
		wc, err := whatsapp.ParseConfig(raw)
		if err != nil {
			return Config{}, err
		}
		full := map[string]any{}
		b, _ := json.Marshal(wc)
		_ = json.Unmarshal(b, &full)
		out := Config{Public: map[string]any{}, Secret: map[string]any{}, Address: wc.PhoneNumberID}
		for k, v := range full {
			out.Public[k] = v
		}
		for _, k := range whatsAppSecrets {
			out.Secret[k] = out.Public[k]
			delete(out.Public, k)
		}
		return out, nil
	}
	return Config{}, domain.Invalid("/type", "channel type %q is not supported; use whatsapp or webchat", typ)
}

// Apply validates cfg for the channel's type and stores it on the channel:
// public settings in clear, secrets sealed with the master key, the
// routing address.
func (c *Catalog) Apply(ch *domain.Channel, cfg map[string]any) error {
	d, err := c.Describe(ch.Type, cfg)
	if err != nil {
		return err
	}
	pub, err := json.Marshal(d.Public)
	if err != nil {
		return err
	}
	ch.Config, ch.Address, ch.Secrets = pub, d.Address, ""
	if len(d.Secret) == 0 {
		return nil
	}
	if c.box == nil {
		return domain.Errorf(domain.CodeUnavailable, "no secret key is configured to store channel secrets")
	}
	raw, err := json.Marshal(d.Secret)
	if err != nil {
		return err
	}
	ch.Secrets, err = c.box.Seal(string(raw))
	return err
}

// Adapter returns the live adapter of a stored channel.
func (c *Catalog) Adapter(ctx context.Context, ch domain.Channel) (channel.Adapter, error) {
	c.mu.Lock()
	if e, ok := c.cache[ch.ID]; ok && e.updated.Equal(ch.UpdatedAt) {
		c.mu.Unlock()
		return e.adapter, nil
	}
	c.mu.Unlock()
	a, err := c.build(ch)
	if err != nil {
		return nil, err
	}
	e := cached{updated: ch.UpdatedAt, adapter: a}
	if l, ok := a.(interface{ LimiterConfig() ratelimit.Config }); ok {
		e.limiter = ratelimit.New(l.LimiterConfig(), ratelimit.SystemClock{})
	}
	c.mu.Lock()
	if old, ok := c.cache[ch.ID]; ok && old.limiter != nil && e.limiter != nil && old.updated.Before(ch.UpdatedAt) {
		// A config change keeps the pacing already earned by this number.
		e.limiter = old.limiter
	}
	c.cache[ch.ID] = e
	c.mu.Unlock()
	return a, nil
}

// Limiter is the send pacer of a channel whose adapter needs one
// (WhatsApp: messages per second per number, and per-recipient pacing); nil
// otherwise. One limiter per channel lives as long as this process.
func (c *Catalog) Limiter(ctx context.Context, ch domain.Channel) *ratelimit.Limiter {
	if _, err := c.Adapter(ctx, ch); err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache[ch.ID].limiter
}

func (c *Catalog) build(ch domain.Channel) (channel.Adapter, error) {
	switch ch.Type {
	case webchat.Type:
		return webchat.Adapter{}, nil
	case whatsapp.ChannelType:
		cfg, err := c.Full(ch)
		if err != nil {
			return nil, err
		}
		raw, _ := json.Marshal(cfg)
		wc, err := whatsapp.ParseConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("channel %s: %w", ch.ID, err)
		}
		var ad *whatsapp.Adapter
		if ad, err = whatsapp.New(wc, c.client(ch, func() []string { return ad.Secrets() })); err != nil {
			return nil, err
		}
		return ad, nil
	}
	return nil, fmt.Errorf("channel %s has the unsupported type %q", ch.ID, ch.Type)
}

// Full is a channel's config with its secrets opened.
func (c *Catalog) Full(ch domain.Channel) (map[string]any, error) {
	cfg := map[string]any{}
	if err := json.Unmarshal(ch.Config, &cfg); err != nil {
		return nil, fmt.Errorf("reading the config of channel %s: %w", ch.ID, err)
	}
	if ch.Secrets != "" {
		if c.box == nil {
			return nil, fmt.Errorf("channel %s has secrets but no secret key is configured", ch.ID)
		}
		plain, err := c.box.Open(ch.Secrets)
		if err != nil {
			return nil, fmt.Errorf("channel %s: %w (was PARLEY_SECRET_KEY changed?)", ch.ID, err)
		}
		if err := json.Unmarshal([]byte(plain), &cfg); err != nil {
			return nil, fmt.Errorf("reading the secrets of channel %s: %w", ch.ID, err)
		}
	}
	return cfg, nil
}
