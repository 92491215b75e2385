package channel

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"sync"
)

// Type is everything Parley knows about one kind of channel: what its
// configuration looks like, how it is checked and stored, how a stored
// channel becomes a live adapter, and which provider webhooks it serves. An
// adapter package returns one; the composition root registers it. Nothing
// else names the adapter package, so a new channel is that package and one
// line where the registry is filled.
type Type struct {
	// Name is the channel type, e.g. "whatsapp": stored on channels, and
	// the path segment of its webhooks (/webhooks/{name}).
	Name string
	// Label is the name people see ("WhatsApp Cloud API").
	Label string
	// Fields describe the configuration, for the API and the UI's form.
	Fields []ConfigField
	// Configure validates a configuration given to the API (secrets
	// included) and splits it for storage. It may fill in defaults and
	// generated values. Errors are domain errors pointing into /config.
	Configure func(cfg map[string]any) (Config, error)
	// New builds the adapter of a stored channel from its configuration
	// with the secrets opened. hc makes the adapter's provider calls: the
	// channel service gives each channel a client that records them in the
	// channel log; nil means a client of the adapter's own.
	New func(cfg json.RawMessage, hc *http.Client) (Adapter, error)
	// Webhooks are the provider's routes under /webhooks/{name}; none for
	// channels whose messages come through Parley's own API.
	Webhooks []Webhook
	// Limits are what the type shows natively of buttons and lists (see
	// Fit); nil: messages are sent as they are and never linted.
	Limits *Limits
}

// ConfigField describes one configuration setting.
type ConfigField struct {
	Name string `json:"name"`
	// Type is the JSON type: string, integer, number or boolean.
	Type     string `json:"type" enum:"string,integer,number,boolean"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	// Secret values are sealed at rest and never shown again.
	Secret bool `json:"secret"`
	// Endpoint marks a URL the adapter sends the channel's credentials
	// to (a provider's API base URL): the channel service refuses one
	// that points at an internal address, and a change of it unless the
	// secrets are entered again.
	Endpoint bool `json:"endpoint,omitempty"`
	// Default is what an absent value means.
	Default any    `json:"default,omitempty"`
	Help    string `json:"help,omitempty"`
}

// Config is a validated configuration, split for storage.
type Config struct {
	// Public is stored in clear and shown by the API.
	Public map[string]any
	// Secret is sealed at rest and never shown.
	Secret map[string]any
	// Address is the channel's routing address among channels of its type
	// (WhatsApp: the phone number ID); "" when it has none.
	Address string
}

// Webhook is one provider route of a channel type.
type Webhook struct {
	Method string
	// Path is appended to /webhooks/{type}: PathChannel routes the request
	// by the channel ID in its path; "" is the type's shared endpoint (one
	// provider app for many channels), routed by signature and each
	// event's routing key (see Router).
	Path string
	// Kind says what the route does with a request.
	Kind WebhookKind
	// Summary describes the route in the API reference.
	Summary string
	// Signature is the request header a Receive route's provider signs
	// bodies in: a request without it is refused before its body is read
	// (reading it only to find it unsigned is what an attacker wants).
	// "" for routes whose requests carry no signature header.
	Signature string
}

// PathChannel is the Webhook.Path of routes that name their channel.
const PathChannel = "/{channel_id}"

// WebhookKind is what a webhook route does.
type WebhookKind string

// The webhook kinds.
const (
	// Handshake answers the provider's subscription check
	// (Adapter.VerifyHandshake) with its challenge.
	Handshake WebhookKind = "handshake"
	// Receive checks the signature on the raw body, parses it and stores
	// every event before answering 200.
	Receive WebhookKind = "receive"
	// Serve hands the request to the channel's adapter (a Server), which
	// checks it and answers it itself: providers that want a document
	// back (Twilio's TwiML) or a websocket (a call's media). Its Path is
	// PathServe.
	Serve WebhookKind = "serve"
)

// PathServe is the Webhook.Path of Serve routes: the channel ID, then
// whatever the adapter puts in the URLs it gives its provider.
const PathServe = PathChannel + "/{rest...}"

// Server is an adapter that answers its Serve webhooks itself; rest is
// the path after the channel ID. It must check the request's authenticity
// before acting on it.
type Server interface {
	ServeWebhook(w http.ResponseWriter, r *http.Request, rest string)
}

var typeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Registry is the channel types of this build. The composition root fills
// one at start-up; it is not a global so that tests build their own.
type Registry struct {
	mu    sync.RWMutex
	types map[string]Type
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]Type{}} }

// Register adds a type; a type registered twice or missing what every type
// needs is a programming error.
func (r *Registry) Register(t Type) error {
	if !typeName.MatchString(t.Name) {
		return fmt.Errorf("registering channel type %q: the name must be lower-case letters, digits and _", t.Name)
	}
	if t.Configure == nil || t.New == nil {
		return fmt.Errorf("registering channel type %q: Configure and New are required", t.Name)
	}
	seen := map[string]bool{}
	for _, f := range t.Fields {
		if f.Name == "" || seen[f.Name] {
			return fmt.Errorf("registering channel type %q: field names must be unique and not empty (%q)", t.Name, f.Name)
		}
		seen[f.Name] = true
	}
	routes := map[string]bool{}
	for _, w := range t.Webhooks {
		serve := w.Kind == Serve && w.Path == PathServe
		if !serve && (w.Path != "" && w.Path != PathChannel || w.Kind != Handshake && w.Kind != Receive) || w.Method == "" {
			return fmt.Errorf("registering channel type %q: webhook %s %q (%s) is not a handshake or receive route at \"\" or %q, nor a serve route at %q", t.Name, w.Method, w.Path, w.Kind, PathChannel, PathServe)
		}
		if k := w.Method + " " + w.Path; routes[k] {
			return fmt.Errorf("registering channel type %q: two webhooks at %s", t.Name, k)
		} else {
			routes[k] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[t.Name]; dup {
		return fmt.Errorf("registering channel type %q: already registered", t.Name)
	}
	r.types[t.Name] = t
	return nil
}

// Lookup is the registered type of the name.
func (r *Registry) Lookup(name string) (Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Types lists the registered types by name.
func (r *Registry) Types() []Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the registered type names, sorted.
func (r *Registry) Names() []string {
	ts := r.Types()
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// Receives reports whether the type takes provider webhooks at a
// per-channel URL (so a channel has a webhook URL to give the provider).
func (t Type) Receives() bool {
	for _, w := range t.Webhooks {
		if w.Kind == Receive && w.Path == PathChannel {
			return true
		}
	}
	return false
}
