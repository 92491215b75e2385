package httpapi

import (
	"context"
	"encoding/json"

	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
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
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

const masked = "********"

func (a *runtimeAPI) channelView(ch domain.Channel) ChannelView {
	cfg := map[string]any{}
	_ = json.Unmarshal(ch.Config, &cfg)
	if ch.Secrets != "" && a.s.deps.Secrets != nil {
		if plain, err := a.s.deps.Secrets.Open(ch.Secrets); err == nil {
			var sec map[string]any
			if json.Unmarshal([]byte(plain), &sec) == nil {
				for k := range sec {
					cfg[k] = masked
				}
			}
		}
	}
	if _, ok := cfg["request_timeout_seconds"]; !ok && ch.Type == whatsapp.ChannelType {
		// Saved before the setting existed: show the value its calls use.
		cfg["request_timeout_seconds"] = whatsapp.DefaultRequestTimeoutSeconds
	}
	v := ChannelView{ID: ch.ID, Type: ch.Type, Name: ch.Name, Address: ch.Address, Config: cfg, Status: ch.Status, CreatedAt: ch.CreatedAt, UpdatedAt: ch.UpdatedAt}
	if ch.Type != domain.ChannelWebchat {
		v.WebhookURL = strings.TrimRight(a.s.deps.PublicURL, "/") + "/webhooks/" + ch.Type + "/" + ch.ID
	}
	return v
}

// secretsOf opens a channel's sealed secrets.
func (a *runtimeAPI) secretsOf(ch domain.Channel) (map[string]any, error) {
	out := map[string]any{}
	if ch.Secrets == "" {
		return out, nil
	}
	if a.s.deps.Secrets == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "no secret key is configured")
	}
	plain, err := a.s.deps.Secrets.Open(ch.Secrets)
	if err != nil {
		return nil, err
	}
	return out, json.Unmarshal([]byte(plain), &out)
}

// apply validates a config and fills a channel's stored fields from it.
func (a *runtimeAPI) apply(ch *domain.Channel, cfg map[string]any) error {
	if a.s.deps.Channels == nil {
		return domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	return a.s.deps.Channels.Apply(ch, cfg)
}

func (a *runtimeAPI) channelList(ctx context.Context, _ *struct{}) (*Body[ListBody[ChannelView]], error) {
	chs, err := a.s.deps.Store.ChannelList(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	out := ListBody[ChannelView]{Results: make([]ChannelView, len(chs))}
	for i, ch := range chs {
		out.Results[i] = a.channelView(ch)
	}
	return bodyOf(out), nil
}

// ChannelCreateInput adds a channel.
type ChannelCreateInput struct {
	Body struct {
		Type   string         `json:"type" enum:"whatsapp,webchat"`
		Name   string         `json:"name" minLength:"1" maxLength:"100"`
		Config map[string]any `json:"config,omitempty" doc:"Type-specific settings; see docs/whatsapp.md"`
	}
}

func (a *runtimeAPI) channelCreate(ctx context.Context, in *ChannelCreateInput) (*Body[ChannelView], error) {
	p := principalFrom(ctx)
	now := a.s.deps.Clock.Now()
	ch := domain.Channel{ID: a.s.deps.IDs.NewID(), ProjectID: p.ProjectID, Type: in.Body.Type, Name: strings.TrimSpace(in.Body.Name), Status: "active", CreatedAt: now, UpdatedAt: now}
	cfg := in.Body.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	if err := a.apply(&ch, cfg); err != nil {
		return nil, err
	}
	out, err := a.s.deps.Store.ChannelCreate(ctx, ch)
	a.forgetChannels()
	if err != nil {
		return nil, err
	}
	return bodyOf(a.channelView(out)), nil
}

// ChannelPath names a channel.
type ChannelPath struct {
	ChannelID string `path:"channel_id" maxLength:"100"`
}

func (a *runtimeAPI) channelGet(ctx context.Context, in *ChannelPath) (*Body[ChannelView], error) {
	ch, err := a.s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.ChannelID})
	if err != nil {
		return nil, err
	}
	return bodyOf(a.channelView(ch)), nil
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
	p := principalFrom(ctx)
	ch, err := a.s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.ChannelID})
	if err != nil {
		return nil, err
	}
	if in.Body.Name != nil {
		ch.Name = strings.TrimSpace(*in.Body.Name)
	}
	if in.Body.Status != nil {
		ch.Status = *in.Body.Status
	}
	if in.Body.Config != nil {
		cfg := map[string]any{}
		_ = json.Unmarshal(ch.Config, &cfg)
		old, err := a.secretsOf(ch)
		if err != nil {
			return nil, err
		}
		for k, v := range old {
			cfg[k] = v
		}
		for k, v := range in.Body.Config {
			if v == masked {
				continue
			}
			cfg[k] = v
		}
		if err := a.apply(&ch, cfg); err != nil {
			return nil, err
		}
	}
	ch.UpdatedAt = a.s.deps.Clock.Now()
	out, err := a.s.deps.Store.ChannelUpdate(ctx, ch)
	a.forgetChannels()
	if err != nil {
		return nil, err
	}
	return bodyOf(a.channelView(out)), nil
}

func (a *runtimeAPI) channelDelete(ctx context.Context, in *ChannelPath) (*struct{}, error) {
	p := principalFrom(ctx)
	flows, err := a.s.deps.Store.FlowList(ctx, store.FlowListParams{ProjectID: p.ProjectID, ChannelID: in.ChannelID, Status: store.FlowPublished, Page: store.Page{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(flows.Items) > 0 {
		return nil, domain.Errorf(domain.CodeConflict, "the published flow %q is bound to this channel; unpublish it or bind it elsewhere first", flows.Items[0].Name)
	}
	err = a.s.deps.Store.ChannelDelete(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.ChannelID})
	a.forgetChannels()
	return nil, err
}

func (a *runtimeAPI) channelCheck(ctx context.Context, in *ChannelPath) (*Body[channel.CheckReport], error) {
	p := principalFrom(ctx)
	ch, err := a.s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.ChannelID})
	if err != nil {
		return nil, err
	}
	if a.s.deps.Channels == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	ad, err := a.s.deps.Channels.Adapter(ctx, ch)
	if err != nil {
		return bodyOf(channel.CheckReport{Steps: []channel.CheckStep{{Name: "configuration", Detail: err.Error()}}}), nil
	}
	checker, ok := ad.(channel.Checker)
	if !ok {
		return bodyOf(channel.CheckReport{OK: true, Steps: []channel.CheckStep{{Name: "configuration", OK: true, Detail: "a " + ch.Type + " channel has no credentials to check"}}}), nil
	}
	return bodyOf(checker.Check(ctx)), nil
}

// forgetChannels makes the runtime read channels afresh after a change.
func (a *runtimeAPI) forgetChannels() {
	if a.s.deps.Runner != nil {
		a.s.deps.Runner.ForgetChannels()
	}
}
