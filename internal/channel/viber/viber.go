// Package viber is the Viber bot channel (Viber REST Bot API): the webhook
// is registered with set_webhook when the channel is saved and removed when
// it is deleted; callbacks are signed with X-Viber-Content-Signature (the
// HMAC-SHA256 of the body keyed with the bot's token); messages go out with
// send_message, whose answer is always HTTP 200 with a status code in the
// body.
package viber

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/domain"
)

// Type is the channel type name.
const Type = "viber"

// Defaults and limits of the Viber REST Bot API.
const (
	DefaultAPIBaseURL        = "https://chatapi.viber.com/pa"
	DefaultMessagesPerSecond = 20
	MaxMessagesPerSecond     = 500
	// SignatureHeader carries the hex HMAC-SHA256 of the callback body.
	SignatureHeader = "X-Viber-Content-Signature"
	// AuthHeader carries the bot token on every API call.
	AuthHeader     = "X-Viber-Auth-Token"
	MaxSenderName  = 28
	MaxText        = 7000
	MaxCaption     = 512
	MaxTrackingLen = 4000
	// MaxRequestBytes is Viber's limit on a request's JSON.
	MaxRequestBytes = 30 << 10
	// MaxWebhookBytes bounds a signed callback (the API reads at most 4 MB).
	MaxWebhookBytes = 4 << 20
	requestTimeout  = 15 * time.Second
)

// EventTypes are the optional callbacks set_webhook subscribes to
// (message, subscribed and unsubscribed always come).
var EventTypes = []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}

// Config is a Viber channel's configuration.
type Config struct {
	AuthToken string `json:"auth_token"`
	// SenderName is the bot name shown on every message (≤ 28 characters).
	SenderName   string `json:"sender_name"`
	SenderAvatar string `json:"sender_avatar,omitempty"`
	// WelcomeMessage answers conversation_started: the one message Viber
	// lets a bot send before the person subscribes. Empty sends none.
	WelcomeMessage    string  `json:"welcome_message,omitempty"`
	APIBaseURL        string  `json:"api_base_url,omitempty"`
	MessagesPerSecond float64 `json:"messages_per_second,omitempty"`
}

// Fields describe the configuration for the API and the form.
var Fields = []channel.ConfigField{
	{Name: "auth_token", Type: "string", Label: "Bot token", Required: true, Secret: true,
		Help: "Viber › Settings › Bots › Edit info › Your app key; signs callbacks too. Stored encrypted"},
	{Name: "sender_name", Type: "string", Label: "Sender name", Required: true, Help: "The bot's name shown on each message, up to 28 characters"},
	{Name: "sender_avatar", Type: "string", Label: "Sender avatar URL", Help: "An image URL (up to 100 KB, 720×720 recommended)"},
	{Name: "welcome_message", Type: "string", Label: "Welcome message",
		Help: "Sent when someone opens the chat, before they subscribe (Viber allows only this one message then); empty sends none"},
	{Name: "api_base_url", Type: "string", Label: "API base URL", Default: DefaultAPIBaseURL, Endpoint: true,
		Help: "Viber's REST Bot API, or the sandbox; an internal address needs PARLEY_HTTP_ALLOW, and a change needs the token again"},
	{Name: "messages_per_second", Type: "number", Label: "Messages per second", Default: DefaultMessagesPerSecond,
		Help: fmt.Sprintf("Sends per second to Viber, 1–%d", MaxMessagesPerSecond)},
}

// Definition is the Viber channel type for the registry.
func Definition() channel.Type {
	return channel.Type{Name: Type, Label: "Viber bot", Fields: Fields, Configure: Configure,
		New: func(raw json.RawMessage, hc *http.Client) (channel.Adapter, error) {
			c, err := ParseConfig(raw)
			if err != nil {
				return nil, err
			}
			return New(c, hc), nil
		},
		Webhooks: []channel.Webhook{
			{Method: http.MethodPost, Path: channel.PathChannel, Kind: channel.Receive, Summary: "A Viber bot's callbacks (signed)", Signature: SignatureHeader},
		},
	}
}

// Configure validates a configuration and seals the token.
func Configure(cfg map[string]any) (channel.Config, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return channel.Config{}, domain.Invalid("/config", "the config must be a JSON object")
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return channel.Config{}, err
	}
	pub := map[string]any{"sender_name": c.SenderName, "api_base_url": c.APIBaseURL, "messages_per_second": c.MessagesPerSecond}
	if c.SenderAvatar != "" {
		pub["sender_avatar"] = c.SenderAvatar
	}
	if c.WelcomeMessage != "" {
		pub["welcome_message"] = c.WelcomeMessage
	}
	return channel.Config{Public: pub, Secret: map[string]any{"auth_token": c.AuthToken}}, nil
}

// ParseConfig decodes and validates a config, applying defaults; errors
// point into /config.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Config{}, domain.Invalid("/config", "the Viber config must be a JSON object")
	}
	var fields []domain.FieldError
	bad := func(name, code, format string, args ...any) {
		fields = append(fields, domain.FieldError{Pointer: "/config/" + name, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	var c Config
	targets := map[string]any{"auth_token": &c.AuthToken, "sender_name": &c.SenderName, "sender_avatar": &c.SenderAvatar,
		"welcome_message": &c.WelcomeMessage, "api_base_url": &c.APIBaseURL, "messages_per_second": &c.MessagesPerSecond}
	for k, v := range m {
		dst, ok := targets[k]
		if !ok {
			bad(k, "unknown", "%s is not a Viber channel setting", k)
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			what := "a string"
			if k == "messages_per_second" {
				what = "a number"
			}
			bad(k, "type", "%s must be %s", k, what)
		}
	}
	if len(fields) == 0 {
		c = c.withDefaults()
		if c.AuthToken == "" {
			bad("auth_token", "required", "auth_token is required: the bot's app key (Viber › Settings › Bots › Edit info)")
		}
		if n := utf8.RuneCountInString(c.SenderName); n == 0 || n > MaxSenderName {
			bad("sender_name", "length", "sender_name is required, up to %d characters: the name shown on the bot's messages", MaxSenderName)
		}
		if c.SenderAvatar != "" && !httpURL(c.SenderAvatar) {
			bad("sender_avatar", "format", "sender_avatar must be an http(s) URL")
		}
		if utf8.RuneCountInString(c.WelcomeMessage) > MaxText {
			bad("welcome_message", "length", "welcome_message is over %d characters", MaxText)
		}
		if !httpURL(c.APIBaseURL) {
			bad("api_base_url", "format", "api_base_url must be an http(s) URL such as %s", DefaultAPIBaseURL)
		}
		if c.MessagesPerSecond < 1 || c.MessagesPerSecond > MaxMessagesPerSecond {
			bad("messages_per_second", "range", "messages_per_second must be between 1 and %d", MaxMessagesPerSecond)
		}
	}
	if len(fields) > 0 {
		return Config{}, &domain.Error{Code: domain.CodeInvalid, Message: "the Viber channel config is invalid: " + fields[0].Message, Fields: fields}
	}
	return c, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func (c Config) withDefaults() Config {
	if c.APIBaseURL == "" {
		c.APIBaseURL = DefaultAPIBaseURL
	}
	c.APIBaseURL = strings.TrimRight(c.APIBaseURL, "/")
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = DefaultMessagesPerSecond
	}
	return c
}

// Adapter is one Viber bot.
type Adapter struct {
	cfg  Config
	http *http.Client
}

var (
	_ channel.Adapter       = (*Adapter)(nil)
	_ channel.Window        = (*Adapter)(nil)
	_ channel.Paced         = (*Adapter)(nil)
	_ channel.Provisioner   = (*Adapter)(nil)
	_ channel.Answerer      = (*Adapter)(nil)
	_ channel.Subscriptions = (*Adapter)(nil)
	_ channel.Checker       = (*Adapter)(nil)
)

// New returns the adapter of a validated config; nil hc: a client of its own.
func New(c Config, hc *http.Client) *Adapter {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Adapter{cfg: c.withDefaults(), http: hc}
}

// Type returns "viber".
func (a *Adapter) Type() string { return Type }

// Secrets returns the bot token.
func (a *Adapter) Secrets() []string {
	if a.cfg.AuthToken == "" {
		return nil
	}
	return []string{a.cfg.AuthToken}
}

// VerifyHandshake refuses: Viber checks a webhook by POSTing a signed
// "webhook" callback, not with a GET.
func (a *Adapter) VerifyHandshake(url.Values) (string, bool) { return "", false }

// VerifySignature checks X-Viber-Content-Signature, the hex HMAC-SHA256 of
// the raw body keyed with the bot token, in constant time.
func (a *Adapter) VerifySignature(body []byte, h http.Header) bool {
	return VerifySignature(body, h.Get(SignatureHeader), a.cfg.AuthToken)
}

// VerifySignature checks a hex signature over body with token.
func VerifySignature(body []byte, sig, token string) bool {
	if token == "" || len(body) > MaxWebhookBytes || len(sig) != 2*sha256.Size {
		return false
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), want)
}

// Sign returns the X-Viber-Content-Signature of body.
func Sign(body []byte, token string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Parse parses a callback.
func (a *Adapter) Parse(body []byte) ([]channel.Event, error) { return Parse(body) }

// CheckWindow lets messages reach only people who subscribed to the bot or
// wrote to it (a first message subscribes them): Viber refuses anyone else.
func (a *Adapter) CheckWindow(msg channel.Outbound, lastInbound *time.Time, _ time.Time) error {
	if lastInbound != nil {
		return nil
	}
	return &channel.SendError{Class: channel.Permanent, Cause: channel.CauseUndeliverable, Code: 6, Title: "receiverNotSubscribed",
		Details: "this person has not subscribed to the Viber bot or written to it; Viber lets a bot message only its subscribers"}
}

// Unsubscribed is why a message to someone who unsubscribed from the bot
// is not sent: Viber would refuse it (status 6).
func (a *Adapter) Unsubscribed() error {
	return &channel.SendError{Class: channel.Permanent, Cause: channel.CauseUndeliverable, Code: 6, Title: "receiverNotSubscribed",
		Details: "this person unsubscribed from the Viber bot (receiverNotSubscribed); it can message them again once they subscribe or write to it"}
}

// LimiterConfig paces the bot's sends.
func (a *Adapter) LimiterConfig() ratelimit.Config {
	return ratelimit.Config{Rate: a.cfg.MessagesPerSecond}
}

// Provision registers the channel's webhook URL with set_webhook; Viber
// checks it at once with a signed "webhook" callback, so the channel must
// already be stored and reachable.
func (a *Adapter) Provision(ctx context.Context, webhookURL string) error {
	_, err := a.call(ctx, "set_webhook", map[string]any{"url": webhookURL, "event_types": EventTypes, "send_name": true, "send_photo": true})
	var se *channel.SendError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.Code == 1:
		return fmt.Errorf("viber could not reach the webhook %s (%s): PARLEY_PUBLIC_URL must be reachable from the internet over HTTPS", webhookURL, se.Reason())
	case errors.As(err, &se) && se.Cause == channel.CauseAuth:
		return fmt.Errorf("viber refused the bot token (%s): copy the app key again from the bot's Edit info", se.Reason())
	}
	return fmt.Errorf("registering the webhook %s with Viber: %w", webhookURL, err)
}

// Unprovision removes the webhook (set_webhook with an empty URL).
func (a *Adapter) Unprovision(ctx context.Context) error {
	if _, err := a.call(ctx, "set_webhook", map[string]any{"url": ""}); err != nil {
		return fmt.Errorf("removing the Viber webhook: %w", err)
	}
	return nil
}

// WebhookAnswer is the welcome message answering a conversation_started
// callback (no receiver: Viber sends it to whoever opened the chat).
func (a *Adapter) WebhookAnswer(events []channel.Event) json.RawMessage {
	if a.cfg.WelcomeMessage == "" {
		return nil
	}
	for _, e := range events {
		if e.Kind == channel.KindConversationStarted {
			b, _ := json.Marshal(map[string]any{"sender": a.sender(), "type": "text", "text": a.cfg.WelcomeMessage, "min_api_version": 1})
			return b
		}
	}
	return nil
}

func (a *Adapter) sender() map[string]string {
	s := map[string]string{"name": a.cfg.SenderName}
	if a.cfg.SenderAvatar != "" {
		s["avatar"] = a.cfg.SenderAvatar
	}
	return s
}

// Check confirms the token with get_account_info.
func (a *Adapter) Check(ctx context.Context) channel.CheckReport {
	res, err := a.call(ctx, "get_account_info", map[string]any{})
	if err != nil {
		return channel.CheckReport{Steps: []channel.CheckStep{{Name: "token", Detail: err.Error()}}}
	}
	detail := "the token opens the bot"
	if res.Name != "" {
		detail += " " + res.Name
	}
	steps := []channel.CheckStep{{Name: "token", OK: true, Detail: detail}}
	if res.Webhook == "" {
		steps = append(steps, channel.CheckStep{Name: "webhook", Detail: "no webhook is set: save the channel again to register it"})
		return channel.CheckReport{Steps: steps}
	}
	steps = append(steps, channel.CheckStep{Name: "webhook", OK: true, Detail: res.Webhook})
	return channel.CheckReport{OK: true, Steps: steps}
}
