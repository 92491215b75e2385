package channel

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/channel/ratelimit"
)

// Capabilities: what some channel types can do beyond Adapter. Callers ask
// with a type assertion on the interface, never on an adapter's type, so a
// new channel gains a feature by implementing the method. (The templates
// capability is declared by its consumer, template.Provider, because the
// template package already depends on this one.)

// Window is implemented by adapters whose provider limits what may be sent
// to a contact by when the contact last wrote (WhatsApp: free-form messages
// only within 24 hours of the contact's last message; templates any time).
type Window interface {
	// CheckWindow returns nil when msg may be sent at now to a contact
	// whose last message arrived at lastInbound (nil: never), else a
	// permanent *SendError saying why, with the provider's code.
	CheckWindow(msg Outbound, lastInbound *time.Time, now time.Time) error
}

// Paced is implemented by adapters whose provider limits the send rate: the
// channel service keeps one limiter per channel with this configuration.
type Paced interface {
	LimiterConfig() ratelimit.Config
}

// Router is implemented by adapters of types with a shared webhook (one
// provider app for many channels): it says which events of a webhook are
// this channel's.
type Router interface {
	// RoutingKeys are the keys of the events this channel takes
	// (WhatsApp: its phone number ID and its business account).
	RoutingKeys() []string
	// RoutingKey is the key of an event; "" means any channel the webhook
	// was signed for (the first one takes it).
	RoutingKey(e *Event) string
}

// FormSender is implemented by adapters that can send forms (WhatsApp
// Flows: a message whose button opens screens whose answers come back as a
// KindFlowCompletion event). A form sent on another channel fails with a
// clear reason instead of reaching someone who cannot open it.
type FormSender interface {
	// SendsForms reports whether this channel's account can send forms
	// now (WhatsApp: always; a channel could depend on its plan).
	SendsForms() bool
}

// Provisioner is implemented by adapters whose provider must be told where
// the channel's webhooks go (Viber: set_webhook) — the channel service calls
// Provision when the channel is saved and Unprovision before it is deleted.
type Provisioner interface {
	// Provision registers webhookURL with the provider.
	Provision(ctx context.Context, webhookURL string) error
	// Unprovision removes the registration.
	Unprovision(ctx context.Context) error
}

// WebhookAddressed is implemented by adapters that put their channel's
// webhook URL in each request to the provider (Twilio: a call's TwiML and
// status callback URLs) rather than registering it once: the channel
// service gives it when it builds the adapter. url is asked for each time:
// the public URL may be known only once the server listens.
type WebhookAddressed interface {
	SetWebhookURL(url func() string)
}

// Answerer is implemented by adapters whose provider reads the HTTP answer
// to a webhook (Viber: the welcome message answering
// conversation_started). The answer is written only once every event of
// the webhook is stored.
type Answerer interface {
	// WebhookAnswer is the JSON to answer a webhook whose events are
	// events; nil answers as for any webhook.
	WebhookAnswer(events []Event) json.RawMessage
}

// FormProvider is the forms-management capability of adapters whose
// provider keeps forms in a business account and must be told about them
// before they can be sent (WhatsApp: Flows are created, get their Flow JSON
// uploaded, are validated, published and deprecated through the Graph
// API). IDs are the provider's.
type FormProvider interface {
	// CreateForm creates an empty draft form and returns its ID.
	CreateForm(ctx context.Context, f FormMeta) (string, error)
	// UpdateFormMeta changes a form's name, categories or endpoint.
	UpdateFormMeta(ctx context.Context, id string, f FormMeta) error
	// UploadFormJSON replaces a form's definition; the answer is the
	// provider's validation verdict (nil when valid).
	UploadFormJSON(ctx context.Context, id string, definition []byte) ([]FormProblem, error)
	// PublishForm publishes a draft form (irreversible at Meta).
	PublishForm(ctx context.Context, id string) error
	// DeprecateForm stops a published form from being sent.
	DeprecateForm(ctx context.Context, id string) error
	// DeleteForm deletes a draft form.
	DeleteForm(ctx context.Context, id string) error
	// GetForm reads the provider's state of a form.
	GetForm(ctx context.Context, id string) (FormState, error)
	// UploadFormKey registers the public key (PEM) the provider encrypts
	// endpoint requests with, for this channel's number.
	UploadFormKey(ctx context.Context, publicKeyPEM string) error
}

// FormMeta are a form's settings outside its definition.
type FormMeta struct {
	Name        string
	Categories  []string
	EndpointURI string
}

// FormState is what the provider knows of a form.
type FormState struct {
	ID               string
	Name             string
	Status           string
	Categories       []string
	ValidationErrors []FormProblem
	PreviewURL       string
}

// FormProblem is one validation error as the provider reports it (Meta's
// validation_errors[] entries).
type FormProblem struct {
	Error       string `json:"error"`
	ErrorType   string `json:"error_type,omitempty"`
	Message     string `json:"message"`
	LineStart   int    `json:"line_start,omitempty"`
	LineEnd     int    `json:"line_end,omitempty"`
	ColumnStart int    `json:"column_start,omitempty"`
	ColumnEnd   int    `json:"column_end,omitempty"`
	// Pointer is the JSON pointer of the offending value, when known.
	Pointer string `json:"pointer,omitempty"`
	// Severity is "error" (blocks publishing; Meta's are all errors) or
	// "warning".
	Severity string `json:"severity,omitempty"`
	// Source says who found the problem: "parley" or "meta".
	Source string `json:"source,omitempty"`
}

// SeenMarker is implemented by adapters that can show a person their
// messages were seen (Messenger, Instagram: sender_action mark_seen). The
// outbox calls it in the background, best effort, before its first reply
// to a new message from the person: it never delays the reply.
type SeenMarker interface {
	// MarkSeen marks the conversation with to as seen.
	MarkSeen(ctx context.Context, to string) error
}

// Subscriptions is implemented by adapters whose people subscribe to the
// channel's account and can unsubscribe from it (Viber). The inbox records
// an unsubscription on the contact (the field "opted_out_<type>", and
// when, "opted_out_<type>_at"); the outbox refuses a send to a contact
// who unsubscribed and has not written since, before calling the
// provider, failing the message with Unsubscribed's reason.
type Subscriptions interface {
	// Unsubscribed is the send error of a message to someone who
	// unsubscribed.
	Unsubscribed() error
}

// Visitors is implemented by adapters of channels whose customers talk to
// Parley's own endpoints instead of a provider's (the web chat widget at
// /webchat/{channel_id}/…). The HTTP API asks the channel's adapter for it,
// so the rules (who may call from where, how often) are the channel's
// configuration.
type Visitors interface {
	// NewVisitor makes a visitor: the token the browser keeps and presents
	// on every call, and the address the visitor is known by (the
	// contact's URN path). Only the holder of the token can act as the
	// visitor.
	NewVisitor() (token, address string, err error)
	// VisitorAddress is the address of the visitor holding token; false
	// when the token is not one NewVisitor made.
	VisitorAddress(token string) (string, bool)
	// AllowsOrigin reports whether a page at origin (scheme://host[:port])
	// may call the channel's endpoints from a browser.
	AllowsOrigin(origin string) bool
	// AllowMessage takes one message from the visitor's allowance at now;
	// when none is left it returns false and how long until there is.
	AllowMessage(address string, now time.Time) (time.Duration, bool)
}

// ProfileEditor is implemented by adapters whose provider keeps a business
// profile for the channel's number (WhatsApp: whatsapp_business_profile,
// the profile photo through the Resumable Upload API, and display-name
// changes that wait for Meta's review, decided by a KindDisplayName event).
type ProfileEditor interface {
	// Profile reads the profile as the provider shows it.
	Profile(ctx context.Context) (BusinessProfile, error)
	// UpdateProfile writes the fields of p that are set (nil leaves a
	// field as it is); PhotoHandle, when set, replaces the photo.
	UpdateProfile(ctx context.Context, p ProfileUpdate) error
	// UploadProfilePhoto uploads an image for appID (the provider app the
	// upload belongs to) and returns the handle UpdateProfile takes.
	UploadProfilePhoto(ctx context.Context, appID, fileName, mimeType string, data []byte) (string, error)
	// RequestDisplayName asks the provider to change the number's display
	// name; the change waits for review.
	RequestDisplayName(ctx context.Context, name string) error
}

// BusinessProfile is a number's business profile.
type BusinessProfile struct {
	About       string   `json:"about"`
	Address     string   `json:"address"`
	Description string   `json:"description"`
	Email       string   `json:"email"`
	Websites    []string `json:"websites"`
	// Vertical is the business category (WhatsApp: RETAIL, EDU, …).
	Vertical string `json:"vertical"`
	// PhotoURL is where the provider serves the profile photo.
	PhotoURL string `json:"photo_url"`
	// DisplayName and DisplayPhone are the number's name and number as the
	// provider shows them.
	DisplayName  string `json:"display_name"`
	DisplayPhone string `json:"display_phone"`
}

// ProfileUpdate is a change to a business profile: nil fields stay.
type ProfileUpdate struct {
	About       *string
	Address     *string
	Description *string
	Email       *string
	Websites    *[]string
	Vertical    *string
	PhotoHandle string
}
