package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/sandbox"
)

// Identity of the benchmark's WhatsApp number, shared by the fake, Parley's
// channel and Node-RED's flow.
const (
	phoneNumberID = "100000000000888"
	wabaID        = "100000000000001"
	appSecret     = "bench-app-secret"
	accessToken   = "bench-access-token"
	apiVersion    = "v21.0"
)

// statusValue is the value of a Meta status webhook (spec §4), the shape the
// sandbox sends too.
type statusValue struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Statuses []statusEntry `json:"statuses"`
}

type statusEntry struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Timestamp   string `json:"timestamp"`
	RecipientID string `json:"recipient_id"`
	BizOpaque   string `json:"biz_opaque_callback_data,omitempty"`
	Pricing     struct {
		Billable     bool   `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Type         string `json:"type"`
		Category     string `json:"category"`
	} `json:"pricing"`
}

// statusBody is the webhook Meta sends when our message (ourID, as echoed
// in biz_opaque_callback_data) reaches state.
func statusBody(wamid, ourID, recipient, state string) []byte {
	var v statusValue
	v.MessagingProduct = "whatsapp"
	v.Metadata.DisplayPhoneNumber = "15550000000"
	v.Metadata.PhoneNumberID = phoneNumberID
	e := statusEntry{ID: wamid, Status: state, Timestamp: strconv.FormatInt(time.Now().Unix(), 10), RecipientID: recipient, BizOpaque: ourID}
	e.Pricing.Billable, e.Pricing.PricingModel, e.Pricing.Type, e.Pricing.Category = true, "PMP", "free_customer_service", "service"
	v.Statuses = []statusEntry{e}
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": wabaID, "changes": []any{map[string]any{"field": "messages", "value": v}}}}})
	return b
}

// inboundBody is a customer's text message webhook to the business number
// pnid, built by the sandbox.
func inboundBody(pnid, from, name, wamid, text string) []byte {
	b, err := sandbox.BuildInbound(sandbox.Inbound{PhoneNumberID: pnid, WABAID: wabaID, From: from, Name: name, ID: wamid, Text: text})
	if err != nil {
		panic(err) // the inputs are always complete
	}
	return b
}

// outboundBody is a text send as Parley posts it to the Graph API.
func outboundBody(to, text string) []byte {
	b, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
		"type": "text", "text": map[string]any{"body": text}})
	return b
}

// postSigned POSTs a webhook body with Meta's signature and drains the
// answer; anything but 200 is an error.
func postSigned(ctx context.Context, hc *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(body, appSecret))
	return do(hc, req)
}

// do sends req and drains the answer; anything but 200 is an error.
func do(hc *http.Client, req *http.Request) error {
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// numberID is the phone number ID of the bench's i-th business number.
func numberID(i int) string {
	if i == 0 {
		return phoneNumberID
	}
	return fmt.Sprintf("%s%d", phoneNumberID[:len(phoneNumberID)-2], 10+i)
}

// customer is the wa_id of worker w's seq-th customer in a phase: every
// exchange comes from a new number, so replies are matched by "to" and no
// per-recipient pacing applies.
func customer(phase, w, seq int) string {
	return fmt.Sprintf("1%d%03d%07d", phase, w, seq)
}
