// Package webchat is the web chat channel: an embeddable widget (widget.js,
// served by Parley) on the business's own pages talks to Parley's
// /webchat/{channel_id}/… endpoints, so there is no provider to call, no
// webhook to verify and nothing to parse. A send succeeds at once; the
// message is then in the conversation the widget streams.
//
// A visitor is known by the hash of a random token the browser keeps: the
// address (the contact's URN path) is derived from the token, so only its
// holder can read or write the visitor's conversation, and Parley stores no
// token.
package webchat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/lru"
)

// Type is the channel type name.
const Type = "webchat"

// DefaultMessagesPerMinute is a visitor's allowance when the channel sets
// none: enough to chat and tap buttons, too few to flood a flow.
const DefaultMessagesPerMinute = 20

// maxOrigins bounds the allowed-origins list.
const maxOrigins = 50

// Definition is the web chat's channel type for the registry: the origins
// allowed to embed it and a visitor's message allowance; no webhooks.
func Definition() channel.Type {
	return channel.Type{Name: Type, Label: "Web chat",
		Fields: []channel.ConfigField{
			{Name: "allowed_origins", Type: "string", Label: "Allowed origins",
				Help: "The sites that may embed the widget, separated by spaces or commas (https://shop.example.com). Parley's own test page is always allowed."},
			{Name: "messages_per_minute", Type: "integer", Label: "Messages per visitor per minute", Default: DefaultMessagesPerMinute,
				Help: "More than this from one visitor is refused (429) until the minute allows it."},
		},
		Configure: Configure,
		New:       New,
		// The widget shows any number of buttons and rows (titles up to
		// what a visitor may send back).
		Limits: &channel.Limits{Buttons: channel.NoLimit, ButtonTitle: 256, QuickReplies: channel.NoLimit, QuickReplyTitle: 256,
			ListRows: channel.NoLimit, ListRowTitle: 256},
	}
}

// Config is a web chat channel's configuration.
type Config struct {
	AllowedOrigins    string `json:"allowed_origins,omitempty"`
	MessagesPerMinute int    `json:"messages_per_minute,omitempty"`
}

// Configure validates a configuration: every origin is scheme://host[:port]
// with nothing else, and the allowance is 1…600.
func Configure(cfg map[string]any) (channel.Config, error) {
	pub := map[string]any{}
	for k, v := range cfg {
		switch k {
		case "allowed_origins":
			s, ok := v.(string)
			if !ok {
				return channel.Config{}, domain.Invalid("/config/allowed_origins", "allowed_origins must be a string of origins")
			}
			origins, err := parseOrigins(s)
			if err != nil {
				return channel.Config{}, domain.Invalid("/config/allowed_origins", "%v", err)
			}
			pub[k] = strings.Join(origins, " ")
		case "messages_per_minute":
			n, ok := v.(float64)
			if i, isInt := v.(int); isInt {
				n, ok = float64(i), true
			}
			if !ok || n != float64(int(n)) || n < 1 || n > 600 {
				return channel.Config{}, domain.Invalid("/config/messages_per_minute", "messages_per_minute must be a whole number from 1 to 600")
			}
			pub[k] = int(n)
		default:
			return channel.Config{}, domain.Invalid("/config/"+k, "a web chat channel has no setting %q", k)
		}
	}
	return channel.Config{Public: pub}, nil
}

// parseOrigins splits and checks an allowed-origins list.
func parseOrigins(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	if len(fields) > maxOrigins {
		return nil, fmt.Errorf("at most %d origins", maxOrigins)
	}
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" && u.Path != "/" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin (scheme://host[:port], e.g. https://shop.example.com)", f)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// Adapter implements channel.Adapter and channel.Visitors for the web chat.
type Adapter struct {
	origins map[string]bool
	perMin  int
	now     func() time.Time

	mu      sync.Mutex
	buckets *lru.Cache[string, *bucket]
}

// bucket is one visitor's allowance: tokens refill at perMin a minute.
type bucket struct {
	tokens float64
	at     time.Time
}

// New builds the adapter from a stored configuration (nil: the defaults).
func New(raw json.RawMessage, _ *http.Client) (channel.Adapter, error) {
	var c Config
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("reading the web chat configuration: %w", err)
		}
	}
	origins, err := parseOrigins(c.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("reading the web chat configuration: %w", err)
	}
	a := &Adapter{origins: map[string]bool{}, perMin: c.MessagesPerMinute, buckets: lru.New[string, *bucket](10000)}
	if a.perMin <= 0 {
		a.perMin = DefaultMessagesPerMinute
	}
	for _, o := range origins {
		a.origins[o] = true
	}
	return a, nil
}

// Type implements channel.Adapter.
func (*Adapter) Type() string { return Type }

// VerifyHandshake implements channel.Adapter: there is no provider.
func (*Adapter) VerifyHandshake(url.Values) (string, bool) { return "", false }

// VerifySignature implements channel.Adapter: visitors' messages come
// through /webchat/{channel_id}/messages with their token, never as webhooks.
func (*Adapter) VerifySignature([]byte, http.Header) bool { return false }

// Parse implements channel.Adapter.
func (*Adapter) Parse([]byte) ([]channel.Event, error) {
	return nil, errors.New("the web chat receives messages from its widget, not webhooks")
}

// Send implements channel.Adapter: the stored message is the delivery (the
// widget streams the conversation).
func (*Adapter) Send(_ context.Context, msg channel.Outbound) (channel.SendResult, error) {
	if msg.OurID == "" {
		return channel.SendResult{}, &channel.SendError{Class: channel.Permanent, Title: "a web chat message needs our message ID"}
	}
	return channel.SendResult{ProviderID: "webchat." + msg.OurID, Address: msg.To, Delivered: true}, nil
}

// Secrets implements channel.Adapter: there are none.
func (*Adapter) Secrets() []string { return nil }

// tokenPrefix marks visitor tokens, so that one is recognisable in a leak.
const tokenPrefix = "wcv_"

// NewVisitor implements channel.Visitors: 32 random bytes; the address is
// the first 128 bits of their SHA-256.
func (*Adapter) NewVisitor() (string, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("making a visitor token: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	addr, _ := visitorAddress(token)
	return token, addr, nil
}

// VisitorAddress implements channel.Visitors.
func (*Adapter) VisitorAddress(token string) (string, bool) { return visitorAddress(token) }

func visitorAddress(token string) (string, bool) {
	raw, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 32 {
		return "", false
	}
	sum := sha256.Sum256(b)
	return "v" + hex.EncodeToString(sum[:16]), true
}

// AllowsOrigin implements channel.Visitors.
func (a *Adapter) AllowsOrigin(origin string) bool { return a.origins[strings.ToLower(origin)] }

// AllowMessage implements channel.Visitors: a token bucket of perMin
// tokens per visitor, refilled continuously.
func (a *Adapter) AllowMessage(address string, now time.Time) (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rate := float64(a.perMin) / float64(time.Minute)
	b, ok := a.buckets.Get(address)
	if !ok {
		b = &bucket{tokens: float64(a.perMin), at: now}
		a.buckets.Put(address, b)
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(a.perMin), b.tokens+float64(d)*rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate), false
}

var _ channel.Visitors = (*Adapter)(nil)
