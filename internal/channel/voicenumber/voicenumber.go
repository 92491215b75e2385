// Package voicenumber is the channel type of voice numbers: the number
// (DID) a voice_call step calls from. Its adapter is a voice.Provider (the
// capability the calls service asks for); it sends no chat messages. The
// simulated provider (voice/sim) is built in, so a voice step runs in the
// sandbox and in tests without any account.
package voicenumber

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/twilio"
)

// Type is the channel type's name.
const Type = "voice"

// Providers of voice numbers.
const (
	// ProviderSimulated is the built-in simulated caller (voice/sim).
	ProviderSimulated = "simulated"
	// ProviderTwilio is Twilio Programmable Voice (voice/twilio).
	ProviderTwilio = "twilio"
)

// Option configures the channel type.
type Option func(*deps)

type deps struct {
	clock      domain.Clock
	ids        domain.IDGen
	logger     *slog.Logger
	inbound    voice.InboundHandler
	recordings voice.RecordingSink
}

// WithLogger logs what the Twilio webhooks refuse.
func WithLogger(l *slog.Logger) Option { return func(d *deps) { d.logger = l } }

// WithInbound hands the calls made to Twilio numbers to h (the calls
// service, through App.AnswerInbound); the simulated provider is given its
// handler by its owner.
func WithInbound(h voice.InboundHandler) Option { return func(d *deps) { d.inbound = h } }

// WithRecordings keeps the recordings of Twilio numbers' calls with s.
func WithRecordings(s voice.RecordingSink) Option { return func(d *deps) { d.recordings = s } }

// Definition declares the voice-number channel type; sim is the process's
// simulated provider, shared by every simulated number (the sandbox and
// `parley sandbox call` script its callees).
func Definition(sim voice.Provider, opts ...Option) channel.Type {
	d := deps{clock: domain.SystemClock{}, ids: domain.UUIDv7{}}
	for _, o := range opts {
		o(&d)
	}
	// The calls this process placed through Twilio, found again by their
	// webhooks whichever Twilio number placed them.
	calls := twilio.NewRegistry()
	return channel.Type{Name: Type, Label: "Voice number",
		Fields: []channel.ConfigField{
			{Name: "number", Type: "string", Label: "Phone number", Required: true,
				Help: "The number calls come from, in international format (+14155550100)."},
			{Name: "provider", Type: "string", Label: "Provider", Default: ProviderSimulated,
				Help: "simulated: Parley's simulated caller, for trying voice steps without a telephony account; twilio: a Twilio number (see docs/voice.md)."},
			{Name: "account_sid", Type: "string", Label: "Twilio account SID", Help: "Twilio only: your account SID (AC…), from the Twilio console."},
			{Name: "auth_token", Type: "string", Label: "Twilio auth token", Secret: true, Help: "Twilio only: the account's auth token; it also checks the X-Twilio-Signature of Twilio's webhooks."},
			{Name: "api_base_url", Type: "string", Label: "Twilio API base URL", Endpoint: true, Default: twilio.DefaultAPIBase,
				Help: "Twilio only: where the REST API is reached; change it only to point at a fake Twilio."},
			{Name: "max_concurrent_calls", Type: "string", Label: "Calls at once",
				Help: "The most calls this number has under way at once (campaigns wait for a free line); empty: no limit."},
			{Name: "calls_per_second", Type: "string", Label: "Calls per second",
				Help: "How many calls per second this number may start (Twilio allows 1 by default; 0.5 is one call every two seconds); empty: no limit."},
		},
		Configure: Configure,
		// Twilio asks for a call's TwiML, posts its status and recording
		// callbacks, posts the number's incoming calls (its Voice URL,
		// …/incoming) and opens a call's ConversationRelay websocket under
		// the channel's URL.
		Webhooks: []channel.Webhook{
			{Method: http.MethodPost, Path: channel.PathServe, Kind: channel.Serve, Summary: "Twilio's incoming calls (the number's Voice URL …/incoming), TwiML requests, status and recording callbacks of a voice number's calls (X-Twilio-Signature)"},
			{Method: http.MethodGet, Path: channel.PathServe, Kind: channel.Serve, Summary: "The ConversationRelay websocket of a voice number's call (X-Twilio-Signature)"},
		},
		New: func(raw json.RawMessage, hc *http.Client) (channel.Adapter, error) {
			var c Config
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("reading the voice number's configuration: %w", err)
			}
			switch c.Provider {
			case ProviderSimulated, "":
				return &Adapter{number: c.Number, provider: sim}, nil
			case ProviderTwilio:
				p, err := twilio.New(twilio.Config{AccountSID: c.AccountSID, AuthToken: c.AuthToken, Number: c.Number, APIBase: c.APIBaseURL, HTTP: hc},
					calls, d.clock, d.ids, d.logger)
				if err != nil {
					return nil, fmt.Errorf("voice number %s: %w", c.Number, err)
				}
				if d.inbound != nil {
					p.OnInbound(d.inbound)
				}
				if d.recordings != nil {
					p.OnRecording(d.recordings)
				}
				return &Adapter{number: c.Number, provider: p, twilio: p, secrets: []string{c.AuthToken}}, nil
			}
			return nil, fmt.Errorf("voice number %s: provider %q is not one this build has", c.Number, c.Provider)
		},
	}
}

// Config is a voice number's stored configuration.
type Config struct {
	Number     string `json:"number"`
	Provider   string `json:"provider"`
	AccountSID string `json:"account_sid,omitempty"`
	AuthToken  string `json:"auth_token,omitempty"`
	APIBaseURL string `json:"api_base_url,omitempty"`
	// MaxConcurrentCalls and CallsPerSecond pace the number's calls
	// (numbers written as text, like every setting; empty: no limit).
	MaxConcurrentCalls string `json:"max_concurrent_calls,omitempty"`
	CallsPerSecond     string `json:"calls_per_second,omitempty"`
}

// Pacing reads the number's pacing: the most calls at once and calls
// started per second, 0 for no limit. Configure checked both.
func (c Config) Pacing() (maxConcurrent int, perSecond float64) {
	maxConcurrent, _ = strconv.Atoi(c.MaxConcurrentCalls)
	perSecond, _ = strconv.ParseFloat(c.CallsPerSecond, 64)
	return maxConcurrent, perSecond
}

// Configure validates a voice number's configuration.
func Configure(cfg map[string]any) (channel.Config, error) {
	pub := map[string]any{"provider": ProviderSimulated}
	sec := map[string]any{}
	for k, v := range cfg {
		s, ok := v.(string)
		if !ok {
			return channel.Config{}, domain.Invalid("/config/"+k, "%s must be a string", k)
		}
		switch k {
		case "number":
			n, err := e164(s)
			if err != nil {
				return channel.Config{}, domain.Invalid("/config/number", "%v", err)
			}
			pub[k] = n
		case "max_concurrent_calls":
			if s == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 || n > 10000 {
				return channel.Config{}, domain.Invalid("/config/"+k, "max_concurrent_calls %q must be a whole number from 1 to 10000 (empty: no limit)", s)
			}
			pub[k] = strconv.Itoa(n)
		case "calls_per_second":
			if s == "" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || f < 0.01 || f > 1000 {
				return channel.Config{}, domain.Invalid("/config/"+k, "calls_per_second %q must be a number from 0.01 to 1000 (empty: no limit)", s)
			}
			pub[k] = strconv.FormatFloat(f, 'f', -1, 64)
		case "provider":
			if s != ProviderSimulated && s != ProviderTwilio {
				return channel.Config{}, domain.Invalid("/config/provider", "provider %q is not one this build has; use %q or %q", s, ProviderSimulated, ProviderTwilio)
			}
			pub[k] = s
		case "account_sid":
			if s = strings.TrimSpace(s); !strings.HasPrefix(s, "AC") || len(s) != 34 {
				return channel.Config{}, domain.Invalid("/config/account_sid", "a Twilio account SID is AC followed by 32 characters, got %q", s)
			}
			pub[k] = s
		case "auth_token":
			if s = strings.TrimSpace(s); s == "" {
				return channel.Config{}, domain.Invalid("/config/auth_token", "the auth token is empty")
			}
			sec[k] = s
		case "api_base_url":
			u, err := url.Parse(strings.TrimSpace(s))
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return channel.Config{}, domain.Invalid("/config/api_base_url", "%q is not an http(s) URL", s)
			}
			pub[k] = strings.TrimRight(u.String(), "/")
		default:
			return channel.Config{}, domain.Invalid("/config/"+k, "a voice number has no setting %q", k)
		}
	}
	if pub["number"] == nil {
		return channel.Config{}, domain.Invalid("/config/number", "a voice number needs its phone number")
	}
	if pub["provider"] == ProviderTwilio {
		if pub["account_sid"] == nil {
			return channel.Config{}, domain.Invalid("/config/account_sid", "a Twilio number needs its account SID")
		}
		if sec["auth_token"] == nil {
			return channel.Config{}, domain.Invalid("/config/auth_token", "a Twilio number needs its auth token")
		}
		if pub["api_base_url"] == nil {
			pub["api_base_url"] = twilio.DefaultAPIBase
		}
	} else {
		for _, k := range []string{"account_sid", "api_base_url"} {
			if pub[k] != nil {
				return channel.Config{}, domain.Invalid("/config/"+k, "%s is a Twilio setting; set provider to %q", k, ProviderTwilio)
			}
		}
		if sec["auth_token"] != nil {
			return channel.Config{}, domain.Invalid("/config/auth_token", "auth_token is a Twilio setting; set provider to %q", ProviderTwilio)
		}
	}
	return channel.Config{Public: pub, Secret: sec, Address: pub["number"].(string)}, nil
}

// e164 checks an international phone number.
func e164(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return "", fmt.Errorf("number %q must be in international format, starting with + and the country code", s)
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return "", fmt.Errorf("%q is not a phone number", s)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// Adapter is a voice number: a voice.Provider that places calls from its
// number. As a channel.Adapter it sends no messages; a Twilio number serves
// its calls' webhooks (channel.Server).
type Adapter struct {
	number   string
	provider voice.Provider
	twilio   *twilio.Provider
	secrets  []string
}

var (
	_ channel.Server           = (*Adapter)(nil)
	_ channel.WebhookAddressed = (*Adapter)(nil)
	_ channel.Provisioner      = (*Adapter)(nil)
)

// Provision implements channel.Provisioner: a Twilio number's Voice URL
// and status callback are pointed at the channel's webhook URL when the
// channel is saved, so that calls to the number reach Parley (a
// simulated number has nothing to register).
func (a *Adapter) Provision(ctx context.Context, webhookURL string) error {
	if a.twilio == nil {
		return nil
	}
	return a.twilio.ConfigureNumber(ctx, webhookURL)
}

// Unprovision implements channel.Provisioner: the Twilio number's Voice
// URL is cleared before the channel is deleted.
func (a *Adapter) Unprovision(ctx context.Context) error {
	if a.twilio == nil {
		return nil
	}
	return a.twilio.UnconfigureNumber(ctx)
}

// SetWebhookURL implements channel.WebhookAddressed: a Twilio number's
// calls give Twilio URLs under its webhook URL.
func (a *Adapter) SetWebhookURL(u func() string) {
	if a.twilio != nil {
		a.twilio.SetWebhookBase(u)
	}
}

// ServeWebhook implements channel.Server: Twilio's requests about a call.
func (a *Adapter) ServeWebhook(w http.ResponseWriter, r *http.Request, rest string) {
	if a.twilio == nil {
		http.Error(w, "a simulated voice number receives no webhooks", http.StatusNotFound)
		return
	}
	a.twilio.ServeWebhook(w, r, rest)
}

// Number is the number calls come from.
func (a *Adapter) Number() string { return a.number }

// Place implements voice.Provider: the call comes from this number.
func (a *Adapter) Place(ctx context.Context, d voice.Dial) (voice.Leg, error) {
	d.From = a.number
	return a.provider.Place(ctx, d)
}

// Type implements channel.Adapter.
func (a *Adapter) Type() string { return Type }

// VerifyHandshake implements channel.Adapter: a voice number has no
// webhook subscription to answer.
func (a *Adapter) VerifyHandshake(url.Values) (string, bool) { return "", false }

// VerifySignature implements channel.Adapter: nothing is accepted.
func (a *Adapter) VerifySignature([]byte, http.Header) bool { return false }

// Parse implements channel.Adapter.
func (a *Adapter) Parse([]byte) ([]channel.Event, error) {
	return nil, errors.New("a simulated voice number receives no webhooks")
}

// Send implements channel.Adapter: a voice number sends no chat messages.
func (a *Adapter) Send(context.Context, channel.Outbound) (channel.SendResult, error) {
	return channel.SendResult{}, &channel.SendError{Class: channel.Permanent,
		Title: "a voice number sends no chat messages; send on the contact's chat channel, or call with a voice_call step"}
}

// Secrets implements channel.Adapter.
func (a *Adapter) Secrets() []string { return a.secrets }
