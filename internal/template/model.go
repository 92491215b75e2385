// Package template is the WhatsApp message-template model: its components
// as Meta defines them, validation against Meta's limits (spec §6) with JSON
// pointers, rendering a send from a map of values, and applying Meta's
// status, quality and category webhooks. JSON field names are Meta's, so a
// template decodes from and encodes to the Graph API unchanged.
package template

import (
	"bytes"
	"encoding/json"
	"time"
)

// Category is a template's Meta category.
type Category string

// Categories.
const (
	Utility        Category = "UTILITY"
	Marketing      Category = "MARKETING"
	Authentication Category = "AUTHENTICATION"
)

// Status is a template's review status as Parley keeps it: whether it can
// be sent, and if not, why (StatusOf maps Meta's many statuses onto these).
type Status string

// Statuses.
const (
	StatusPending  Status = "PENDING"
	StatusApproved Status = "APPROVED"
	StatusRejected Status = "REJECTED"
	StatusPaused   Status = "PAUSED"
	StatusDisabled Status = "DISABLED"
)

// Parameter formats.
const (
	Positional = "POSITIONAL"
	Named      = "NAMED"
)

// Component types.
const (
	TypeHeader           = "HEADER"
	TypeBody             = "BODY"
	TypeFooter           = "FOOTER"
	TypeButtons          = "BUTTONS"
	TypeCarousel         = "CAROUSEL"
	TypeLimitedTimeOffer = "LIMITED_TIME_OFFER"
)

// Header formats.
const (
	FormatText     = "TEXT"
	FormatImage    = "IMAGE"
	FormatVideo    = "VIDEO"
	FormatDocument = "DOCUMENT"
	FormatGIF      = "GIF"
	FormatLocation = "LOCATION"
	FormatProduct  = "PRODUCT"
)

// Button types.
const (
	ButtonQuickReply  = "QUICK_REPLY"
	ButtonURL         = "URL"
	ButtonPhoneNumber = "PHONE_NUMBER"
	ButtonVoiceCall   = "VOICE_CALL"
	ButtonCopyCode    = "COPY_CODE"
	ButtonOTP         = "OTP"
	ButtonFlow        = "FLOW"
	ButtonCatalog     = "CATALOG"
	ButtonMPM         = "MPM"
	ButtonSPM         = "SPM"
)

// OTP types.
const (
	OTPCopyCode = "COPY_CODE"
	OTPOneTap   = "ONE_TAP"
	OTPZeroTap  = "ZERO_TAP"
)

// Template is a message template: its definition (what is submitted to
// Meta) and its synced state.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Category Category `json:"category"`
	// ParameterFormat is POSITIONAL ({{1}}) or NAMED ({{first_name}}); empty
	// means positional.
	ParameterFormat       string      `json:"parameter_format,omitempty"`
	MessageSendTTLSeconds int         `json:"message_send_ttl_seconds,omitempty"`
	Components            []Component `json:"components"`

	// Synced from Meta; never submitted.
	ID              string    `json:"id,omitempty"`
	Status          Status    `json:"status,omitempty"`
	Quality         string    `json:"quality,omitempty"` // GREEN, YELLOW, RED, UNKNOWN
	RejectedReason  string    `json:"rejected_reason,omitempty"`
	StatusDetail    string    `json:"status_detail,omitempty"`
	StatusUpdatedAt time.Time `json:"status_updated_at,omitzero"`
}

// Component is one part of a template.
type Component struct {
	Type string `json:"type"`
	// Format is the header's format.
	Format  string   `json:"format,omitempty"`
	Text    string   `json:"text,omitempty"`
	Example *Example `json:"example,omitempty"`
	// AddSecurityRecommendation is the authentication body's option.
	AddSecurityRecommendation *bool `json:"add_security_recommendation,omitempty"`
	// CodeExpirationMinutes is the authentication footer's option (1–90).
	CodeExpirationMinutes *int              `json:"code_expiration_minutes,omitempty"`
	Buttons               []Button          `json:"buttons,omitempty"`
	Cards                 []Card            `json:"cards,omitempty"`
	LimitedTimeOffer      *LimitedTimeOffer `json:"limited_time_offer,omitempty"`
}

// Example holds sample values Meta reviews parameters with.
type Example struct {
	HeaderText      []string     `json:"header_text,omitempty"`
	HeaderTextNamed []NamedParam `json:"header_text_named_params,omitempty"`
	HeaderHandle    []string     `json:"header_handle,omitempty"`
	BodyText        [][]string   `json:"body_text,omitempty"`
	BodyTextNamed   []NamedParam `json:"body_text_named_params,omitempty"`
}

// NamedParam is the example of one named parameter.
type NamedParam struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// Button is one template button; Type decides which fields apply.
type Button struct {
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	// Example is the URL suffix example(s) or the copy code.
	Example StringOrList `json:"example,omitzero"`

	OTPType              string         `json:"otp_type,omitempty"`
	AutofillText         string         `json:"autofill_text,omitempty"`
	ZeroTapTermsAccepted *bool          `json:"zero_tap_terms_accepted,omitempty"`
	SupportedApps        []SupportedApp `json:"supported_apps,omitempty"`

	FlowID         string `json:"flow_id,omitempty"`
	FlowName       string `json:"flow_name,omitempty"`
	FlowJSON       string `json:"flow_json,omitempty"`
	FlowAction     string `json:"flow_action,omitempty"`
	NavigateScreen string `json:"navigate_screen,omitempty"`
}

// SupportedApp is an Android app for one-tap and zero-tap OTP buttons.
type SupportedApp struct {
	PackageName   string `json:"package_name"`
	SignatureHash string `json:"signature_hash"`
}

// Card is one carousel card.
type Card struct {
	Components []Component `json:"components"`
}

// LimitedTimeOffer is the limited-time-offer component's content.
type LimitedTimeOffer struct {
	Text          string `json:"text"`
	HasExpiration bool   `json:"has_expiration,omitempty"`
}

// StringOrList is a JSON value that is a string (a copy code example) or a
// list of strings (URL examples); it re-encodes the way it came.
type StringOrList struct {
	Values []string
	Single bool
}

// IsZero reports whether there is no value.
func (s StringOrList) IsZero() bool { return len(s.Values) == 0 }

// First returns the first value or "".
func (s StringOrList) First() string {
	if len(s.Values) == 0 {
		return ""
	}
	return s.Values[0]
}

// MarshalJSON encodes a string or a list.
func (s StringOrList) MarshalJSON() ([]byte, error) {
	if s.Single && len(s.Values) == 1 {
		return json.Marshal(s.Values[0])
	}
	return json.Marshal(s.Values)
}

// UnmarshalJSON accepts a string or a list of strings.
func (s *StringOrList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = StringOrList{Values: []string{v}, Single: true}
		return nil
	}
	var vs []string
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	*s = StringOrList{Values: vs}
	return nil
}

// Component returns the first component of type typ, or nil.
func (t *Template) Component(typ string) *Component {
	for i := range t.Components {
		if t.Components[i].Type == typ {
			return &t.Components[i]
		}
	}
	return nil
}

// Definition returns the template as submitted to Meta: synced fields
// cleared.
func (t *Template) Definition() Template {
	d := *t
	d.ID, d.Status, d.Quality, d.RejectedReason, d.StatusDetail, d.StatusUpdatedAt = "", "", "", "", "", time.Time{}
	return d
}
