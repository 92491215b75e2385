package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// ChannelType is the channel type name.
const ChannelType = domain.ChannelWhatsApp

// maxDepth bounds JSON nesting. Meta's payloads are about 10 deep; the
// bound keeps hostile input (10,000 nested arrays) from costing more than a
// linear scan.
const maxDepth = 64

// ErrMalformed is wrapped by every error Parse returns: the body is not a
// readable WhatsApp webhook. The *domain.Error around it carries
// CodeInvalid, so HTTP answers 400.
var ErrMalformed = errors.New("malformed WhatsApp webhook")

func malformed(format string, args ...any) error {
	return &domain.Error{Code: domain.CodeInvalid, Message: fmt.Sprintf(format, args...), Err: ErrMalformed}
}

// Parse turns a webhook body (already signature-checked) into events, in the
// order Meta listed them. Every change field is understood: the ones Parley
// does not act on become KindIgnored events. Parse never panics.
func Parse(rawBody []byte) ([]channel.Event, error) {
	if len(rawBody) > MaxWebhookBytes {
		return nil, malformed("the webhook body is %d bytes, over the %d-byte limit", len(rawBody), MaxWebhookBytes)
	}
	if !utf8.Valid(rawBody) {
		return nil, malformed("the webhook body is not valid UTF-8")
	}
	if err := checkDepth(rawBody, maxDepth); err != nil {
		return nil, err
	}
	var wh wWebhook
	if err := json.Unmarshal(rawBody, &wh); err != nil {
		return nil, malformed("the webhook body is not valid JSON: %v", err)
	}
	if wh.Object != "whatsapp_business_account" {
		return nil, malformed("the webhook object is %q, want \"whatsapp_business_account\"", wh.Object)
	}
	var events []channel.Event
	for ei, entry := range wh.Entry {
		for ci, ch := range entry.Changes {
			evs, err := parseChange(string(entry.ID), ch)
			if err != nil {
				return nil, malformed("entry[%d].changes[%d] (field %q): %v", ei, ci, ch.Field, err)
			}
			events = append(events, evs...)
		}
	}
	return events, nil
}

func parseChange(wabaID string, ch wChange) ([]channel.Event, error) {
	base := channel.Event{Channel: ChannelType, BusinessID: wabaID}
	switch ch.Field {
	case "messages":
		var v wMessagesValue
		if err := json.Unmarshal(ch.Value, &v); err != nil {
			return nil, err
		}
		return parseMessages(base, &v), nil
	case "user_preferences":
		var v wMessagesValue
		if err := json.Unmarshal(ch.Value, &v); err != nil {
			return nil, err
		}
		base.AccountID = string(v.Metadata.PhoneNumberID)
		out := make([]channel.Event, 0, len(v.UserPreferences))
		for _, p := range v.UserPreferences {
			e := base
			e.Kind = channel.KindPreference
			e.Contact = contactFor(&v, string(p.WaID), "")
			e.Timestamp = unixTime(p.Timestamp)
			e.Preference = &channel.Preference{Address: string(p.WaID), Category: p.Category,
				Value: p.Value, Detail: p.Detail, At: e.Timestamp}
			out = append(out, e)
		}
		return out, nil
	case "message_template_status_update", "message_template_quality_update",
		"template_category_update", "message_template_components_update":
		var v wTemplateValue
		if err := json.Unmarshal(ch.Value, &v); err != nil {
			return nil, err
		}
		return []channel.Event{templateEvent(base, ch.Field, &v)}, nil
	case "phone_number_name_update":
		var v struct {
			DisplayPhoneNumber    flexStr `json:"display_phone_number"`
			Decision              string  `json:"decision"`
			RequestedVerifiedName string  `json:"requested_verified_name"`
			RejectionReason       string  `json:"rejection_reason"`
		}
		if err := json.Unmarshal(ch.Value, &v); err != nil {
			return nil, err
		}
		e := base
		e.Kind = channel.KindDisplayName
		e.DisplayName = &channel.DisplayNameReview{Phone: string(v.DisplayPhoneNumber), Name: v.RequestedVerifiedName, Decision: v.Decision,
			Reason: v.RejectionReason}
		if e.DisplayName.Reason == "NONE" {
			e.DisplayName.Reason = ""
		}
		e.Raw = ch.Value
		return []channel.Event{e}, nil
	case "phone_number_quality_update", "account_update":
		n, err := accountNotice(ch.Field, ch.Value)
		if err != nil {
			return nil, err
		}
		e := base
		e.Kind, e.Notice, e.Raw = channel.KindAccountNotice, n, ch.Value
		return []channel.Event{e}, nil
	case "flows":
		var v struct {
			Event     string  `json:"event"`
			Message   string  `json:"message"`
			FlowID    flexStr `json:"flow_id"`
			OldStatus string  `json:"old_status"`
			NewStatus string  `json:"new_status"`
		}
		if err := json.Unmarshal(ch.Value, &v); err != nil {
			return nil, err
		}
		e := base
		e.Kind = channel.KindFormStatus
		e.Form = &channel.FormUpdate{ID: string(v.FlowID), Event: v.Event, OldStatus: v.OldStatus, NewStatus: v.NewStatus, Message: v.Message}
		e.Raw = ch.Value
		return []channel.Event{e}, nil
	}
	e := base
	e.Kind = channel.KindIgnored
	e.Ignored = &channel.Ignored{Field: ch.Field, Reason: ignoredReason(ch.Field)}
	e.Raw = ch.Value
	var meta struct {
		Metadata wMetadata `json:"metadata"`
	}
	// The value may not be an object; metadata is only a routing nicety.
	_ = json.Unmarshal(ch.Value, &meta)
	e.AccountID = string(meta.Metadata.PhoneNumberID)
	return []channel.Event{e}, nil
}

func ignoredReason(field string) string {
	switch field {
	case "calls":
		return "voice calls are not handled by Parley"
	case "smb_message_echoes":
		return "messages sent from the WhatsApp Business app are not mirrored"
	case "business_capability_update", "security", "account_alerts", "account_review_update":
		return "account notice: logged only"
	}
	return "unknown webhook field"
}

func parseMessages(base channel.Event, v *wMessagesValue) []channel.Event {
	base.AccountID = string(v.Metadata.PhoneNumberID)
	out := make([]channel.Event, 0, len(v.Messages)+len(v.Statuses)+len(v.Errors))
	for _, raw := range v.Messages {
		out = append(out, parseMessage(base, v, raw, true))
	}
	for _, raw := range v.Statuses {
		out = append(out, parseStatus(base, v, raw))
	}
	for _, we := range v.Errors {
		e := base
		e.Kind = channel.KindError
		e.Errors = []channel.ProviderError{providerError(we)}
		out = append(out, e)
	}
	return out
}

// contactFor finds the contact object for a message or status; Meta sends
// one contact per message, matched by wa_id, and usernames may have no wa_id.
func contactFor(v *wMessagesValue, waID, userID string) channel.Contact {
	c := channel.Contact{Address: waID, UserID: userID}
	for i := range v.Contacts {
		wc := &v.Contacts[i]
		if (waID != "" && string(wc.WaID) == waID) || (userID != "" && wc.UserID == userID) || len(v.Contacts) == 1 {
			if c.Address == "" {
				c.Address = string(wc.WaID)
			}
			if c.UserID == "" {
				c.UserID = wc.UserID
			}
			c.Name, c.Username = wc.Profile.Name, wc.Profile.Username
			break
		}
	}
	if c.Address != "" {
		c.Phone = "+" + c.Address // a wa_id is the number's E.164 digits
	}
	return c
}

func providerError(we wError) channel.ProviderError {
	pe := channel.ProviderError{Code: int(we.Code), Title: we.Title, Message: we.Message,
		Details: we.ErrorData.Details, Href: we.Href}
	if pe.Details == "" {
		pe.Details = we.Details
	}
	if pe.Title == "" {
		pe.Title = we.Message
	}
	return pe
}

func providerErrors(ws []wError) []channel.ProviderError {
	if len(ws) == 0 {
		return nil
	}
	out := make([]channel.ProviderError, len(ws))
	for i, w := range ws {
		out[i] = providerError(w)
	}
	return out
}

func parseStatus(base channel.Event, v *wMessagesValue, raw json.RawMessage) channel.Event {
	var s wStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		e := base
		e.Kind = channel.KindIgnored
		e.Ignored = &channel.Ignored{Field: "messages", Reason: "unreadable status: " + err.Error()}
		e.Raw = raw
		return e
	}
	e := base
	e.Kind = channel.KindStatus
	e.ProviderID = string(s.ID)
	e.Timestamp = unixTime(s.Timestamp)
	recipient := string(s.RecipientID)
	if s.RecipientType == "group" {
		recipient = string(s.RecipientParticipant)
	}
	e.Contact = contactFor(v, recipient, s.RecipientUserID)
	st := &channel.Status{State: channel.State(s.Status), OurID: s.BizOpaqueCallbackData,
		Recipient: string(s.RecipientID), Errors: providerErrors(s.Errors), Type: s.Type}
	if s.Pricing != nil {
		st.Pricing = &channel.Pricing{Billable: s.Pricing.Billable, Model: s.Pricing.PricingModel,
			Type: s.Pricing.Type, Category: s.Pricing.Category}
	}
	if s.Conversation != nil {
		st.Conversation = &channel.Conversation{ID: s.Conversation.ID, Origin: s.Conversation.Origin.Type,
			Expiration: unixTime(s.Conversation.ExpirationTimestamp)}
	}
	e.Status = st
	if s.RecipientType != "" {
		e.Extra = map[string]string{"recipient_type": s.RecipientType}
	}
	if s.Type != "" && s.Type != "message" {
		// Payment and call statuses are not about our messages.
		e.Kind = channel.KindIgnored
		e.Ignored = &channel.Ignored{Field: "messages", Reason: s.Type + " status: not handled"}
		e.Raw = raw
	}
	return e
}

func templateEvent(base channel.Event, field string, v *wTemplateValue) channel.Event {
	e := base
	tu := &channel.TemplateUpdate{ID: string(v.MessageTemplateID), Name: v.MessageTemplateName,
		Language: v.MessageTemplateLanguage, Category: v.MessageTemplateCategory}
	switch field {
	case "message_template_status_update":
		e.Kind = channel.KindTemplateStatus
		tu.Event, tu.Reason = v.Event, v.Reason
		if v.RejectionInfo != nil {
			tu.Detail = v.RejectionInfo.Reason
			if v.RejectionInfo.Recommendation != "" {
				tu.Detail += " " + v.RejectionInfo.Recommendation
			}
		}
		if v.OtherInfo != nil && tu.Detail == "" {
			tu.Detail = v.OtherInfo.Title + ": " + v.OtherInfo.Description
		}
		if v.DisableInfo != nil {
			tu.DisableDate = string(v.DisableInfo.DisableDate)
		}
	case "message_template_quality_update":
		e.Kind = channel.KindTemplateQuality
		tu.Quality, tu.PreviousQuality = v.NewQualityScore, v.PreviousQualityScore
	case "template_category_update":
		e.Kind = channel.KindTemplateCategory
		tu.Category, tu.PreviousCategory = v.NewCategory, v.PreviousCategory
		if tu.Category == "" {
			tu.Category = v.CorrectCategory
		}
	default:
		e.Kind = channel.KindTemplateComponents
		tu.Element = v.MessageTemplateElement
	}
	e.Template = tu
	return e
}
