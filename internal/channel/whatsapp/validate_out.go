package whatsapp

import (
	"fmt"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// Limits of spec §5.1, counted in characters as Meta counts them.
const (
	maxTextBody       = 4096
	maxInteractiveBdy = 1024
	maxListBody       = 4096
	maxHeaderText     = 60
	maxFooter         = 60
	maxButtonTitle    = 20
	maxButtonID       = 256
	maxListButton     = 20
	maxSectionTitle   = 24
	maxRows           = 10
	maxRowID          = 200
	maxRowTitle       = 24
	maxRowDescription = 72
	maxCTAText        = 20
	maxFlowCTA        = 30
	maxCaption        = 1024
	maxOpaque         = 512
)

type checker struct{ fields []domain.FieldError }

func (c *checker) add(ptr, code, format string, args ...any) {
	c.fields = append(c.fields, domain.FieldError{Pointer: ptr, Code: code, Message: fmt.Sprintf(format, args...)})
}

// text checks a string's presence and length (in characters).
func (c *checker) text(ptr, name, s string, required bool, limit int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && required:
		c.add(ptr, "required", "%s is required", name)
	case n > limit:
		c.add(ptr, "too_long", "%s is %d characters, over WhatsApp's limit of %d", name, n, limit)
	}
}

func (c *checker) err() error {
	if len(c.fields) == 0 {
		return nil
	}
	msg := "the message cannot be sent on WhatsApp: " + c.fields[0].Message
	if len(c.fields) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(c.fields)-1)
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: msg, Fields: c.fields}
}

// ValidateOutbound checks msg against WhatsApp's limits so that a bad
// message fails here with every problem named (JSON pointers into the
// Outbound) instead of costing a call and coming back as error 100.
func ValidateOutbound(msg *channel.Outbound) error {
	c := &checker{}
	if msg.Kind != channel.OutMarkRead && msg.To == "" {
		c.add("/to", "required", "the recipient (to) is required")
	}
	c.text("/our_id", "our_id", msg.OurID, false, maxOpaque)
	switch msg.Kind {
	case channel.OutText:
		c.text("/text", "the text", msg.Text, true, maxTextBody)
	case channel.OutMedia:
		checkMedia(c, "/media", msg.Media, true)
	case channel.OutButtons:
		checkInteractive(c, msg, maxInteractiveBdy, true)
		if n := len(msg.Buttons); n < 1 || n > 3 {
			c.add("/buttons", "count", "reply buttons need 1 to 3 buttons, not %d", n)
		}
		ids, titles := map[string]bool{}, map[string]bool{}
		for i, b := range msg.Buttons {
			p := "/buttons/" + strconv.Itoa(i)
			c.text(p+"/id", "the button ID", b.ID, true, maxButtonID)
			c.text(p+"/title", "the button title", b.Title, true, maxButtonTitle)
			if ids[b.ID] {
				c.add(p+"/id", "duplicate", "button ID %q is used twice", b.ID)
			}
			if titles[b.Title] {
				c.add(p+"/title", "duplicate", "button title %q is used twice", b.Title)
			}
			ids[b.ID], titles[b.Title] = true, true
		}
	case channel.OutList:
		checkInteractive(c, msg, maxListBody, false)
		checkList(c, msg.List)
	case channel.OutCTAURL:
		checkInteractive(c, msg, maxInteractiveBdy, true)
		if msg.CTA == nil {
			c.add("/cta", "required", "the call-to-action button is required")
			break
		}
		c.text("/cta/display_text", "the button text", msg.CTA.DisplayText, true, maxCTAText)
		checkURL(c, "/cta/url", msg.CTA.URL)
	case channel.OutLocationRequest:
		checkInteractive(c, msg, maxInteractiveBdy, false)
		if msg.Header != nil {
			c.add("/header", "not_allowed", "a location request has no header")
		}
	case channel.OutLocation:
		checkLocation(c, "/location", msg.Location)
	case channel.OutFlow:
		checkInteractive(c, msg, maxInteractiveBdy, true)
		checkFlow(c, msg.Flow)
	case channel.OutTemplate:
		if msg.Template == nil {
			c.add("/template", "required", "the template is required")
			break
		}
		c.text("/template/name", "the template name", msg.Template.Name, true, 512)
		c.text("/template/language", "the template language", msg.Template.Language, true, 16)
	case channel.OutReaction:
		if msg.Reaction == nil || msg.Reaction.MessageID == "" {
			c.add("/reaction/message_id", "required", "the message to react to is required")
		}
	case channel.OutMarkRead:
		if msg.MarkRead == nil || msg.MarkRead.MessageID == "" {
			c.add("/mark_read/message_id", "required", "the message to mark as read is required")
		}
	default:
		c.add("/kind", "unknown", "unknown message kind %q", msg.Kind)
	}
	return c.err()
}

func checkInteractive(c *checker, msg *channel.Outbound, bodyLimit int, mediaHeader bool) {
	c.text("/body", "the body", msg.Body, true, bodyLimit)
	c.text("/footer", "the footer", msg.Footer, false, maxFooter)
	if h := msg.Header; h != nil {
		if h.Media != nil {
			if !mediaHeader {
				c.add("/header/media", "not_allowed", "this message's header can only be text")
			} else {
				checkMedia(c, "/header/media", h.Media, false)
			}
		} else {
			c.text("/header/text", "the header", h.Text, true, maxHeaderText)
		}
	}
}

func checkMedia(c *checker, ptr string, m *channel.MediaRef, captionOK bool) {
	if m == nil {
		c.add(ptr, "required", "the media is required")
		return
	}
	switch m.Type {
	case channel.MediaImage, channel.MediaVideo, channel.MediaDocument:
	case channel.MediaAudio, channel.MediaSticker:
		if m.Caption != "" {
			c.add(ptr+"/caption", "not_allowed", "%s messages have no caption", m.Type)
		}
		if ptr == "/header/media" {
			c.add(ptr+"/type", "not_allowed", "a header can be an image, video or document, not %s", m.Type)
		}
	default:
		c.add(ptr+"/type", "unknown", "media type must be image, video, audio, document or sticker, not %q", m.Type)
	}
	if (m.ID == "") == (m.Link == "") {
		c.add(ptr, "one_of", "give the media either an uploaded id or a public link, not both or neither")
	}
	if m.Link != "" {
		checkURL(c, ptr+"/link", m.Link)
	}
	if captionOK {
		c.text(ptr+"/caption", "the caption", m.Caption, false, maxCaption)
	}
	if m.Filename != "" && m.Type != channel.MediaDocument {
		c.add(ptr+"/filename", "not_allowed", "only documents have a filename")
	}
}

func checkList(c *checker, l *channel.List) {
	if l == nil {
		c.add("/list", "required", "the list is required")
		return
	}
	c.text("/list/button", "the list button", l.Button, true, maxListButton)
	if n := len(l.Sections); n < 1 || n > 10 {
		c.add("/list/sections", "count", "a list needs 1 to 10 sections, not %d", n)
	}
	rows, ids := 0, map[string]bool{}
	for i, s := range l.Sections {
		p := "/list/sections/" + strconv.Itoa(i)
		c.text(p+"/title", "the section title", s.Title, len(l.Sections) > 1, maxSectionTitle)
		if len(s.Rows) == 0 {
			c.add(p+"/rows", "count", "a section needs at least one row")
		}
		for j, r := range s.Rows {
			rp := p + "/rows/" + strconv.Itoa(j)
			c.text(rp+"/id", "the row ID", r.ID, true, maxRowID)
			c.text(rp+"/title", "the row title", r.Title, true, maxRowTitle)
			c.text(rp+"/description", "the row description", r.Description, false, maxRowDescription)
			if ids[r.ID] {
				c.add(rp+"/id", "duplicate", "row ID %q is used twice", r.ID)
			}
			ids[r.ID] = true
			rows++
		}
	}
	if rows > maxRows {
		c.add("/list/sections", "count", "a list has at most %d rows in all sections, not %d", maxRows, rows)
	}
}

func checkLocation(c *checker, ptr string, l *channel.Location) {
	if l == nil {
		c.add(ptr, "required", "the location is required")
		return
	}
	if l.Latitude < -90 || l.Latitude > 90 {
		c.add(ptr+"/latitude", "range", "latitude must be between -90 and 90")
	}
	if l.Longitude < -180 || l.Longitude > 180 {
		c.add(ptr+"/longitude", "range", "longitude must be between -180 and 180")
	}
}

func checkFlow(c *checker, f *channel.FlowSend) {
	if f == nil {
		c.add("/flow", "required", "the flow is required")
		return
	}
	if (f.FlowID == "") == (f.FlowName == "") {
		c.add("/flow/flow_id", "one_of", "give either flow_id or flow_name, not both or neither")
	}
	c.text("/flow/cta", "the flow button text", f.CTA, true, maxFlowCTA)
	switch f.Mode {
	case "", "published", "draft":
	default:
		c.add("/flow/mode", "enum", "mode must be published or draft, not %q", f.Mode)
	}
	switch f.Action {
	case "", "navigate":
	case "data_exchange":
		if f.Screen != "" || len(f.Data) > 0 {
			c.add("/flow/screen", "not_allowed", "screen and data are only sent with the navigate action")
		}
	default:
		c.add("/flow/action", "enum", "action must be navigate or data_exchange, not %q", f.Action)
	}
}

func checkURL(c *checker, ptr, s string) {
	u, err := url.Parse(s)
	if s == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		c.add(ptr, "format", "%q is not an http(s) URL", s)
	}
}
