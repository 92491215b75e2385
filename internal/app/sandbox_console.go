package app

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/metamsg"
	"github.com/parleyhq/parley/internal/channel/viber"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/sandbox"
)

// sandboxConsole implements httpapi.SandboxConsole over the fake Graph
// API StartSandbox runs: until then (or without --sandbox) every call is
// a not-found error.
type sandboxConsole struct{ a *App }

var _ httpapi.SandboxConsole = sandboxConsole{}

func (c sandboxConsole) fake() (*sandbox.Server, error) {
	f := c.a.sandbox.Load()
	if f == nil {
		return nil, domain.Errorf(domain.CodeNotFound, "the sandbox is not running: start the server with `parley serve --sandbox`")
	}
	return f, nil
}

// channels are the WhatsApp channels whose API base URL is the fake's:
// only those may be written to as a customer (their provider is fake).
func (c sandboxConsole) channels(ctx context.Context) (*sandbox.Server, []domain.Channel, error) {
	f, err := c.fake()
	if err != nil {
		return nil, nil, err
	}
	var out []domain.Channel
	for _, typ := range []string{whatsapp.ChannelType, metamsg.Messenger.Name, metamsg.Instagram.Name, viber.Type} {
		all, err := c.a.store.ChannelListByType(ctx, typ)
		if err != nil {
			return nil, nil, fmt.Errorf("listing the sandbox channels: %w", err)
		}
		for _, ch := range all {
			base, _ := c.a.channels.PublicConfig(ch)["api_base_url"].(string)
			if base = strings.TrimSuffix(base, "/"); base == f.URL() || typ != whatsapp.ChannelType && strings.HasPrefix(base, f.URL()+"/") {
				out = append(out, ch)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return f, out, nil
}

// SandboxChannels implements httpapi.SandboxConsole.
func (c sandboxConsole) SandboxChannels(ctx context.Context) ([]httpapi.SandboxChannel, error) {
	_, chs, err := c.channels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.SandboxChannel, 0, len(chs))
	for _, ch := range chs {
		sc := httpapi.SandboxChannel{ID: ch.ID, Name: ch.Name, ProjectID: ch.ProjectID, Type: ch.Type}
		if ch.Type == whatsapp.ChannelType {
			sc.PhoneNumberID = ch.Address
		}
		out = append(out, sc)
	}
	// The web chat has no fake behind it: its visitor talks to this
	// server's /webchat/{id}/… endpoints, as `parley sandbox send
	// --channel-type webchat` and the test page do.
	if wc, err := c.webchat(ctx); err == nil {
		out = append(out, httpapi.SandboxChannel{ID: wc.ID, Name: wc.Name, ProjectID: wc.ProjectID, Type: wc.Type})
	}
	// The voice number is simulated: `parley sandbox call` answers its
	// calls through POST /sandbox/calls/.
	if p, err := c.a.accounts.ResolveProject(ctx, account.DefaultProjectName); err == nil {
		if vc, err := c.a.sandboxVoiceChannel(ctx, p.ID, ""); err == nil {
			out = append(out, httpapi.SandboxChannel{ID: vc.ID, Name: vc.Name, ProjectID: vc.ProjectID, Type: vc.Type, PhoneNumberID: vc.Address})
		}
	}
	return out, nil
}

// webchat is the sandbox's web chat channel.
func (c sandboxConsole) webchat(ctx context.Context) (domain.Channel, error) {
	p, err := c.a.accounts.ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		return domain.Channel{}, err
	}
	return c.a.sandboxWebchatChannel(ctx, p.ID)
}

// channel finds a sandbox channel by ID; the error names those that exist.
func (c sandboxConsole) channel(ctx context.Context, id string) (*sandbox.Server, domain.Channel, error) {
	f, chs, err := c.channels(ctx)
	if err != nil {
		return nil, domain.Channel{}, err
	}
	if wc, err := c.webchat(ctx); err == nil && wc.ID == id {
		return nil, domain.Channel{}, domain.Invalid("/channel_id", "%s is the sandbox web chat: a visitor talks to it through POST /webchat/%s/visitors, "+
			"POST /webchat/%s/messages and GET /webchat/%s/stream, as its test page %s/webchat/%s/test and `parley sandbox send --channel-type webchat` do",
			id, id, id, id, c.a.PublicURL(), id)
	}
	var names []string
	for _, ch := range chs {
		if ch.ID == id {
			return f, ch, nil
		}
		names = append(names, fmt.Sprintf("%s (%q)", ch.ID, ch.Name))
	}
	known := "none"
	if len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	return nil, domain.Channel{}, &domain.Error{Code: domain.CodeNotFound,
		Message: fmt.Sprintf("no sandbox channel %q; the channels connected to the sandbox are: %s", id, known),
		Fields:  []domain.FieldError{{Pointer: "/channel_id", Message: "unknown sandbox channel"}}}
}

// SandboxSend implements httpapi.SandboxConsole: a button, row or quick
// reply named by title, ID or number is sent with the ID and title of
// the option the bot offered.
func (c sandboxConsole) SandboxSend(ctx context.Context, in httpapi.SandboxSendInput) (httpapi.SandboxSent, error) {
	f, ch, err := c.channel(ctx, in.ChannelID)
	if err != nil {
		return httpapi.SandboxSent{}, err
	}
	from := strings.TrimPrefix(in.From, "+")
	if ch.Type != whatsapp.ChannelType {
		return c.sendMessaging(ctx, f, ch, from, in)
	}
	if strings.Trim(from, "0123456789") != "" {
		return httpapi.SandboxSent{}, &domain.Error{Code: domain.CodeInvalid, Message: "a WhatsApp customer's address is their number, in digits",
			Fields: []domain.FieldError{{Pointer: "/from", Message: "digits only"}}}
	}
	seen, cursor := f.Replies(ch.Address, from, 0)
	msg := sandbox.Inbound{PhoneNumberID: ch.Address, From: from, Name: in.Name, Text: in.Text}
	if msg.Name == "" {
		msg.Name = "Sandbox Customer"
	}
	sent := httpapi.SandboxSent{ChannelID: ch.ID, After: cursor, Kind: "text", Title: in.Text}
	pick := func(kind, answer string) *channel.Reply {
		r := &channel.Reply{ID: answer, Title: answer, Payload: answer}
		if o, ok := sandbox.Choose(onlyKind(seen, kind), answer); ok {
			r = &channel.Reply{ID: o.ID, Title: o.Title, Payload: o.ID, Description: o.Description}
		}
		sent.Kind, sent.Title = kind, r.Title
		return r
	}
	switch {
	case in.Button != "":
		msg.ButtonReply = pick("button", in.Button)
	case in.List != "":
		msg.ListReply = pick("list", in.List)
	case in.QuickReply != "":
		msg.QuickReply = pick("quick_reply", in.QuickReply)
	case in.FormAnswers != nil:
		form, ok := f.LastForm(from)
		if !ok {
			return httpapi.SandboxSent{}, domain.Invalid("/form_answers", "no WhatsApp Flow was sent to %s: there is no form to complete", from)
		}
		msg.FlowReply = &sandbox.FlowReply{Token: form.Token, Response: in.FormAnswers}
		sent.Kind, sent.Title = "form", "completed "+form.CTA
	}
	secrets, err := c.a.channels.Full(ch)
	if err != nil {
		return httpapi.SandboxSent{}, err
	}
	appSecret, _ := secrets["app_secret"].(string)
	url := "http://" + c.a.Addr() + "/webhooks/whatsapp/" + ch.ID
	if sent.ID, err = sandbox.SendInbound(ctx, nil, url, appSecret, msg); err != nil {
		return httpapi.SandboxSent{}, domain.Errorf(domain.CodeUnavailable, "posting the customer's webhook: %v", err)
	}
	return sent, nil
}

// onlyKind keeps, of each reply, the options answered as kind.
func onlyKind(replies []sandbox.Reply, kind string) []sandbox.Reply {
	out := make([]sandbox.Reply, 0, len(replies))
	for _, r := range replies {
		var opts []sandbox.Option
		for _, o := range r.Options {
			if o.Kind == kind {
				opts = append(opts, o)
			}
		}
		r.Options = opts
		out = append(out, r)
	}
	return out
}

// SandboxReplies implements httpapi.SandboxConsole.
func (c sandboxConsole) SandboxReplies(ctx context.Context, channelID, to string, after int) ([]httpapi.SandboxReply, int, error) {
	f, ch, err := c.channel(ctx, channelID)
	if err != nil {
		return nil, 0, err
	}
	replies, cursor := f.Replies(replyKey(ch), to, after)
	out := make([]httpapi.SandboxReply, 0, len(replies))
	for _, r := range replies {
		sr := httpapi.SandboxReply{Seq: r.Seq, ID: r.ID, To: r.To, Type: r.Type, Header: r.Header, Text: r.Text, Footer: r.Footer,
			Caption: r.Caption, Link: r.Link, Filename: r.Filename, Template: r.Template, ListButton: r.ListButton}
		if r.Form != nil {
			sf := &httpapi.SandboxForm{FlowID: r.Form.FlowID, CTA: r.Form.CTA, Mode: r.Form.Mode, Screens: []httpapi.SandboxFormScreen{}}
			for _, sc := range r.Form.Screens {
				fs := httpapi.SandboxFormScreen{ID: sc.ID, Title: sc.Title, Terminal: sc.Terminal}
				for _, fl := range sc.Fields {
					fs.Fields = append(fs.Fields, httpapi.SandboxFormField(fl))
				}
				sf.Screens = append(sf.Screens, fs)
			}
			sr.Form = sf
		}
		for _, o := range r.Options {
			sr.Options = append(sr.Options, httpapi.SandboxOption(o))
		}
		out = append(out, sr)
	}
	return out, cursor, nil
}

// replyKey is what the fake records a channel's replies under.
func replyKey(ch domain.Channel) string {
	if ch.Type == whatsapp.ChannelType {
		return ch.Address
	}
	return sandbox.ReplyKey(ch.Type, ch.Address)
}

// sendMessaging plays a Messenger, Instagram or Viber customer: an option
// of the bot's last messages named by title, ID or number is tapped the
// way that platform answers it (a postback or a quick reply on Meta, the
// button's text on Viber); anything else is text.
func (c sandboxConsole) sendMessaging(ctx context.Context, f *sandbox.Server, ch domain.Channel, from string, in httpapi.SandboxSendInput) (httpapi.SandboxSent, error) {
	seen, cursor := f.Replies(replyKey(ch), from, 0)
	sent := httpapi.SandboxSent{ChannelID: ch.ID, After: cursor, Kind: "text", Title: in.Text}
	answer := in.Text
	var opt *sandbox.Option
	for _, a := range []string{in.Button, in.List, in.QuickReply} {
		if a == "" {
			continue
		}
		answer = a
		if o, ok := sandbox.Choose(seen, a); ok {
			opt = &o
			sent.Kind, sent.Title = o.Kind, o.Title
		} else {
			sent.Title = a
		}
	}
	var err error
	if ch.Type == viber.Type {
		text := answer
		if opt != nil {
			text = opt.ID // a keyboard tap sends its ActionBody
		}
		var token int64
		name := in.Name
		if name == "" {
			name = "Sandbox Customer"
		}
		token, _, err = f.SendViber(ctx, sandbox.ViberInbound{From: from, Name: name, Text: text})
		sent.ID = strconv.FormatInt(token, 10)
	} else {
		msg := sandbox.MetaInbound{From: from, Text: answer}
		switch {
		case opt != nil && opt.Kind == "quick_reply":
			msg.Text, msg.QuickReplyPayload = opt.Title, opt.ID
		case opt != nil:
			msg.Postback = &sandbox.Postback{Title: opt.Title, Payload: opt.ID}
		}
		sent.ID, err = f.SendMeta(ctx, ch.Type, msg)
	}
	if err != nil {
		return httpapi.SandboxSent{}, domain.Errorf(domain.CodeUnavailable, "posting the customer's webhook: %v", err)
	}
	return sent, nil
}

// SandboxNotice implements httpapi.SandboxConsole: the notice is about
// the channel's business account (its waba_id) and the fake's number.
func (c sandboxConsole) SandboxNotice(ctx context.Context, in httpapi.SandboxNoticeInput) (httpapi.SandboxNoticeSent, error) {
	f, ch, err := c.channel(ctx, in.ChannelID)
	if err != nil {
		return httpapi.SandboxNoticeSent{}, err
	}
	if ch.Type != whatsapp.ChannelType {
		return httpapi.SandboxNoticeSent{}, domain.Invalid("/channel_id", "%s is a %s channel: quality and account notices are WhatsApp's", ch.ID, ch.Type)
	}
	waba, _ := c.a.channels.PublicConfig(ch)["waba_id"].(string)
	n := sandbox.Notice{WABAID: waba, Field: in.Field, Event: in.Event, DisplayPhoneNumber: f.Config().DisplayPhoneNumber, CurrentLimit: in.CurrentLimit}
	if _, err := sandbox.BuildNotice(n); err != nil {
		return httpapi.SandboxNoticeSent{}, domain.Invalid("/event", "%v", err)
	}
	secrets, err := c.a.channels.Full(ch)
	if err != nil {
		return httpapi.SandboxNoticeSent{}, err
	}
	appSecret, _ := secrets["app_secret"].(string)
	url := "http://" + c.a.Addr() + "/webhooks/whatsapp/" + ch.ID
	body, err := sandbox.SendNotice(ctx, nil, url, appSecret, n)
	if err != nil {
		return httpapi.SandboxNoticeSent{}, domain.Errorf(domain.CodeUnavailable, "posting Meta's notice webhook: %v", err)
	}
	return httpapi.SandboxNoticeSent{ChannelID: ch.ID, Body: body}, nil
}
