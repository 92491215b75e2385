package viber

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// callback is every Viber callback's fields (which are set depends on the
// event).
type callback struct {
	Event        string      `json:"event"`
	Timestamp    json.Number `json:"timestamp"`
	MessageToken json.Number `json:"message_token"`
	UserID       string      `json:"user_id"`
	Desc         string      `json:"desc"`
	Type         string      `json:"type"`
	Context      string      `json:"context"`
	Subscribed   bool        `json:"subscribed"`
	User         *user       `json:"user"`
	Sender       *user       `json:"sender"`
	Message      *struct {
		Type         string          `json:"type"`
		Text         string          `json:"text"`
		Media        string          `json:"media"`
		Thumbnail    string          `json:"thumbnail"`
		FileName     string          `json:"file_name"`
		Size         json.Number     `json:"size"`
		StickerID    json.Number     `json:"sticker_id"`
		TrackingData string          `json:"tracking_data"`
		Contact      json.RawMessage `json:"contact"`
		Location     *struct {
			Lat float64 `json:"lat"`
			Lon float64 `json:"lon"`
		} `json:"location"`
	} `json:"message"`
}

type user struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Avatar   string `json:"avatar"`
	Country  string `json:"country"`
	Language string `json:"language"`
}

// maxDepth bounds a callback's nesting; Viber's deepest is three levels.
const maxDepth = 32

// Parse turns one Viber callback into events: a person's message, a
// delivery status, a subscription change, or an event Parley only logs
// (the webhook check, conversation_started, whose welcome message is the
// HTTP answer).
func Parse(body []byte) ([]channel.Event, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("the callback is not valid UTF-8")
	}
	depth := 0
	inString, escaped := false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > maxDepth {
				return nil, fmt.Errorf("the callback nests deeper than %d levels", maxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	var cb callback
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&cb); err != nil {
		return nil, fmt.Errorf("decoding the Viber callback: %w", err)
	}
	// One JSON value and nothing after it: the body is kept as the event's
	// raw JSON, which must stay valid to be stored.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decoding the Viber callback: data after its JSON object at byte %d", dec.InputOffset())
	}
	if cb.Event == "" {
		return nil, errors.New("the Viber callback has no event")
	}
	e := channel.Event{Channel: Type, Timestamp: millis(cb.Timestamp), ProviderID: string(cb.MessageToken)}
	contact := func(u *user) channel.Contact {
		if u == nil {
			return channel.Contact{}
		}
		return channel.Contact{Address: u.ID, Name: u.Name}
	}
	status := func(s channel.State) ([]channel.Event, error) {
		if cb.UserID == "" || cb.MessageToken == "" {
			return nil, fmt.Errorf("a Viber %s callback needs user_id and message_token", cb.Event)
		}
		e.Kind, e.Contact = channel.KindStatus, channel.Contact{Address: cb.UserID}
		e.Status = &channel.Status{State: s, Recipient: cb.UserID}
		if cb.Desc != "" {
			e.Status.Errors = []channel.ProviderError{{Title: cb.Desc, Message: cb.Desc}}
		}
		return []channel.Event{e}, nil
	}
	switch cb.Event {
	case "message":
		if cb.Sender == nil || cb.Sender.ID == "" || cb.Message == nil {
			return nil, errors.New("a Viber message callback needs sender.id and message")
		}
		if cb.MessageToken == "" {
			return nil, errors.New("a Viber message callback needs message_token")
		}
		e.Contact = contact(cb.Sender)
		m := cb.Message
		e.Text = m.Text
		if m.TrackingData != "" {
			e.Extra = map[string]string{"tracking_data": m.TrackingData}
		}
		switch m.Type {
		case "text":
			e.Kind = channel.KindText
		case "picture", "video", "file", "sticker":
			types := map[string]channel.MediaType{"picture": channel.MediaImage, "video": channel.MediaVideo, "file": channel.MediaDocument, "sticker": channel.MediaSticker}
			e.Kind = channel.KindMedia
			e.Media = &channel.Media{Type: types[m.Type], ID: m.Media, URL: m.Media, Caption: m.Text, Filename: m.FileName}
			if m.Type == "sticker" && m.Media == "" {
				e.Media.ID = "sticker:" + string(m.StickerID)
			}
		case "location":
			if m.Location == nil {
				return nil, errors.New("a Viber location message has no location")
			}
			e.Kind, e.Location = channel.KindLocation, &channel.Location{Latitude: m.Location.Lat, Longitude: m.Location.Lon}
		case "url":
			e.Kind, e.Text = channel.KindText, m.Media
		default: // contact and whatever comes next: kept whole
			e.Kind = channel.KindUnsupported
			e.Raw = json.RawMessage(body)
			if e.Extra == nil {
				e.Extra = map[string]string{}
			}
			e.Extra["message_type"] = m.Type
		}
		return []channel.Event{e}, nil
	case "delivered":
		return status(channel.StateDelivered)
	case "seen":
		return status(channel.StateRead)
	case "failed":
		return status(channel.StateFailed)
	case "subscribed":
		if cb.User == nil || cb.User.ID == "" {
			return nil, errors.New("a Viber subscribed callback needs user.id")
		}
		e.ProviderID = ""
		e.Kind, e.Contact = channel.KindPreference, contact(cb.User)
		e.Preference = &channel.Preference{Address: cb.User.ID, Category: PreferenceCategory, Value: "resume", At: e.Timestamp}
		return []channel.Event{e}, nil
	case "unsubscribed":
		if cb.UserID == "" {
			return nil, errors.New("a Viber unsubscribed callback needs user_id")
		}
		e.ProviderID = ""
		e.Kind, e.Contact = channel.KindPreference, channel.Contact{Address: cb.UserID}
		e.Preference = &channel.Preference{Address: cb.UserID, Category: PreferenceCategory, Value: "stop", At: e.Timestamp}
		return []channel.Event{e}, nil
	case "conversation_started":
		// The person opened the chat: it can start a flow (the
		// conversation_started trigger), never resume one; the welcome
		// message is the callback's answer (Adapter.WebhookAnswer).
		e.Kind, e.Contact = channel.KindConversationStarted, contact(cb.User)
		e.Extra = map[string]string{"context": cb.Context, "subscribed": strconv.FormatBool(cb.Subscribed)}
		return []channel.Event{e}, nil
	case "webhook":
		e.Kind, e.Ignored = channel.KindIgnored, &channel.Ignored{Field: "webhook", Reason: "Viber's check of the webhook URL after set_webhook"}
		return []channel.Event{e}, nil
	}
	e.Kind, e.Raw = channel.KindIgnored, json.RawMessage(body)
	e.Ignored = &channel.Ignored{Field: cb.Event, Reason: "a Viber callback Parley does not act on"}
	return []channel.Event{e}, nil
}

// PreferenceCategory names the subscription preference of a Viber
// contact: "stop" when they unsubscribed from this channel's bot.
const PreferenceCategory = "subscription"

func millis(n json.Number) time.Time {
	ms, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return time.Time{}
	}
	t, _ := channel.MillisTime(ms)
	return t
}
