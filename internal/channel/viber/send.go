package viber

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Keyboard and rich media limits.
const (
	MaxKeyboardButtons = 24 // 12 rows of two half-width buttons
	MaxRichMediaItems  = 6
	keyboardColumns    = 6
)

// answer is every Viber API response: status 0 is success.
type answer struct {
	Status        int         `json:"status"`
	StatusMessage string      `json:"status_message"`
	MessageToken  json.Number `json:"message_token"`
	Name          string      `json:"name"`
	Webhook       string      `json:"webhook"`
}

// Send sends one message with send_message; its message_token is the
// provider ID the delivered/seen/failed callbacks name.
func (a *Adapter) Send(ctx context.Context, msg channel.Outbound) (channel.SendResult, error) {
	body, err := a.Build(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	if body == nil { // nothing Viber shows (mark as read)
		return channel.SendResult{}, nil
	}
	if t := body["type"]; (t == "video" || t == "file") && body["size"] == 0 {
		// Viber's REST API requires a video's and a file's size in bytes;
		// a flow's media has only its URL, so the size is asked of the
		// media's server (HEAD, through the channel's guarded client). 0
		// is sent when it cannot say.
		body["size"] = a.mediaSize(ctx, body["media"].(string))
	}
	res, err := a.call(ctx, "send_message", body)
	if err != nil {
		return channel.SendResult{}, err
	}
	if res.MessageToken == "" {
		return channel.SendResult{}, &channel.SendError{Class: channel.Retryable, HTTPStatus: http.StatusOK, Title: "Viber's answer has no message_token"}
	}
	return channel.SendResult{ProviderID: res.MessageToken.String(), Address: msg.To}, nil
}

// Build is the send_message body of msg; nil for kinds Viber has no use
// for (mark as read: Viber reports "seen" itself).
func (a *Adapter) Build(msg channel.Outbound) (map[string]any, error) {
	if msg.To == "" {
		return nil, errInvalid("the recipient (Viber user ID) is missing")
	}
	b := map[string]any{"receiver": msg.To, "min_api_version": 1, "sender": a.sender()}
	if msg.OurID != "" {
		// Echoed back with the person's reply.
		b["tracking_data"] = msg.OurID
	}
	text := func(t string, limit int) error {
		if t == "" {
			return errInvalid("the text is empty")
		}
		if n := utf8.RuneCountInString(t); n > limit {
			return errInvalid("the text is %d characters; Viber allows %d", n, limit)
		}
		return nil
	}
	switch msg.Kind {
	case channel.OutText:
		if err := text(msg.Text, MaxText); err != nil {
			return nil, err
		}
		b["type"], b["text"] = "text", msg.Text
	case channel.OutMedia:
		if msg.Media == nil || msg.Media.Link == "" {
			return nil, errInvalid("Viber media must be given by URL")
		}
		if err := media(b, msg.Media); err != nil {
			return nil, err
		}
	case channel.OutButtons:
		if err := text(msg.Body, MaxText); err != nil {
			return nil, err
		}
		if len(msg.Buttons) == 0 || len(msg.Buttons) > MaxKeyboardButtons {
			return nil, errInvalid("%d buttons: a Viber keyboard takes 1 to %d", len(msg.Buttons), MaxKeyboardButtons)
		}
		titles := make([]string, len(msg.Buttons))
		for i, btn := range msg.Buttons {
			titles[i] = btn.Title
		}
		b["type"], b["text"], b["keyboard"] = "text", msg.Body, keyboard(titles)
	case channel.OutList:
		if msg.List == nil {
			return nil, errInvalid("a list message needs its list")
		}
		return a.list(b, msg)
	case channel.OutCTAURL:
		if msg.CTA == nil || msg.CTA.URL == "" {
			return nil, errInvalid("a link button needs its URL")
		}
		t := msg.Body
		if t == "" {
			t = msg.CTA.DisplayText
		}
		b["type"], b["text"] = "text", t
		b["keyboard"] = map[string]any{"Type": "keyboard", "DefaultHeight": false, "Buttons": []any{
			map[string]any{"Columns": keyboardColumns, "Rows": 1, "ActionType": "open-url", "ActionBody": msg.CTA.URL, "Text": msg.CTA.DisplayText}}}
	case channel.OutLocation:
		if msg.Location == nil {
			return nil, errInvalid("a location message needs its location")
		}
		b["type"], b["location"] = "location", map[string]any{"lat": msg.Location.Latitude, "lon": msg.Location.Longitude}
	case channel.OutMarkRead:
		return nil, nil
	default:
		return nil, &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest, Title: "not supported on Viber",
			Details: fmt.Sprintf("a %s message cannot be sent on Viber", msg.Kind)}
	}
	if raw, _ := json.Marshal(b); len(raw) > MaxRequestBytes {
		return nil, errInvalid("the message is %d bytes of JSON; Viber takes at most %d", len(raw), MaxRequestBytes)
	}
	return b, nil
}

// keyboard is a reply keyboard: a tap sends the title back as the
// person's message, which is how a waiting flow matches buttons.
func keyboard(titles []string) map[string]any {
	cols := keyboardColumns
	if len(titles) > 6 {
		cols = keyboardColumns / 2 // two per row, so that 12 rows hold 24
	}
	buttons := make([]any, len(titles))
	for i, t := range titles {
		buttons[i] = map[string]any{"Columns": cols, "Rows": 1, "ActionType": "reply", "ActionBody": t, "Text": t}
	}
	return map[string]any{"Type": "keyboard", "DefaultHeight": false, "Buttons": buttons}
}

func media(b map[string]any, m *channel.MediaRef) error {
	switch m.Type {
	case channel.MediaImage, channel.MediaSticker:
		b["type"], b["media"] = "picture", m.Link
		if m.Caption != "" {
			if utf8.RuneCountInString(m.Caption) > MaxCaption {
				return errInvalid("a picture's caption is over %d characters", MaxCaption)
			}
			b["text"] = m.Caption
		} else {
			b["text"] = ""
		}
	case channel.MediaVideo:
		// The size (required by Viber) is filled in by Send (mediaSize).
		b["type"], b["media"], b["size"] = "video", m.Link, 0
	case channel.MediaDocument, channel.MediaAudio:
		name := m.Filename
		if name == "" {
			name = "file"
		}
		b["type"], b["media"], b["size"], b["file_name"] = "file", m.Link, 0, name
	default:
		return errInvalid("media of type %q cannot be sent on Viber", m.Type)
	}
	return nil
}

// list is a keyboard of the rows (answered with the row title) or, when
// rows have descriptions, a rich media carousel of up to 6 cards, each
// with a reply button; the list's text goes as the keyboard's message.
func (a *Adapter) list(b map[string]any, msg channel.Outbound) (map[string]any, error) {
	var rows []channel.ListRow
	described := false
	for _, s := range msg.List.Sections {
		for _, r := range s.Rows {
			rows = append(rows, r)
			described = described || r.Description != ""
		}
	}
	if len(rows) == 0 {
		return nil, errInvalid("a list needs at least one row")
	}
	if described && len(rows) <= MaxRichMediaItems {
		var buttons []any
		for _, r := range rows {
			buttons = append(buttons,
				map[string]any{"Columns": 6, "Rows": 2, "ActionType": "none", "Text": "<b>" + htmlEscape(r.Title) + "</b><br>" + htmlEscape(r.Description)},
				map[string]any{"Columns": 6, "Rows": 1, "ActionType": "reply", "ActionBody": r.Title, "Text": htmlEscape(r.Title)})
		}
		b["min_api_version"] = 2
		b["type"] = "rich_media"
		b["rich_media"] = map[string]any{"Type": "rich_media", "ButtonsGroupColumns": 6, "ButtonsGroupRows": 3, "BgColor": "#FFFFFF", "Buttons": buttons}
		if msg.Body != "" {
			b["alt_text"] = msg.Body
		}
		return b, nil
	}
	if len(rows) > MaxKeyboardButtons {
		return nil, errInvalid("%d choices: a Viber keyboard takes at most %d", len(rows), MaxKeyboardButtons)
	}
	t := msg.Body
	if t == "" {
		t = msg.List.Button
	}
	if t == "" {
		return nil, errInvalid("a list needs its text")
	}
	titles := make([]string, len(rows))
	for i, r := range rows {
		titles[i] = r.Title
	}
	b["type"], b["text"], b["keyboard"] = "text", t, keyboard(titles)
	return b, nil
}

func htmlEscape(s string) string {
	var buf bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			buf.WriteString("&lt;")
		case '>':
			buf.WriteString("&gt;")
		case '&':
			buf.WriteString("&amp;")
		default:
			buf.WriteRune(r)
		}
	}
	return buf.String()
}

func errInvalid(format string, args ...any) *channel.SendError {
	return &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest, Title: "invalid message", Details: fmt.Sprintf(format, args...)}
}

// call POSTs body to {base}/{endpoint} with the token header; a status
// other than 0 in the answer is a classified *channel.SendError.
func (a *Adapter) call(ctx context.Context, endpoint string, body any) (answer, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return answer{}, errInvalid("encoding the request: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.APIBaseURL+"/"+endpoint, bytes.NewReader(raw))
	if err != nil {
		return answer{}, errInvalid("building the request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(AuthHeader, a.cfg.AuthToken)
	resp, err := a.http.Do(req)
	if err != nil {
		return answer{}, &channel.SendError{Class: channel.Retryable, Title: "the Viber API could not be reached", Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, &channel.SendError{Class: channel.Retryable, HTTPStatus: resp.StatusCode, Title: "reading Viber's answer", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		// Viber answers 200 to every request it understood; anything
		// else is a proxy or an outage.
		se := &channel.SendError{Class: channel.Permanent, HTTPStatus: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			se.Class = channel.Retryable
		}
		return answer{}, se
	}
	var ans answer
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil {
		return answer{}, &channel.SendError{Class: channel.Retryable, HTTPStatus: resp.StatusCode, Title: "Viber's answer is not JSON", Err: errors.New(string(b))}
	}
	if ans.Status != 0 {
		return answer{}, Classify(ans.Status, ans.StatusMessage)
	}
	return ans, nil
}

// statusNames are the documented status codes.
var statusNames = map[int]string{1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData", 5: "receiverNotRegistered",
	6: "receiverNotSubscribed", 7: "publicAccountBlocked", 8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
	11: "receiverNoSuitableDevice", 12: "tooManyRequests", 13: "apiVersionNotSupported", 14: "incompatibleWithVersion", 15: "publicAccountNotAuthorized"}

// recipientThrottleWait is how long a person who got 100 messages without
// answering stays throttled before a retry: Viber counts per hour.
const recipientThrottleWait = 10 * time.Minute

// Classify maps a Viber status code to a send error: unreachable people
// and a misconfigured bot are permanent, too many requests is throttled
// for the recipient, unknown codes are permanent.
func Classify(status int, message string) *channel.SendError {
	title := statusNames[status]
	if title == "" {
		title = "status " + strconv.Itoa(status)
	}
	se := &channel.SendError{Class: channel.Permanent, Code: status, Title: title, Details: message}
	switch status {
	case 5, 11:
		se.Cause = channel.CauseUndeliverable
	case 6:
		se.Cause = channel.CauseOptedOut
	case 2, 7, 8, 9, 10, 15:
		se.Cause = channel.CauseAuth
	case 1, 3, 4, 13, 14:
		se.Cause = channel.CauseInvalidRequest
	case 12:
		se.Class, se.Scope, se.RetryAfter = channel.Throttled, channel.ScopeRecipient, recipientThrottleWait
	}
	return se
}

// mediaSize is the size in bytes of the media at link, from a HEAD request
// through the channel's client (the guarded one, recorded in the channel
// log), or 0 when the server does not say within a few seconds.
func (a *Adapter) mediaSize(ctx context.Context, link string) int64 {
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, link, nil)
	if err != nil {
		return 0
	}
	res, err := a.http.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 || res.ContentLength <= 0 {
		return 0
	}
	return res.ContentLength
}
