package whatsapp

import (
	"encoding/json"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// parseMessage turns one value.messages[] object into an event. A message
// that cannot be read becomes KindUnsupported with its raw JSON rather than
// failing the whole webhook: the other messages in the batch still count.
// allowEdit is false inside an edit so that edits cannot nest.
func parseMessage(base channel.Event, v *wMessagesValue, raw json.RawMessage, allowEdit bool) channel.Event {
	e := base
	var m wMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		e.Kind = channel.KindUnsupported
		e.Raw = raw
		e.Extra = map[string]string{"error": "unreadable message: " + err.Error()}
		return e
	}
	e.ProviderID = string(m.ID)
	e.Timestamp = unixTime(m.Timestamp)
	if v != nil {
		e.Contact = contactFor(v, string(m.From), m.FromUserID)
	}
	if c := m.Context; c != nil {
		e.ReplyTo = string(c.ID)
		e.Forwarded, e.FrequentlyForwarded = c.Forwarded || c.FrequentlyForwarded, c.FrequentlyForwarded
		if p := c.ReferredProduct; p != nil {
			e.ReferredProduct = &channel.Product{CatalogID: string(p.CatalogID), ProductID: string(p.ProductRetailerID)}
		}
	}
	if r := m.Referral; r != nil {
		e.Referral = &channel.Referral{SourceURL: r.SourceURL, SourceID: r.SourceID, SourceType: r.SourceType,
			Headline: r.Headline, Body: r.Body, MediaType: r.MediaType, ImageURL: r.ImageURL,
			VideoURL: r.VideoURL, ThumbnailURL: r.ThumbnailURL, ClickID: r.CtwaClid}
	}
	e.Errors = providerErrors(m.Errors)
	unsupported := func(why string) channel.Event {
		e.Kind = channel.KindUnsupported
		e.Raw = raw
		if e.Extra == nil {
			e.Extra = map[string]string{}
		}
		e.Extra["type"] = m.Type
		if why != "" {
			e.Extra["reason"] = why
		}
		return e
	}

	if m.Type == "" {
		m.Type = inferType(&m)
	}
	switch m.Type {
	case "text":
		if m.Text == nil {
			return unsupported("text message without text")
		}
		e.Kind, e.Text = channel.KindText, m.Text.Body
	case "image", "video", "audio", "document", "sticker":
		wm := map[string]*wMedia{"image": m.Image, "video": m.Video, "audio": m.Audio,
			"document": m.Document, "sticker": m.Sticker}[m.Type]
		if wm == nil {
			return unsupported(m.Type + " message without its media object")
		}
		e.Kind = channel.KindMedia
		e.Media = &channel.Media{Type: channel.MediaType(m.Type), ID: string(wm.ID), MimeType: wm.MimeType,
			SHA256: wm.SHA256, Caption: wm.Caption, Filename: wm.Filename, URL: wm.URL,
			Voice: wm.Voice, Animated: wm.Animated}
		e.Text = wm.Caption
	case "location":
		if m.Location == nil {
			return unsupported("location message without location")
		}
		l := m.Location
		e.Kind = channel.KindLocation
		e.Location = &channel.Location{Latitude: float64(l.Latitude), Longitude: float64(l.Longitude),
			Name: l.Name, Address: l.Address, URL: l.URL}
	case "contacts":
		e.Kind = channel.KindContacts
		for _, c := range m.Contacts {
			sc := channel.SharedContact{Name: c.Name.FormattedName}
			if sc.Name == "" {
				sc.Name = strings.TrimSpace(c.Name.FirstName + " " + c.Name.LastName)
			}
			for _, p := range c.Phones {
				sc.Phones = append(sc.Phones, channel.Phone{Phone: p.Phone, Address: string(p.WaID), Type: p.Type})
			}
			for _, em := range c.Emails {
				sc.Emails = append(sc.Emails, em.Email)
			}
			e.Contacts = append(e.Contacts, sc)
		}
	case "reaction":
		if m.Reaction == nil {
			return unsupported("reaction message without reaction")
		}
		e.Kind = channel.KindReaction
		e.Reaction = &channel.Reaction{MessageID: string(m.Reaction.MessageID), Emoji: m.Reaction.Emoji}
	case "interactive":
		return parseInteractive(e, &m, unsupported)
	case "button":
		if m.Button == nil {
			return unsupported("button message without button")
		}
		e.Kind, e.Text = channel.KindQuickReply, m.Button.Text
		e.Reply = &channel.Reply{Payload: m.Button.Payload, Title: m.Button.Text}
	case "order":
		if m.Order == nil {
			return unsupported("order message without order")
		}
		e.Kind = channel.KindOrder
		o := &channel.Order{CatalogID: string(m.Order.CatalogID), Text: m.Order.Text}
		for _, it := range m.Order.ProductItems {
			o.Items = append(o.Items, channel.OrderItem{ProductID: string(it.ProductRetailerID),
				Quantity: it.Quantity, ItemPrice: it.ItemPrice, Currency: it.Currency})
		}
		e.Order = o
		e.Text = o.Text
	case "system":
		if m.System == nil {
			return unsupported("system message without system")
		}
		e.Kind = channel.KindSystem
		newAddr := string(m.System.WaID)
		if newAddr == "" {
			newAddr = string(m.System.NewWaID)
		}
		e.System = &channel.System{Type: m.System.Type, Body: m.System.Body, NewAddress: newAddr}
	case "edit":
		if m.Edit == nil || !allowEdit {
			return unsupported("edit message without edit, or nested")
		}
		e.Kind = channel.KindEdit
		e.Edit = &channel.Edit{OriginalID: string(m.Edit.OriginalMessageID)}
		if len(m.Edit.Message) > 0 {
			inner := parseMessage(channel.Event{Channel: base.Channel, AccountID: base.AccountID,
				BusinessID: base.BusinessID}, nil, m.Edit.Message, false)
			e.Edit.Message = &inner
			e.Text = inner.Text
		}
	case "revoke":
		if m.Revoke == nil {
			return unsupported("revoke message without revoke")
		}
		e.Kind = channel.KindRevoke
		e.Revoke = &channel.Revoke{OriginalID: string(m.Revoke.OriginalMessageID)}
	default:
		var sub string
		if m.Unsupported != nil {
			sub = m.Unsupported.Type
		}
		ev := unsupported("")
		if sub != "" {
			ev.Extra["unsupported_type"] = sub
		}
		return ev
	}
	return e
}

// inferType names the payload a message carries when "type" is missing, as
// in some of Meta's own examples.
func inferType(m *wMessage) string {
	switch {
	case m.Text != nil:
		return "text"
	case m.Image != nil:
		return "image"
	case m.Video != nil:
		return "video"
	case m.Audio != nil:
		return "audio"
	case m.Document != nil:
		return "document"
	case m.Sticker != nil:
		return "sticker"
	case m.Location != nil:
		return "location"
	case m.Contacts != nil:
		return "contacts"
	case m.Reaction != nil:
		return "reaction"
	case m.Interactive != nil:
		return "interactive"
	case m.Button != nil:
		return "button"
	case m.Order != nil:
		return "order"
	case m.System != nil:
		return "system"
	}
	return ""
}

func parseInteractive(e channel.Event, m *wMessage, unsupported func(string) channel.Event) channel.Event {
	in := m.Interactive
	if in == nil {
		return unsupported("interactive message without payload")
	}
	switch {
	case in.Type == "button_reply" && in.ButtonReply != nil:
		e.Kind, e.Text = channel.KindButtonReply, in.ButtonReply.Title
		e.Reply = &channel.Reply{ID: in.ButtonReply.ID, Title: in.ButtonReply.Title}
	case in.Type == "list_reply" && in.ListReply != nil:
		e.Kind, e.Text = channel.KindListReply, in.ListReply.Title
		e.Reply = &channel.Reply{ID: in.ListReply.ID, Title: in.ListReply.Title, Description: in.ListReply.Description}
	case in.Type == "nfm_reply" && in.NfmReply != nil:
		e.Kind = channel.KindFlowCompletion
		f := &channel.FlowCompletion{Name: in.NfmReply.Name, Body: in.NfmReply.Body, Response: map[string]any{}}
		if rj := in.NfmReply.ResponseJSON; rj != nil && *rj != "" {
			if err := decodeResponseJSON([]byte(*rj), &f.Response); err != nil {
				e.Extra = map[string]string{"response_error": err.Error(), "response_json": *rj}
			}
		}
		if tok, ok := f.Response["flow_token"].(string); ok {
			f.Token = tok
		}
		e.Flow = f
	default:
		ev := unsupported("interactive type " + in.Type + " is not handled")
		ev.Extra["interactive_type"] = in.Type
		return ev
	}
	return e
}

// decodeResponseJSON decodes a flow's response_json (a JSON string inside
// the webhook) into an object, with the same depth bound as the body.
func decodeResponseJSON(b []byte, into *map[string]any) error {
	if err := checkDepth(b, maxDepth); err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m != nil {
		*into = m
	}
	return nil
}

// checkDepth rejects JSON nested deeper than limit, in one pass without
// recursion. It only counts brackets outside strings; validity is left to
// the decoder.
func checkDepth(b []byte, limit int) error {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > limit {
				return malformed("the JSON is nested more than %d levels deep", limit)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
