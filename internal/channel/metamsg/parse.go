package metamsg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// The webhook envelope: {"object":"page"|"instagram","entry":[{"id","time",
// "messaging":[event…],"standby":[event…],"changes":[{"field","value"}]}]}.
type envelope struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID        string            `json:"id"`
	Time      json.Number       `json:"time"`
	Messaging []json.RawMessage `json:"messaging"`
	Standby   []json.RawMessage `json:"standby"`
	// Changes is the {"field","value"} form Meta's webhook test tool and
	// some products send; a messaging field's value is one event.
	Changes []struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	} `json:"changes"`
}

type party struct {
	ID string `json:"id"`
	// UserRef identifies people who came through the chat plugin.
	UserRef string `json:"user_ref"`
}

func (p party) key() string {
	if p.ID != "" {
		return p.ID
	}
	return p.UserRef
}

type attachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL         string   `json:"url"`
		Title       string   `json:"title"`
		StickerID   flexID   `json:"sticker_id"`
		ReelVideoID flexID   `json:"reel_video_id"`
		Coordinates *latLong `json:"coordinates"`
	} `json:"payload"`
}

type latLong struct {
	Lat  float64 `json:"lat"`
	Long float64 `json:"long"`
}

type referral struct {
	Ref        string `json:"ref"`
	Source     string `json:"source"`
	Type       string `json:"type"`
	AdID       string `json:"ad_id"`
	RefererURI string `json:"referer_uri"`
	Product    *struct {
		ID string `json:"id"`
	} `json:"product"`
}

type messaging struct {
	Sender    party       `json:"sender"`
	Recipient party       `json:"recipient"`
	Timestamp json.Number `json:"timestamp"`
	Message   *struct {
		Mid           string `json:"mid"`
		Text          string `json:"text"`
		IsEcho        bool   `json:"is_echo"`
		AppID         flexID `json:"app_id"`
		Metadata      string `json:"metadata"`
		IsDeleted     bool   `json:"is_deleted"`
		IsUnsupported bool   `json:"is_unsupported"`
		QuickReply    *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply"`
		ReplyTo *struct {
			Mid   string `json:"mid"`
			Story *struct {
				ID  string `json:"id"`
				URL string `json:"url"`
			} `json:"story"`
		} `json:"reply_to"`
		Attachments []attachment `json:"attachments"`
		Referral    *referral    `json:"referral"`
	} `json:"message"`
	Postback *struct {
		Mid      string    `json:"mid"`
		Title    string    `json:"title"`
		Payload  string    `json:"payload"`
		Referral *referral `json:"referral"`
	} `json:"postback"`
	Delivery *struct {
		Mids      []string    `json:"mids"`
		Watermark json.Number `json:"watermark"`
	} `json:"delivery"`
	Read *struct {
		Mid       string      `json:"mid"`
		Watermark json.Number `json:"watermark"`
	} `json:"read"`
	Reaction *struct {
		Mid      string `json:"mid"`
		Action   string `json:"action"`
		Reaction string `json:"reaction"`
		Emoji    string `json:"emoji"`
	} `json:"reaction"`
	Referral *referral       `json:"referral"`
	Optin    json.RawMessage `json:"optin"`
}

// flexID is an ID Meta sends as a number or a string.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexID(n)
	return nil
}

// maxDepth bounds the nesting of a webhook body: Meta's deepest is about
// eight levels; a deeper body is an attack on the decoder, refused before
// decoding.
const maxDepth = 32

// Parse turns a Messenger or Instagram webhook body into events. A body
// that is not the platform's envelope is an error; event shapes Parley
// does not act on are KindIgnored, with the raw event kept.
func Parse(p Platform, body []byte) ([]channel.Event, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("the webhook body is not valid UTF-8")
	}
	if err := checkDepth(body); err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decoding the %s webhook: %w", p.Label, err)
	}
	if env.Object != p.Object {
		return nil, fmt.Errorf("the webhook's object is %q, not %q: not a %s webhook", env.Object, p.Object, p.Label)
	}
	var out []channel.Event
	for _, en := range env.Entry {
		for _, raw := range en.Messaging {
			ev, err := parseEvent(p, en.ID, raw)
			if err != nil {
				return nil, err
			}
			out = append(out, ev...)
		}
		for _, raw := range en.Standby {
			out = append(out, channel.Event{Kind: channel.KindIgnored, Channel: p.Name, AccountID: en.ID, Raw: raw,
				Ignored: &channel.Ignored{Field: "standby", Reason: "another app owns this conversation (handover protocol)"}})
		}
		for _, c := range en.Changes {
			switch c.Field {
			case "messages", "messaging_postbacks", "message_reactions", "messaging_referral", "messaging_referrals",
				"messaging_seen", "message_reads", "message_deliveries", "message_echoes", "messaging_optins":
				ev, err := parseEvent(p, en.ID, c.Value)
				if err != nil {
					return nil, err
				}
				out = append(out, ev...)
			default:
				out = append(out, channel.Event{Kind: channel.KindIgnored, Channel: p.Name, AccountID: en.ID, Raw: c.Value,
					Ignored: &channel.Ignored{Field: c.Field, Reason: "a webhook field Parley does not act on"}})
			}
		}
	}
	return out, nil
}

func checkDepth(b []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
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
				return fmt.Errorf("the webhook body nests deeper than %d levels", maxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

func millis(n json.Number) time.Time {
	ms, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return channel.SecondsOrMillisTime(ms) // some events send seconds
}

// PayloadList prefixes the payload of a quick reply or button that answers
// a list, so that the answer comes back as a list choice with its row ID.
const PayloadList = "list:"

func parseEvent(p Platform, entryID string, raw json.RawMessage) ([]channel.Event, error) {
	var m messaging
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding a %s messaging event: %w", p.Label, err)
	}
	account := m.Recipient.ID
	if account == "" {
		account = entryID
	}
	base := channel.Event{Channel: p.Name, AccountID: account, Contact: channel.Contact{Address: m.Sender.key()}, Timestamp: millis(m.Timestamp)}
	ignored := func(field, reason string) []channel.Event {
		e := base
		e.Kind, e.Raw, e.Ignored = channel.KindIgnored, raw, &channel.Ignored{Field: field, Reason: reason}
		return []channel.Event{e}
	}
	switch {
	case m.Message != nil && m.Message.IsEcho:
		// Our own sends (and messages typed in the Page inbox) come back
		// from the Page to the person: nothing a flow should answer.
		e := ignored("message_echoes", "an echo of a message the account sent")[0]
		e.AccountID, e.Contact = m.Sender.ID, channel.Contact{Address: m.Recipient.ID}
		if account == "" || e.AccountID == "" {
			e.AccountID = entryID
		}
		e.ProviderID = m.Message.Mid
		return []channel.Event{e}, nil
	case m.Message != nil:
		msg := m.Message
		if m.Sender.key() == "" {
			return nil, fmt.Errorf("a %s message has no sender.id", p.Label)
		}
		e := base
		e.ProviderID = msg.Mid
		e.Text = msg.Text
		e.Kind = channel.KindText
		if msg.ReplyTo != nil {
			e.ReplyTo = msg.ReplyTo.Mid
			if s := msg.ReplyTo.Story; s != nil {
				e.Extra = map[string]string{"story_id": s.ID, "story_url": s.URL}
			}
		}
		if msg.Referral != nil {
			e.Referral = referralOf(msg.Referral)
		}
		switch {
		case msg.IsDeleted:
			e.Kind, e.Revoke, e.Text = channel.KindRevoke, &channel.Revoke{OriginalID: msg.Mid}, ""
		case msg.IsUnsupported:
			e.Kind, e.Raw = channel.KindUnsupported, raw
		case msg.QuickReply != nil:
			if id, ok := strings.CutPrefix(msg.QuickReply.Payload, PayloadList); ok {
				e.Kind, e.Reply = channel.KindListReply, &channel.Reply{ID: id, Title: msg.Text}
			} else {
				e.Kind, e.Reply = channel.KindQuickReply, &channel.Reply{Title: msg.Text, Payload: msg.QuickReply.Payload}
			}
		case len(msg.Attachments) > 0:
			attachmentEvent(&e, msg.Attachments[0], raw)
			if len(msg.Attachments) > 1 {
				if e.Extra == nil {
					e.Extra = map[string]string{}
				}
				urls := make([]string, 0, len(msg.Attachments)-1)
				for _, a := range msg.Attachments[1:] {
					urls = append(urls, a.Payload.URL)
				}
				e.Extra["more_attachments"] = strings.Join(urls, " ")
			}
		case msg.Text == "":
			e.Kind, e.Raw = channel.KindUnsupported, raw
		}
		return []channel.Event{e}, nil
	case m.Postback != nil:
		e := base
		e.Kind, e.ProviderID, e.Text = channel.KindButtonReply, m.Postback.Mid, m.Postback.Title
		if id, ok := strings.CutPrefix(m.Postback.Payload, PayloadList); ok {
			e.Kind, e.Reply = channel.KindListReply, &channel.Reply{ID: id, Title: m.Postback.Title}
		} else {
			e.Reply = &channel.Reply{ID: m.Postback.Payload, Title: m.Postback.Title, Payload: m.Postback.Payload}
		}
		if m.Postback.Referral != nil {
			e.Referral = referralOf(m.Postback.Referral)
		}
		return []channel.Event{e}, nil
	case m.Delivery != nil:
		if len(m.Delivery.Mids) == 0 {
			// Everything sent to the person before the watermark arrived.
			upTo, ok := watermark(m.Delivery.Watermark)
			if !ok {
				return ignored("message_deliveries", "a delivery without message IDs or a watermark"), nil
			}
			e := base
			e.Kind = channel.KindStatus
			e.Status = &channel.Status{State: channel.StateDelivered, Recipient: m.Sender.ID, UpTo: upTo}
			return []channel.Event{e}, nil
		}
		out := make([]channel.Event, 0, len(m.Delivery.Mids))
		for _, mid := range m.Delivery.Mids {
			e := base
			e.Kind, e.ProviderID = channel.KindStatus, mid
			e.Status = &channel.Status{State: channel.StateDelivered, Recipient: m.Sender.ID}
			out = append(out, e)
		}
		return out, nil
	case m.Read != nil:
		if m.Read.Mid == "" {
			// Messenger: everything sent to the person at or before the
			// watermark was read (Instagram's messaging_seen names the mid).
			upTo, ok := watermark(m.Read.Watermark)
			if !ok {
				return ignored("message_reads", "a read receipt without a message ID or a watermark"), nil
			}
			e := base
			e.Kind = channel.KindStatus
			e.Status = &channel.Status{State: channel.StateRead, Recipient: m.Sender.ID, UpTo: upTo}
			return []channel.Event{e}, nil
		}
		e := base
		e.Kind, e.ProviderID = channel.KindStatus, m.Read.Mid
		e.Status = &channel.Status{State: channel.StateRead, Recipient: m.Sender.ID}
		return []channel.Event{e}, nil
	case m.Reaction != nil:
		e := base
		emoji := m.Reaction.Emoji
		if emoji == "" {
			emoji = m.Reaction.Reaction
		}
		if m.Reaction.Action == "unreact" {
			emoji = ""
		}
		e.Kind, e.Reaction = channel.KindReaction, &channel.Reaction{MessageID: m.Reaction.Mid, Emoji: emoji}
		return []channel.Event{e}, nil
	case m.Referral != nil:
		e := ignored("messaging_referrals", "the person came through a link or ad into an open conversation")[0]
		e.Referral = referralOf(m.Referral)
		return []channel.Event{e}, nil
	case len(m.Optin) > 0:
		return ignored("messaging_optins", "an opt-in Parley does not act on"), nil
	}
	return ignored("messaging", "an event Parley does not act on"), nil
}

func attachmentEvent(e *channel.Event, a attachment, raw json.RawMessage) {
	id := a.Payload.URL
	switch a.Type {
	case "image", "video", "audio", "file", "story_mention", "ig_reel", "reel":
		types := map[string]channel.MediaType{"image": channel.MediaImage, "video": channel.MediaVideo, "audio": channel.MediaAudio,
			"file": channel.MediaDocument, "story_mention": channel.MediaImage, "ig_reel": channel.MediaVideo, "reel": channel.MediaVideo}
		e.Kind = channel.KindMedia
		e.Media = &channel.Media{Type: types[a.Type], ID: id, URL: a.Payload.URL, Caption: e.Text}
		if a.Payload.StickerID != "" {
			e.Media.Type, e.Media.ID = channel.MediaSticker, string(a.Payload.StickerID)
		}
		if a.Type == "story_mention" || a.Type == "ig_reel" || a.Type == "reel" {
			if e.Extra == nil {
				e.Extra = map[string]string{}
			}
			e.Extra["attachment_type"] = a.Type
		}
	case "location":
		if c := a.Payload.Coordinates; c != nil {
			e.Kind, e.Location = channel.KindLocation, &channel.Location{Latitude: c.Lat, Longitude: c.Long, Name: a.Payload.Title}
			return
		}
		e.Kind, e.Raw = channel.KindUnsupported, raw
	default:
		// fallback (shared links), template, share…: kept whole.
		e.Kind, e.Raw = channel.KindUnsupported, raw
		e.Extra = map[string]string{"attachment_type": a.Type}
		if a.Payload.URL != "" {
			e.Extra["url"] = a.Payload.URL
		}
	}
}

func referralOf(r *referral) *channel.Referral {
	out := &channel.Referral{SourceType: r.Source, SourceID: r.AdID, SourceURL: r.RefererURI, Body: r.Ref}
	if out.SourceID == "" && r.Product != nil {
		out.SourceID = r.Product.ID
	}
	return out
}

// compactJSON is the body as one line, for comparisons in tests and logs.
func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// watermark reads a receipt's watermark (milliseconds since the epoch).
func watermark(n json.Number) (time.Time, bool) {
	ms, err := n.Int64()
	if err != nil {
		return time.Time{}, false
	}
	t, ok := channel.MillisTime(ms)
	if !ok {
		return time.Time{}, false
	}
	// At or before the watermark, to the millisecond: the last
	// nanosecond of that millisecond.
	return t.Add(time.Millisecond - time.Nanosecond), true
}
