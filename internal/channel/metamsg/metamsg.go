// Package metamsg is the Meta messaging channels, Messenger and Instagram:
// one package because both speak the same webhook envelope (object "page"
// or "instagram", entry[].messaging[]), the same X-Hub-Signature-256 and
// hub.challenge handshake, and the same Send API body. What differs — the
// host and token (graph.facebook.com with a Page token, graph.instagram.com
// with an Instagram token), the text limit, delivery receipts — is a
// Platform. The package exposes one channel.Type per platform.
package metamsg

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// Platform is what differs between Messenger and Instagram.
type Platform struct {
	// Name is the channel type ("messenger", "instagram").
	Name  string
	Label string
	// Object is the webhook envelope's "object".
	Object string
	// IDField is the config key of the account the channel sends as.
	IDField string
	IDLabel string
	IDHelp  string
	// DefaultBaseURL is the Graph host of the platform's Send API.
	DefaultBaseURL string
	// MaxTextBytes and MaxTextRunes bound a text message (0: no bound of
	// that kind): Instagram counts UTF-8 bytes, Messenger characters.
	MaxTextBytes int
	MaxTextRunes int
	// OutsideWindowSubcode is the Graph error subcode the platform
	// answers a send outside the window with; Parley records the same
	// when it refuses one itself.
	OutsideWindowSubcode int
}

// Messenger and Instagram are the two platforms.
var (
	Messenger = Platform{Name: "messenger", Label: "Facebook Messenger", Object: "page", IDField: "page_id", IDLabel: "Page ID",
		IDHelp:         "The numeric ID of the Facebook Page (Page › About › Page transparency, or Meta Business Suite)",
		DefaultBaseURL: "https://graph.facebook.com", MaxTextRunes: 2000, OutsideWindowSubcode: 2018278}
	Instagram = Platform{Name: "instagram", Label: "Instagram messaging", Object: "instagram", IDField: "account_id", IDLabel: "Instagram account ID",
		IDHelp:         "The numeric ID of the Instagram professional account (GET /me?fields=user_id with its token)",
		DefaultBaseURL: "https://graph.instagram.com", MaxTextBytes: 1000, OutsideWindowSubcode: 2534022}
)

// Defaults and limits.
const (
	DefaultAPIVersion        = "v25.0"
	DefaultMessagesPerSecond = 100
	// MaxMessagesPerSecond is Meta's Send API limit per Page or account
	// for text (300 calls/s).
	MaxMessagesPerSecond = 300
	// StandardWindow is how long after a person's last message anything
	// may be sent; HumanAgentWindow how long a person in the inbox may
	// still answer with the HUMAN_AGENT tag.
	StandardWindow   = 24 * time.Hour
	HumanAgentWindow = 7 * 24 * time.Hour
	requestTimeout   = 15 * time.Second
	// SignatureHeader is the header Meta signs webhook bodies in.
	SignatureHeader = "X-Hub-Signature-256"
	// MaxWebhookBytes bounds a signed body (the API reads at most 4 MB).
	MaxWebhookBytes = 4 << 20
)

// Config is a Messenger or Instagram channel's configuration.
type Config struct {
	// AccountID is the Page ID (Messenger) or the Instagram professional
	// account ID, stored under the platform's IDField.
	AccountID         string  `json:"-"`
	AccessToken       string  `json:"access_token"`
	AppSecret         string  `json:"app_secret"`
	VerifyToken       string  `json:"verify_token"`
	APIBaseURL        string  `json:"api_base_url,omitempty"`
	APIVersion        string  `json:"api_version,omitempty"`
	MessagesPerSecond float64 `json:"messages_per_second,omitempty"`
}

var (
	numericID  = regexp.MustCompile(`^[0-9]{1,32}$`)
	apiVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)
)

// Fields describe the platform's configuration for the API and the form.
func (p Platform) Fields() []channel.ConfigField {
	return []channel.ConfigField{
		{Name: p.IDField, Type: "string", Label: p.IDLabel, Required: true, Help: p.IDHelp},
		{Name: "access_token", Type: "string", Label: "Access token", Required: true, Secret: true, Help: p.tokenHelp()},
		{Name: "app_secret", Type: "string", Label: "App secret", Required: true, Secret: true, Help: "Meta app › App settings › Basic; verifies webhook signatures. Stored encrypted"},
		{Name: "verify_token", Type: "string", Label: "Verify token", Help: "Any text; paste the same into the app's webhook settings. Left empty, one is made up"},
		{Name: "api_base_url", Type: "string", Label: "API base URL", Default: p.DefaultBaseURL, Endpoint: true,
			Help: "Meta's Graph API, or the sandbox; an internal address needs PARLEY_HTTP_ALLOW, and a change needs the secrets again"},
		{Name: "api_version", Type: "string", Label: "API version", Default: DefaultAPIVersion},
		{Name: "messages_per_second", Type: "number", Label: "Messages per second", Default: DefaultMessagesPerSecond,
			Help: fmt.Sprintf("Sends per second to Meta, 1–%d (Meta's limit for text)", MaxMessagesPerSecond)},
	}
}

func (p Platform) tokenHelp() string {
	if p.Name == Instagram.Name {
		return "An Instagram user token with instagram_business_manage_messages (Business Login for Instagram); stored encrypted, never shown again"
	}
	return "A Page access token with pages_messaging; stored encrypted, never shown again"
}

// Definition is the platform's channel type for the registry.
func (p Platform) Definition() channel.Type {
	return channel.Type{
		Name: p.Name, Label: p.Label, Fields: p.Fields(),
		Configure: p.Configure,
		New: func(raw json.RawMessage, hc *http.Client) (channel.Adapter, error) {
			cfg, err := p.ParseConfig(raw)
			if err != nil {
				return nil, err
			}
			return New(p, cfg, hc), nil
		},
		Webhooks: []channel.Webhook{
			{Method: http.MethodGet, Path: channel.PathChannel, Kind: channel.Handshake, Summary: "Meta's webhook verification (hub.challenge) for a " + p.Label + " channel"},
			{Method: http.MethodPost, Path: channel.PathChannel, Kind: channel.Receive, Summary: "A " + p.Label + " channel's webhooks (signed)", Signature: SignatureHeader},
		},
	}
}

// MessengerDefinition is the Messenger channel type.
func MessengerDefinition() channel.Type { return Messenger.Definition() }

// InstagramDefinition is the Instagram channel type.
func InstagramDefinition() channel.Type { return Instagram.Definition() }

// Configure validates a configuration given to the API and splits it: the
// token and app secret are sealed, the account ID routes webhooks. A
// missing verify token is made up, so the user only has to copy it.
func (p Platform) Configure(cfg map[string]any) (channel.Config, error) {
	if v, _ := cfg["verify_token"].(string); v == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		cfg["verify_token"] = base64.RawURLEncoding.EncodeToString(b)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return channel.Config{}, domain.Invalid("/config", "the config must be a JSON object")
	}
	c, err := p.ParseConfig(raw)
	if err != nil {
		return channel.Config{}, err
	}
	return channel.Config{
		Public: map[string]any{p.IDField: c.AccountID, "verify_token": c.VerifyToken, "api_base_url": c.APIBaseURL,
			"api_version": c.APIVersion, "messages_per_second": c.MessagesPerSecond},
		Secret:  map[string]any{"access_token": c.AccessToken, "app_secret": c.AppSecret},
		Address: c.AccountID,
	}, nil
}

// ParseConfig decodes and validates a stored or given config, applying
// defaults. Errors point into /config.
func (p Platform) ParseConfig(raw json.RawMessage) (Config, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Config{}, domain.Invalid("/config", "the %s config must be a JSON object", p.Label)
	}
	var c Config
	var fields []domain.FieldError
	bad := func(name, code, format string, args ...any) {
		fields = append(fields, domain.FieldError{Pointer: "/config/" + name, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	known := map[string]bool{}
	for _, f := range p.Fields() {
		known[f.Name] = true
	}
	for k, v := range m {
		if !known[k] {
			bad(k, "unknown", "%s is not a %s channel setting", k, p.Label)
			continue
		}
		var err error
		switch k {
		case p.IDField:
			err = json.Unmarshal(v, &c.AccountID)
		case "access_token":
			err = json.Unmarshal(v, &c.AccessToken)
		case "app_secret":
			err = json.Unmarshal(v, &c.AppSecret)
		case "verify_token":
			err = json.Unmarshal(v, &c.VerifyToken)
		case "api_base_url":
			err = json.Unmarshal(v, &c.APIBaseURL)
		case "api_version":
			err = json.Unmarshal(v, &c.APIVersion)
		case "messages_per_second":
			err = json.Unmarshal(v, &c.MessagesPerSecond)
			if err != nil {
				bad(k, "type", "%s must be a number", k)
				continue
			}
		}
		if err != nil {
			bad(k, "type", "%s must be a string", k)
		}
	}
	if len(fields) > 0 {
		return Config{}, &domain.Error{Code: domain.CodeInvalid, Message: "the " + p.Label + " channel config is invalid: " + fields[0].Message, Fields: fields}
	}
	c = p.withDefaults(c)
	if c.AccountID == "" {
		bad(p.IDField, "required", "%s is required: %s", p.IDField, p.IDHelp)
	} else if !numericID.MatchString(c.AccountID) {
		bad(p.IDField, "format", "%s must be the numeric %s", p.IDField, p.IDLabel)
	}
	if c.AccessToken == "" {
		bad("access_token", "required", "access_token is required: %s", p.tokenHelp())
	}
	if c.AppSecret == "" {
		bad("app_secret", "required", "app_secret is required to verify webhook signatures (Meta app › App settings › Basic)")
	}
	if c.VerifyToken == "" {
		bad("verify_token", "required", "verify_token is required: any text you also type into the webhook settings")
	}
	if u, err := url.Parse(c.APIBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("api_base_url", "format", "api_base_url must be an http(s) URL such as %s", p.DefaultBaseURL)
	}
	if !apiVersion.MatchString(c.APIVersion) {
		bad("api_version", "format", "api_version must look like %s", DefaultAPIVersion)
	}
	if c.MessagesPerSecond < 1 || c.MessagesPerSecond > MaxMessagesPerSecond {
		bad("messages_per_second", "range", "messages_per_second must be between 1 and %d (Meta's Send API limit)", MaxMessagesPerSecond)
	}
	if len(fields) > 0 {
		return Config{}, &domain.Error{Code: domain.CodeInvalid, Message: "the " + p.Label + " channel config is invalid: " + fields[0].Message, Fields: fields}
	}
	return c, nil
}

func (p Platform) withDefaults(c Config) Config {
	if c.APIBaseURL == "" {
		c.APIBaseURL = p.DefaultBaseURL
	}
	c.APIBaseURL = strings.TrimRight(c.APIBaseURL, "/")
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = DefaultMessagesPerSecond
	}
	return c
}

// Secrets lists the values to redact from logs.
func (c Config) Secrets() []string {
	var s []string
	for _, v := range []string{c.AccessToken, c.AppSecret, c.VerifyToken} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// errText is a permanent send error about our own payload.
func errText(format string, args ...any) *channel.SendError {
	err := fmt.Errorf(format, args...)
	return &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest, Title: "invalid message", Details: err.Error(), Err: errors.Unwrap(err)}
}
