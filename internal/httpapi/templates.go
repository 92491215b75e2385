package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner"
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
	Name   string `query:"name" maxLength:"512"`
}

func (a *runtimeAPI) templateList(ctx context.Context, in *TemplateListInput) (*ListOutput[TemplateView], error) {
	l, err := a.s.deps.Store.TemplateList(ctx, store.TemplateListParams{ProjectID: principalFrom(ctx).ProjectID, Status: in.Status, Name: in.Name, Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := store.List[TemplateView]{Items: make([]TemplateView, len(l.Items)), Next: l.Next}
	for i, t := range l.Items {
		out.Items[i] = templateView(t)
	}
	return listOf(out), nil
}

// whatsAppClient is the Graph API client of a project's WhatsApp channel.
func (a *runtimeAPI) whatsAppClient(ctx context.Context, projectID, channelID, pointer string) (domain.Channel, *whatsapp.Client, error) {
	ch, err := a.s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: channelID})
	if errors.Is(err, store.ErrNotFound) {
		return ch, nil, domain.Invalid(pointer, "channel %q not found", channelID)
	}
	if err != nil {
		return ch, nil, err
	}
	if ch.Type != whatsapp.ChannelType {
		return ch, nil, domain.Invalid(pointer, "channel %q is a %s channel; templates live in a WhatsApp Business Account", ch.Name, ch.Type)
	}
	if a.s.deps.Channels == nil {
		return ch, nil, domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	ad, err := a.s.deps.Channels.Adapter(ctx, ch)
	if err != nil {
		return ch, nil, err
	}
	wa, ok := ad.(*whatsapp.Adapter)
	if !ok {
		return ch, nil, domain.Errorf(domain.CodeInternal, "channel %s has no Graph API client", ch.ID)
	}
	return ch, wa.Client(), nil
}

// metaError says what Meta (or the way to it) answered.
func metaError(err error, doing string) error {
	var se *channel.SendError
	if errors.As(err, &se) {
		if se.Class == channel.Permanent && se.HTTPStatus >= 400 && se.HTTPStatus < 500 {
			return &domain.Error{Code: domain.CodeUnprocessable, Message: doing + ": Meta refused it: " + se.Reason(), Err: err}
		}
		return &domain.Error{Code: domain.CodeUnavailable, Message: doing + ": Meta could not be reached or failed: " + se.Error(), Err: err}
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	return &domain.Error{Code: domain.CodeUnavailable, Message: doing + ": " + err.Error(), Err: err}
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
	p := principalFrom(ctx)
	b := in.Body
	raw, _ := json.Marshal(map[string]any{"name": b.Name, "language": b.Language, "category": b.Category, "parameter_format": b.ParameterFormat,
		"message_send_ttl_seconds": b.TTLSeconds, "components": b.Components})
	var t template.Template
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, domain.Invalid("/components", "the template cannot be read: %v", err)
	}
	if err := template.Validate(&t); err != nil {
		return nil, err
	}
	if b.ChannelID == "" {
		chs, err := a.s.deps.Store.ChannelList(ctx, p.ProjectID)
		if err != nil {
			return nil, err
		}
		for _, c := range chs {
			if c.Type == whatsapp.ChannelType {
				if b.ChannelID != "" {
					return nil, domain.Invalid("/channel_id", "the project has several WhatsApp channels: name the one whose business account gets the template")
				}
				b.ChannelID = c.ID
			}
		}
		if b.ChannelID == "" {
			return nil, domain.Invalid("/channel_id", "connect a WhatsApp channel first: templates live in its business account")
		}
	}
	ch, client, err := a.whatsAppClient(ctx, p.ProjectID, b.ChannelID, "/channel_id")
	if err != nil {
		return nil, err
	}
	if _, err := a.s.deps.Store.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: p.ProjectID, Name: t.Name, Language: t.Language}); err == nil {
		return nil, domain.Errorf(domain.CodeConflict, "a template named %q in %s already exists", t.Name, t.Language)
	}
	// Store first, submit after: Meta's status webhook can overtake its
	// answer to the submission, and it finds the template by name and
	// language only if the row is already there. Until Meta answers, the
	// row is PENDING without a Meta ID (the status column admits Meta's
	// statuses only); the unique (name, language) also keeps two concurrent
	// submissions of one template from both reaching Meta.
	comps, _ := json.Marshal(t.Components)
	st, err := a.s.deps.Store.TemplateCreate(ctx, store.TemplateCreateParams{ID: a.s.deps.IDs.NewID(), ChannelID: ch.ID, ProjectID: p.ProjectID, Name: t.Name,
		Language: t.Language, Category: string(t.Category), Components: comps, Status: string(template.StatusPending), Now: a.s.deps.Clock.Now()})
	if err != nil {
		return nil, err
	}
	// Once the row exists, finish even if the caller goes away, so that it
	// is not left half-submitted. The channel's request timeout bounds the
	// call to Meta.
	bg := context.WithoutCancel(ctx)
	created, err := client.CreateTemplate(bg, &t)
	if err != nil {
		kept, ferr := a.forgetSubmission(bg, st)
		if ferr != nil {
			loggerFrom(ctx).Error("removing a template whose submission failed", "template", st.ID, "err", ferr)
		}
		if kept != nil {
			return bodyOf(templateView(*kept)), nil
		}
		return nil, metaError(err, "submitting the template")
	}
	var out store.MessageTemplate
	err = a.s.deps.Store.InTx(bg, func(q store.Queries) error {
		cur, err := q.TemplateGet(bg, store.Ref{ProjectID: st.ProjectID, ID: st.ID})
		if errors.Is(err, store.ErrNotFound) {
			return domain.Errorf(domain.CodeConflict, "Meta accepted the template %q, but it was deleted here meanwhile: sync to bring it back", st.Name)
		}
		if err != nil {
			return err
		}
		if cur.MetaTemplateID == "" {
			// Nothing from Meta yet but this answer.
			cur.Status = string(created.Status)
			if cur.Status == "" {
				cur.Status = string(template.StatusPending)
			}
			if created.Category != "" {
				cur.Category = string(created.Category)
			}
		} // else a webhook (or a sync) overtook the answer, and knows more
		if created.ID != "" {
			cur.MetaTemplateID = created.ID
		}
		cur.UpdatedAt = a.s.deps.Clock.Now()
		out, err = q.TemplateUpdate(bg, cur)
		return err
	})
	if err != nil {
		return nil, err
	}
	return bodyOf(templateView(out)), nil
}

// forgetSubmission deletes a new template whose submission Meta refused or
// did not answer, as if it had never been stored: the caller gets Meta's
// error and can submit it again under the same name. Unless Meta spoke of
// it meanwhile (a status webhook or a sync gave it its Meta ID): then Meta
// has it despite the error, and it is kept and returned. (A timeout can
// also hide a submission Meta did take; a sync brings such a template in.)
func (a *runtimeAPI) forgetSubmission(ctx context.Context, st store.MessageTemplate) (*store.MessageTemplate, error) {
	var kept *store.MessageTemplate
	err := a.s.deps.Store.InTx(ctx, func(q store.Queries) error {
		cur, err := q.TemplateGet(ctx, store.Ref{ProjectID: st.ProjectID, ID: st.ID})
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.MetaTemplateID != "" {
			kept = &cur
			return nil
		}
		return q.TemplateDelete(ctx, store.Ref{ProjectID: st.ProjectID, ID: st.ID})
	})
	return kept, err
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
	p := principalFrom(ctx)
	st, err := a.s.deps.Store.TemplateGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.TemplateID})
	if err != nil {
		return nil, err
	}
	t, err := runner.TemplateOf(st)
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(in.Body.Components)
	t.Components = nil
	if err := json.Unmarshal(raw, &t.Components); err != nil {
		return nil, domain.Invalid("/components", "the components cannot be read: %v", err)
	}
	if in.Body.Category != "" {
		t.Category = template.Category(in.Body.Category)
	}
	if err := template.Validate(t); err != nil {
		return nil, err
	}
	_, client, err := a.whatsAppClient(ctx, p.ProjectID, st.ChannelID, "/channel_id")
	if err != nil {
		return nil, err
	}
	if st.MetaTemplateID == "" {
		return nil, domain.Errorf(domain.CodeConflict, "the template %q is still being submitted to Meta: edit it once Meta has answered", st.Name)
	}
	// Meta puts an edited template back in review: mark it PENDING before
	// Meta sees the edit, since Meta's review webhook can overtake its
	// answer, and a PENDING written after the answer would undo the
	// approval.
	var before store.MessageTemplate
	err = a.s.deps.Store.InTx(ctx, func(q store.Queries) error {
		cur, err := q.TemplateGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: st.ID})
		if err != nil {
			return err
		}
		before = cur
		cur.Status, cur.Reason, cur.UpdatedAt = string(template.StatusPending), "", a.s.deps.Clock.Now()
		_, err = q.TemplateUpdate(ctx, cur)
		return err
	})
	if err != nil {
		return nil, err
	}
	bg := context.WithoutCancel(ctx) // finish even if the caller goes away: the mark must not outlive a failed edit
	editErr := client.EditTemplate(bg, before.MetaTemplateID, t)
	comps, _ := json.Marshal(t.Components)
	var out store.MessageTemplate
	err = a.s.deps.Store.InTx(bg, func(q store.Queries) error {
		cur, err := q.TemplateGet(bg, store.Ref{ProjectID: p.ProjectID, ID: st.ID})
		if err != nil {
			return err
		}
		switch {
		case editErr == nil:
			// Still PENDING, or whatever a status webhook that overtook
			// the answer said since.
			cur.Components, cur.Category = comps, string(t.Category)
		case cur.Status == string(template.StatusPending):
			// Meta did not take the edit: back to what it was.
			cur.Status, cur.Reason = before.Status, before.Reason
		default:
			return nil // Meta changed the status since: its word stands
		}
		cur.UpdatedAt = a.s.deps.Clock.Now()
		out, err = q.TemplateUpdate(bg, cur)
		return err
	})
	if editErr != nil {
		if err != nil {
			loggerFrom(ctx).Error("restoring a template whose edit failed; sync it", "template", st.ID, "err", err)
		}
		return nil, metaError(editErr, "submitting the edited template")
	}
	if err != nil {
		return nil, err
	}
	return bodyOf(templateView(out)), nil
}

func (a *runtimeAPI) templateDelete(ctx context.Context, in *TemplatePath) (*struct{}, error) {
	p := principalFrom(ctx)
	t, err := a.s.deps.Store.TemplateGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.TemplateID})
	if err != nil {
		return nil, err
	}
	if t.ChannelID != "" {
		if _, client, err := a.whatsAppClient(ctx, p.ProjectID, t.ChannelID, ""); err == nil {
			if err := client.DeleteTemplate(ctx, t.Name); err != nil && !strings.Contains(strings.ToLower(err.Error()), "not found") {
				return nil, metaError(err, "deleting the template at Meta")
			}
		}
	}
	return nil, a.s.deps.Store.TemplateDelete(ctx, store.Ref{ProjectID: p.ProjectID, ID: t.ID})
}

// TemplateSyncInput names the channel whose business account to pull from;
// empty means every WhatsApp channel of the project.
type TemplateSyncInput struct {
	Body *struct {
		ChannelID string `json:"channel_id,omitempty" maxLength:"100"`
	}
}

// TemplateSyncOutput counts what a sync did.
type TemplateSyncOutput struct {
	Channels int      `json:"channels"`
	Created  int      `json:"created"`
	Updated  int      `json:"updated"`
	Errors   []string `json:"errors"`
}

func (a *runtimeAPI) templateSync(ctx context.Context, in *TemplateSyncInput) (*Body[TemplateSyncOutput], error) {
	p := principalFrom(ctx)
	chs, err := a.s.deps.Store.ChannelList(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	out := TemplateSyncOutput{Errors: []string{}}
	for _, ch := range chs {
		if ch.Type != whatsapp.ChannelType || in.Body != nil && in.Body.ChannelID != "" && in.Body.ChannelID != ch.ID {
			continue
		}
		_, client, err := a.whatsAppClient(ctx, p.ProjectID, ch.ID, "/channel_id")
		if err != nil {
			out.Errors = append(out.Errors, ch.Name+": "+err.Error())
			continue
		}
		// A template changed here after this moment (a status webhook, a
		// submission) knows more than the list Meta is about to send.
		listed := a.s.deps.Clock.Now()
		remote, err := client.ListTemplates(ctx)
		if err != nil {
			out.Errors = append(out.Errors, ch.Name+": "+metaError(err, "listing templates").Error())
			continue
		}
		out.Channels++
		for _, rt := range remote {
			comps, _ := json.Marshal(rt.Components)
			var created, updated bool
			err := a.s.deps.Store.InTx(ctx, func(q store.Queries) error {
				now := a.s.deps.Clock.Now()
				local, err := q.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: p.ProjectID, Name: rt.Name, Language: rt.Language})
				if errors.Is(err, store.ErrNotFound) {
					if _, err := q.TemplateCreate(ctx, store.TemplateCreateParams{ID: a.s.deps.IDs.NewID(), ProjectID: p.ProjectID, ChannelID: ch.ID,
						Name: rt.Name, Language: rt.Language, Category: string(rt.Category), Components: comps, Status: string(rt.Status), MetaTemplateID: rt.ID, Now: now}); err != nil {
						return err
					}
					created = true
					return nil
				}
				if err != nil {
					return err
				}
				if local.UpdatedAt.After(listed) {
					return nil
				}
				local.Status, local.Category, local.Components, local.MetaTemplateID = string(rt.Status), string(rt.Category), comps, rt.ID
				local.Quality, local.Reason, local.ChannelID, local.UpdatedAt = rt.Quality, rt.RejectedReason, ch.ID, now
				if _, err := q.TemplateUpdate(ctx, local); err != nil {
					return err
				}
				updated = true
				return nil
			})
			if err != nil {
				return nil, err
			}
			if created {
				out.Created++
			}
			if updated {
				out.Updated++
			}
		}
	}
	return bodyOf(out), nil
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
	r, err := a.runner()
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
	out := TemplateSendOutput{FlowID: flowID, Status: "queued"}
	var ev domain.ContactEvent
	err = a.s.deps.Store.InTx(ctx, func(q store.Queries) error {
		contactID, err := a.contactFor(ctx, q, p.ProjectID, ch, b.ContactID, b.Phone, b.Country)
		if err != nil {
			return err
		}
		out.ContactID = contactID
		if flowID != "" {
			// The chat-flow API's model: sending a flow's start template
			// starts the flow, whose clicks then continue it.
			out.SessionID = a.s.deps.IDs.NewID()
			ev, err = r.Start(ctx, q, runner.StartParams{ProjectID: p.ProjectID, FlowID: flowID, ContactID: contactID, ChannelID: ch.ID, SessionID: out.SessionID})
			return err
		}
		m, err := r.SendTemplate(ctx, q, p.ProjectID, contactID, ch.ID, engine.Template{ID: t.ID, Name: t.Name, Language: t.Language,
			Header: b.Params.Header, Body: b.Params.Body, ButtonParams: b.Params.Buttons})
		out.MessageID, out.Status = m.ID, m.Status
		return err
	})
	if err != nil {
		return nil, err
	}
	if flowID != "" {
		a.settle(ctx, r, ev)
		if s, err := a.s.deps.Store.SessionGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: out.SessionID}); err == nil {
			out.Status = s.Status
		}
	}
	return bodyOf(out), nil
}

// contactFor finds a contact by ID or by phone (created on the channel).
func (a *runtimeAPI) contactFor(ctx context.Context, q store.Queries, projectID string, ch domain.Channel, contactID, phone, country string) (string, error) {
	if (contactID == "") == (phone == "") {
		return "", domain.Invalid("/contact_id", "give either contact_id or phone")
	}
	if contactID != "" {
		if _, err := q.ContactGet(ctx, store.Ref{ProjectID: projectID, ID: contactID}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", domain.Invalid("/contact_id", "contact %q not found", contactID)
			}
			return "", err
		}
		return contactID, nil
	}
	e164, err := normalizePhone(phone, country)
	if err != nil {
		return "", domain.Invalid("/phone", "%v", err)
	}
	c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: projectID, Scheme: ch.Type, Path: strings.TrimPrefix(e164, "+"),
		ChannelID: ch.ID, NewID: a.s.deps.IDs.NewID(), Phone: e164, Now: a.s.deps.Clock.Now()})
	return c.ID, err
}
