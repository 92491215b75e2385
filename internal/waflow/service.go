// Package waflow is the WhatsApp Flows (forms) service: a project's forms,
// their lifecycle (DRAFT → PUBLISHED → DEPRECATED, as at Meta) and their sync
// with the provider through the forms capability of a channel adapter
// (channel.FormProvider). The pure model, the validator and the endpoint
// crypto are internal/waform's; this package stores and moves forms.
package waflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Categories are the categories Meta accepts for a Flow.
var Categories = []string{"SIGN_UP", "SIGN_IN", "APPOINTMENT_BOOKING", "LEAD_GENERATION", "CONTACT_US", "CUSTOMER_SUPPORT", "SURVEY", "OTHER"}

// Adapters gives the live adapter of a channel (the channel service).
type Adapters interface {
	Adapter(ctx context.Context, ch domain.Channel) (channel.Adapter, error)
}

// Store is what the service needs of the database.
type Store interface {
	store.WhatsAppFlows
	store.Channels
}

// Validator checks a Flow JSON document the way Meta does; nil problems
// means valid.
type Validator func(raw []byte) []channel.FormProblem

// Template is a built-in form to start from.
type Template struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Categories  []string `json:"categories"`
	JSON        string   `json:"flow_json"`
}

// Deps are what a Service needs.
type Deps struct {
	Store     Store
	Channels  Adapters
	Validate  Validator
	Templates []Template
	Clock     domain.Clock
	IDs       domain.IDGen
	Logger    *slog.Logger
}

// Service owns a project's WhatsApp Flows.
type Service struct {
	d  Deps
	ep EndpointDeps
}

// New returns the service.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Validate == nil {
		d.Validate = Validate
	}
	if d.Templates == nil {
		d.Templates = BuiltinTemplates()
	}
	return &Service{d: d}
}

// Templates are the built-in forms.
func (s *Service) Templates() []Template { return s.d.Templates }

// CreateParams create a WhatsApp Flow from a Flow JSON document or from a
// built-in template.
type CreateParams struct {
	ProjectID  string
	Name       string
	Categories []string
	JSON       string
	// Template is a built-in template's ID; its JSON and categories are
	// used where JSON and Categories are empty.
	Template string
	// ChannelID is the WhatsApp channel whose business account gets the
	// flow; empty keeps it local until one is chosen.
	ChannelID string
	Endpoint  json.RawMessage
	// Local stores the draft with its channel without creating it at the
	// provider: Sync or Publish pushes it when the user asks (the AI
	// generator's drafts).
	Local bool
}

// Create validates and stores a new draft, and creates it at the provider
// when a channel is given. A provider failure after the row is stored is
// returned with the row: the flow exists here and Sync pushes it later.
func (s *Service) Create(ctx context.Context, p CreateParams) (store.WhatsAppFlow, error) {
	if p.Template != "" {
		i := slices.IndexFunc(s.d.Templates, func(t Template) bool { return t.ID == p.Template })
		if i < 0 {
			return store.WhatsAppFlow{}, domain.Invalid("/template", "no built-in template %q (there are: %s)", p.Template, strings.Join(s.templateIDs(), ", "))
		}
		t := s.d.Templates[i]
		if p.JSON == "" {
			p.JSON = t.JSON
		}
		if len(p.Categories) == 0 {
			p.Categories = t.Categories
		}
		if p.Name == "" {
			p.Name = t.Name
		}
	}
	if err := checkMeta(p.Name, p.Categories); err != nil {
		return store.WhatsAppFlow{}, err
	}
	if strings.TrimSpace(p.JSON) == "" {
		return store.WhatsAppFlow{}, domain.Invalid("/flow_json", "flow_json is required (or a template)")
	}
	if p.ChannelID != "" {
		if _, _, err := s.provider(ctx, p.ProjectID, p.ChannelID, "/channel_id"); err != nil {
			return store.WhatsAppFlow{}, err
		}
	}
	now := s.d.Clock.Now()
	f := store.WhatsAppFlow{ID: s.d.IDs.NewID(), ProjectID: p.ProjectID, ChannelID: p.ChannelID, Name: strings.TrimSpace(p.Name),
		Categories: p.Categories, JSON: p.JSON, Status: store.WhatsAppFlowDraft, Endpoint: p.Endpoint, CreatedAt: now, UpdatedAt: now}
	f.ValidationErrors = s.problems(f.JSON)
	f, err := s.d.Store.WhatsAppFlowCreate(ctx, f)
	if err != nil {
		return f, err
	}
	if f.ChannelID == "" || p.Local {
		return f, nil
	}
	return s.push(ctx, f)
}

func (s *Service) templateIDs() []string {
	ids := make([]string, len(s.d.Templates))
	for i, t := range s.d.Templates {
		ids[i] = t.ID
	}
	return ids
}

func checkMeta(name string, cats []string) error {
	if strings.TrimSpace(name) == "" {
		return domain.Invalid("/name", "name is required")
	}
	if len(name) > 200 {
		return domain.Invalid("/name", "name has %d characters; at most 200", len(name))
	}
	if len(cats) == 0 {
		return domain.Invalid("/categories", "at least one category is required (one of %s)", strings.Join(Categories, ", "))
	}
	for i, c := range cats {
		if !slices.Contains(Categories, c) {
			return domain.Invalid(fmt.Sprintf("/categories/%d", i), "unknown category %q (one of %s)", c, strings.Join(Categories, ", "))
		}
	}
	return nil
}

// Validate is the validator's verdict on a document, without storing it.
func (s *Service) Validate(raw []byte) []channel.FormProblem {
	if s.d.Validate == nil {
		return nil
	}
	return s.d.Validate(raw)
}

// problems is the validator's verdict as the stored JSON array.
func (s *Service) problems(raw string) json.RawMessage {
	var ps []channel.FormProblem
	if s.d.Validate != nil {
		ps = s.d.Validate([]byte(raw))
	}
	for i := range ps {
		ps[i].Source = "parley"
	}
	if ps == nil {
		ps = []channel.FormProblem{}
	}
	b, _ := json.Marshal(ps)
	return b
}

// Problems decodes a flow's stored validation errors.
func Problems(f store.WhatsAppFlow) []channel.FormProblem {
	var ps []channel.FormProblem
	_ = json.Unmarshal(f.ValidationErrors, &ps)
	return ps
}

// Get returns one flow.
func (s *Service) Get(ctx context.Context, projectID, id string) (store.WhatsAppFlow, error) {
	return s.d.Store.WhatsAppFlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
}

// List lists a project's flows.
func (s *Service) List(ctx context.Context, p store.WhatsAppFlowListParams) (store.List[store.WhatsAppFlow], error) {
	return s.d.Store.WhatsAppFlowList(ctx, p)
}

// UpdateParams change a flow; nil fields stay.
type UpdateParams struct {
	ProjectID, ID string
	// Version, when set, must be the row's version (ErrConflict otherwise).
	Version    int
	Name       *string
	Categories []string
	JSON       *string
	ChannelID  *string
	Endpoint   json.RawMessage
	// Local stores the change without sending it to the provider: Sync
	// or Publish pushes it when the user asks.
	Local bool
}

// Update changes a flow. As at Meta, editing a published flow returns it to
// DRAFT (it keeps its Meta ID; sends keep getting the published version
// until it is published again); a deprecated flow cannot change.
func (s *Service) Update(ctx context.Context, p UpdateParams) (store.WhatsAppFlow, error) {
	f, err := s.Get(ctx, p.ProjectID, p.ID)
	if err != nil {
		return f, err
	}
	if p.Version > 0 && p.Version != f.Version {
		return f, domain.Errorf(domain.CodeConflict, "WhatsApp Flow %q was changed since version %d (it is now at version %d)", f.ID, p.Version, f.Version)
	}
	if f.Status == store.WhatsAppFlowDeprecated {
		return f, domain.Errorf(domain.CodeConflict, "WhatsApp Flow %q is deprecated and cannot change; clone it", f.Name)
	}
	changed := false
	if p.Name != nil && *p.Name != f.Name {
		f.Name, changed = strings.TrimSpace(*p.Name), true
	}
	if p.Categories != nil {
		f.Categories, changed = p.Categories, true
	}
	if err := checkMeta(f.Name, f.Categories); err != nil {
		return f, err
	}
	if p.JSON != nil && *p.JSON != f.JSON {
		if strings.TrimSpace(*p.JSON) == "" {
			return f, domain.Invalid("/flow_json", "flow_json must not be empty")
		}
		f.JSON, changed = *p.JSON, true
		f.ValidationErrors = s.problems(f.JSON)
	}
	if p.ChannelID != nil && *p.ChannelID != f.ChannelID {
		if f.MetaFlowID != "" {
			return f, domain.Invalid("/channel_id", "WhatsApp Flow %q already lives in the business account of channel %q; clone it to use another", f.Name, f.ChannelID)
		}
		if _, _, err := s.provider(ctx, p.ProjectID, *p.ChannelID, "/channel_id"); err != nil {
			return f, err
		}
		f.ChannelID = *p.ChannelID
	}
	if p.Endpoint != nil {
		f.Endpoint, changed = p.Endpoint, true
	}
	if changed && f.Status != store.WhatsAppFlowDraft {
		f.Status = store.WhatsAppFlowDraft
	}
	f.UpdatedAt = s.d.Clock.Now()
	f, err = s.d.Store.WhatsAppFlowUpdate(ctx, f)
	if err != nil || f.ChannelID == "" || p.Local {
		return f, err
	}
	return s.push(ctx, f)
}

// Check validates a flow's JSON again (the validator may have learnt
// rules since it was stored) and stores the verdict.
func (s *Service) Check(ctx context.Context, projectID, id string) (store.WhatsAppFlow, error) {
	f, err := s.Get(ctx, projectID, id)
	if err != nil {
		return f, err
	}
	// Ours are redone; Meta's stay until Meta says otherwise (sync).
	var meta []channel.FormProblem
	for _, p := range Problems(f) {
		if p.Source == "meta" {
			meta = append(meta, p)
		}
	}
	var ours []channel.FormProblem
	_ = json.Unmarshal(s.problems(f.JSON), &ours)
	f.ValidationErrors = mergeProblems(ours, meta)
	f.Version, f.UpdatedAt = 0, s.d.Clock.Now()
	return s.d.Store.WhatsAppFlowUpdate(ctx, f)
}

// Publish publishes a valid draft at the provider. A flow with validation
// errors is refused with them, as Meta refuses it.
func (s *Service) Publish(ctx context.Context, projectID, id string) (store.WhatsAppFlow, error) {
	f, err := s.Get(ctx, projectID, id)
	if err != nil {
		return f, err
	}
	if f.Status != store.WhatsAppFlowDraft {
		return f, domain.Errorf(domain.CodeConflict, "WhatsApp Flow %q is %s; only a draft can be published", f.Name, f.Status)
	}
	if err := refuseProblems(f); err != nil {
		return f, err
	}
	if f.ChannelID == "" {
		return f, domain.Invalid("/channel_id", "choose the WhatsApp channel whose business account publishes %q", f.Name)
	}
	f, err = s.push(ctx, f)
	if err != nil {
		return f, err
	}
	if err := refuseProblems(f); err != nil {
		return f, err // Meta found what we did not
	}
	_, fp, err := s.provider(ctx, projectID, f.ChannelID, "/channel_id")
	if err != nil {
		return f, err
	}
	if err := fp.PublishForm(ctx, f.MetaFlowID); err != nil {
		return f, providerError(err, "publishing WhatsApp Flow "+f.Name)
	}
	return s.setStatus(ctx, f, store.WhatsAppFlowPublished)
}

func refuseProblems(f store.WhatsAppFlow) error {
	var ps []channel.FormProblem
	for _, p := range Problems(f) {
		if p.Severity != "warning" {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	e := &domain.Error{Code: domain.CodeUnprocessable, Message: fmt.Sprintf("WhatsApp Flow %q has %d validation errors; fix them before publishing", f.Name, len(ps))}
	for _, p := range ps {
		e.Fields = append(e.Fields, domain.FieldError{Pointer: "/flow_json" + p.Pointer, Code: p.Error, Message: p.Message, Severity: "error"})
	}
	return e
}

// Deprecate stops a published flow from being sent.
func (s *Service) Deprecate(ctx context.Context, projectID, id string) (store.WhatsAppFlow, error) {
	f, err := s.Get(ctx, projectID, id)
	if err != nil {
		return f, err
	}
	switch f.Status {
	case store.WhatsAppFlowPublished, store.WhatsAppFlowThrottled, store.WhatsAppFlowBlocked:
	default:
		return f, domain.Errorf(domain.CodeConflict, "WhatsApp Flow %q is %s; only a published flow can be deprecated", f.Name, f.Status)
	}
	if f.MetaFlowID != "" {
		_, fp, err := s.provider(ctx, projectID, f.ChannelID, "/channel_id")
		if err != nil {
			return f, err
		}
		if err := fp.DeprecateForm(ctx, f.MetaFlowID); err != nil {
			return f, providerError(err, "deprecating WhatsApp Flow "+f.Name)
		}
	}
	return s.setStatus(ctx, f, store.WhatsAppFlowDeprecated)
}

// Delete deletes a draft (at the provider too); anything else is a conflict.
func (s *Service) Delete(ctx context.Context, projectID, id string) error {
	f, err := s.Get(ctx, projectID, id)
	if err != nil {
		return err
	}
	if f.Status != store.WhatsAppFlowDraft {
		return domain.Errorf(domain.CodeConflict, "WhatsApp Flow %q is %s; only drafts can be deleted (deprecate it instead)", f.Name, f.Status)
	}
	if f.MetaFlowID != "" {
		_, fp, err := s.provider(ctx, projectID, f.ChannelID, "/channel_id")
		if err != nil {
			return err
		}
		if err := fp.DeleteForm(ctx, f.MetaFlowID); err != nil {
			return providerError(err, "deleting WhatsApp Flow "+f.Name)
		}
	}
	return s.d.Store.WhatsAppFlowDelete(ctx, store.Ref{ProjectID: projectID, ID: id})
}

// Clone copies a flow into a new draft (named name, or "<name> (copy)")
// in the same channel.
func (s *Service) Clone(ctx context.Context, projectID, id, name string) (store.WhatsAppFlow, error) {
	f, err := s.Get(ctx, projectID, id)
	if err != nil {
		return f, err
	}
	if name == "" {
		name = f.Name + " (copy)"
	}
	return s.Create(ctx, CreateParams{ProjectID: projectID, Name: name, Categories: f.Categories, JSON: f.JSON, ChannelID: f.ChannelID, Endpoint: f.Endpoint})
}

// Sync pushes a flow that never reached the provider and pulls the
// provider's state: status, validation errors, preview URL.
func (s *Service) Sync(ctx context.Context, projectID, id string) (store.WhatsAppFlow, error) {
	f, err := s.Get(ctx, projectID, id)
	if err != nil {
		return f, err
	}
	if f.ChannelID == "" {
		return f, domain.Invalid("/channel_id", "WhatsApp Flow %q has no channel to sync with", f.Name)
	}
	// A flow Meta does not know, or a draft changed here since the last
	// sync (a local save, e.g. the AI generator's), is pushed; otherwise
	// Meta's state is pulled.
	if f.MetaFlowID == "" || f.Status == store.WhatsAppFlowDraft && (f.SyncedAt == nil || f.UpdatedAt.After(*f.SyncedAt)) {
		return s.push(ctx, f)
	}
	_, fp, err := s.provider(ctx, projectID, f.ChannelID, "/channel_id")
	if err != nil {
		return f, err
	}
	st, err := fp.GetForm(ctx, f.MetaFlowID)
	if err != nil {
		return f, providerError(err, "reading WhatsApp Flow "+f.Name+" from Meta")
	}
	return s.applyState(ctx, f, st)
}

func (s *Service) applyState(ctx context.Context, f store.WhatsAppFlow, st channel.FormState) (store.WhatsAppFlow, error) {
	if st.Status != "" {
		f.Status = st.Status
	}
	if st.PreviewURL != "" {
		f.PreviewURL = st.PreviewURL
	}
	f.ValidationErrors = mergeProblems(Problems(f), st.ValidationErrors)
	now := s.d.Clock.Now()
	f.SyncedAt, f.UpdatedAt, f.Version = &now, now, 0
	return s.d.Store.WhatsAppFlowUpdate(ctx, f)
}

// mergeProblems keeps our problems and replaces Meta's with its latest.
func mergeProblems(ours, meta []channel.FormProblem) json.RawMessage {
	out := []channel.FormProblem{}
	for _, p := range ours {
		if p.Source != "meta" {
			out = append(out, p)
		}
	}
	for _, p := range meta {
		p.Source = "meta"
		out = append(out, p)
	}
	b, _ := json.Marshal(out)
	return b
}

// push creates the flow at the provider when it has no Meta ID yet, then
// sends its metadata and JSON; Meta's verdict is stored beside ours.
func (s *Service) push(ctx context.Context, f store.WhatsAppFlow) (store.WhatsAppFlow, error) {
	_, fp, err := s.provider(ctx, f.ProjectID, f.ChannelID, "/channel_id")
	if err != nil {
		return f, err
	}
	meta := channel.FormMeta{Name: f.Name, Categories: f.Categories, EndpointURI: endpointURI(f)}
	if f.MetaFlowID == "" {
		id, err := fp.CreateForm(ctx, meta)
		if err != nil {
			return f, providerError(err, "creating WhatsApp Flow "+f.Name+" at Meta")
		}
		f.MetaFlowID, f.Version = id, 0
		if f, err = s.d.Store.WhatsAppFlowUpdate(ctx, f); err != nil {
			return f, err
		}
	} else if err := fp.UpdateFormMeta(ctx, f.MetaFlowID, meta); err != nil {
		return f, providerError(err, "updating WhatsApp Flow "+f.Name+" at Meta")
	}
	ps, err := fp.UploadFormJSON(ctx, f.MetaFlowID, []byte(f.JSON))
	if err != nil {
		return f, providerError(err, "uploading the Flow JSON of "+f.Name+" to Meta")
	}
	st, err := fp.GetForm(ctx, f.MetaFlowID)
	if err != nil {
		return f, providerError(err, "reading WhatsApp Flow "+f.Name+" from Meta")
	}
	if st.ValidationErrors == nil {
		st.ValidationErrors = ps
	}
	// Meta's status after an upload is the truth (a published flow is a
	// draft again), except that we keep ours when it reports none.
	return s.applyState(ctx, f, st)
}

// endpointURI is the endpoint settings' URI, if any.
func endpointURI(f store.WhatsAppFlow) string {
	var e struct {
		URI string `json:"uri"`
	}
	_ = json.Unmarshal(f.Endpoint, &e)
	return e.URI
}

func (s *Service) setStatus(ctx context.Context, f store.WhatsAppFlow, status string) (store.WhatsAppFlow, error) {
	f.Status, f.UpdatedAt, f.Version = status, s.d.Clock.Now(), 0
	return s.d.Store.WhatsAppFlowUpdate(ctx, f)
}

// provider is the forms capability of a project's channel.
func (s *Service) provider(ctx context.Context, projectID, channelID, pointer string) (domain.Channel, channel.FormProvider, error) {
	ch, err := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: channelID})
	if errors.Is(err, store.ErrNotFound) {
		return ch, nil, domain.Invalid(pointer, "channel %q not found", channelID)
	}
	if err != nil {
		return ch, nil, err
	}
	if s.d.Channels == nil {
		return ch, nil, domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	ad, err := s.d.Channels.Adapter(ctx, ch)
	if err != nil {
		return ch, nil, err
	}
	fp, ok := ad.(channel.FormProvider)
	if !ok {
		return ch, nil, domain.Invalid(pointer, "channel %q is a %s channel, which keeps no forms: WhatsApp Flows live in a WhatsApp business account", ch.Name, ch.Type)
	}
	return ch, fp, nil
}

// providerError says what the provider (or the way to it) answered.
func providerError(err error, doing string) error {
	var se *channel.SendError
	if errors.As(err, &se) {
		if se.Class == channel.Permanent && se.HTTPStatus >= 400 && se.HTTPStatus < 500 {
			code := domain.CodeUnprocessable
			if se.HTTPStatus == 409 {
				code = domain.CodeConflict
			}
			return &domain.Error{Code: code, Message: doing + ": Meta refused it: " + se.Reason(), Err: err}
		}
		return &domain.Error{Code: domain.CodeUnavailable, Message: doing + ": Meta could not be reached or failed: " + se.Error(), Err: err}
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	return &domain.Error{Code: domain.CodeUnavailable, Message: doing + ": " + err.Error(), Err: err}
}

// StatusEvent is a provider's flows webhook (Meta: field "flows",
// FLOW_STATUS_CHANGE).
type StatusEvent struct {
	ProjectID  string
	MetaFlowID string
	// OldStatus is the status the change is from ("" when not given).
	OldStatus string
	NewStatus string
}

// ApplyStatus moves a flow to the status the provider reports, in the
// webhook's transaction; false when no flow of the project has that Meta ID
// or the status is not one we know.
func ApplyStatus(ctx context.Context, q store.WhatsAppFlows, e StatusEvent, now time.Time) (bool, error) {
	switch e.NewStatus {
	case store.WhatsAppFlowDraft, store.WhatsAppFlowPublished, store.WhatsAppFlowDeprecated, store.WhatsAppFlowThrottled, store.WhatsAppFlowBlocked:
	default:
		return false, nil
	}
	// The write is conditional on the version read: an API call or another
	// webhook may move the flow between the read and the write (PostgreSQL
	// reads committed rows without locking them), and the decision is made
	// again on what it left rather than overwriting it.
	for attempt := 0; ; attempt++ {
		f, err := q.WhatsAppFlowGetByMetaID(ctx, store.WhatsAppFlowGetByMetaIDParams{ProjectID: e.ProjectID, MetaID: e.MetaFlowID})
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("finding the WhatsApp Flow of a status webhook: %w", err)
		}
		// Webhooks arrive out of order: a change from a status the flow is no
		// longer in is stale (a late DRAFT → PUBLISHED after a deprecation).
		// Sync reads Meta's current state when in doubt.
		if f.Status == e.NewStatus || e.OldStatus != "" && e.OldStatus != f.Status {
			return false, nil
		}
		f.Status, f.SyncedAt, f.UpdatedAt = e.NewStatus, &now, now
		_, err = q.WhatsAppFlowUpdate(ctx, f)
		if err == nil {
			break
		}
		if domain.CodeOf(err) != domain.CodeConflict || attempt == 4 {
			return false, fmt.Errorf("applying a WhatsApp Flow status webhook: %w", err)
		}
	}
	return true, nil
}
