package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/template"
)

// TemplateView is a message template with its Meta status.
type TemplateView struct {
	ID             string         `json:"id"`
	ChannelID      string         `json:"channel_id"`
	Name           string         `json:"name"`
	Language       string         `json:"language"`
	Category       string         `json:"category" enum:"UTILITY,MARKETING,AUTHENTICATION"`
	Components     []any          `json:"components"`
	Status         string         `json:"status" enum:"PENDING,APPROVED,REJECTED,PAUSED,DISABLED"`
	Reason         string         `json:"reason,omitempty" doc:"Meta's rejection or pause reason"`
	Quality        string         `json:"quality,omitempty"`
	MetaTemplateID string         `json:"meta_template_id"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Extra          map[string]any `json:"-"`
}

func templateView(t store.MessageTemplate) TemplateView {
	v := TemplateView{ID: t.ID, ChannelID: t.ChannelID, Name: t.Name, Language: t.Language, Category: t.Category, Status: t.Status,
		Reason: t.Reason, Quality: t.Quality, MetaTemplateID: t.MetaTemplateID, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Components: []any{}}
	_ = json.Unmarshal(t.Components, &v.Components)
	return v
}

// TemplateListInput filters templates.
type TemplateListInput struct {
	PageParams
	Status string `query:"status" enum:"PENDING,APPROVED,REJECTED,PAUSED,DISABLED,"`
	Name   string `query:"name" maxLength:"512" doc:"exact name"`
	Search string `query:"search" maxLength:"200" doc:"part of the name or of the template's text (body, header, footer, buttons), any case"`
}

func (a *runtimeAPI) templateList(ctx context.Context, in *TemplateListInput) (*ListOutput[TemplateView], error) {
	l, err := a.s.deps.Store.TemplateList(ctx, store.TemplateListParams{ProjectID: principalFrom(ctx).ProjectID, Status: in.Status, Name: in.Name, Search: strings.TrimSpace(in.Search), Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := store.List[TemplateView]{Items: make([]TemplateView, len(l.Items)), Next: l.Next}
	for i, t := range l.Items {
		out.Items[i] = templateView(t)
	}
	return listOf(out), nil
}

// TemplateCreateInput is a template to submit to Meta: Meta's own template
// document plus the channel whose business account it goes to.
type TemplateCreateInput struct {
	Body struct {
		ChannelID       string `json:"channel_id,omitempty" maxLength:"100" doc:"The WhatsApp channel whose business account gets the template; default: the project's WhatsApp channel when it has one"`
		Name            string `json:"name" minLength:"1" maxLength:"512"`
		Language        string `json:"language" minLength:"2" maxLength:"20"`
		Category        string `json:"category" enum:"UTILITY,MARKETING,AUTHENTICATION"`
		ParameterFormat string `json:"parameter_format,omitempty" enum:"POSITIONAL,NAMED,"`
		TTLSeconds      int    `json:"message_send_ttl_seconds,omitempty"`
		Components      []any  `json:"components" doc:"HEADER, BODY, FOOTER, BUTTONS, CAROUSEL… as Meta documents them"`
	}
}

func (a *runtimeAPI) templateCreate(ctx context.Context, in *TemplateCreateInput) (*Body[TemplateView], error) {
	b := in.Body
	raw, _ := json.Marshal(map[string]any{"name": b.Name, "language": b.Language, "category": b.Category, "parameter_format": b.ParameterFormat,
		"message_send_ttl_seconds": b.TTLSeconds, "components": b.Components})
	var t template.Template
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, domain.Invalid("/components", "the template cannot be read: %v", err)
	}
	out, err := a.s.deps.Templates.Create(ctx, template.CreateParams{ProjectID: principalFrom(ctx).ProjectID, ChannelID: b.ChannelID, Template: &t})
	if err != nil {
		return nil, err
	}
	return bodyOf(templateView(out)), nil
}

// TemplatePath names a template.
type TemplatePath struct {
	TemplateID string `path:"template_id" maxLength:"100"`
}

func (a *runtimeAPI) templateGet(ctx context.Context, in *TemplatePath) (*Body[TemplateView], error) {
	t, err := a.s.deps.Store.TemplateGet(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.TemplateID})
	if err != nil {
		return nil, err
	}
	return bodyOf(templateView(t)), nil
}

// TemplateUpdateInput changes a template's components (and category);
// Meta reviews it again, so it goes back to PENDING.
type TemplateUpdateInput struct {
	TemplatePath
	Body struct {
		Category   string `json:"category,omitempty" enum:"UTILITY,MARKETING,AUTHENTICATION,"`
		Components []any  `json:"components"`
	}
}

func (a *runtimeAPI) templateUpdate(ctx context.Context, in *TemplateUpdateInput) (*Body[TemplateView], error) {
	comps, _ := json.Marshal(in.Body.Components)
	out, err := a.s.deps.Templates.Update(ctx, template.UpdateParams{ProjectID: principalFrom(ctx).ProjectID, ID: in.TemplateID,
		Components: comps, Category: template.Category(in.Body.Category)})
	if err != nil {
		return nil, err
	}
	return bodyOf(templateView(out)), nil
}

func (a *runtimeAPI) templateDelete(ctx context.Context, in *TemplatePath) (*struct{}, error) {
	return nil, a.s.deps.Templates.Delete(ctx, principalFrom(ctx).ProjectID, in.TemplateID)
}

// TemplateSyncInput names the channel whose business account to pull from;
// empty means every channel of the project that keeps templates.
type TemplateSyncInput struct {
	Body *struct {
		ChannelID string `json:"channel_id,omitempty" maxLength:"100"`
	}
}

// TemplateSyncOutput counts what a sync did.
type TemplateSyncOutput template.SyncResult

func (a *runtimeAPI) templateSync(ctx context.Context, in *TemplateSyncInput) (*Body[TemplateSyncOutput], error) {
	channelID := ""
	if in.Body != nil {
		channelID = in.Body.ChannelID
	}
	out, err := a.s.deps.Templates.Sync(ctx, principalFrom(ctx).ProjectID, channelID)
	if err != nil {
		return nil, err
	}
	return bodyOf(TemplateSyncOutput(out)), nil
}

// TemplateSendInput sends a template to a contact.
type TemplateSendInput struct {
	TemplatePath
	Body struct {
		ContactID string `json:"contact_id,omitempty" maxLength:"100"`
		Phone     string `json:"phone,omitempty" maxLength:"40"`
		Country   string `json:"default_country,omitempty" maxLength:"2"`
		ChannelID string `json:"channel_id" maxLength:"100"`
		Params    struct {
			Header  []string `json:"header,omitempty"`
			Body    []string `json:"body,omitempty"`
			Buttons []string `json:"buttons,omitempty"`
		} `json:"params,omitempty"`
	}
}

// TemplateSendOutput says what sending did: started the flow whose
// start_template this is, or queued a plain template message.
type TemplateSendOutput struct {
	ContactID string `json:"contact_id"`
	FlowID    string `json:"flow_id,omitempty" doc:"The flow started because its start_template is this template"`
	SessionID string `json:"session_id,omitempty"`
	MessageID string `json:"message_id,omitempty"`
	Status    string `json:"status"`
}

func (a *runtimeAPI) templateSend(ctx context.Context, in *TemplateSendInput) (*Body[TemplateSendOutput], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	p := principalFrom(ctx)
	t, err := a.s.deps.Store.TemplateGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.TemplateID})
	if err != nil {
		return nil, err
	}
	if t.Status != string(template.StatusApproved) {
		return nil, domain.Errorf(domain.CodeConflict, "the template %q is %s: only templates Meta approved can be sent", t.Name, t.Status)
	}
	b := in.Body
	ch, err := a.s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: b.ChannelID})
	if errors.Is(err, store.ErrNotFound) {
		return nil, domain.Invalid("/channel_id", "channel %q not found", b.ChannelID)
	}
	if err != nil {
		return nil, err
	}
	flows, err := a.s.deps.Store.FlowList(ctx, store.FlowListParams{ProjectID: p.ProjectID, Status: store.FlowPublished, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	var flowID string
	for _, f := range flows.Items {
		if f.StartTemplate == t.ID {
			flowID = f.ID
			break
		}
	}
	// The chat-flow API's model: sending a flow's start template starts
	// the flow, whose clicks then continue it.
	sent, err := conv.SendTemplate(ctx, conversation.TemplateSendParams{Channel: ch,
		Contact: conversation.ContactRef{ContactID: b.ContactID, Phone: b.Phone, Country: b.Country}, FlowID: flowID,
		Template: engine.Template{ID: t.ID, Name: t.Name, Language: t.Language, Header: b.Params.Header, Body: b.Params.Body, ButtonParams: b.Params.Buttons}})
	if err != nil {
		return nil, err
	}
	out := TemplateSendOutput{FlowID: flowID, SessionID: sent.SessionID, ContactID: sent.ContactID, MessageID: sent.Message.ID, Status: sent.Status}
	return bodyOf(out), nil
}
