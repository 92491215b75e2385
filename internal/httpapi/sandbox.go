package httpapi

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// SandboxConsole is the customer's side of `serve --sandbox`, for
// `parley sandbox send` and `parley sandbox chat`: they talk to the running
// server instead of opening its database. Only channels connected to the
// sandbox's fake Graph API are reachable through it, and no secret leaves
// the server (it signs the customer's webhooks itself).
type SandboxConsole interface {
	// SandboxChannels lists the channels connected to the fake; an error
	// with CodeNotFound when the server runs without --sandbox.
	SandboxChannels(ctx context.Context) ([]SandboxChannel, error)
	// SandboxSend posts a signed inbound webhook, as the customer, to the
	// channel's webhook URL.
	SandboxSend(ctx context.Context, in SandboxSendInput) (SandboxSent, error)
	// SandboxReplies returns what the channel sent to the customer after
	// the cursor, oldest first, and the new cursor.
	SandboxReplies(ctx context.Context, channelID, to string, after int) ([]SandboxReply, int, error)
	// SandboxCall makes the next call to a number from a sandbox voice
	// number a live call a person answers, and starts a flow for that
	// number when asked.
	SandboxCall(ctx context.Context, in SandboxCallInput) (SandboxCall, error)
	// SandboxNotice posts, as Meta, a signed quality or account notice
	// webhook about a sandbox WhatsApp channel's number or business
	// account.
	SandboxNotice(ctx context.Context, in SandboxNoticeInput) (SandboxNoticeSent, error)
	// SandboxLive finds a live call SandboxCall set up, and the project
	// its calls are recorded in.
	SandboxLive(ctx context.Context, id string) (*sim.Live, string, error)
	// SandboxInboundCall has a scripted caller call the sandbox Twilio
	// number through the fake Twilio: its signed incoming-call webhook
	// reaches the number's Voice URL as a real call's would.
	SandboxInboundCall(ctx context.Context, in SandboxInboundCallInput) (SandboxInboundCall, error)
}

// SandboxChannel is a channel connected to the sandbox.
type SandboxChannel struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ProjectID string `json:"project_id"`
	// Type is the channel type: whatsapp, messenger, instagram, viber or
	// webchat (whose visitor talks to /webchat/{id}/…, not to a fake).
	Type          string `json:"type"`
	PhoneNumberID string `json:"phone_number_id,omitempty"`
}

// SandboxSendInput is one message from the customer: exactly one of Text,
// Button, List and QuickReply.
type SandboxSendInput struct {
	ChannelID  string `json:"channel_id" required:"true" maxLength:"100" doc:"The sandbox channel written to"`
	From       string `json:"from" required:"true" pattern:"^\\+?[0-9A-Za-z=+/_-]{1,64}$" doc:"The customer's address: their number in digits (WhatsApp), PSID (Messenger), IGSID (Instagram) or Viber user ID"`
	Name       string `json:"name,omitempty" maxLength:"100" doc:"The customer's profile name"`
	Text       string `json:"text,omitempty" maxLength:"4096" doc:"A text message"`
	Button     string `json:"button,omitempty" maxLength:"256" doc:"Tap a reply button of the last messages: its title, ID or number"`
	List       string `json:"list,omitempty" maxLength:"256" doc:"Choose a list row of the last messages: its title, ID or number"`
	QuickReply string `json:"quick_reply,omitempty" maxLength:"256" doc:"Tap a template quick-reply button: its title, payload or number"`
	// FormAnswers completes the last WhatsApp Flow sent to the customer.
	FormAnswers map[string]any `json:"form_answers,omitempty" doc:"Complete the last WhatsApp Flow (form) sent to the customer with these answers: the nfm_reply Meta would send, with the form's flow_token"`
}

// SandboxSent is what SandboxSend did.
type SandboxSent struct {
	ID        string `json:"id" doc:"The inbound message's wamid"`
	ChannelID string `json:"channel_id"`
	// After is the reply cursor before the message: replies after it
	// answer this message.
	After int `json:"after" doc:"Ask GET /sandbox/replies/ for replies after this cursor"`
	// Kind and Title say what was sent (a button is sent by its ID and title).
	Kind  string `json:"kind" enum:"text,button,list,quick_reply,form"`
	Title string `json:"title"`
}

// SandboxNoticeInput is a notice Meta sends about a number or its
// business account.
type SandboxNoticeInput struct {
	ChannelID    string `json:"channel_id" required:"true" maxLength:"100" doc:"The sandbox WhatsApp channel the notice is about"`
	Field        string `json:"field" required:"true" enum:"phone_number_quality_update,account_update" doc:"The webhook field"`
	Event        string `json:"event" required:"true" enum:"FLAGGED,DOWNGRADE,UNFLAGGED,UPGRADE,ACCOUNT_RESTRICTION,ACCOUNT_VIOLATION,DISABLED_UPDATE" doc:"The event: quality FLAGGED or DOWNGRADE (and UNFLAGGED, UPGRADE); account ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION or DISABLED_UPDATE"`
	CurrentLimit string `json:"current_limit,omitempty" maxLength:"40" doc:"The messaging limit a quality notice reports (default TIER_1K)"`
}

// SandboxNoticeSent is the webhook SandboxNotice posted.
type SandboxNoticeSent struct {
	ChannelID string          `json:"channel_id"`
	Body      json.RawMessage `json:"body" doc:"The webhook body as posted (signed) to the channel's webhook URL"`
}

// SandboxReply is a message the bot sent to the customer, as their phone
// shows it.
type SandboxReply struct {
	Seq        int             `json:"seq"`
	ID         string          `json:"id"`
	To         string          `json:"to"`
	Type       string          `json:"type"`
	Header     string          `json:"header,omitempty"`
	Text       string          `json:"text,omitempty"`
	Footer     string          `json:"footer,omitempty"`
	Caption    string          `json:"caption,omitempty"`
	Link       string          `json:"link,omitempty"`
	Filename   string          `json:"filename,omitempty"`
	Template   string          `json:"template,omitempty"`
	ListButton string          `json:"list_button,omitempty"`
	Options    []SandboxOption `json:"options,omitempty"`
	Form       *SandboxForm    `json:"form,omitempty" doc:"The WhatsApp Flow a flow message opens: its screens and inputs"`
}

// SandboxForm is the WhatsApp Flow a flow message opens, as the customer's
// phone would show it.
type SandboxForm struct {
	FlowID  string              `json:"flow_id"`
	CTA     string              `json:"cta"`
	Mode    string              `json:"mode,omitempty"`
	Screens []SandboxFormScreen `json:"screens"`
}

// SandboxFormScreen is one screen of a form and its inputs.
type SandboxFormScreen struct {
	ID       string             `json:"id"`
	Title    string             `json:"title"`
	Terminal bool               `json:"terminal,omitempty"`
	Fields   []SandboxFormField `json:"fields,omitempty"`
}

// SandboxFormField is one input of a form: its name is the answer's key.
type SandboxFormField struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Label    string   `json:"label,omitempty"`
	Required bool     `json:"required,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// SandboxOption is a button, list row, template quick reply or link the
// customer can tap; Kind says how it is answered (button, list,
// quick_reply) or that it opens a URL (link).
type SandboxOption struct {
	Kind        string `json:"kind"`
	ID          string `json:"id,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
}

type sandboxChannelsOut struct {
	Body struct {
		Items []SandboxChannel `json:"items"`
	}
}

type sandboxSendIn struct {
	Body SandboxSendInput
}

type sandboxSendOut struct {
	Body SandboxSent
}

type sandboxNoticeIn struct {
	Body SandboxNoticeInput
}

type sandboxNoticeOut struct {
	Body SandboxNoticeSent
}

func (s *Server) sandboxNotice(ctx context.Context, in *sandboxNoticeIn) (*sandboxNoticeOut, error) {
	c, err := s.sandboxConsole()
	if err != nil {
		return nil, err
	}
	sent, err := c.SandboxNotice(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &sandboxNoticeOut{Body: sent}, nil
}

type sandboxRepliesIn struct {
	ChannelID string `query:"channel_id" required:"true" maxLength:"100"`
	To        string `query:"to" required:"true" maxLength:"20" doc:"The customer's number"`
	After     int    `query:"after" minimum:"0" doc:"Only replies after this cursor"`
}

type sandboxRepliesOut struct {
	Body struct {
		Items []SandboxReply `json:"items"`
		// Cursor is the newest reply's seq: pass it as after next time.
		Cursor int `json:"cursor"`
	}
}

func (s *Server) sandboxConsole() (SandboxConsole, error) {
	if s.deps.Sandbox == nil {
		return nil, domain.Errorf(domain.CodeNotFound, "the sandbox is not running: start the server with `parley serve --sandbox`")
	}
	return s.deps.Sandbox, nil
}

func (s *Server) sandboxChannels(ctx context.Context, _ *struct{}) (*sandboxChannelsOut, error) {
	c, err := s.sandboxConsole()
	if err != nil {
		return nil, err
	}
	chs, err := c.SandboxChannels(ctx)
	if err != nil {
		return nil, err
	}
	out := &sandboxChannelsOut{}
	out.Body.Items = append([]SandboxChannel{}, chs...)
	return out, nil
}

func (s *Server) sandboxSend(ctx context.Context, in *sandboxSendIn) (*sandboxSendOut, error) {
	c, err := s.sandboxConsole()
	if err != nil {
		return nil, err
	}
	given := 0
	for _, v := range []string{in.Body.Text, in.Body.Button, in.Body.List, in.Body.QuickReply} {
		if v != "" {
			given++
		}
	}
	if in.Body.FormAnswers != nil {
		given++
	}
	if given != 1 {
		return nil, domain.Invalid("/text", "give exactly one of text, button, list, quick_reply or form_answers")
	}
	sent, err := c.SandboxSend(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &sandboxSendOut{Body: sent}, nil
}

func (s *Server) sandboxReplies(ctx context.Context, in *sandboxRepliesIn) (*sandboxRepliesOut, error) {
	c, err := s.sandboxConsole()
	if err != nil {
		return nil, err
	}
	items, cursor, err := c.SandboxReplies(ctx, in.ChannelID, in.To, in.After)
	if err != nil {
		return nil, err
	}
	out := &sandboxRepliesOut{}
	out.Body.Items, out.Body.Cursor = append([]SandboxReply{}, items...), cursor
	return out, nil
}
