package channels

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// Batch is the events of one webhook for one channel.
type Batch struct {
	Channel domain.Channel
	Events  []channel.Event
	// Answer is the body the provider reads in the HTTP answer
	// (channel.Answerer: Viber's welcome message); nil for none.
	Answer json.RawMessage
}

// webhookChannel is the channel of the type a webhook URL names, and its
// adapter.
func (s *Service) webhookChannel(ctx context.Context, typ, id string) (domain.Channel, channel.Adapter, error) {
	ch, err := s.ByID(ctx, id)
	if err == nil && ch.Type != typ {
		err = domain.NotFound(typ+" channel", ch.ID)
	}
	if err != nil {
		return ch, nil, err
	}
	ad, err := s.Adapter(ctx, ch)
	if err != nil {
		s.d.Logger.Error("building the adapter of a channel", "channel", ch.ID, "err", err)
		return ch, nil, domain.Errorf(domain.CodeInternal, "the channel is misconfigured")
	}
	return ch, ad, nil
}

// Handshake answers a provider's subscription check on a channel's
// webhook URL (channelID set) or on the type's shared one (any channel of
// the type whose adapter accepts it).
func (s *Service) Handshake(ctx context.Context, typ, channelID string, q url.Values) (string, error) {
	if channelID != "" {
		ch, ad, err := s.webhookChannel(ctx, typ, channelID)
		if err != nil {
			return "", err
		}
		challenge, ok := ad.VerifyHandshake(q)
		if !ok {
			s.d.Logger.Warn("webhook verification refused", "channel", ch.ID)
			return "", domain.Errorf(domain.CodeForbidden, "the verify token does not match this channel's")
		}
		return challenge, nil
	}
	all, err := s.OfType(ctx, typ)
	if err != nil {
		return "", err
	}
	for _, ch := range all {
		ad, err := s.Adapter(ctx, ch)
		if err != nil {
			continue
		}
		if challenge, ok := ad.VerifyHandshake(q); ok {
			return challenge, nil
		}
	}
	return "", domain.Errorf(domain.CodeForbidden, "the verify token matches no %s channel", typ)
}

// ReceiveParams is a webhook request.
type ReceiveParams struct {
	Type string
	// ChannelID is the channel the URL names; "" for the shared endpoint.
	ChannelID string
	Body      []byte
	Header    http.Header
	// Verified skips the signature check: the body's was checked when it
	// was first received (a dead letter's replay). Never set from a
	// request.
	Verified bool
}

// UnreadableError is an authentic webhook (its signature matched) whose
// body the adapter cannot parse: the caller keeps it as a dead letter for
// Channels, the channels that could have signed it.
type UnreadableError struct {
	Channels []domain.Channel
	Err      error
}

// Error implements error.
func (e *UnreadableError) Error() string { return "the webhook body cannot be read: " + e.Err.Error() }

// Unwrap implements errors.Unwrap.
func (e *UnreadableError) Unwrap() error { return e.Err }

// Receive verifies a webhook's signature on the raw body before anything
// parses it, parses it, and routes its events to channels: all to the
// channel the URL names (less events whose routing key is another
// channel's), or on the shared endpoint to the channels signed for by the
// same provider app, by each event's routing key (channel.Router).
func (s *Service) Receive(ctx context.Context, p ReceiveParams) ([]Batch, error) {
	if p.ChannelID != "" {
		ch, ad, err := s.webhookChannel(ctx, p.Type, p.ChannelID)
		if err != nil {
			return nil, err
		}
		if !p.Verified && !ad.VerifySignature(p.Body, p.Header) {
			return nil, domain.Errorf(domain.CodeUnauthorized, "the webhook signature is missing or does not match the body")
		}
		events, err := ad.Parse(p.Body)
		if err != nil {
			return nil, &UnreadableError{Channels: []domain.Channel{ch}, Err: domain.Errorf(domain.CodeInvalid, "%v", err)}
		}
		router, _ := ad.(channel.Router)
		mine := events[:0]
		for _, e := range events {
			if router == nil || owns(router.RoutingKeys(), router.RoutingKey(&e)) {
				mine = append(mine, e)
			} else {
				s.d.Logger.Warn("webhook event for another channel ignored", "channel", ch.ID, "routing_key", router.RoutingKey(&e), "kind", e.Kind)
			}
		}
		b := Batch{Channel: ch, Events: mine}
		if ans, ok := ad.(channel.Answerer); ok {
			b.Answer = ans.WebhookAnswer(mine)
		}
		return []Batch{b}, nil
	}
	all, err := s.OfType(ctx, p.Type)
	if err != nil {
		return nil, err
	}
	var signer channel.Adapter
	var signed []domain.Channel
	keys := map[string]domain.Channel{} // routing key → first channel signed by the same app
	for _, ch := range all {
		ad, err := s.Adapter(ctx, ch)
		if err != nil || !ad.VerifySignature(p.Body, p.Header) {
			continue
		}
		if signer == nil {
			signer = ad
		}
		signed = append(signed, ch)
		if r, ok := ad.(channel.Router); ok {
			for _, k := range r.RoutingKeys() {
				if _, taken := keys[k]; !taken {
					keys[k] = ch
				}
			}
		}
	}
	if signer == nil {
		return nil, domain.Errorf(domain.CodeUnauthorized, "the webhook signature is missing or matches no %s channel's", p.Type)
	}
	events, err := signer.Parse(p.Body)
	if err != nil {
		return nil, &UnreadableError{Channels: signed, Err: domain.Errorf(domain.CodeInvalid, "%v", err)}
	}
	router, _ := signer.(channel.Router)
	var out []Batch
	at := map[string]int{} // channel ID → index in out
	for _, e := range events {
		ch, ok := signed[0], true
		if router != nil {
			if k := router.RoutingKey(&e); k != "" {
				ch, ok = keys[k]
			}
		}
		if !ok {
			s.d.Logger.Warn("webhook event for an account no channel has", "type", p.Type, "routing_key", router.RoutingKey(&e), "kind", e.Kind)
			continue
		}
		i, seen := at[ch.ID]
		if !seen {
			i = len(out)
			at[ch.ID] = i
			out = append(out, Batch{Channel: ch})
		}
		out[i].Events = append(out[i].Events, e)
	}
	return out, nil
}

func owns(keys []string, key string) bool {
	if key == "" {
		return true
	}
	for _, k := range keys {
		if k == key {
			return true
		}
	}
	return false
}
