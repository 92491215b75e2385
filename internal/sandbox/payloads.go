package sandbox

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// The webhook bodies the sandbox sends, shaped like Meta's (spec §4).

type envelope struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      string   `json:"id"`
	Changes []change `json:"changes"`
}

type change struct {
	Value any    `json:"value"`
	Field string `json:"field"`
}

type metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type contact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
}

type messagesValue struct {
	MessagingProduct string           `json:"messaging_product"`
	Metadata         metadata         `json:"metadata"`
	Contacts         []contact        `json:"contacts,omitempty"`
	Messages         []map[string]any `json:"messages,omitempty"`
	Statuses         []map[string]any `json:"statuses,omitempty"`
}

func wrap(wabaID, field string, value any) ([]byte, error) {
	return json.Marshal(envelope{Object: "whatsapp_business_account",
		Entry: []entry{{ID: wabaID, Changes: []change{{Value: value, Field: field}}}}})
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// statusBody is a status webhook for one of our messages.
func statusBody(pn number, wamid, recipient string, state channel.State, opaque string, at time.Time, fail *channel.ProviderError) ([]byte, error) {
	v := messagesValue{MessagingProduct: "whatsapp", Metadata: metadata{pn.Display, pn.ID},
		Statuses: []map[string]any{statusUpdate(wamid, recipient, state, opaque, at, fail)}}
	return wrap(pn.WABA, "messages", v)
}

// statusUpdate is one entry of a webhook's statuses.
func statusUpdate(wamid, recipient string, state channel.State, opaque string, at time.Time, fail *channel.ProviderError) map[string]any {
	st := map[string]any{"id": wamid, "status": string(state), "timestamp": unix(at), "recipient_id": recipient}
	if opaque != "" {
		st["biz_opaque_callback_data"] = opaque
	}
	if state == channel.StateSent || state == channel.StateDelivered || state == channel.StateRead {
		st["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
	}
	if fail != nil {
		st["errors"] = []map[string]any{{"code": fail.Code, "title": fail.Title, "message": fail.Title,
			"error_data": map[string]any{"details": fail.Details}}}
	}
	return st
}

// templateStatusBody is a message_template_status_update webhook.
func templateStatusBody(wabaID, id, name, language, category, event, reason string) ([]byte, error) {
	n, _ := strconv.ParseInt(id, 10, 64)
	return wrap(wabaID, "message_template_status_update", map[string]any{
		"event": event, "message_template_id": n, "message_template_name": name,
		"message_template_language": language, "reason": reason, "message_template_category": category})
}
