package flow

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeMessage sends text and/or media, optionally with buttons or a list.
const TypeMessage = "message"

// WhatsApp limits of messages.
const (
	maxButtons      = 3
	maxButtonTitle  = 20
	maxListRows     = 10
	maxListSections = 10
	maxListRowTitle = 24
	maxListRowDesc  = 72
	maxListButton   = 20
	maxMessageText  = 4096
)

// MessageData is the data of a message node.
type MessageData struct {
	Text           string     `json:"text,omitempty" flow:"template" doc:"Message text (a template). Required with buttons or a list."`
	Media          *MediaData `json:"media,omitempty" doc:"Optional media attachment."`
	Buttons        []string   `json:"buttons,omitempty" doc:"Up to 3 reply buttons of at most 20 characters; the node then waits for the choice."`
	List           *ListData  `json:"list,omitempty" doc:"A list message (up to 10 rows); the node then waits for the chosen row."`
	TimeoutSeconds int        `json:"timeout_seconds,omitempty" doc:"With buttons or a list: how long to wait before the timeout exit."`
}

// MediaData is a media attachment of a message.
type MediaData struct {
	Type    string `json:"type" flow:"required,enum=image|video|audio|document"`
	URL     string `json:"url" flow:"required,template,line"`
	Caption string `json:"caption,omitempty" flow:"template"`
}

// ListData is an interactive list.
type ListData struct {
	Button   string        `json:"button" flow:"required" doc:"Label of the button that opens the list (max 20 characters)."`
	Sections []ListSection `json:"sections" flow:"required"`
}

// ListSection is a titled group of list rows.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows" flow:"required"`
}

// ListRow is one choice of a list; its id names the exit.
type ListRow struct {
	ID          string `json:"id" flow:"required"`
	Title       string `json:"title" flow:"required"`
	Description string `json:"description,omitempty"`
}

// Media is a compiled media attachment.
type Media struct {
	Type    string
	URL     *expr.Template
	Caption *expr.Template // nil when none
}

// MessageConfig configures a message node. Without choices the single exit
// is next (index 0).
type MessageConfig struct {
	Text    *expr.Template // nil when none
	Media   *Media         // nil when none
	Buttons []string
	List    *ListData
	// Choices is non-nil when the node waits for a button or list reply.
	Choices *Choices
}

// KindMessage is the Kind of message nodes.
const KindMessage Kind = 3

var messageNode = def[MessageData]{
	kind: KindMessage,
	NodeType: NodeType{Type: TypeMessage, Group: GroupMessages, Label: "Message", Description: "Sends text and/or media; with reply buttons or a list it waits for the choice.",
		Palette: true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitNext}}, Dynamic: []DynamicExits{
			{From: "buttons[*]", Inbound: true, Plus: choicePlus},
			{From: "list.sections[*].rows[*]", ID: "id", Label: "title", Inbound: true, Plus: choicePlus},
		}},
		DynamicExits: "with buttons: one exit per button title, then other and timeout; with a list: one exit per row id, then other and timeout",
		Limits: []Limit{
			{Path: "text", MaxLength: maxMessageText, Doc: "WhatsApp allows at most 4096 characters of text"},
			{Path: "buttons", MaxItems: maxButtons, Doc: "WhatsApp allows at most 3 reply buttons"},
			{Path: "buttons[*]", MaxLength: maxButtonTitle, Doc: "WhatsApp allows at most 20 characters per button title"},
			{Path: "list.button", MaxLength: maxListButton, Doc: "WhatsApp allows at most 20 characters on the list's button"},
			{Path: "list.sections", MaxItems: maxListSections, Doc: "WhatsApp allows at most 10 list sections"},
			{Path: "list.sections[*].rows", MaxItems: maxListRows, Total: true, Doc: "WhatsApp allows at most 10 list rows in total"},
			{Path: "list.sections[*].rows[*].title", MaxLength: maxListRowTitle, Doc: "WhatsApp allows at most 24 characters per row title"},
			{Path: "list.sections[*].rows[*].description", MaxLength: maxListRowDesc, Doc: "WhatsApp allows at most 72 characters per row description"},
			timeoutLimit,
		},
		Defaults: map[string]any{"text": ""}},
	aliases:  []string{"sendmessage", "sendtext", "text", "sendmedia", "buttons", "sendbuttons", "list", "sendlist"},
	waits:    func(d *MessageData) bool { return len(d.choices()) > 0 },
	freeForm: func(*MessageData) bool { return true },
	timeout:  func(d *MessageData) int { return d.TimeoutSeconds },
	check:    checkMessage,
	compile: func(c *compiler, d *MessageData) any {
		m := &MessageConfig{Text: c.tpl(d.Text), Buttons: d.Buttons, List: d.List, Choices: choices(d.choices(), d.TimeoutSeconds)}
		if d.Media != nil {
			m.Media = &Media{Type: d.Media.Type, URL: c.tplMust(d.Media.URL), Caption: c.tpl(d.Media.Caption)}
		}
		return m
	},
}

// choices are the titles of the buttons, else the ids of the list rows.
func (d *MessageData) choices() []string {
	if len(d.Buttons) > 0 {
		return d.Buttons
	}
	if d.List != nil {
		var ids []string
		for _, s := range d.List.Sections {
			for _, r := range s.Rows {
				ids = append(ids, r.ID)
			}
		}
		return ids
	}
	return nil
}

func checkMessage(a *analysis, i int, d *MessageData) {
	if d.Text == "" && d.Media == nil {
		a.nodeErr(i, CodeMissingField, "/data/text", "%s needs text or media", a.label(i))
	}
	if n := utf8.RuneCountInString(d.Text); n > maxMessageText {
		a.nodeErr(i, CodeInvalidValue, "/data/text", "%s: the text has %d characters; WhatsApp allows at most %d", a.label(i), n, maxMessageText)
	}
	if len(d.Buttons) > 0 && d.List != nil {
		a.nodeErr(i, CodeButtonsAndList, "/data/list", "%s has both buttons and a list; a message can have one or the other", a.label(i))
	}
	if (len(d.Buttons) > 0 || d.List != nil) && d.Text == "" {
		a.nodeErr(i, CodeMissingField, "/data/text", "%s: a message with buttons or a list needs text", a.label(i))
	}
	if m := d.Media; m != nil && !strings.Contains(m.URL, "{{") && m.URL != "" &&
		!strings.HasPrefix(m.URL, "https://") && !strings.HasPrefix(m.URL, "http://") {
		a.nodeErr(i, CodeInvalidValue, "/data/media/url", "%s: media url %q must be an http(s) URL", a.label(i), m.URL)
	}
	a.checkChoices(i, "/data/buttons", d.Buttons, maxButtons, maxButtonTitle)
	if l := d.List; l != nil {
		if n := utf8.RuneCountInString(l.Button); n > maxListButton {
			a.nodeErr(i, CodeButtonTitleTooLong, "/data/list/button", "%s: list button %q has %d characters; WhatsApp allows at most %d", a.label(i), l.Button, n, maxListButton)
		}
		if len(l.Sections) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/list/sections", "%s: the list needs at least one section with rows", a.label(i))
		}
		if len(l.Sections) > maxListSections {
			a.nodeErr(i, CodeTooManyListRows, "/data/list/sections", "%s: the list has %d sections; WhatsApp allows at most %d", a.label(i), len(l.Sections), maxListSections)
		}
		total := 0
		ids := map[string]bool{}
		for s, sec := range l.Sections {
			sp := "/data/list/sections/" + strconv.Itoa(s)
			if len(sec.Rows) == 0 {
				a.nodeErr(i, CodeMissingField, sp+"/rows", "%s: list section %d has no rows", a.label(i), s+1)
			}
			if len(l.Sections) > 1 && sec.Title == "" {
				a.nodeErr(i, CodeMissingField, sp+"/title", "%s: with several sections each needs a title", a.label(i))
			}
			for r, row := range sec.Rows {
				rp := sp + "/rows/" + strconv.Itoa(r)
				total++
				if total == maxListRows+1 {
					a.nodeErr(i, CodeTooManyListRows, rp, "%s: the list has more than %d rows; WhatsApp allows at most %d in total", a.label(i), maxListRows, maxListRows)
				}
				if n := utf8.RuneCountInString(row.Title); n > maxListRowTitle {
					a.nodeErr(i, CodeListRowTitleTooLong, rp+"/title", "%s: row title %q has %d characters; WhatsApp allows at most %d", a.label(i), row.Title, n, maxListRowTitle)
				}
				if n := utf8.RuneCountInString(row.Description); n > maxListRowDesc {
					a.nodeErr(i, CodeInvalidValue, rp+"/description", "%s: row description has %d characters; WhatsApp allows at most %d", a.label(i), n, maxListRowDesc)
				}
				if row.ID != "" && ids[row.ID] {
					a.nodeErr(i, CodeDuplicateListRow, rp+"/id", "%s: row id %q is used twice; row ids name exits and must be unique", a.label(i), row.ID)
				}
				if row.ID == ExitOther || row.ID == ExitTimeout {
					a.nodeErr(i, CodeDuplicateExitName, rp+"/id", "%s: a row id cannot be %q, which is the name of a built-in exit", a.label(i), row.ID)
				}
				ids[row.ID] = true
			}
		}
	}
	a.checkTimeout(i, d.TimeoutSeconds)
}
