// Package webchat is the in-process channel: the web widget and the UI talk
// to Parley through its HTTP API, so there is no provider to call, no
// webhook to verify and nothing to parse. A send succeeds at once; the
// message is then in the conversation the widget reads.
package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// Type is the channel type name.
const Type = "webchat"

// Definition is the web chat's channel type for the registry: no
// configuration and no webhooks.
func Definition() channel.Type {
	return channel.Type{Name: Type, Label: "Web chat", Fields: []channel.ConfigField{},
		Configure: func(cfg map[string]any) (channel.Config, error) {
			if len(cfg) > 0 {
				return channel.Config{}, domain.Invalid("/config", "a web chat channel takes no configuration")
			}
			return channel.Config{Public: map[string]any{}}, nil
		},
		New: New,
	}
}

// Adapter implements channel.Adapter for the web chat.
type Adapter struct{}

// New builds the adapter; the web chat has no configuration to check.
func New(json.RawMessage, *http.Client) (channel.Adapter, error) { return Adapter{}, nil }

// Type implements channel.Adapter.
func (Adapter) Type() string { return Type }

// VerifyHandshake implements channel.Adapter: there is no provider.
func (Adapter) VerifyHandshake(url.Values) (string, bool) { return "", false }

// VerifySignature implements channel.Adapter: inbound web chat messages
// come through the authenticated API, never as webhooks.
func (Adapter) VerifySignature([]byte, http.Header) bool { return false }

// Parse implements channel.Adapter.
func (Adapter) Parse([]byte) ([]channel.Event, error) {
	return nil, errors.New("the web chat receives messages through the API, not webhooks")
}

// Send implements channel.Adapter: the stored message is the delivery.
func (Adapter) Send(_ context.Context, msg channel.Outbound) (channel.SendResult, error) {
	if msg.OurID == "" {
		return channel.SendResult{}, &channel.SendError{Class: channel.Permanent, Title: "a web chat message needs our message ID"}
	}
	return channel.SendResult{ProviderID: "webchat." + msg.OurID, Address: msg.To, Delivered: true}, nil
}

// Secrets implements channel.Adapter: there are none.
func (Adapter) Secrets() []string { return nil }
