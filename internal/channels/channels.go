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
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/shortcache"
	"github.com/parleyhq/parley/internal/store"
)

// Store is what the service needs of the database: the channels, and
// whether a published flow is bound to one before it is deleted.
type Store interface {
	store.Channels
	// Display-name requests of the numbers' business profiles (profile.go).
	DisplayNameRequestCreate(ctx context.Context, d store.DisplayNameRequest) error
	DisplayNameRequestList(ctx context.Context, r store.Ref) ([]store.DisplayNameRequest, error)
	DisplayNameRequestDecide(ctx context.Context, p store.DisplayNameDecideParams) (bool, error)
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
	// Guard is the SSRF policy of provider calls: a channel's endpoint
	// (e.g. api_base_url) is checked against it when saved and at every
	// dial. nil refuses every internal address.
	Guard *httpclient.Guard
	// HTTP makes the adapters' provider calls; nil: SharedHTTPClient(Guard).
	// Whatever it is, redirects are never followed.
	HTTP *http.Client
	// Log receives every provider call's entry (the channel log); nil
	// records nothing.
	Log channellog.Sink
	// PublicURL is Parley's externally reachable base URL: a channel whose
	// provider must be told its webhook (channel.Provisioner: Viber) is
	// registered at PublicURL()/webhooks/{type}/{id} when saved. nil: none
	// can be registered.
	PublicURL func() string
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
	if d.Guard == nil {
		d.Guard = httpclient.NewGuard()
	}
	if d.HTTP == nil {
		d.HTTP = SharedHTTPClient(d.Guard)
	}
	return &Service{d: d, adapters: map[string]live{}}
}

// SharedHTTPClient is the client adapters share for provider calls:
// sends run concurrently to one host (the Graph API), so it keeps enough
// idle connections to reuse them instead of a handshake per send. It has
// no client-wide timeout: each adapter bounds its calls with its channel's
// own (WhatsApp: request_timeout_seconds, up to 2 min). Every connection
// goes through the guard (the address really dialled, after DNS), and
// like the HTTP node's client it uses no proxy from the environment, which
// would hide the real destination.
func SharedHTTPClient(g *httpclient.Guard) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = d.DialContext
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 512, 256 // as many as the senders (runner.DefaultSendWorkers)
	return &http.Client{Transport: t, CheckRedirect: noRedirects}
}

// noRedirects hands a redirect back to the adapter as the answer: a
// provider call carries the channel's credentials, which must not follow
// a redirect anywhere.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// AllowEndpoint lets adapters reach exactly the host and port of rawURL
// although the guard would refuse it: for a component of this process
// that the operator turned on (the sandbox's fake Graph API) and for
// tests. The host must be an IP address.
func (s *Service) AllowEndpoint(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("allowing %q: %w", rawURL, err)
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil {
		return fmt.Errorf("allowing %q: the host must be an IP address and a port: %w", rawURL, err)
	}
	s.d.Guard.AllowAddr(ap)
	return nil
}

// client is the HTTP client of one channel's adapter: the shared one,
// never following redirects, its transport wrapped to record the
// channel's calls when a log is set. secrets is asked at each call, once
// the adapter exists.
func (s *Service) client(ch domain.Channel, secrets func() []string) *http.Client {
	hc := *s.d.HTTP
	hc.CheckRedirect = noRedirects
	if s.d.Log != nil {
		hc.Transport = &channellog.Transport{Base: s.d.HTTP.Transport, ChannelID: ch.ID, ProjectID: ch.ProjectID, Secrets: secrets, Sink: s.d.Log}
	}
	return &hc
}

// Types are the channel types of this build, by name.
func (s *Service) Types() []channel.Type { return s.d.Registry.Types() }

// Limits are what channels of type typ show natively of buttons and lists
// (channel.Type.Limits); nil when the type declares none.
func (s *Service) Limits(typ string) *channel.Limits {
	t, ok := s.d.Registry.Lookup(typ)
	if !ok {
		return nil
	}
	return t.Limits
}

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
func (s *Service) apply(ctx context.Context, ch *domain.Channel, cfg map[string]any) error {
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
	if err := s.checkEndpoints(ctx, t, d.Public); err != nil {
		return err
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
	if err := s.apply(ctx, &ch, p.Config); err != nil {
		return domain.Channel{}, err
	}
	out, err := s.d.Store.ChannelCreate(ctx, ch)
	s.forget()
	if err != nil {
		return out, s.addressTaken(ctx, ch, err)
	}
	if err := s.provision(ctx, out); err != nil {
		// A channel its provider cannot reach is no channel: undo.
		if derr := s.d.Store.ChannelDelete(ctx, store.Ref{ProjectID: out.ProjectID, ID: out.ID}); derr != nil {
			s.d.Logger.Error("removing a channel whose webhook could not be registered", "channel", out.ID, "err", derr)
		}
		s.forget()
		return domain.Channel{}, err
	}
	return out, nil
}

// WebhookURL is where a channel's provider sends its webhooks.
func (s *Service) WebhookURL(ch domain.Channel) string {
	base := ""
	if s.d.PublicURL != nil {
		base = s.d.PublicURL()
	}
	return strings.TrimRight(base, "/") + "/webhooks/" + ch.Type + "/" + ch.ID
}

// provision registers a saved channel's webhook with its provider, for
// types that need it (channel.Provisioner); the provider may call the
// webhook at once, so the row is stored first.
func (s *Service) provision(ctx context.Context, ch domain.Channel) error {
	ad, err := s.Adapter(ctx, ch)
	if err != nil {
		return err
	}
	p, ok := ad.(channel.Provisioner)
	if !ok {
		return nil
	}
	if err := p.Provision(ctx, s.WebhookURL(ch)); err != nil {
		return &domain.Error{Code: domain.CodeUnprocessable, Message: "the channel's webhook could not be registered: " + err.Error(), Err: err}
	}
	return nil
}

// addressTaken rewords a conflict over a channel's routing address (the
// store's unique index: one WhatsApp number, one channel in the whole
// installation). Within the project the answer names the channel; a
// channel of another project is not revealed — the answer is the same as
// for a number reserved by anything else. Who really owns a number is
// proven by the provider: the channel's check calls it with the token.
func (s *Service) addressTaken(ctx context.Context, ch domain.Channel, err error) error {
	if domain.CodeOf(err) != domain.CodeConflict || ch.Address == "" {
		return err
	}
	if other, gerr := s.d.Store.ChannelGetByAddress(ctx, store.ChannelGetByAddressParams{Type: ch.Type, Address: ch.Address}); gerr == nil &&
		other.ProjectID == ch.ProjectID && other.ID != ch.ID {
		return domain.Errorf(domain.CodeConflict, "this project's channel %q already uses the address %q; edit that channel instead", other.Name, ch.Address)
	}
	return domain.Errorf(domain.CodeConflict, "the address %q cannot be connected: it is already connected elsewhere or reserved", ch.Address)
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
		if err := s.reenterSecrets(ch, p.Config); err != nil {
			return domain.Channel{}, err
		}
		if err := s.apply(ctx, &ch, cfg); err != nil {
			return domain.Channel{}, err
		}
	}
	ch.UpdatedAt = s.d.Clock.Now()
	out, err := s.d.Store.ChannelUpdate(ctx, ch)
	s.forget()
	if err != nil {
		return out, s.addressTaken(ctx, ch, err)
	}
	if p.Config != nil {
		// The token or the API may have changed: register again.
		if err := s.provision(ctx, out); err != nil {
			return out, err
		}
	}
	return out, nil
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
	if ch, gerr := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: id}); gerr == nil {
		if ad, aerr := s.Adapter(ctx, ch); aerr == nil {
			if p, ok := ad.(channel.Provisioner); ok {
				// The channel goes even when the provider cannot be
				// reached: a webhook left behind is refused (no channel).
				if uerr := p.Unprovision(ctx); uerr != nil {
					s.d.Logger.Warn("removing a deleted channel's webhook at its provider failed", "channel", id, "err", uerr)
				}
			}
		}
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
	if wa, ok := a.(channel.WebhookAddressed); ok {
		wa.SetWebhookURL(func() string { return s.WebhookURL(ch) })
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

// checkEndpoints refuses endpoint settings (channel.ConfigField.Endpoint)
// that the guard would not let the adapter dial, with a clear reason at
// the field, before the channel's credentials could be sent there. The
// type's default is trusted. A host that does not resolve now is let
// through: every dial is checked again, which also defeats a name that
// resolves elsewhere later (DNS rebinding).
func (s *Service) checkEndpoints(ctx context.Context, t channel.Type, pub map[string]any) error {
	for _, f := range t.Fields {
		v, _ := pub[f.Name].(string)
		if !f.Endpoint || v == "" || v == f.Default {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return domain.Invalid("/config/"+f.Name, "%s must be an http(s) URL", f.Name)
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = s.d.Guard.CheckURL(cctx, u)
		cancel()
		if errors.Is(err, httpclient.ErrBlocked) {
			return domain.Invalid("/config/"+f.Name, "%s points at a loopback, private or otherwise internal address; Parley does not send channel credentials there unless the operator allows the address with PARLEY_HTTP_ALLOW", f.Name)
		}
		if err != nil {
			s.d.Logger.Info("a channel endpoint does not resolve now; it is checked again when dialled", "field", f.Name, "err", err)
		}
	}
	return nil
}

// reenterSecrets: a change of a stored channel's endpoint must come with
// its secrets entered again (not left out or sent masked), or whoever may
// edit the channel could point its stored token at a server of theirs.
func (s *Service) reenterSecrets(ch domain.Channel, change map[string]any) error {
	if ch.Secrets == "" {
		return nil
	}
	t, err := s.typeOf(ch.Type)
	if err != nil {
		return err
	}
	stored := map[string]any{}
	_ = json.Unmarshal(ch.Config, &stored)
	moved := ""
	for _, f := range t.Fields {
		v, set := change[f.Name]
		if !f.Endpoint || !set {
			continue
		}
		old, had := stored[f.Name]
		if !had {
			old = f.Default
		}
		if fmt.Sprint(v) != fmt.Sprint(old) && !(v == nil && !had) {
			moved = f.Name
			break
		}
	}
	if moved == "" {
		return nil
	}
	sec, err := s.secrets(ch)
	if err != nil {
		return err
	}
	for _, f := range t.Fields {
		if _, has := sec[f.Name]; !f.Secret || !has {
			continue
		}
		if v, set := change[f.Name]; !set || v == Masked || v == "" {
			return domain.Invalid("/config/"+f.Name, "changing %s requires entering %s again: the stored one is not sent to a new address", moved, f.Name)
		}
	}
	return nil
}
