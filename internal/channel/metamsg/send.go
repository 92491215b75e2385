package metamsg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Send API limits (Meta's send-api, quick-replies and template references).
const (
	MaxQuickReplies     = 13
	MaxQuickReplyTitle  = 20
	MaxTemplateButtons  = 3
	MaxButtonTitle      = 20
	MaxButtonText       = 640
	MaxGenericElements  = 10
	MaxElementTitle     = 80
	MaxPayload          = 1000
	maxResponseBytes    = 1 << 20
	defaultListButton   = "Choose"
	messagingResponse   = "RESPONSE"
	messagingMessageTag = "MESSAGE_TAG"
	tagHumanAgent       = "HUMAN_AGENT"
)

// sendBody is one Send API request.
type sendBody struct {
	Recipient     map[string]string `json:"recipient"`
	MessagingType string            `json:"messaging_type,omitempty"`
	Tag           string            `json:"tag,omitempty"`
	Message       map[string]any    `json:"message,omitempty"`
	SenderAction  string            `json:"sender_action,omitempty"`
}

// MarkSeen sends sender_action mark_seen to the person (channel.SeenMarker).
func (a *Adapter) MarkSeen(ctx context.Context, to string) error {
	_, err := a.Send(ctx, channel.Outbound{Kind: channel.OutMarkRead, To: to})
	return err
}

// Send sends msg as one or more Send API requests (a caption after its
// media, a list's text before its cards) and returns the ID of the last,
// the one a person answers. Errors are *channel.SendError.

func (a *Adapter) Send(ctx context.Context, msg channel.Outbound) (channel.SendResult, error) {
	bodies, err := a.Build(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	var res channel.SendResult
	for _, b := range bodies {
		r, err := a.post(ctx, b)
		if err != nil {
			return channel.SendResult{}, err
		}
		if b.SenderAction == "" {
			res = r
		}
	}
	return res, nil
}

// Build turns msg into the Send API bodies that carry it, refusing what the
// platform cannot show with a permanent error saying why.
func (a *Adapter) Build(msg channel.Outbound) ([]sendBody, error) {
	if msg.To == "" {
		return nil, errText("the recipient (PSID or IGSID) is missing")
	}
	base := sendBody{Recipient: map[string]string{"id": msg.To}, MessagingType: messagingResponse}
	if msg.Agent && msg.LastInbound != nil && a.now().Sub(*msg.LastInbound) > StandardWindow {
		// The only tag Parley uses: a person's reply from the inbox within
		// 7 days. The automated tags were deprecated in 2026.
		base.MessagingType, base.Tag = messagingMessageTag, tagHumanAgent
	}
	with := func(m map[string]any) sendBody { b := base; b.Message = m; return b }
	text := func(t string) (map[string]any, error) {
		if err := a.checkText(t); err != nil {
			return nil, err
		}
		return map[string]any{"text": t}, nil
	}
	switch msg.Kind {
	case channel.OutText:
		m, err := text(msg.Text)
		if err != nil {
			return nil, err
		}
		return []sendBody{with(m)}, nil
	case channel.OutMedia:
		if msg.Media == nil {
			return nil, errText("a media message needs its media")
		}
		att, err := attachmentOf(msg.Media)
		if err != nil {
			return nil, err
		}
		out := []sendBody{with(map[string]any{"attachment": att})}
		if msg.Media.Caption != "" {
			// Meta's attachments carry no caption: it follows as text.
			m, err := text(msg.Media.Caption)
			if err != nil {
				return nil, err
			}
			out = append(out, with(m))
		}
		return out, nil
	case channel.OutButtons:
		var out []sendBody
		if msg.Header != nil && msg.Header.Media != nil {
			att, err := attachmentOf(msg.Header.Media)
			if err != nil {
				return nil, err
			}
			out = append(out, with(map[string]any{"attachment": att}))
		}
		m, err := a.buttons(msg.Body, msg.Buttons)
		if err != nil {
			return nil, err
		}
		return append(out, with(m)), nil
	case channel.OutList:
		if msg.List == nil {
			return nil, errText("a list message needs its list")
		}
		return a.list(msg, with)
	case channel.OutCTAURL:
		if msg.CTA == nil || msg.CTA.URL == "" {
			return nil, errText("a link button needs its URL")
		}
		body := msg.Body
		if body == "" {
			body = msg.CTA.DisplayText
		}
		if utf8.RuneCountInString(body) > MaxButtonText {
			return nil, errText("the text of a button template is over %d characters", MaxButtonText)
		}
		return []sendBody{with(template("button", map[string]any{"text": body,
			"buttons": []any{map[string]any{"type": "web_url", "url": msg.CTA.URL, "title": truncate(msg.CTA.DisplayText, MaxButtonTitle)}}}))}, nil
	case channel.OutMarkRead:
		seen := sendBody{Recipient: base.Recipient, SenderAction: "mark_seen"}
		if msg.MarkRead != nil && msg.MarkRead.Typing {
			return []sendBody{seen, {Recipient: base.Recipient, SenderAction: "typing_on"}}, nil
		}
		return []sendBody{seen}, nil
	}
	return nil, &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest, Title: "not supported on " + a.p.Label,
		Details: fmt.Sprintf("a %s message cannot be sent on %s", msg.Kind, a.p.Label)}
}

func (a *Adapter) checkText(t string) error {
	switch {
	case t == "":
		return errText("the text is empty")
	case a.p.MaxTextBytes > 0 && len(t) > a.p.MaxTextBytes:
		return errText("the text is %d bytes; %s allows %d bytes of UTF-8", len(t), a.p.Label, a.p.MaxTextBytes)
	case a.p.MaxTextRunes > 0 && utf8.RuneCountInString(t) >= a.p.MaxTextRunes:
		return errText("the text is %d characters; %s allows fewer than %d", utf8.RuneCountInString(t), a.p.Label, a.p.MaxTextRunes)
	}
	return nil
}

func template(kind string, payload map[string]any) map[string]any {
	payload["template_type"] = kind
	return map[string]any{"attachment": map[string]any{"type": "template", "payload": payload}}
}

// buttons is a button template when the buttons fit one (≤ 3, titles ≤ 20
// characters, text ≤ 640), else quick replies (≤ 13).
func (a *Adapter) buttons(body string, bs []channel.ReplyButton) (map[string]any, error) {
	if len(bs) == 0 {
		return nil, errText("a buttons message needs at least one button")
	}
	if body == "" {
		return nil, errText("a buttons message needs its text")
	}
	fits := len(bs) <= MaxTemplateButtons && utf8.RuneCountInString(body) <= MaxButtonText
	for _, b := range bs {
		fits = fits && utf8.RuneCountInString(b.Title) <= MaxButtonTitle
		if len(b.ID) > MaxPayload {
			return nil, errText("a button's payload is over %d characters", MaxPayload)
		}
	}
	if fits {
		buttons := make([]any, len(bs))
		for i, b := range bs {
			buttons[i] = map[string]any{"type": "postback", "title": b.Title, "payload": b.ID}
		}
		return template("button", map[string]any{"text": body, "buttons": buttons}), nil
	}
	if len(bs) > MaxQuickReplies {
		return nil, errText("%d buttons: %s shows at most %d quick replies", len(bs), a.p.Label, MaxQuickReplies)
	}
	if err := a.checkText(body); err != nil {
		return nil, err
	}
	qr := make([]any, len(bs))
	for i, b := range bs {
		qr[i] = map[string]any{"content_type": "text", "title": truncate(b.Title, MaxQuickReplyTitle), "payload": b.ID}
	}
	return map[string]any{"text": body, "quick_replies": qr}, nil
}

// list is quick replies (≤ 13 rows, answered with the row's ID) or, when
// rows have descriptions, a generic template of up to 10 cards with one
// postback button each, after the list's text.
func (a *Adapter) list(msg channel.Outbound, with func(map[string]any) sendBody) ([]sendBody, error) {
	var rows []channel.ListRow
	described := false
	for _, s := range msg.List.Sections {
		for _, r := range s.Rows {
			rows = append(rows, r)
			described = described || r.Description != ""
		}
	}
	if len(rows) == 0 {
		return nil, errText("a list needs at least one row")
	}
	if described && len(rows) <= MaxGenericElements {
		button := msg.List.Button
		if button == "" {
			button = defaultListButton
		}
		els := make([]any, len(rows))
		for i, r := range rows {
			els[i] = map[string]any{"title": truncate(r.Title, MaxElementTitle), "subtitle": truncate(r.Description, MaxElementTitle),
				"buttons": []any{map[string]any{"type": "postback", "title": truncate(button, MaxButtonTitle), "payload": PayloadList + r.ID}}}
		}
		var out []sendBody
		if msg.Body != "" {
			if err := a.checkText(msg.Body); err != nil {
				return nil, err
			}
			out = append(out, with(map[string]any{"text": msg.Body}))
		}
		return append(out, with(template("generic", map[string]any{"elements": els}))), nil
	}
	if len(rows) > MaxQuickReplies {
		return nil, errText("%d choices: %s shows at most %d quick replies (or %d cards with descriptions)", len(rows), a.p.Label, MaxQuickReplies, MaxGenericElements)
	}
	body := msg.Body
	if body == "" {
		body = msg.List.Button
	}
	if err := a.checkText(body); err != nil {
		return nil, err
	}
	qr := make([]any, len(rows))
	for i, r := range rows {
		qr[i] = map[string]any{"content_type": "text", "title": truncate(r.Title, MaxQuickReplyTitle), "payload": PayloadList + r.ID}
	}
	return []sendBody{with(map[string]any{"text": body, "quick_replies": qr})}, nil
}

func attachmentOf(m *channel.MediaRef) (map[string]any, error) {
	if m.Link == "" {
		return nil, errText("%s media must be given by URL", "Meta")
	}
	types := map[channel.MediaType]string{channel.MediaImage: "image", channel.MediaVideo: "video", channel.MediaAudio: "audio",
		channel.MediaDocument: "file", channel.MediaSticker: "image"}
	t, ok := types[m.Type]
	if !ok {
		return nil, errText("media of type %q cannot be sent", m.Type)
	}
	return map[string]any{"type": t, "payload": map[string]any{"url": m.Link, "is_reusable": true}}, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// post makes one Send API call: POST {base}/{version}/{account}/messages
// with the token as a Bearer header (never in the URL, which logs keep).
func (a *Adapter) post(ctx context.Context, b sendBody) (channel.SendResult, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return channel.SendResult{}, errText("encoding the message: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	u := a.cfg.APIBaseURL + "/" + a.cfg.APIVersion + "/" + url.PathEscape(a.cfg.AccountID) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		return channel.SendResult{}, errText("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.cfg.AccessToken)
	resp, err := a.http.Do(req)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Class: channel.Retryable, Title: "the Graph API could not be reached", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Class: channel.Retryable, HTTPStatus: resp.StatusCode, Title: "reading the Graph API's answer", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return channel.SendResult{}, Classify(resp.StatusCode, resp.Header, body)
	}
	var ok struct {
		RecipientID string `json:"recipient_id"`
		MessageID   string `json:"message_id"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || b.SenderAction == "" && ok.MessageID == "" {
		// Accepted but unreadable: a retry may duplicate, which is the
		// lesser harm than losing the message.
		return channel.SendResult{}, &channel.SendError{Class: channel.Retryable, HTTPStatus: resp.StatusCode, Title: "the Graph API's answer has no message_id",
			Err: errors.New(string(compactJSON(body)))}
	}
	return channel.SendResult{ProviderID: ok.MessageID, Address: ok.RecipientID}, nil
}

// graphError is the Graph API error envelope.
type graphError struct {
	Error *struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
		FbtraceID    string `json:"fbtrace_id"`
	} `json:"error"`
}

// Classify turns a Graph API error answer into a SendError, by error code
// first (Messenger Platform error codes), by HTTP status when there is none.
func Classify(status int, h http.Header, body []byte) *channel.SendError {
	var ge graphError
	if json.Unmarshal(body, &ge) != nil || ge.Error == nil {
		se := &channel.SendError{Class: channel.Permanent, HTTPStatus: status, Title: http.StatusText(status)}
		switch {
		case status == http.StatusTooManyRequests:
			se.Class, se.Scope, se.RetryAfter = channel.Throttled, channel.ScopeAccount, retryAfter(h)
		case status >= 500 || status == http.StatusRequestTimeout:
			se.Class = channel.Retryable
		}
		return se
	}
	e := ge.Error
	se := &channel.SendError{Class: channel.Permanent, HTTPStatus: status, Code: e.Code, Subcode: e.ErrorSubcode, Title: e.Message}
	switch {
	case e.ErrorSubcode == 2018278 || e.ErrorSubcode == 2534022:
		se.Cause = channel.CauseOutsideWindow
		se.Details = "outside the messaging window: the person has not written in the last 24 hours"
	case e.Code == 613 || e.Code == 4 || e.Code == 17 || e.Code == 32:
		se.Class, se.Scope, se.RetryAfter = channel.Throttled, channel.ScopeAccount, max(time.Second, retryAfter(h))
	case e.Code == 551 || e.Code == 100 && e.ErrorSubcode == 2018001 || e.Code == 10903:
		se.Cause = channel.CauseUndeliverable
	case e.Code == 190 || e.Code == 200 || e.Code == 230 || e.Code == 10 || e.Code == 10904 || e.ErrorSubcode == 2018108:
		se.Cause = channel.CauseAuth
	case e.Code == 368:
		se.Cause = channel.CausePauseCampaign
	case e.Code == 100:
		se.Cause = channel.CauseInvalidRequest
	case e.Code == 1 || e.Code == 2 || status >= 500:
		se.Class = channel.Retryable
	}
	return se
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
