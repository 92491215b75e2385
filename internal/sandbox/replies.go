package sandbox

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/template"
)

// maxReplies bounds the replies the fake remembers (a long-running sandbox
// must not grow without end): at least the last maxReplies, at most twice
// that; older ones are forgotten first.
const maxReplies = 2000

// Reply is a message the business sent to a customer through the fake, as
// the customer's phone shows it.
type Reply struct {
	// Seq orders the replies of this fake; ask for those after a Seq.
	Seq           int    `json:"seq"`
	ID            string `json:"id"`
	PhoneNumberID string `json:"phone_number_id"`
	To            string `json:"to"`
	// Type is the message type sent: text, interactive, template, image…
	Type   string `json:"type"`
	Header string `json:"header,omitempty"`
	Text   string `json:"text,omitempty"`
	Footer string `json:"footer,omitempty"`
	// Caption, Link and Filename describe media.
	Caption  string `json:"caption,omitempty"`
	Link     string `json:"link,omitempty"`
	Filename string `json:"filename,omitempty"`
	// Template is the template's name, for template messages.
	Template string `json:"template,omitempty"`
	// ListButton is the label of the button that opens a list.
	ListButton string `json:"list_button,omitempty"`
	// Options are what the customer can tap next, in order.
	Options []Option `json:"options,omitempty"`
	// Form is the WhatsApp Flow a flow message opens, screen by screen.
	Form *Form `json:"form,omitempty"`
}

// Form is a WhatsApp Flow as the customer's phone would open it.
type Form struct {
	FlowID  string       `json:"flow_id"`
	CTA     string       `json:"cta"`
	Mode    string       `json:"mode,omitempty"`
	Screens []FormScreen `json:"screens"`
}

// FormScreen is one screen of a form and the inputs on it.
type FormScreen struct {
	ID       string      `json:"id"`
	Title    string      `json:"title"`
	Terminal bool        `json:"terminal,omitempty"`
	Fields   []FormField `json:"fields,omitempty"`
}

// FormField is one input: its name (the answer's key), component type,
// label, whether it is required and, for choices, the option IDs.
type FormField struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Label    string   `json:"label,omitempty"`
	Required bool     `json:"required,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// Option is a button, list row or template quick reply the customer can
// choose. Kind is button, list or quick_reply (how it is answered); ID is
// the reply ID (a template button's payload); URL is a link button's.
type Option struct {
	Kind        string `json:"kind"`
	ID          string `json:"id,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
}

// recordReply remembers an accepted outbound message (body as sent).
func (s *Server) recordReply(pnid, wamid, to string, body []byte) {
	r := s.describe(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replySeq++
	r.Seq, r.ID, r.PhoneNumberID, r.To = s.replySeq, wamid, pnid, to
	s.replies = append(s.replies, r)
	// Trimmed in one copy once twice the bound is reached: a copy of the
	// last maxReplies on every send, under the server's one lock, made
	// the fake itself the serial step of a 1,000 msg/s campaign.
	if len(s.replies) >= 2*maxReplies {
		s.replies = append([]Reply(nil), s.replies[len(s.replies)-maxReplies:]...)
	}
}

// Replies returns the messages sent to the customer to (digits; empty for
// everyone) through the number pnid (empty for any) after seq, oldest
// first, and the newest seq recorded so far (pass it next time).
func (s *Server) Replies(pnid, to string, after int) ([]Reply, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Reply
	for _, r := range s.replies {
		if r.Seq > after && (to == "" || r.To == strings.TrimPrefix(to, "+")) && (pnid == "" || r.PhoneNumberID == pnid) {
			out = append(out, r)
		}
	}
	return out, s.replySeq
}

// wireOut is the part of a Cloud API send request the customer sees.
type wireOut struct {
	Type string `json:"type"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Interactive *struct {
		Type   string    `json:"type"`
		Header *wireText `json:"header"`
		Body   *wireText `json:"body"`
		Footer *wireText `json:"footer"`
		Action struct {
			Button  string `json:"button"`
			Buttons []struct {
				Reply struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"reply"`
			} `json:"buttons"`
			Sections []struct {
				Title string `json:"title"`
				Rows  []struct {
					ID          string `json:"id"`
					Title       string `json:"title"`
					Description string `json:"description"`
				} `json:"rows"`
			} `json:"sections"`
			Parameters struct {
				DisplayText string `json:"display_text"`
				URL         string `json:"url"`
				FlowCTA     string `json:"flow_cta"`
				FlowID      string `json:"flow_id"`
				Mode        string `json:"mode"`
			} `json:"parameters"`
		} `json:"action"`
	} `json:"interactive"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			SubType    string `json:"sub_type"`
			Index      any    `json:"index"`
			Parameters []struct {
				Type          string `json:"type"`
				Text          string `json:"text"`
				Payload       string `json:"payload"`
				ParameterName string `json:"parameter_name"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
}

type wireText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type wireMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

func (t *wireText) text() string {
	if t == nil {
		return ""
	}
	return t.Text
}

// describe turns a send request's body into what the customer sees.
func (s *Server) describe(body []byte) Reply {
	var m wireOut
	_ = json.Unmarshal(body, &m)
	r := Reply{Type: m.Type}
	switch {
	case m.Type == "text" && m.Text != nil:
		r.Text = m.Text.Body
	case m.Type == "interactive" && m.Interactive != nil:
		in := m.Interactive
		r.Header, r.Text, r.Footer = in.Header.text(), in.Body.text(), in.Footer.text()
		for _, b := range in.Action.Buttons {
			r.Options = append(r.Options, Option{Kind: "button", ID: b.Reply.ID, Title: b.Reply.Title})
		}
		r.ListButton = in.Action.Button
		for _, sec := range in.Action.Sections {
			for _, row := range sec.Rows {
				r.Options = append(r.Options, Option{Kind: "list", ID: row.ID, Title: row.Title, Description: row.Description})
			}
		}
		if p := in.Action.Parameters; p.URL != "" {
			r.Options = append(r.Options, Option{Kind: "link", Title: p.DisplayText, URL: p.URL})
		} else if p.FlowCTA != "" {
			r.ListButton = p.FlowCTA
			r.Form = s.formOf(p.FlowID, p.FlowCTA, p.Mode)
		}
	case m.Type == "template" && m.Template != nil:
		s.describeTemplate(&r, m)
	default:
		var media map[string]wireMedia
		_ = json.Unmarshal(body, &media)
		if md, ok := media[m.Type]; ok {
			r.Caption, r.Filename, r.Link = md.Caption, md.Filename, md.Link
			if r.Link == "" && md.ID != "" {
				r.Link = "media " + md.ID
			}
		}
	}
	return r
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// describeTemplate renders a template message with the fake's copy of the
// template (when it was submitted to this fake) and the parameters sent.
func (s *Server) describeTemplate(r *Reply, m wireOut) {
	t := m.Template
	r.Template = t.Name
	var stored *template.Template
	s.mu.Lock()
	for _, st := range s.templates {
		if st.t.Name == t.Name && (st.t.Language == t.Language.Code || t.Language.Code == "") {
			c := st.t
			stored = &c
			break
		}
	}
	s.mu.Unlock()
	params := map[string]map[string]string{} // component → placeholder → value
	payloads := map[int]string{}
	for _, c := range t.Components {
		kind := strings.ToLower(c.Type)
		if kind == "button" {
			idx, _ := strconv.Atoi(fmt.Sprint(c.Index))
			for _, p := range c.Parameters {
				if p.Payload != "" {
					payloads[idx] = p.Payload
				}
			}
			continue
		}
		vals := map[string]string{}
		for i, p := range c.Parameters {
			key := strconv.Itoa(i + 1)
			if p.ParameterName != "" {
				key = p.ParameterName
			}
			vals[key] = p.Text
		}
		params[kind] = vals
	}
	fill := func(kind, text string) string {
		return placeholder.ReplaceAllStringFunc(text, func(ph string) string {
			k := placeholder.FindStringSubmatch(ph)[1]
			if v, ok := params[kind][k]; ok {
				return v
			}
			return ph
		})
	}
	if stored == nil {
		var parts []string
		for _, v := range params["body"] {
			parts = append(parts, v)
		}
		r.Text = strings.Join(parts, " ")
		return
	}
	for _, c := range stored.Components {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			if c.Text != "" {
				r.Header = fill("header", c.Text)
			}
		case "BODY":
			r.Text = fill("body", c.Text)
		case "FOOTER":
			r.Footer = c.Text
		case "BUTTONS":
			for i, b := range c.Buttons {
				switch strings.ToUpper(b.Type) {
				case "QUICK_REPLY":
					id := payloads[i]
					if id == "" {
						id = b.Text
					}
					r.Options = append(r.Options, Option{Kind: "quick_reply", ID: id, Title: b.Text})
				case "URL":
					r.Options = append(r.Options, Option{Kind: "link", Title: b.Text, URL: b.URL})
				}
			}
		}
	}
}

// Choose finds the option of replies (the newest message with options
// first) that answer names: its number (1-based, in the newest message
// with options), its title (case-insensitive) or its ID. ok is false when
// none matches.
func Choose(replies []Reply, answer string) (Option, bool) {
	answer = strings.TrimSpace(answer)
	if answer == "" {
		return Option{}, false
	}
	for i := len(replies) - 1; i >= 0; i-- {
		opts := replyOptions(replies[i].Options)
		if len(opts) == 0 {
			continue
		}
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(opts) {
			return opts[n-1], true
		}
		for _, o := range opts {
			if strings.EqualFold(o.Title, answer) || o.ID == answer {
				return o, true
			}
		}
	}
	return Option{}, false
}

// replyOptions are the options answered by a message (not links).
func replyOptions(all []Option) []Option {
	var out []Option
	for _, o := range all {
		if o.Kind != "link" {
			out = append(out, o)
		}
	}
	return out
}
