package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Inbound is what a customer sends: set exactly one of Text, ButtonReply,
// ListReply, QuickReply, FlowReply, Location or Media.
type Inbound struct {
	// PhoneNumberID is the business number written to (routes the webhook).
	PhoneNumberID      string
	DisplayPhoneNumber string
	WABAID             string
	// From is the customer's wa_id (digits); Name their profile name.
	From string
	Name string
	// ID is the message's wamid; generated when empty.
	ID string
	// At is the message time; now when zero.
	At time.Time
	// ReplyTo is the wamid of our message being answered (the context).
	ReplyTo string

	Text string
	// ButtonReply is a tap on an interactive reply button (ID, Title).
	ButtonReply *channel.Reply
	// ListReply is a list choice (ID, Title, Description).
	ListReply *channel.Reply
	// QuickReply is a template quick-reply tap (Payload, Title).
	QuickReply *channel.Reply
	// FlowReply is a WhatsApp Flow submission.
	FlowReply *FlowReply
	Location  *channel.Location
	// Media is an attachment already stored with AddMedia.
	Media *channel.Media
}

// FlowReply is a submitted WhatsApp Flow.
type FlowReply struct {
	Token    string
	Response map[string]any
}

// BuildInbound returns the webhook body Meta would send for in.
func BuildInbound(in Inbound) ([]byte, error) {
	if in.From == "" {
		return nil, fmt.Errorf("building an inbound webhook: the sender (from) is required")
	}
	if in.PhoneNumberID == "" {
		return nil, fmt.Errorf("building an inbound webhook: the phone number ID is required")
	}
	if in.ID == "" {
		in.ID = fmt.Sprintf("wamid.SANDBOXIN%d", time.Now().UnixNano())
	}
	if in.At.IsZero() {
		in.At = time.Now()
	}
	if in.DisplayPhoneNumber == "" {
		in.DisplayPhoneNumber = "15550000000"
	}
	if in.WABAID == "" {
		in.WABAID = "100000000000001"
	}
	msg := map[string]any{"from": in.From, "id": in.ID, "timestamp": unix(in.At)}
	if in.ReplyTo != "" {
		msg["context"] = map[string]string{"from": in.DisplayPhoneNumber, "id": in.ReplyTo}
	}
	switch {
	case in.ButtonReply != nil:
		msg["type"] = "interactive"
		msg["interactive"] = map[string]any{"type": "button_reply",
			"button_reply": map[string]string{"id": in.ButtonReply.ID, "title": in.ButtonReply.Title}}
	case in.ListReply != nil:
		lr := map[string]string{"id": in.ListReply.ID, "title": in.ListReply.Title}
		if in.ListReply.Description != "" {
			lr["description"] = in.ListReply.Description
		}
		msg["type"] = "interactive"
		msg["interactive"] = map[string]any{"type": "list_reply", "list_reply": lr}
	case in.QuickReply != nil:
		msg["type"] = "button"
		msg["button"] = map[string]string{"payload": in.QuickReply.Payload, "text": in.QuickReply.Title}
	case in.FlowReply != nil:
		resp := map[string]any{}
		for k, v := range in.FlowReply.Response {
			resp[k] = v
		}
		if in.FlowReply.Token != "" {
			resp["flow_token"] = in.FlowReply.Token
		}
		rj, err := json.Marshal(resp)
		if err != nil {
			return nil, fmt.Errorf("building a flow reply: %w", err)
		}
		msg["type"] = "interactive"
		msg["interactive"] = map[string]any{"type": "nfm_reply",
			"nfm_reply": map[string]string{"name": "flow", "body": "Sent", "response_json": string(rj)}}
	case in.Location != nil:
		msg["type"] = "location"
		msg["location"] = in.Location
	case in.Media != nil:
		m := map[string]any{"id": in.Media.ID, "mime_type": in.Media.MimeType, "sha256": in.Media.SHA256}
		if in.Media.Caption != "" {
			m["caption"] = in.Media.Caption
		}
		if in.Media.Filename != "" {
			m["filename"] = in.Media.Filename
		}
		msg["type"] = string(in.Media.Type)
		msg[string(in.Media.Type)] = m
	default:
		msg["type"] = "text"
		msg["text"] = map[string]string{"body": in.Text}
	}
	c := contact{WaID: in.From}
	c.Profile.Name = in.Name
	v := messagesValue{MessagingProduct: "whatsapp", Metadata: metadata{in.DisplayPhoneNumber, in.PhoneNumberID},
		Contacts: []contact{c}, Messages: []map[string]any{msg}}
	return wrap(in.WABAID, "messages", v)
}

// SendInbound builds in's webhook and POSTs it, signed with appSecret, to
// webhookURL: what `parley sandbox send --to-channel <id> --from … --text …`
// does. It returns the message's wamid; a non-2xx answer is an error.
func SendInbound(ctx context.Context, hc *http.Client, webhookURL, appSecret string, in Inbound) (string, error) {
	if in.ID == "" {
		in.ID = fmt.Sprintf("wamid.SANDBOXIN%d", time.Now().UnixNano())
	}
	body, err := BuildInbound(in)
	if err != nil {
		return "", err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	status, err := postSigned(ctx, hc, webhookURL, appSecret, body)
	if err != nil {
		return "", err
	}
	if status < 200 || status > 299 {
		return "", fmt.Errorf("sending an inbound webhook to %s: answered %d %s", webhookURL, status,
			strings.ToLower(http.StatusText(status)))
	}
	return in.ID, nil
}

// SendInbound sends in as a customer of this fake's number to the
// configured webhook URL.
func (s *Server) SendInbound(ctx context.Context, in Inbound) (string, error) {
	if in.PhoneNumberID == "" {
		in.PhoneNumberID = s.cfg.PhoneNumberID
	}
	if in.DisplayPhoneNumber == "" {
		in.DisplayPhoneNumber = s.cfg.DisplayPhoneNumber
	}
	if in.WABAID == "" {
		in.WABAID = s.cfg.WABAID
	}
	s.mu.Lock()
	u := s.webhookURL
	s.mu.Unlock()
	return SendInbound(ctx, s.cfg.HTTPClient, u, s.cfg.AppSecret, in)
}
