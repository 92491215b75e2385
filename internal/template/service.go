package template

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Provider is the templates capability of a channel adapter: its provider
// keeps templates in a business account and reviews them (WhatsApp: Meta).
// The service asks an adapter for it with a type assertion.
type Provider interface {
	// CreateTemplate submits a template for review.
	CreateTemplate(ctx context.Context, t *Template) (Submitted, error)
	// EditTemplate submits new components (and category) for a template
	// the provider has under providerID; it is reviewed again.
	EditTemplate(ctx context.Context, providerID string, t *Template) error
	// ListTemplates pulls every template of the account.
	ListTemplates(ctx context.Context) ([]Template, error)
	// DeleteTemplate deletes a template, every language of it.
	DeleteTemplate(ctx context.Context, name string) error
}

// Submitted is the provider's answer to a submission.
type Submitted struct {
	ID       string
	Status   Status
	Category Category
}

// Adapters gives the live adapter of a channel (the channel service).
type Adapters interface {
	Adapter(ctx context.Context, ch domain.Channel) (channel.Adapter, error)
}

// Store is what the service needs of the database: templates, the
// channels they live in, and transactions.
type Store interface {
	store.Templates
	store.Channels
	store.Transactor
}

// Service owns a project's message templates: submitting, editing,
// deleting and syncing them with the provider through the channels that
// have the templates capability, and applying its status webhooks.
type Service struct {
	st       Store
	channels Adapters
	clock    domain.Clock
	ids      domain.IDGen
	logger   *slog.Logger
}

// ServiceDeps are what a Service needs.
type ServiceDeps struct {
	Store    Store
	Channels Adapters
	Clock    domain.Clock
	IDs      domain.IDGen
	Logger   *slog.Logger
}

// NewService returns the template service.
func NewService(d ServiceDeps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: d.Store, channels: d.Channels, clock: d.Clock, ids: d.IDs, logger: d.Logger}
}

// FromStored turns a stored template into the model.
func FromStored(t store.MessageTemplate) (*Template, error) {
	out := &Template{Name: t.Name, Language: t.Language, Category: Category(t.Category),
		ID: t.MetaTemplateID, Status: Status(t.Status), Quality: t.Quality, RejectedReason: t.Reason}
	if len(t.Components) > 0 {
		if err := json.Unmarshal(t.Components, &out.Components); err != nil {
			return nil, fmt.Errorf("reading the components of template %s: %w", t.ID, err)
		}
	}
	return out, nil
}

// provider is the templates capability of a project's channel; pointer
// names the channel in the request, for errors.
func (s *Service) provider(ctx context.Context, projectID, channelID, pointer string) (domain.Channel, Provider, error) {
	ch, err := s.st.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: channelID})
	if errors.Is(err, store.ErrNotFound) {
		return ch, nil, domain.Invalid(pointer, "channel %q not found", channelID)
	}
	if err != nil {
		return ch, nil, err
	}
	if s.channels == nil {
		return ch, nil, domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	ad, err := s.channels.Adapter(ctx, ch)
	if err != nil {
		return ch, nil, err
	}
	p, ok := ad.(Provider)
	if !ok {
		return ch, nil, domain.Invalid(pointer, "channel %q is a %s channel, which keeps no templates: templates live in a provider's business account (WhatsApp)", ch.Name, ch.Type)
	}
	return ch, p, nil
}

// providers are the project's channels that keep templates.
func (s *Service) providers(ctx context.Context, projectID string) ([]domain.Channel, error) {
	chs, err := s.st.ChannelList(ctx, projectID)
	if err != nil {
		return nil, err
	}
	var out []domain.Channel
	for _, ch := range chs {
		if s.channels == nil {
			break
		}
		if ad, err := s.channels.Adapter(ctx, ch); err == nil {
			if _, ok := ad.(Provider); ok {
				out = append(out, ch)
			}
		}
	}
	return out, nil
}

// providerError says what the provider (or the way to it) answered.
func providerError(err error, doing string) error {
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

// CreateParams is a template to submit.
type CreateParams struct {
	ProjectID string
	// ChannelID is the channel whose business account gets the template;
	// empty: the project's one channel that keeps templates.
	ChannelID string
	Template  *Template
}

// Create validates a template, stores it and submits it to the provider.
func (s *Service) Create(ctx context.Context, p CreateParams) (store.MessageTemplate, error) {
	t := p.Template
	if err := Validate(t); err != nil {
		return store.MessageTemplate{}, err
	}
	if p.ChannelID == "" {
		chs, err := s.providers(ctx, p.ProjectID)
		if err != nil {
			return store.MessageTemplate{}, err
		}
		switch len(chs) {
		case 0:
			return store.MessageTemplate{}, domain.Invalid("/channel_id", "connect a WhatsApp channel first: templates live in its business account")
		case 1:
			p.ChannelID = chs[0].ID
		default:
			return store.MessageTemplate{}, domain.Invalid("/channel_id", "the project has several WhatsApp channels: name the one whose business account gets the template")
		}
	}
	ch, prov, err := s.provider(ctx, p.ProjectID, p.ChannelID, "/channel_id")
	if err != nil {
		return store.MessageTemplate{}, err
	}
	if _, err := s.st.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: p.ProjectID, Name: t.Name, Language: t.Language}); err == nil {
		return store.MessageTemplate{}, domain.Errorf(domain.CodeConflict, "a template named %q in %s already exists", t.Name, t.Language)
	}
	// Store first, submit after: Meta's status webhook can overtake its
	// answer to the submission, and it finds the template by name and
	// language only if the row is already there. Until Meta answers, the
	// row is PENDING without a Meta ID (the status column admits Meta's
	// statuses only); the unique (name, language) also keeps two concurrent
	// submissions of one template from both reaching Meta.
	comps, _ := json.Marshal(t.Components)
	st, err := s.st.TemplateCreate(ctx, store.TemplateCreateParams{ID: s.ids.NewID(), ChannelID: ch.ID, ProjectID: p.ProjectID, Name: t.Name,
		Language: t.Language, Category: string(t.Category), Components: comps, Status: string(StatusPending), Now: s.clock.Now()})
	if err != nil {
		return store.MessageTemplate{}, err
	}
	// Once the row exists, finish even if the caller goes away, so that it
	// is not left half-submitted. The channel's request timeout bounds the
	// call to Meta.
	bg := context.WithoutCancel(ctx)
	created, err := prov.CreateTemplate(bg, t)
	if err != nil {
		kept, ferr := s.forgetSubmission(bg, st)
		if ferr != nil {
			s.logger.Error("removing a template whose submission failed", "template", st.ID, "err", ferr)
		}
		if kept != nil {
			return *kept, nil
		}
		return store.MessageTemplate{}, providerError(err, "submitting the template")
	}
	var out store.MessageTemplate
	err = s.st.InTx(bg, func(q store.Queries) error {
		cur, err := q.TemplateLock(bg, store.Ref{ProjectID: st.ProjectID, ID: st.ID})
		if errors.Is(err, store.ErrNotFound) {
			return domain.Errorf(domain.CodeConflict, "Meta accepted the template %q, but it was deleted here meanwhile: sync to bring it back", st.Name)
		}
		if err != nil {
			return err
		}
		if cur.MetaTemplateID == "" {
			// Nothing from Meta yet but this answer.
			cur.Status = string(StatusPending)
			if st, ok := StatusOf(string(created.Status)); ok {
				cur.Status = string(st)
			}
			if created.Category != "" {
				cur.Category = string(created.Category)
			}
		} // else a webhook (or a sync) overtook the answer, and knows more
		if created.ID != "" {
			cur.MetaTemplateID = created.ID
		}
		cur.UpdatedAt = s.clock.Now()
		out, err = q.TemplateUpdate(bg, cur)
		return err
	})
	return out, err
}

// forgetSubmission deletes a new template whose submission Meta refused or
// did not answer, as if it had never been stored: the caller gets Meta's
// error and can submit it again under the same name. Unless Meta spoke of
// it meanwhile (a status webhook or a sync gave it its Meta ID): then Meta
// has it despite the error, and it is kept and returned. (A timeout can
// also hide a submission Meta did take; a sync brings such a template in.)
func (s *Service) forgetSubmission(ctx context.Context, st store.MessageTemplate) (*store.MessageTemplate, error) {
	var kept *store.MessageTemplate
	err := s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.TemplateLock(ctx, store.Ref{ProjectID: st.ProjectID, ID: st.ID})
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

// UpdateParams changes a template's components (and category).
type UpdateParams struct {
	ProjectID, ID string
	// Components are the new components, as Meta documents them.
	Components json.RawMessage
	// Category, when set, changes the category.
	Category Category
}

// Update submits new components for a template; Meta reviews it again, so
// it goes back to PENDING.
func (s *Service) Update(ctx context.Context, p UpdateParams) (store.MessageTemplate, error) {
	st, err := s.st.TemplateGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ID})
	if err != nil {
		return store.MessageTemplate{}, err
	}
	t, err := FromStored(st)
	if err != nil {
		return store.MessageTemplate{}, err
	}
	t.Components = nil
	if err := json.Unmarshal(p.Components, &t.Components); err != nil {
		return store.MessageTemplate{}, domain.Invalid("/components", "the components cannot be read: %v", err)
	}
	if p.Category != "" {
		t.Category = p.Category
	}
	if err := Validate(t); err != nil {
		return store.MessageTemplate{}, err
	}
	_, prov, err := s.provider(ctx, p.ProjectID, st.ChannelID, "/channel_id")
	if err != nil {
		return store.MessageTemplate{}, err
	}
	if st.MetaTemplateID == "" {
		return store.MessageTemplate{}, domain.Errorf(domain.CodeConflict, "the template %q is still being submitted to Meta: edit it once Meta has answered", st.Name)
	}
	// Meta puts an edited template back in review: mark it PENDING before
	// Meta sees the edit, since Meta's review webhook can overtake its
	// answer, and a PENDING written after the answer would undo the
	// approval.
	var before store.MessageTemplate
	err = s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.TemplateLock(ctx, store.Ref{ProjectID: p.ProjectID, ID: st.ID})
		if err != nil {
			return err
		}
		before = cur
		cur.Status, cur.Reason, cur.UpdatedAt = string(StatusPending), "", s.clock.Now()
		_, err = q.TemplateUpdate(ctx, cur)
		return err
	})
	if err != nil {
		return store.MessageTemplate{}, err
	}
	bg := context.WithoutCancel(ctx) // finish even if the caller goes away: the mark must not outlive a failed edit
	editErr := prov.EditTemplate(bg, before.MetaTemplateID, t)
	comps, _ := json.Marshal(t.Components)
	var out store.MessageTemplate
	err = s.st.InTx(bg, func(q store.Queries) error {
		cur, err := q.TemplateLock(bg, store.Ref{ProjectID: p.ProjectID, ID: st.ID})
		if err != nil {
			return err
		}
		switch {
		case editErr == nil:
			// Still PENDING, or whatever a status webhook that overtook
			// the answer said since.
			cur.Components, cur.Category = comps, string(t.Category)
		case cur.Status == string(StatusPending):
			// Meta did not take the edit: back to what it was.
			cur.Status, cur.Reason = before.Status, before.Reason
		default:
			return nil // Meta changed the status since: its word stands
		}
		cur.UpdatedAt = s.clock.Now()
		out, err = q.TemplateUpdate(bg, cur)
		return err
	})
	if editErr != nil {
		if err != nil {
			s.logger.Error("restoring a template whose edit failed; sync it", "template", st.ID, "err", err)
		}
		return store.MessageTemplate{}, providerError(editErr, "submitting the edited template")
	}
	return out, err
}

// Delete deletes a template here and at the provider (every language of
// its name); one the provider no longer has is deleted here all the same.
func (s *Service) Delete(ctx context.Context, projectID, id string) error {
	t, err := s.st.TemplateGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return err
	}
	if t.ChannelID != "" {
		if _, prov, err := s.provider(ctx, projectID, t.ChannelID, ""); err == nil {
			if err := prov.DeleteTemplate(ctx, t.Name); err != nil && !strings.Contains(strings.ToLower(err.Error()), "not found") {
				return providerError(err, "deleting the template at Meta")
			}
		}
	}
	return s.st.TemplateDelete(ctx, store.Ref{ProjectID: projectID, ID: t.ID})
}

// SyncResult counts what a sync did.
type SyncResult struct {
	Channels int      `json:"channels"`
	Created  int      `json:"created"`
	Updated  int      `json:"updated"`
	Errors   []string `json:"errors"`
}

// Sync pulls the templates of the project's channels that keep them (or of
// the one named) and stores what the provider has.
func (s *Service) Sync(ctx context.Context, projectID, channelID string) (SyncResult, error) {
	out := SyncResult{Errors: []string{}}
	chs, err := s.providers(ctx, projectID)
	if err != nil {
		return out, err
	}
	for _, ch := range chs {
		if channelID != "" && channelID != ch.ID {
			continue
		}
		_, prov, err := s.provider(ctx, projectID, ch.ID, "/channel_id")
		if err != nil {
			out.Errors = append(out.Errors, ch.Name+": "+err.Error())
			continue
		}
		// A template changed here after this moment (a status webhook, a
		// submission) knows more than the list Meta is about to send.
		listed := s.clock.Now()
		remote, err := prov.ListTemplates(ctx)
		if err != nil {
			out.Errors = append(out.Errors, ch.Name+": "+providerError(err, "listing templates").Error())
			continue
		}
		out.Channels++
		for _, rt := range remote {
			created, updated, err := s.syncOne(ctx, projectID, ch, rt, listed)
			if err != nil {
				return out, err
			}
			if created {
				out.Created++
			}
			if updated {
				out.Updated++
			}
		}
	}
	return out, nil
}

// syncOne stores one template the provider listed.
func (s *Service) syncOne(ctx context.Context, projectID string, ch domain.Channel, rt Template, listed time.Time) (created, updated bool, err error) {
	comps, _ := json.Marshal(rt.Components)
	status := rt.Status
	if st, ok := StatusOf(string(rt.Status)); ok {
		status = st
	} else if status != StatusPending {
		// A status Parley does not know (FLAGGED…): keep what the row
		// says, or PENDING for a new one, and show Meta's word.
		status = ""
	}
	err = s.st.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		local, err := q.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: projectID, Name: rt.Name, Language: rt.Language})
		if errors.Is(err, store.ErrNotFound) {
			st := status
			if st == "" {
				st = StatusPending
			}
			if _, err := q.TemplateCreate(ctx, store.TemplateCreateParams{ID: s.ids.NewID(), ProjectID: projectID, ChannelID: ch.ID,
				Name: rt.Name, Language: rt.Language, Category: string(rt.Category), Components: comps, Status: string(st), MetaTemplateID: rt.ID, Now: now}); err != nil {
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
		if status != "" {
			local.Status = string(status)
		}
		local.Category, local.Components, local.MetaTemplateID = string(rt.Category), comps, rt.ID
		local.Quality, local.Reason, local.ChannelID, local.UpdatedAt = rt.Quality, rt.RejectedReason, ch.ID, now
		if _, err := q.TemplateUpdate(ctx, local); err != nil {
			return err
		}
		updated = true
		return nil
	})
	return created, updated, err
}

// WebhookParams is one template event of a provider webhook.
type WebhookParams struct {
	Channel domain.Channel
	Kind    channel.Kind
	Update  *channel.TemplateUpdate
	Now     time.Time
}

// ApplyWebhook applies a provider's template status, quality or category
// update to the project's template, in the caller's transaction (the
// webhook's ingest). It reports false for a template Parley does not know.
func ApplyWebhook(ctx context.Context, q store.Queries, p WebhookParams) (bool, error) {
	u, ch := p.Update, p.Channel
	if u == nil {
		return false, nil
	}
	t, err := q.TemplateGetByMetaID(ctx, store.TemplateGetByMetaIDParams{ProjectID: ch.ProjectID, MetaID: u.ID})
	if errors.Is(err, store.ErrNotFound) && u.Name != "" {
		t, err = q.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: ch.ProjectID, Name: u.Name, Language: u.Language})
	}
	if err == nil {
		// Read again under the row's lock: our own call's answer may be
		// changing it at this moment (see store.Templates.TemplateLock).
		t, err = q.TemplateLock(ctx, store.Ref{ProjectID: t.ProjectID, ID: t.ID})
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch p.Kind {
	case channel.KindTemplateStatus:
		if st, ok := StatusOf(u.Event); ok {
			t.Status = string(st)
		}
		// Meta sends the reason "NONE" with approvals: it means no reason,
		// and shown as one it read like an error.
		t.Reason = u.Reason
		if t.Reason == "NONE" {
			t.Reason = ""
		}
		if u.Detail != "" {
			t.Reason = u.Detail
		}
		if t.Reason == "" && u.Event != "" && u.Event != t.Status {
			t.Reason = u.Event // e.g. FLAGGED, IN_APPEAL: kept visible
		}
	case channel.KindTemplateQuality:
		t.Quality = u.Quality
	case channel.KindTemplateCategory:
		if u.Category != "" {
			t.Category = u.Category
		}
	default:
		return false, nil
	}
	if t.MetaTemplateID == "" {
		t.MetaTemplateID = u.ID
	}
	t.UpdatedAt = p.Now
	if _, err := q.TemplateUpdate(ctx, t); err != nil {
		return false, fmt.Errorf("updating template %s from a webhook: %w", t.ID, err)
	}
	return true, nil
}

// IsTemplateEvent reports whether an event kind is about templates
// (ApplyWebhook's to handle).
func IsTemplateEvent(k channel.Kind) bool {
	return k == channel.KindTemplateStatus || k == channel.KindTemplateQuality || k == channel.KindTemplateCategory
}
