package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
)

// ChannelView is a channel as the API shows it: secrets masked.
type ChannelView struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Address    string         `json:"address" doc:"What routes provider webhooks here (WhatsApp: the phone number ID)"`
	Config     map[string]any `json:"config" doc:"The configuration; secret values are masked"`
	Status     string         `json:"status"`
	WebhookURL string         `json:"webhook_url,omitempty" doc:"Give this URL to the provider (Meta: the callback URL)"`
	// WidgetSnippet and TestPageURL are set for channels people reach
	// through Parley's widget (the web chat).
	WidgetSnippet string    `json:"widget_snippet,omitempty" doc:"The HTML that embeds this channel's chat widget in a site"`
	TestPageURL   string    `json:"test_page_url,omitempty" doc:"A page served by Parley with the widget, to try the channel"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// ChannelTypeView is a channel type of this build: its configuration's
// fields, for forms, and whether its channels have a webhook URL.
type ChannelTypeView struct {
	Name     string                `json:"name"`
	Label    string                `json:"label"`
	Fields   []channel.ConfigField `json:"fields"`
	Webhooks bool                  `json:"webhooks" doc:"Channels of this type receive provider webhooks at their webhook_url"`
}

func (a *runtimeAPI) channelService() (*channels.Service, error) {
	if a.s.deps.Channels == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	return a.s.deps.Channels, nil
}

func (a *runtimeAPI) channelView(svc *channels.Service, ch domain.Channel) ChannelView {
	v := ChannelView{ID: ch.ID, Type: ch.Type, Name: ch.Name, Address: ch.Address, Config: svc.PublicConfig(ch), Status: ch.Status, CreatedAt: ch.CreatedAt, UpdatedAt: ch.UpdatedAt}
	if t, ok := svc.Type(ch.Type); ok && t.Receives() {
		v.WebhookURL = strings.TrimRight(a.s.deps.PublicURL, "/") + "/webhooks/" + ch.Type + "/" + ch.ID
	}
	if ad, err := svc.Adapter(context.Background(), ch); err == nil {
		if _, ok := ad.(channel.Visitors); ok {
			v.WidgetSnippet = WebchatSnippet(a.s.deps.PublicURL, ch.ID)
			v.TestPageURL = strings.TrimRight(a.s.deps.PublicURL, "/") + "/webchat/" + ch.ID + "/test"
		}
	}
	return v
}

func (a *runtimeAPI) channelTypes(ctx context.Context, _ *struct{}) (*Body[ListBody[ChannelTypeView]], error) {
	svc, err := a.channelService()
	if err != nil {
		return nil, err
	}
	ts := svc.Types()
	out := ListBody[ChannelTypeView]{Results: make([]ChannelTypeView, len(ts))}
	for i, t := range ts {
		fields := t.Fields
		if fields == nil {
			fields = []channel.ConfigField{}
		}
		out.Results[i] = ChannelTypeView{Name: t.Name, Label: t.Label, Fields: fields, Webhooks: t.Receives()}
	}
	return bodyOf(out), nil
}

func (a *runtimeAPI) channelList(ctx context.Context, _ *struct{}) (*Body[ListBody[ChannelView]], error) {
	svc, err := a.channelService()
	if err != nil {
		return nil, err
	}
	chs, err := svc.List(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	out := ListBody[ChannelView]{Results: make([]ChannelView, len(chs))}
	for i, ch := range chs {
		out.Results[i] = a.channelView(svc, ch)
	}
	return bodyOf(out), nil
}

// ChannelCreateInput adds a channel.
type ChannelCreateInput struct {
	Body struct {
		Type   string         `json:"type" minLength:"1" maxLength:"32" doc:"A channel type of GET /channel-types/ (whatsapp, webchat…)"`
		Name   string         `json:"name" minLength:"1" maxLength:"100"`
		Config map[string]any `json:"config,omitempty" doc:"The type's settings, as GET /channel-types/ describes them; see docs/whatsapp.md"`
	}
}

func (a *runtimeAPI) channelCreate(ctx context.Context, in *ChannelCreateInput) (*Body[ChannelView], error) {
	svc, err := a.channelService()
	if err != nil {
		return nil, err
	}
	ch, err := svc.Create(ctx, channels.CreateParams{ProjectID: principalFrom(ctx).ProjectID, Type: in.Body.Type, Name: in.Body.Name, Config: in.Body.Config})
	if err != nil {
		return nil, err
	}
	return bodyOf(a.channelView(svc, ch)), nil
}

// ChannelPath names a channel.
type ChannelPath struct {
	ChannelID string `path:"channel_id" maxLength:"100"`
}

func (a *runtimeAPI) channelGet(ctx context.Context, in *ChannelPath) (*Body[ChannelView], error) {
	svc, err := a.channelService()
	if err != nil {
		return nil, err
	}
	ch, err := svc.Get(ctx, principalFrom(ctx).ProjectID, in.ChannelID)
	if err != nil {
		return nil, err
	}
	return bodyOf(a.channelView(svc, ch)), nil
}

// ChannelUpdateInput renames a channel or changes its config; secret keys
// left out (or sent masked) keep their stored values.
type ChannelUpdateInput struct {
	ChannelPath
	Body struct {
		Name   *string        `json:"name,omitempty" minLength:"1" maxLength:"100"`
		Config map[string]any `json:"config,omitempty"`
		Status *string        `json:"status,omitempty" enum:"active,disabled"`
	}
}

func (a *runtimeAPI) channelUpdate(ctx context.Context, in *ChannelUpdateInput) (*Body[ChannelView], error) {
	svc, err := a.channelService()
	if err != nil {
		return nil, err
	}
	ch, err := svc.Update(ctx, channels.UpdateParams{ProjectID: principalFrom(ctx).ProjectID, ID: in.ChannelID,
		Name: in.Body.Name, Status: in.Body.Status, Config: in.Body.Config})
	if err != nil {
		return nil, err
	}
	return bodyOf(a.channelView(svc, ch)), nil
}

func (a *runtimeAPI) channelDelete(ctx context.Context, in *ChannelPath) (*struct{}, error) {
	svc, err := a.channelService()
	if err != nil {
		return nil, err
	}
	return nil, svc.Delete(ctx, principalFrom(ctx).ProjectID, in.ChannelID)
}

func (a *runtimeAPI) channelCheck(ctx context.Context, in *ChannelPath) (*Body[channel.CheckReport], error) {
	svc, err := a.channelService()
	if err != nil {
		return nil, err
	}
	rep, err := svc.Check(ctx, principalFrom(ctx).ProjectID, in.ChannelID)
	if err != nil {
		return nil, err
	}
	return bodyOf(rep), nil
}
