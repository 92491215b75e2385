package waflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/waform"
)

// The data-exchange endpoint (POST /whatsapp-flows/{id}/endpoint): waform
// does the protocol and the crypto; this file finds the keys of the flow's
// number and routes INIT, BACK and data_exchange to the chat flow that
// sent the form (the session its flow_token names).

// Wait is what a session waiting for a form says about it.
type Wait struct {
	// ExchangeURL is where the whatsapp_flow node forwards requests ("":
	// none).
	ExchangeURL string
	// Screen and Data are the node's first screen and its data.
	Screen string
	Vars   map[string]any
}

// ErrNoWait: no live session waits for the form send a token names.
var ErrNoWait = errors.New("no session waits for this form")

// Waits finds the session waiting for a form send (the runner).
type Waits interface {
	FormWait(ctx context.Context, projectID, token string) (Wait, error)
}

// Configs opens a channel's configuration, secrets included (the channel
// service): the endpoint checks Meta's signature with the app secret.
type Configs interface {
	Full(ch domain.Channel) (map[string]any, error)
}

// EndpointDeps are what the endpoint needs beyond the service's Deps.
type EndpointDeps struct {
	Box     *secret.Box
	Waits   Waits
	Configs Configs
	// HTTP forwards requests to a node's exchange_url (the guarded client).
	HTTP engine.HTTPDoer
}

// SetEndpoint gives the service what its endpoint and key generation need.
func (s *Service) SetEndpoint(d EndpointDeps) { s.ep = d }

// GenerateKey makes a new key pair for a WhatsApp channel's number, uploads
// the public key to Meta (whatsapp_business_encryption) and keeps the
// private key sealed; it returns the public key.
func (s *Service) GenerateKey(ctx context.Context, projectID, channelID string) (store.WhatsAppFlowKey, error) {
	if s.ep.Box == nil {
		return store.WhatsAppFlowKey{}, domain.Errorf(domain.CodeUnavailable, "this server has no secret key to seal the endpoint's private key with")
	}
	_, fp, err := s.provider(ctx, projectID, channelID, "/channel_id")
	if err != nil {
		return store.WhatsAppFlowKey{}, err
	}
	kp, err := waform.GenerateKeyPair()
	if err != nil {
		return store.WhatsAppFlowKey{}, err
	}
	sealed, err := waform.SealPrivateKey(s.ep.Box, kp.PrivatePEM)
	if err != nil {
		return store.WhatsAppFlowKey{}, err
	}
	if err := fp.UploadFormKey(ctx, kp.PublicPEM); err != nil {
		return store.WhatsAppFlowKey{}, providerError(err, "uploading the endpoint's public key to Meta")
	}
	k := store.WhatsAppFlowKey{ProjectID: projectID, ChannelID: channelID, PublicKey: kp.PublicPEM, PrivateKeySealed: sealed, CreatedAt: s.d.Clock.Now()}
	if err := s.d.Store.WhatsAppFlowKeyPut(ctx, k); err != nil {
		return k, err
	}
	return k, nil
}

// Endpoint is the data-exchange endpoint over this service's flows.
func (s *Service) Endpoint() *waform.Endpoint {
	return &waform.Endpoint{Keys: endpointKeys{s}, Router: router{s}, Log: s.d.Logger, Timeout: 5 * time.Second}
}

type endpointKeys struct{ s *Service }

// EndpointKeys implements waform.KeySource: the key pair of the flow's
// channel and the app secret of its Meta app.
func (k endpointKeys) EndpointKeys(ctx context.Context, flowID string) (waform.Keys, error) {
	s := k.s
	f, err := s.d.Store.WhatsAppFlowLookup(ctx, flowID)
	if errors.Is(err, store.ErrNotFound) || err == nil && f.ChannelID == "" {
		return waform.Keys{}, fmt.Errorf("WhatsApp Flow %q: %w", flowID, waform.ErrUnknownFlow)
	}
	if err != nil {
		return waform.Keys{}, err
	}
	key, err := s.d.Store.WhatsAppFlowKeyGet(ctx, store.Ref{ProjectID: f.ProjectID, ID: f.ChannelID})
	if errors.Is(err, store.ErrNotFound) {
		return waform.Keys{}, fmt.Errorf("channel %q has no endpoint key pair: %w", f.ChannelID, waform.ErrUnknownFlow)
	}
	if err != nil {
		return waform.Keys{}, err
	}
	if s.ep.Box == nil || s.ep.Configs == nil {
		return waform.Keys{}, errors.New("the endpoint is not configured in this server")
	}
	priv, err := waform.OpenPrivateKey(s.ep.Box, key.PrivateKeySealed)
	if err != nil {
		return waform.Keys{}, err
	}
	ch, err := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: f.ProjectID, ID: f.ChannelID})
	if err != nil {
		return waform.Keys{}, err
	}
	cfg, err := s.ep.Configs.Full(ch)
	if err != nil {
		return waform.Keys{}, err
	}
	secret, _ := cfg["app_secret"].(string)
	if secret == "" {
		return waform.Keys{}, fmt.Errorf("channel %q has no app secret: %w", ch.ID, waform.ErrUnknownFlow)
	}
	return waform.Keys{PrivateKey: priv, AppSecrets: []string{secret}}, nil
}

type router struct{ s *Service }

// Exchange implements waform.Router: the session the token names answers,
// through its node's exchange_url; without one, INIT and BACK open the
// node's first screen with its data and data_exchange completes the form
// with what was sent (the nfm_reply then resumes the session).
func (r router) Exchange(ctx context.Context, flowID string, req waform.Request) (waform.Response, error) {
	s := r.s
	f, err := s.d.Store.WhatsAppFlowLookup(ctx, flowID)
	if err != nil {
		return waform.Response{}, err
	}
	if s.ep.Waits == nil {
		return waform.Response{}, errors.New("the endpoint has no runner to route to")
	}
	w, err := s.ep.Waits.FormWait(ctx, f.ProjectID, req.FlowToken)
	if errors.Is(err, ErrNoWait) {
		return waform.Response{}, &waform.TokenError{Message: "This form has expired. Ask for a new one in the chat."}
	}
	if err != nil {
		return waform.Response{}, err
	}
	if w.ExchangeURL != "" {
		return s.forward(ctx, w, req)
	}
	switch req.Action {
	case "data_exchange":
		params := map[string]any{"flow_token": req.FlowToken}
		for k, v := range req.Data {
			params[k] = v
		}
		return waform.Response{Screen: "SUCCESS", Data: map[string]any{"extension_message_response": map[string]any{"params": params}}}, nil
	default: // INIT, BACK
		screen := w.Screen
		if screen == "" || req.Action == "BACK" && req.Screen != "" {
			if fl, err := waform.Parse([]byte(f.JSON)); err == nil {
				if req.Action == "BACK" && req.Screen != "" {
					screen = req.Screen
				} else if first := fl.FirstScreen(); first != nil {
					screen = first.ID
				}
			}
		}
		return waform.Response{Screen: screen, Data: map[string]any{}}, nil
	}
}

// forward posts the request to the node's exchange_url with the session's
// variables and returns its answer.
func (s *Service) forward(ctx context.Context, w Wait, req waform.Request) (waform.Response, error) {
	if s.ep.HTTP == nil {
		return waform.Response{}, errors.New("the endpoint has no HTTP client")
	}
	body, _ := json.Marshal(map[string]any{"action": req.Action, "screen": req.Screen, "data": req.Data, "flow_token": req.FlowToken, "variables": w.Vars})
	res, err := s.ep.HTTP.Do(ctx, engine.HTTPRequest{Method: http.MethodPost, URL: w.ExchangeURL, Body: string(body), Timeout: 4 * time.Second,
		Headers: []engine.HTTPHeader{{Name: "Content-Type", Value: "application/json"}}})
	if err != nil {
		return waform.Response{}, fmt.Errorf("forwarding the form's %s request to %s: %w", req.Action, w.ExchangeURL, err)
	}
	if res.Status < 200 || res.Status > 299 {
		return waform.Response{}, fmt.Errorf("forwarding the form's %s request to %s: HTTP %d", req.Action, w.ExchangeURL, res.Status)
	}
	var out waform.Response
	if err := json.Unmarshal(res.Body, &out); err != nil || out.Screen == "" {
		return waform.Response{}, fmt.Errorf("the answer of %s is not {\"screen\": …, \"data\": {…}}: %s", w.ExchangeURL, string(res.Body))
	}
	return out, nil
}

// Notify implements waform.Router: the client rejected our last answer.
func (r router) Notify(ctx context.Context, flowID string, req waform.Request) error {
	r.s.d.Logger.WarnContext(ctx, "a WhatsApp Flow's client rejected the endpoint's answer", "flow", flowID, "token", req.FlowToken, "data", req.Data)
	return nil
}
