// Package channels is the channel service: it owns a project's channel rows
// — validating and splitting their configuration with the registry's type,
// sealing the secrets — the live adapter and send limiter of each channel,
// and the short-lived caches the hot paths read channels through (every
// webhook, every send, every first message). A change made through it is
// seen at once in this process; one made by another process within a
// second. It knows channel types only through the channel.Registry the
// composition root fills.
package channels

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/shortcache"
	"github.com/parleyhq/parley/internal/store"
)

// Store is what the service needs of the database: the channels, and
// whether a published flow is bound to one before it is deleted.
type Store interface {
	store.Channels
	FlowList(ctx context.Context, p store.FlowListParams) (store.List[store.Flow], error)
}

// Deps are what a Service needs.
type Deps struct {
	Registry *channel.Registry
	Store    Store
	// Box seals channel secrets; nil refuses configs with secrets.
	Box    *secret.Box
	Clock  domain.Clock
	IDs    domain.IDGen
	Logger *slog.Logger
	// HTTP makes the adapters' provider calls; nil: SharedHTTPClient().
	HTTP *http.Client
	// Log receives every provider call's entry (the channel log); nil
	// records nothing.
	Log channellog.Sink
}

// Service is the channel service.
type Service struct {
	d Deps

	mu       sync.Mutex
	adapters map[string]live // by channel ID

	// byID and byType are the rows read for the hot paths, for a second.
	byID   shortcache.Cache[domain.Channel]
	byType shortcache.Cache[[]domain.Channel]
}

// live is a channel's adapter, built from the row updated at updated.
type live struct {
	updated time.Time
	adapter channel.Adapter
	limiter *ratelimit.Limiter
}

// New returns the service.
func New(d Deps) *Service {
	if d.Registry == nil {
		d.Registry = channel.NewRegistry()
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HTTP == nil {
		d.HTTP = SharedHTTPClient()
	}
	return &Service{d: d, adapters: map[string]live{}}
}

// SharedHTTPClient is the client adapters share for provider calls:
// sends run concurrently to one host (the Graph API), so it keeps enough
// idle connections to reuse them instead of a handshake per send. It has
// no client-wide timeout: each adapter bounds its calls with its channel's
// own (WhatsApp: request_timeout_seconds, up to 2 min).
func SharedHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 64
	return &http.Client{Transport: t}
}

// client is the HTTP client of one channel's adapter: the shared one, its
// transport wrapped to record the channel's calls when a log is set.
// secrets is asked at each call, once the adapter exists.
func (s *Service) client(ch domain.Channel, secrets func() []string) *http.Client {
	if s.d.Log == nil {
		return s.d.HTTP
	}
	hc := *s.d.HTTP
	hc.Transport = &channellog.Transport{Base: s.d.HTTP.Transport, ChannelID: ch.ID, ProjectID: ch.ProjectID, Secrets: secrets, Sink: s.d.Log}
	return &hc
}

// Types are the channel types of this build, by name.
func (s *Service) Types() []channel.Type { return s.d.Registry.Types() }

// Type is the registered type of a channel type name.
func (s *Service) Type(name string) (channel.Type, bool) { return s.d.Registry.Lookup(name) }

// typeOf is the registered type, or an invalid-input error at /type.
func (s *Service) typeOf(name string) (channel.Type, error) {
	t, ok := s.d.Registry.Lookup(name)
	if !ok {
		return t, domain.Invalid("/type", "channel type %q is not supported; use one of %s", name, strings.Join(s.d.Registry.Names(), ", "))
	}
	return t, nil
}

// apply validates cfg for the channel's type and stores it on the channel:
// public settings in clear, secrets sealed with the master key, the
// routing address.
func (s *Service) apply(ch *domain.Channel, cfg map[string]any) error {
	t, err := s.typeOf(ch.Type)
	if err != nil {
		return err
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	d, err := t.Configure(cfg)
	if err != nil {
		return err
	}
	if d.Public == nil {
		d.Public = map[string]any{}
	}
	pub, err := json.Marshal(d.Public)
	if err != nil {
		return fmt.Errorf("encoding the config of channel %s: %w", ch.ID, err)
	}
	ch.Config, ch.Address, ch.Secrets = pub, d.Address, ""
	if len(d.Secret) == 0 {
		return nil
	}
	if s.d.Box == nil {
		return domain.Errorf(domain.CodeUnavailable, "no secret key is configured to store channel secrets")
	}
	raw, err := json.Marshal(d.Secret)
	if err != nil {
		return fmt.Errorf("encoding the secrets of channel %s: %w", ch.ID, err)
	}
	ch.Secrets, err = s.d.Box.Seal(string(raw))
	return err
}

// Full is a channel's configuration with its secrets opened (the CLI's
// sandbox sender signs as the provider with them).
func (s *Service) Full(ch domain.Channel) (map[string]any, error) {
	cfg := map[string]any{}
	if len(ch.Config) > 0 {
		if err := json.Unmarshal(ch.Config, &cfg); err != nil {
			return nil, fmt.Errorf("reading the config of channel %s: %w", ch.ID, err)
		}
	}
	sec, err := s.secrets(ch)
	if err != nil {
		return nil, err
	}
	for k, v := range sec {
		cfg[k] = v
	}
	return cfg, nil
}

func (s *Service) secrets(ch domain.Channel) (map[string]any, error) {
	out := map[string]any{}
	if ch.Secrets == "" {
		return out, nil
	}
	if s.d.Box == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "channel %s has secrets but no secret key is configured", ch.ID)
	}
	plain, err := s.d.Box.Open(ch.Secrets)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w (was PARLEY_SECRET_KEY changed?)", ch.ID, err)
	}
	if err := json.Unmarshal([]byte(plain), &out); err != nil {
		return nil, fmt.Errorf("reading the secrets of channel %s: %w", ch.ID, err)
	}
	return out, nil
}

// Masked is what the API shows instead of a secret value.
const Masked = "********"

// PublicConfig is a channel's configuration as the API shows it: secret
// values masked, and the type's defaults for settings saved before they
// existed (the value its calls use).
func (s *Service) PublicConfig(ch domain.Channel) map[string]any {
	cfg := map[string]any{}
	_ = json.Unmarshal(ch.Config, &cfg)
	if sec, err := s.secrets(ch); err == nil {
		for k := range sec {
			cfg[k] = Masked
		}
	}
	if t, ok := s.d.Registry.Lookup(ch.Type); ok {
		for _, f := range t.Fields {
			if _, set := cfg[f.Name]; !set && f.Default != nil {
				cfg[f.Name] = f.Default
			}
		}
	}
	return cfg
}

// List is a project's channels.
func (s *Service) List(ctx context.Context, projectID string) ([]domain.Channel, error) {
	return s.d.Store.ChannelList(ctx, projectID)
}

// Get is a project's channel, read afresh.
func (s *Service) Get(ctx context.Context, projectID, id string) (domain.Channel, error) {
	return s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: id})
}

// CreateParams adds a channel.
type CreateParams struct {
	ProjectID, Type, Name string
	// Config is the type's configuration, secrets included.
	Config map[string]any
}

// Create validates and stores a new channel.
func (s *Service) Create(ctx context.Context, p CreateParams) (domain.Channel, error) {
	now := s.d.Clock.Now()
	ch := domain.Channel{ID: s.d.IDs.NewID(), ProjectID: p.ProjectID, Type: p.Type, Name: strings.TrimSpace(p.Name), Status: "active", CreatedAt: now, UpdatedAt: now}
	if err := s.apply(&ch, p.Config); err != nil {
		return domain.Channel{}, err
	}
	out, err := s.d.Store.ChannelCreate(ctx, ch)
	s.forget()
	return out, err
}

// UpdateParams changes a channel; nil fields are left as they are.
type UpdateParams struct {
	ProjectID, ID string
	Name          *string
	Status        *string
	// Config changes settings: keys left out, or secrets sent as Masked,
	// keep their stored values.
	Config map[string]any
}

// Update changes a channel.
func (s *Service) Update(ctx context.Context, p UpdateParams) (domain.Channel, error) {
	ch, err := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ID})
	if err != nil {
		return domain.Channel{}, err
	}
	if p.Name != nil {
		ch.Name = strings.TrimSpace(*p.Name)
	}
	if p.Status != nil {
		ch.Status = *p.Status
	}
	if p.Config != nil {
		cfg, err := s.Full(ch)
		if err != nil {
			return domain.Channel{}, err
		}
		for k, v := range p.Config {
			if v == Masked {
				continue
			}
			cfg[k] = v
		}
		if err := s.apply(&ch, cfg); err != nil {
			return domain.Channel{}, err
		}
	}
	ch.UpdatedAt = s.d.Clock.Now()
	out, err := s.d.Store.ChannelUpdate(ctx, ch)
	s.forget()
	return out, err
}

// Delete removes a channel no published flow is bound to.
func (s *Service) Delete(ctx context.Context, projectID, id string) error {
	flows, err := s.d.Store.FlowList(ctx, store.FlowListParams{ProjectID: projectID, ChannelID: id, Status: store.FlowPublished, Page: store.Page{Limit: 1}})
	if err != nil {
		return err
	}
	if len(flows.Items) > 0 {
		return domain.Errorf(domain.CodeConflict, "the published flow %q is bound to this channel; unpublish it or bind it elsewhere first", flows.Items[0].Name)
	}
	err = s.d.Store.ChannelDelete(ctx, store.Ref{ProjectID: projectID, ID: id})
	s.forget()
	s.mu.Lock()
	delete(s.adapters, id)
	s.mu.Unlock()
	return err
}

// Check calls the provider to confirm a channel's credentials, for types
// that can (channel.Checker).
func (s *Service) Check(ctx context.Context, projectID, id string) (channel.CheckReport, error) {
	ch, err := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return channel.CheckReport{}, err
	}
	ad, err := s.Adapter(ctx, ch)
	if err != nil {
		return channel.CheckReport{Steps: []channel.CheckStep{{Name: "configuration", Detail: err.Error()}}}, nil
	}
	checker, ok := ad.(channel.Checker)
	if !ok {
		return channel.CheckReport{OK: true, Steps: []channel.CheckStep{{Name: "configuration", OK: true, Detail: "a " + ch.Type + " channel has no credentials to check"}}}, nil
	}
	return checker.Check(ctx), nil
}

// Adapter is the live adapter of a stored channel, built once per version
// of its row so that its connections and pacing live as long as it does.
func (s *Service) Adapter(ctx context.Context, ch domain.Channel) (channel.Adapter, error) {
	s.mu.Lock()
	if e, ok := s.adapters[ch.ID]; ok && e.updated.Equal(ch.UpdatedAt) {
		s.mu.Unlock()
		return e.adapter, nil
	}
	s.mu.Unlock()
	t, ok := s.d.Registry.Lookup(ch.Type)
	if !ok {
		return nil, fmt.Errorf("channel %s has the type %q, which this build does not support", ch.ID, ch.Type)
	}
	cfg, err := s.Full(ch)
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(cfg)
	var a channel.Adapter
	a, err = t.New(raw, s.client(ch, func() []string { return a.Secrets() }))
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", ch.ID, err)
	}
	e := live{updated: ch.UpdatedAt, adapter: a}
	if p, ok := a.(channel.Paced); ok {
		e.limiter = ratelimit.New(p.LimiterConfig(), ratelimit.SystemClock{})
	}
	s.mu.Lock()
	if old, ok := s.adapters[ch.ID]; ok && old.limiter != nil && e.limiter != nil && old.updated.Before(ch.UpdatedAt) {
		// A config change keeps the pacing already earned by this number.
		e.limiter = old.limiter
	}
	s.adapters[ch.ID] = e
	s.mu.Unlock()
	return a, nil
}

// Limiter is the send pacer of a channel whose adapter needs one
// (channel.Paced); nil otherwise.
func (s *Service) Limiter(ctx context.Context, ch domain.Channel) *ratelimit.Limiter {
	if _, err := s.Adapter(ctx, ch); err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adapters[ch.ID].limiter
}
