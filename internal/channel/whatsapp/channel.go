package whatsapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/template"
)

// Window is WhatsApp's customer-service window: free-form messages only
// within 24 hours of the contact's last message.
const Window = 24 * time.Hour

// CodeOutsideWindow is Meta's error code for a free-form message sent
// outside the window; Parley records the same code when it refuses one
// before calling Meta.
const CodeOutsideWindow = 131047

// secretFields are the config keys sealed at rest and never shown again.
var secretFields = map[string]bool{"access_token": true, "app_secret": true}

// Fields describe a WhatsApp channel's configuration for the API and the
// UI's form.
var Fields = []channel.ConfigField{
	{Name: "phone_number_id", Type: "string", Label: "Phone number ID", Required: true, Help: "Meta › WhatsApp › API setup: the numeric ID, not the phone number"},
	{Name: "waba_id", Type: "string", Label: "WhatsApp Business Account ID", Help: "Needed for message templates"},
	{Name: "access_token", Type: "string", Label: "Access token", Required: true, Secret: true, Help: "A permanent system-user token with whatsapp_business_messaging; stored encrypted, never shown again"},
	{Name: "app_secret", Type: "string", Label: "App secret", Required: true, Secret: true, Help: "Meta app › Settings › Basic; used to verify webhook signatures"},
	{Name: "verify_token", Type: "string", Label: "Verify token", Help: "Any text; paste the same into Meta’s webhook settings. Left empty, one is made up"},
	{Name: "api_base_url", Type: "string", Label: "API base URL", Default: DefaultAPIBaseURL, Endpoint: true,
		Help: "Meta's Graph API, or the sandbox; an internal address needs PARLEY_HTTP_ALLOW, and a change needs the secrets again"},
	{Name: "api_version", Type: "string", Label: "API version", Default: DefaultAPIVersion},
	{Name: "messages_per_second", Type: "number", Label: "Messages per second", Default: DefaultMessagesPerSecond, Help: "Your number's throughput at Meta, 1–1000"},
	{Name: "request_timeout_seconds", Type: "integer", Label: "Request timeout (seconds)", Default: DefaultRequestTimeoutSeconds,
		Help: fmt.Sprintf("How long each Graph API call may take, %d–%d", MinRequestTimeoutSeconds, MaxRequestTimeoutSeconds)},
}

// Definition is the WhatsApp channel type for the registry.
func Definition() channel.Type {
	return channel.Type{
		Name:      ChannelType,
		Label:     "WhatsApp Cloud API",
		Fields:    Fields,
		Configure: Configure,
		New:       Factory,
		// Interactive messages: 3 reply buttons of 20 characters, lists of
		// 10 rows of 24; no quick replies outside templates.
		Limits: &channel.Limits{Buttons: 3, ButtonTitle: 20, ListRows: 10, ListRowTitle: 24},
		Webhooks: []channel.Webhook{
			{Method: http.MethodGet, Path: channel.PathChannel, Kind: channel.Handshake, Summary: "Meta's webhook verification for a channel"},
			{Method: http.MethodPost, Path: channel.PathChannel, Kind: channel.Receive, Summary: "A channel's WhatsApp webhooks (signed)", Signature: SignatureHeader},
			{Method: http.MethodGet, Kind: channel.Handshake, Summary: "Meta's webhook verification for the shared endpoint"},
			{Method: http.MethodPost, Kind: channel.Receive, Summary: "WhatsApp webhooks of one Meta app for many numbers, routed by phone_number_id", Signature: SignatureHeader},
		},
	}
}

// Configure validates a configuration given to the API and splits it: the
// token and app secret are sealed, the phone number ID routes webhooks. A
// missing verify token is made up, so the user only has to copy it.
func Configure(cfg map[string]any) (channel.Config, error) {
	if v, _ := cfg["verify_token"].(string); v == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		cfg["verify_token"] = base64.RawURLEncoding.EncodeToString(b)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return channel.Config{}, domain.Invalid("/config", "the config must be a JSON object")
	}
	wc, err := ParseConfig(raw)
	if err != nil {
		return channel.Config{}, err
	}
	full := map[string]any{}
	b, _ := json.Marshal(wc)
	_ = json.Unmarshal(b, &full)
	out := channel.Config{Public: map[string]any{}, Secret: map[string]any{}, Address: wc.PhoneNumberID}
	for k, v := range full {
		if secretFields[k] {
			out.Secret[k] = v
		} else {
			out.Public[k] = v
		}
	}
	return out, nil
}

var (
	_ channel.Window     = (*Adapter)(nil)
	_ channel.Router     = (*Adapter)(nil)
	_ channel.Paced      = (*Adapter)(nil)
	_ channel.FormSender = (*Adapter)(nil)
	_ template.Provider  = (*Adapter)(nil)
)

// CheckWindow refuses a free-form message to a contact who has not written
// in the last 24 hours, as Meta would (code 131047); templates may always
// be sent.
func (a *Adapter) CheckWindow(msg channel.Outbound, lastInbound *time.Time, now time.Time) error {
	if msg.Kind == channel.OutTemplate || msg.Kind == channel.OutMarkRead {
		return nil
	}
	if lastInbound != nil && now.Sub(*lastInbound) <= Window {
		return nil
	}
	return &channel.SendError{Class: channel.Permanent, Code: CodeOutsideWindow, Cause: channel.CauseOutsideWindow,
		Details: "outside the 24-hour customer-service window: the contact has not written in the last 24 hours, so only an approved template can be sent"}
}

// RoutingKeys are the phone number ID and, when configured, the business
// account ("waba:" and its ID): account-level events (templates) carry only
// the latter.
func (a *Adapter) RoutingKeys() []string {
	keys := []string{a.cfg.PhoneNumberID}
	if a.cfg.WABAID != "" {
		keys = append(keys, businessKey(a.cfg.WABAID))
	}
	return keys
}

// RoutingKey is an event's phone number ID, else its business account.
func (a *Adapter) RoutingKey(e *channel.Event) string {
	switch {
	case e.AccountID != "":
		return e.AccountID
	case e.BusinessID != "":
		return businessKey(e.BusinessID)
	}
	return ""
}

func businessKey(id string) string { return "waba:" + id }

// SendsForms implements channel.FormSender: WhatsApp sends Flows.
func (a *Adapter) SendsForms() bool { return true }

// CreateTemplate implements template.Provider.
func (a *Adapter) CreateTemplate(ctx context.Context, t *template.Template) (template.Submitted, error) {
	return a.client.CreateTemplate(ctx, t)
}

// EditTemplate implements template.Provider.
func (a *Adapter) EditTemplate(ctx context.Context, metaID string, t *template.Template) error {
	return a.client.EditTemplate(ctx, metaID, t)
}

// ListTemplates implements template.Provider.
func (a *Adapter) ListTemplates(ctx context.Context) ([]template.Template, error) {
	return a.client.ListTemplates(ctx)
}

// DeleteTemplate implements template.Provider.
func (a *Adapter) DeleteTemplate(ctx context.Context, name string) error {
	return a.client.DeleteTemplate(ctx, name)
}
