// Package whatsapp is the WhatsApp Cloud API channel: webhook verification
// and parsing, the Graph API client (messages, media, templates, credentials
// check) and the classification of its errors.
package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// Defaults.
const (
	DefaultAPIBaseURL        = "https://graph.facebook.com"
	DefaultAPIVersion        = "v21.0"
	DefaultMessagesPerSecond = 80
	DefaultTimeout           = 15 * time.Second
	// DefaultRequestTimeoutSeconds is request_timeout_seconds when the
	// config has none (DefaultTimeout); it can be set within
	// MinRequestTimeoutSeconds..MaxRequestTimeoutSeconds.
	DefaultRequestTimeoutSeconds = int(DefaultTimeout / time.Second)
	MinRequestTimeoutSeconds     = 1
	MaxRequestTimeoutSeconds     = 120
	// PairInterval is Meta's steady-state pace for one (business, user)
	// pair: about one message every 6 seconds.
	PairInterval = 6 * time.Second
	// PairBurst is how many messages we let go to one person back to back
	// (a multi-bubble reply) before pacing; Meta tolerates short bursts.
	PairBurst = 10
)

// Config is a WhatsApp channel's configuration, as stored (secrets sealed by
// the store) and as given to POST /channels/.
type Config struct {
	PhoneNumberID string `json:"phone_number_id"`
	WABAID        string `json:"waba_id"`
	AccessToken   string `json:"access_token"`
	AppSecret     string `json:"app_secret"`
	VerifyToken   string `json:"verify_token"`
	// APIBaseURL points at Meta's Graph API, the sandbox or a test fake.
	APIBaseURL        string  `json:"api_base_url,omitempty"`
	APIVersion        string  `json:"api_version,omitempty"`
	MessagesPerSecond float64 `json:"messages_per_second,omitempty"`
	// RequestTimeoutSeconds bounds each Graph API call of the channel
	// (sends, media, templates, the check); default 15, at most 120. A
	// pointer, so that an explicit 0 is refused rather than defaulted.
	RequestTimeoutSeconds *int `json:"request_timeout_seconds,omitempty"`
	// Timeout is the per-call bound the client applies: RequestTimeoutSeconds
	// when set; Go callers without it may set Timeout directly.
	Timeout time.Duration `json:"-"`
}

var (
	numericID  = regexp.MustCompile(`^[0-9]{1,32}$`)
	apiVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)
)

// ParseConfig decodes and validates a JSON config, applying defaults.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			msg := fmt.Sprintf("%s must be %s (got a %s)", te.Field, kindName(te.Type.Kind()), te.Value)
			return Config{}, &domain.Error{Code: domain.CodeInvalid, Message: "the WhatsApp channel config is invalid: " + msg, Err: err,
				Fields: []domain.FieldError{{Pointer: "/config/" + te.Field, Code: "type", Message: msg}}}
		}
		if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
			name = strings.TrimSuffix(name, `"`)
			msg := fmt.Sprintf("%s is not a WhatsApp channel setting", name)
			return Config{}, &domain.Error{Code: domain.CodeInvalid, Message: "the WhatsApp channel config is invalid: " + msg, Err: err,
				Fields: []domain.FieldError{{Pointer: "/config/" + name, Code: "unknown", Message: msg}}}
		}
		return Config{}, &domain.Error{Code: domain.CodeInvalid,
			Message: "the WhatsApp channel config is not valid: " + err.Error(), Err: err}
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// WithDefaults returns c with empty optional fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.APIBaseURL == "" {
		c.APIBaseURL = DefaultAPIBaseURL
	}
	c.APIBaseURL = strings.TrimRight(c.APIBaseURL, "/")
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = DefaultMessagesPerSecond
	}
	if c.RequestTimeoutSeconds == nil && c.Timeout == 0 {
		n := DefaultRequestTimeoutSeconds
		c.RequestTimeoutSeconds = &n
	}
	if c.RequestTimeoutSeconds != nil {
		c.Timeout = time.Duration(*c.RequestTimeoutSeconds) * time.Second
	}
	return c
}

// kindName says what a JSON value of a Go kind must be, for errors.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + k.String()
}

// Validate checks every field and names each bad one with its JSON pointer
// under /config.
func (c Config) Validate() error {
	var fields []domain.FieldError
	bad := func(name, code, format string, args ...any) {
		fields = append(fields, domain.FieldError{Pointer: "/config/" + name, Code: code,
			Message: fmt.Sprintf(format, args...)})
	}
	if c.PhoneNumberID == "" {
		bad("phone_number_id", "required", "phone_number_id is required: the Phone number ID shown under WhatsApp > API Setup")
	} else if !numericID.MatchString(c.PhoneNumberID) {
		bad("phone_number_id", "format", "phone_number_id must be the numeric Phone number ID, not the phone number itself")
	}
	if c.WABAID != "" && !numericID.MatchString(c.WABAID) {
		bad("waba_id", "format", "waba_id must be the numeric WhatsApp Business Account ID")
	}
	if c.AccessToken == "" {
		bad("access_token", "required", "access_token is required: a system-user token with whatsapp_business_messaging")
	}
	if c.AppSecret == "" {
		bad("app_secret", "required", "app_secret is required to verify webhook signatures (App settings > Basic)")
	}
	if c.VerifyToken == "" {
		bad("verify_token", "required", "verify_token is required: any secret string you also type into Meta's webhook setup")
	}
	if u, err := url.Parse(c.APIBaseURL); c.APIBaseURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		bad("api_base_url", "format", "api_base_url must be an http(s) URL such as %s", DefaultAPIBaseURL)
	}
	if c.APIVersion != "" && !apiVersion.MatchString(c.APIVersion) {
		bad("api_version", "format", "api_version must look like %s", DefaultAPIVersion)
	}
	if c.MessagesPerSecond < 0 || c.MessagesPerSecond > 1000 {
		bad("messages_per_second", "range", "messages_per_second must be between 1 and 1000 (Meta's maximum)")
	}
	if n := c.RequestTimeoutSeconds; n != nil && (*n < MinRequestTimeoutSeconds || *n > MaxRequestTimeoutSeconds) {
		bad("request_timeout_seconds", "range", "request_timeout_seconds must be between %d and %d: the seconds each Graph API call may take (default %d)",
			MinRequestTimeoutSeconds, MaxRequestTimeoutSeconds, DefaultRequestTimeoutSeconds)
	}
	if len(fields) == 0 {
		return nil
	}
	return &domain.Error{Code: domain.CodeInvalid,
		Message: "the WhatsApp channel config is invalid: " + fields[0].Message, Fields: fields}
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
