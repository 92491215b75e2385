// Package chatflow owns the lifecycle of chat flows on top of the store and
// the pure flow package: drafts saved with optimistic concurrency, publish
// (lint, snapshot an immutable numbered revision, make it live), unpublish,
// delete and channel rebinding rules, revision history and restore,
// node/edge edits of the draft, import/export, built-in templates,
// analytics reads, and compiled programs cached per revision.
package chatflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/lru"
	"github.com/parleyhq/parley/internal/store"
)

// Setting limits.
const (
	// DefaultExpireAfterSeconds is how long a session lives by default (24 h).
	DefaultExpireAfterSeconds = 24 * 60 * 60
	// MinExpireAfterSeconds and MaxExpireAfterSeconds bound session expiry.
	MinExpireAfterSeconds = 60
	MaxExpireAfterSeconds = 90 * 24 * 60 * 60
	maxNameLen            = 200
	maxRemarkLen          = 2000
	maxRefLen             = 100
)

// Store is what the service needs of the database: the flow queries, the
// template queries (a graph's template nodes are checked against the
// project's templates), and transactions for the writes that go together
// (a publish with its revision and audit event).
type Store interface {
	store.Flows
	store.Templates
	store.Channels
	store.Transactor
	// WhatsAppFlowGet lets the linter check whatsapp_flow nodes' forms.
	WhatsAppFlowGet(ctx context.Context, r store.Ref) (store.WhatsAppFlow, error)
	// AIProviderList lets the linter tell when ai_agent nodes have no
	// provider to call.
	AIProviderList(ctx context.Context, projectID string) ([]store.AIProvider, error)
	// ProjectGet reads the project's opt-out and opt-in words, which a
	// trigger keyword must not be.
	ProjectGet(ctx context.Context, id string) (domain.Project, error)
	actorQueries
}

// actorQueries look up who an actor ("user:<id>", "token:<id>") is.
type actorQueries interface {
	UserGet(ctx context.Context, id string) (domain.User, error)
	TokenGet(ctx context.Context, r store.Ref) (domain.Token, error)
}

// Service applies the chat-flow rules.
type Service struct {
	store Store
	clock domain.Clock
	ids   domain.IDGen
	// programs is a least-recently-used cache of compiled programs. Two
	// goroutines missing the same key both compile; the programs are equal,
	// so the duplicate work is harmless and rarer than the cost of a lock
	// held across compilation.
	programs *lru.Cache[programKey, *flow.Program]
	live     liveCache
	// channelTypes are the channel types this build connects (nil: not
	// checked); start triggers on others are lint errors.
	channelTypes []string
	// limits are what each channel type shows natively (nil: no channel
	// rendering warnings).
	limits func(typ string) *channel.Limits
}

// Option configures a Service.
type Option func(*Service)

// WithChannelTypes names the channel types this build can connect (the
// channel registry's), so triggers listening on others are lint errors.
func WithChannelTypes(names []string) Option {
	return func(s *Service) { s.channelTypes = append([]string{}, names...) }
}

// env is the lint environment of a project, through q.
func (s *Service) env(q refQueries, projectID string) *projectEnv {
	e := newEnv(q, projectID)
	e.channelTypes = s.channelTypes
	return e
}

// ChannelTypes are the channel types this build connects, as given to New
// (nil when not given).
func (s *Service) ChannelTypes() []string { return s.channelTypes }

// New returns a Service whose program cache holds up to 256 compiled
// revisions.
func New(s Store, clock domain.Clock, ids domain.IDGen, opts ...Option) *Service {
	svc := &Service{store: s, clock: clock, ids: ids, programs: lru.New[programKey, *flow.Program](256)}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// Flow is a chat flow as the API shows it. is_active is true exactly when
// the status is published.
type Flow struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	IsActive      bool       `json:"is_active" doc:"True when published: new sessions start on the live revision"`
	StartTemplate string     `json:"start_template" doc:"ID of the message template whose sending starts the flow for a contact; empty for none"`
	FlowData      flow.Graph `json:"flow_data" doc:"The working draft: a ReactFlow graph {nodes, edges}"`
	Status        string     `json:"status" enum:"draft,published,unpublished"`
	Revision      int        `json:"revision" doc:"The live revision (the last published); 0 before the first publish"`
	Version       int        `json:"version" doc:"The flow's version (its ETag): send it back as If-Match or version when saving"`
	Remark        string     `json:"remark"`
	// Trigger is derived from the draft's start node.
	Trigger            *flow.TriggerData `json:"trigger" doc:"What starts the flow, from the draft's start node (read-only)"`
	ChannelID          string            `json:"channel_id" doc:"The channel the flow is bound to; empty for all"`
	Logging            bool              `json:"logging" doc:"Record each session's trace"`
	ExpireAfterSeconds int               `json:"expire_after_seconds" doc:"Sessions expire this long after they start"`
	OnRetrigger        string            `json:"on_retrigger" enum:"ignore,restart" doc:"When a contact already in the flow triggers it again: ignore the trigger or restart the session"`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
	CreatedBy          string            `json:"created_by"`
	UpdatedBy          string            `json:"updated_by"`
	// CreatedByName and UpdatedByName say who, for people: a user's name
	// and e-mail, an API token's name.
	CreatedByName string `json:"created_by_name" doc:"Who created the flow, for people: the user's name and e-mail, or the API token's name"`
	UpdatedByName string `json:"updated_by_name" doc:"Who saved the flow last, for people"`
	// Problems are the linter's findings on the draft: errors block
	// publishing, warnings do not. Pointers are into this document.
	Problems []flow.Problem `json:"problems" doc:"Lint problems of the draft; pointers start at /flow_data (or /start_template)"`
}

// Settings are a flow's behaviour settings; a revision stores the ones in
// force for its sessions.
type Settings struct {
	Name               string            `json:"name"`
	Remark             string            `json:"remark"`
	Trigger            *flow.TriggerData `json:"trigger"`
	ChannelID          string            `json:"channel_id"`
	Logging            bool              `json:"logging"`
	ExpireAfterSeconds int               `json:"expire_after_seconds"`
	OnRetrigger        string            `json:"on_retrigger"`
	StartTemplate      string            `json:"start_template"`
	// TemplateButtons are the quick replies of the templates the revision
	// uses, as they were at publish time, keyed "id:<id>" or "name:<name>".
	TemplateButtons map[string][]string `json:"template_buttons,omitempty"`
}

func settingsOf(f store.Flow) Settings {
	return Settings{Name: f.Name, Remark: f.Remark, Trigger: decodeTrigger(f.Trigger), ChannelID: f.ChannelID, Logging: f.Logging,
		ExpireAfterSeconds: f.ExpireAfterSeconds, OnRetrigger: f.OnRetrigger, StartTemplate: f.StartTemplate}
}

// view builds the API form of a stored flow, linting its draft with env.
func (s *Service) view(ctx context.Context, env *projectEnv, f store.Flow) (Flow, error) {
	g, err := decodeStored(f.Draft, "flow_data of flow "+f.ID)
	if err != nil {
		return Flow{}, err
	}
	if err := env.load(ctx, g, f.StartTemplate); err != nil {
		return Flow{}, err
	}
	g = env.withTemplateButtons(g)
	problems := lint(g, env, f.StartTemplate)
	shared, err := s.sharedKeywords(ctx, f, g)
	if err != nil {
		return Flow{}, err
	}
	cps, err := s.channelProblems(ctx, s.store, f.ProjectID, f.ChannelID, g)
	if err != nil {
		return Flow{}, err
	}
	return Flow{
		ID: f.ID, Name: f.Name, IsActive: f.Status == store.FlowPublished, StartTemplate: f.StartTemplate, FlowData: g,
		Status: f.Status, Revision: f.LiveRevision, Version: f.Version, Remark: f.Remark, Trigger: decodeTrigger(f.Trigger),
		ChannelID: f.ChannelID, Logging: f.Logging, ExpireAfterSeconds: f.ExpireAfterSeconds, OnRetrigger: f.OnRetrigger,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, CreatedBy: f.CreatedBy, UpdatedBy: f.UpdatedBy,
		CreatedByName: s.describeActor(ctx, s.store, f.ProjectID, f.CreatedBy), UpdatedByName: s.describeActor(ctx, s.store, f.ProjectID, f.UpdatedBy),
		Problems: append(append(problems, shared...), cps...),
	}, nil
}

// sharedKeywords warns about each keyword of the draft's trigger that a
// published flow (another one, on an overlapping channel) also has, naming
// the flow that answers it: the runner tries published flows oldest first
// (by ID), so the older of the two answers.
func (s *Service) sharedKeywords(ctx context.Context, f store.Flow, g flow.Graph) ([]flow.Problem, error) {
	t := triggerOf(g)
	if t == nil || t.Type != "keyword" || len(t.Keywords) == 0 {
		return nil, nil
	}
	published, err := s.Published(ctx, f.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("checking keywords against the published flows: %w", err)
	}
	start := -1
	for i, n := range g.Nodes {
		if n.Type == flow.TypeStart {
			start = i
			break
		}
	}
	project, err := s.store.ProjectGet(ctx, f.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("reading the project's opt-out and opt-in words: %w", err)
	}
	builtin := domain.ProjectKeywords(project.Settings)
	var out []flow.Problem
	for k, kw := range t.Keywords {
		kw = strings.ToLower(strings.TrimSpace(kw))
		if kw == "" {
			continue
		}
		pointer := fmt.Sprintf("/flow_data/nodes/%d/data/trigger/keywords/%d", start, k)
		if taken := builtin.Taken(kw); taken != "" {
			out = append(out, flow.Problem{Severity: flow.SeverityWarning, Code: flow.CodeReservedKeyword, NodeID: nodeIDAt(g, start), Pointer: pointer,
				Message: fmt.Sprintf("keyword %q is this project's %s word, which Parley answers before any flow: it never starts this flow — use another keyword, or change the project's words in Settings", kw, taken)})
			continue
		}
		for _, o := range published {
			if o.ID == f.ID || (o.ChannelID != "" && f.ChannelID != "" && o.ChannelID != f.ChannelID) {
				continue
			}
			p, err := s.Program(ctx, f.ProjectID, o.ID, o.LiveRevision)
			if err != nil {
				return nil, fmt.Errorf("reading the trigger of published flow %s: %w", o.ID, err)
			}
			ot := p.Trigger
			if ot.Type != "keyword" || !slices.Contains(ot.Keywords, kw) ||
				(len(ot.ChannelTypes) > 0 && len(t.ChannelTypes) > 0 && !overlap(ot.ChannelTypes, t.ChannelTypes)) {
				continue
			}
			answers := o.Name
			if f.ID < o.ID {
				answers = f.Name
			}
			msg := fmt.Sprintf("keyword %q is also a keyword of the published flow %q; %q answers it (of two published flows with the same keyword, the older one answers) — use another keyword in one of them",
				kw, o.Name, answers)
			out = append(out, flow.Problem{Severity: flow.SeverityWarning, Code: flow.CodeSharedKeyword, NodeID: nodeIDAt(g, start),
				Pointer: pointer, Message: msg})
		}
	}
	return out, nil
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func nodeIDAt(g flow.Graph, i int) string {
	if i < 0 || i >= len(g.Nodes) {
		return ""
	}
	return g.Nodes[i].ID
}

// lint runs the linter with the project's answers and checks the start
// template, with pointers into the flow document.
func lint(g flow.Graph, env *projectEnv, startTemplate string) []flow.Problem {
	ps := prefixProblems(flow.Lint(g, env))
	if startTemplate != "" && !env.TemplateExists(startTemplate, "") {
		ps = append(ps, flow.Problem{Severity: flow.SeverityError, Code: flow.CodeUnknownTemplate, Pointer: "/start_template",
			Message: fmt.Sprintf("start_template %q is not a message template of this project; pick an existing template or clear start_template", startTemplate)})
	}
	return ps
}

// Get returns a flow of the project with its draft's problems.
func (s *Service) Get(ctx context.Context, projectID, id string) (Flow, error) {
	f, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return Flow{}, err
	}
	return s.view(ctx, s.env(s.store, projectID), f)
}

// ListParams filter and page a project's flows.
type ListParams struct {
	Status    string
	ChannelID string
	Search    string
	Page      store.Page
}

// List returns one page of the project's flows, newest first.
func (s *Service) List(ctx context.Context, projectID string, p ListParams) (store.List[Flow], error) {
	l, err := s.store.FlowList(ctx, store.FlowListParams{ProjectID: projectID, Status: p.Status, ChannelID: p.ChannelID, Search: p.Search, Page: p.Page})
	if err != nil {
		return store.List[Flow]{}, err
	}
	env := s.env(s.store, projectID)
	out := store.List[Flow]{Items: make([]Flow, 0, len(l.Items)), Next: l.Next}
	for _, f := range l.Items {
		v, err := s.view(ctx, env, f)
		if err != nil {
			return store.List[Flow]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// CreateInput creates a flow. Without FlowData the flow starts as a start
// node joined to an end node.
type CreateInput struct {
	Name               string
	Remark             string
	StartTemplate      string
	FlowData           json.RawMessage
	ChannelID          string
	Logging            *bool
	ExpireAfterSeconds *int
	OnRetrigger        string
	// IsActive publishes the flow in the same transaction: with lint
	// errors nothing is created.
	IsActive bool
}

// settingsInput are the settings a create or update may carry; nil leaves
// a setting alone.
type settingsInput struct {
	Name, Remark, StartTemplate, ChannelID, OnRetrigger *string
	ExpireAfterSeconds                                  *int
}

// check validates settings, naming every bad field at once.
func (in settingsInput) check() error {
	var fields []domain.FieldError
	bad := func(ptr, format string, args ...any) {
		fields = append(fields, domain.FieldError{Pointer: ptr, Code: "invalid_value", Message: fmt.Sprintf(format, args...)})
	}
	if in.Name != nil {
		switch n := utf8.RuneCountInString(*in.Name); {
		case strings.TrimSpace(*in.Name) == "":
			bad("/name", "the flow name must not be empty")
		case n > maxNameLen:
			bad("/name", "the flow name is %d characters; the limit is %d", n, maxNameLen)
		}
	}
	if in.Remark != nil && utf8.RuneCountInString(*in.Remark) > maxRemarkLen {
		bad("/remark", "the remark is over %d characters", maxRemarkLen)
	}
	if in.StartTemplate != nil && len(*in.StartTemplate) > maxRefLen {
		bad("/start_template", "start_template is over %d characters", maxRefLen)
	}
	if in.ChannelID != nil && len(*in.ChannelID) > maxRefLen {
		bad("/channel_id", "channel_id is over %d characters", maxRefLen)
	}
	if in.OnRetrigger != nil && *in.OnRetrigger != store.RetriggerIgnore && *in.OnRetrigger != store.RetriggerRestart {
		bad("/on_retrigger", "on_retrigger must be %q or %q, not %q", store.RetriggerIgnore, store.RetriggerRestart, *in.OnRetrigger)
	}
	if e := in.ExpireAfterSeconds; e != nil && (*e < MinExpireAfterSeconds || *e > MaxExpireAfterSeconds) {
		bad("/expire_after_seconds", "expire_after_seconds must be between %d (a minute) and %d (90 days), not %d", MinExpireAfterSeconds, MaxExpireAfterSeconds, *e)
	}
	if len(fields) == 0 {
		return nil
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: fields[0].Message, Fields: fields}
}

// Create creates a draft flow, or with IsActive creates and publishes it in
// one transaction.
func (s *Service) Create(ctx context.Context, projectID, actor string, in CreateInput) (Flow, error) {
	if in.OnRetrigger == "" {
		in.OnRetrigger = store.RetriggerIgnore
	}
	expire := DefaultExpireAfterSeconds
	if in.ExpireAfterSeconds != nil {
		expire = *in.ExpireAfterSeconds
	}
	name := strings.TrimSpace(in.Name)
	set := settingsInput{Name: &name, Remark: &in.Remark, StartTemplate: &in.StartTemplate, ChannelID: &in.ChannelID, OnRetrigger: &in.OnRetrigger, ExpireAfterSeconds: &expire}
	if err := set.check(); err != nil {
		return Flow{}, err
	}
	g := starterGraph()
	if in.FlowData != nil {
		var err error
		if g, err = decodeInput(in.FlowData, "/flow_data"); err != nil {
			return Flow{}, err
		}
	}
	draft, err := encodeGraph(g)
	if err != nil {
		return Flow{}, err
	}
	logging := in.Logging == nil || *in.Logging
	var out store.Flow
	err = s.store.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		if err := checkChannel(ctx, q, projectID, in.ChannelID); err != nil {
			return err
		}
		f, err := q.FlowCreate(ctx, store.FlowCreateParams{ID: s.ids.NewID(), ProjectID: projectID, Name: name, Remark: in.Remark,
			Draft: draft, Trigger: encodeTrigger(triggerOf(g)), ChannelID: in.ChannelID, Logging: logging, ExpireAfterSeconds: expire,
			OnRetrigger: in.OnRetrigger, StartTemplate: in.StartTemplate, Actor: actor, Now: now})
		if err != nil {
			return err
		}
		q.AfterCommit(s.live.changed)
		if err := s.audit(ctx, q, projectID, actor, "flow.created", f.ID, map[string]any{"name": f.Name}, now); err != nil {
			return err
		}
		if in.IsActive {
			f, err = s.publishTx(ctx, q, f, actor, now)
		}
		out = f
		return err
	})
	if err != nil {
		return Flow{}, err
	}
	return s.view(ctx, s.env(s.store, projectID), out)
}

func (s *Service) audit(ctx context.Context, q store.Queries, projectID, actor, action, target string, data map[string]any, now time.Time) error {
	b, _ := json.Marshal(data)
	return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: projectID, Actor: actor, Action: action, Target: target, Data: b, CreatedAt: now})
}

// UpdateInput saves the draft and settings and/or toggles publishing. Nil
// fields are left alone. Version is the version the caller started from:
// required when anything but IsActive changes, checked whenever given.
type UpdateInput struct {
	Version            int
	Name               *string
	Remark             *string
	StartTemplate      *string
	FlowData           json.RawMessage
	ChannelID          *string
	Logging            *bool
	ExpireAfterSeconds *int
	OnRetrigger        *string
	// IsActive true publishes the saved draft (lint errors fail the whole
	// update); false unpublishes.
	IsActive *bool
}

func (in UpdateInput) savesDraft() bool {
	return in.Name != nil || in.Remark != nil || in.StartTemplate != nil || in.FlowData != nil || in.ChannelID != nil ||
		in.Logging != nil || in.ExpireAfterSeconds != nil || in.OnRetrigger != nil
}

// ErrVersionRequired is returned by a save that does not say which version
// it started from.
var ErrVersionRequired = &domain.Error{Code: domain.CodeInvalid,
	Message: "say which version of the flow this save started from: send the If-Match header (the ETag of the flow you loaded) or a version field; saves without it could silently overwrite someone else's changes",
	Fields:  []domain.FieldError{{Pointer: "/version", Code: "required", Message: "the version this save started from is required"}}}

// Update saves the draft and settings and applies is_active, all in one
// transaction: a failed publish saves nothing.
func (s *Service) Update(ctx context.Context, projectID, id, actor string, in UpdateInput) (Flow, error) {
	if in.savesDraft() && in.Version == 0 {
		return Flow{}, ErrVersionRequired
	}
	if in.Name != nil {
		trimmed := strings.TrimSpace(*in.Name)
		in.Name = &trimmed
	}
	set := settingsInput{Name: in.Name, Remark: in.Remark, StartTemplate: in.StartTemplate, ChannelID: in.ChannelID, OnRetrigger: in.OnRetrigger, ExpireAfterSeconds: in.ExpireAfterSeconds}
	if err := set.check(); err != nil {
		return Flow{}, err
	}
	var g flow.Graph
	var draft json.RawMessage
	if in.FlowData != nil {
		var err error
		if g, err = decodeInput(in.FlowData, "/flow_data"); err != nil {
			return Flow{}, err
		}
		if draft, err = encodeGraph(g); err != nil {
			return Flow{}, err
		}
	}
	var out store.Flow
	err := s.store.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if in.Version != 0 && in.Version != f.Version {
			return s.stale(ctx, q, f, in.Version)
		}
		if in.IsActive != nil && !*in.IsActive && f.Status == store.FlowPublished {
			if f, err = s.setStatus(ctx, q, f, store.FlowUnpublished, actor, now); err != nil {
				return err
			}
		}
		if in.savesDraft() {
			if in.ChannelID != nil && *in.ChannelID != f.ChannelID && f.Status == store.FlowPublished {
				return domain.Errorf(domain.CodeConflict, "flow %q is published, so its channel cannot change: unpublish it (is_active: false), rebind the channel, then publish again", f.ID)
			}
			if in.ChannelID != nil && *in.ChannelID != f.ChannelID {
				if err := checkChannel(ctx, q, projectID, *in.ChannelID); err != nil {
					return err
				}
			}
			p := store.FlowUpdateParams{ProjectID: projectID, ID: id, ExpectVersion: f.Version, Name: in.Name, Remark: in.Remark,
				StartTemplate: in.StartTemplate, ChannelID: in.ChannelID, Logging: in.Logging, ExpireAfterSeconds: in.ExpireAfterSeconds,
				OnRetrigger: in.OnRetrigger, Actor: actor, Now: now}
			if draft != nil {
				p.Draft, p.Trigger = draft, encodeTrigger(triggerOf(g))
			}
			if f, err = s.update(ctx, q, f, p); err != nil {
				return err
			}
			if err := s.audit(ctx, q, projectID, actor, "flow.updated", f.ID, map[string]any{"version": f.Version}, now); err != nil {
				return err
			}
		}
		if in.IsActive != nil && *in.IsActive {
			f, err = s.publishTx(ctx, q, f, actor, now)
		}
		out = f
		return err
	})
	if err != nil {
		return Flow{}, err
	}
	return s.view(ctx, s.env(s.store, projectID), out)
}

// checkChannel refuses a channel_id that is not a channel of the project,
// with the same answer whether it belongs to another project or to none, so
// the answer reveals nothing about other projects. An ID in the path that
// is not the project's is a 404 (the target does not exist); an ID in a
// body is a reference that does not resolve: CodeUnprocessable (422) with
// the field's pointer. Empty means "all channels" and is always allowed.
func checkChannel(ctx context.Context, q store.Channels, projectID, channelID string) error {
	if channelID == "" {
		return nil
	}
	_, err := q.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: channelID})
	if errors.Is(err, store.ErrNotFound) {
		msg := fmt.Sprintf("channel %q not found in this project; channel_id must name one of its channels (GET /channels/) or be empty for all", channelID)
		return &domain.Error{Code: domain.CodeUnprocessable, Message: msg,
			Fields: []domain.FieldError{{Pointer: "/channel_id", Code: "not_found", Message: msg}}}
	}
	if err != nil {
		return fmt.Errorf("looking up channel %q: %w", channelID, err)
	}
	return nil
}

// update writes p, turning a lost race (the version moved between read and
// write) into the same StaleError as a stale If-Match.
func (s *Service) update(ctx context.Context, q store.Queries, f store.Flow, p store.FlowUpdateParams) (store.Flow, error) {
	out, err := q.FlowUpdate(ctx, p)
	if err == nil {
		q.AfterCommit(s.live.changed)
	}
	if err != nil && errors.Is(err, store.ErrConflict) && p.ExpectVersion > 0 {
		if cur, gerr := q.FlowGet(ctx, store.Ref{ProjectID: f.ProjectID, ID: f.ID}); gerr == nil {
			return out, s.stale(ctx, q, cur, p.ExpectVersion)
		}
	}
	return out, err
}

func (s *Service) setStatus(ctx context.Context, q store.Queries, f store.Flow, status, actor string, now time.Time) (store.Flow, error) {
	out, err := s.update(ctx, q, f, store.FlowUpdateParams{ProjectID: f.ProjectID, ID: f.ID, ExpectVersion: f.Version, Status: &status, Actor: actor, Now: now})
	if err != nil {
		return out, err
	}
	action := "flow.unpublished"
	if status == store.FlowPublished {
		action = "flow.published"
	}
	return out, s.audit(ctx, q, f.ProjectID, actor, action, f.ID, map[string]any{"revision": out.LiveRevision}, now)
}

// Publish lints the draft and, when it has no errors, makes it the live
// revision. Publishing a draft identical to the latest revision reuses
// that revision rather than numbering a copy.
func (s *Service) Publish(ctx context.Context, projectID, id, actor string, version int) (Flow, error) {
	var out store.Flow
	err := s.store.InTx(ctx, func(q store.Queries) error {
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if version != 0 && version != f.Version {
			return s.stale(ctx, q, f, version)
		}
		out, err = s.publishTx(ctx, q, f, actor, s.clock.Now())
		return err
	})
	if err != nil {
		return Flow{}, err
	}
	return s.view(ctx, s.env(s.store, projectID), out)
}

// LintFailure is the error of a publish (or a simulation of the draft)
// blocked by lint errors; it carries every problem. The message names what
// was refused, so a simulator user is not told about publishing.
func lintFailure(ps []flow.Problem, simulating bool) error {
	var errs, warns []domain.FieldError
	for _, p := range ps {
		fe := domain.FieldError{Pointer: p.Pointer, Code: p.Code, Message: p.Message, Severity: string(p.Severity), NodeID: p.NodeID, EdgeID: p.EdgeID}
		if p.Severity == flow.SeverityError {
			errs = append(errs, fe)
		} else {
			warns = append(warns, fe)
		}
	}
	msg := fmt.Sprintf("the flow cannot be published: it has %d error(s) (first: %s at %s); fix them and publish again — nothing was saved or published", len(errs), errs[0].Message, errs[0].Pointer)
	if simulating {
		msg = fmt.Sprintf("the draft cannot run: it has %d error(s) (first: %s at %s); fix them (see Problems) and run it again, or run the live revision", len(errs), errs[0].Message, errs[0].Pointer)
	}
	return &domain.Error{Code: domain.CodeUnprocessable,
		Message: msg,
		Fields:  append(errs, warns...)}
}

func (s *Service) publishTx(ctx context.Context, q store.Queries, f store.Flow, actor string, now time.Time) (store.Flow, error) {
	g, err := decodeStored(f.Draft, "flow_data of flow "+f.ID)
	if err != nil {
		return f, err
	}
	env := s.env(q, f.ProjectID)
	if err := env.load(ctx, g, f.StartTemplate); err != nil {
		return f, err
	}
	ps := lint(g, env, f.StartTemplate)
	cps, err := s.channelProblems(ctx, q, f.ProjectID, f.ChannelID, g)
	if err != nil {
		return f, err
	}
	ps = append(ps, cps...)
	for _, p := range ps {
		if p.Severity == flow.SeverityError {
			return f, lintFailure(ps, false)
		}
	}
	settings := settingsOf(f)
	settings.Trigger = triggerOf(g)
	settings.TemplateButtons = env.frozenButtons()
	prog, err := flow.Compile(g, flow.CompileOptions{Env: frozenEnv{buttons: settings.TemplateButtons}})
	if err != nil {
		return f, fmt.Errorf("compiling flow %q for publishing: %w", f.ID, err)
	}
	graph, err := encodeGraph(g)
	if err != nil {
		return f, err
	}
	sb, err := json.Marshal(settings)
	if err != nil {
		return f, fmt.Errorf("encoding flow settings: %w", err)
	}
	rev := 1
	latest, err := q.FlowRevisionLatest(ctx, store.Ref{ProjectID: f.ProjectID, ID: f.ID})
	switch {
	case err == nil && sameRevision(latest, graph, settings):
		rev = latest.Revision
	case err == nil:
		rev = latest.Revision + 1
	case !errors.Is(err, store.ErrNotFound):
		return f, err
	}
	if err == nil && rev == latest.Revision && f.Status == store.FlowPublished && f.LiveRevision == rev {
		return f, nil // already live: publishing again changes nothing
	}
	if err != nil || rev != latest.Revision {
		if _, err := q.FlowRevisionCreate(ctx, store.FlowRevisionCreateParams{ProjectID: f.ProjectID, FlowID: f.ID, Revision: rev,
			Graph: graph, Settings: sb, PublishedBy: actor, Now: now}); err != nil {
			return f, err
		}
	}
	status := store.FlowPublished
	out, err := s.update(ctx, q, f, store.FlowUpdateParams{ProjectID: f.ProjectID, ID: f.ID, ExpectVersion: f.Version, Status: &status, LiveRevision: &rev, Actor: actor, Now: now})
	if err != nil {
		return out, err
	}
	s.programs.Put(programKey{f.ProjectID, f.ID, rev}, prog)
	return out, s.audit(ctx, q, f.ProjectID, actor, "flow.published", f.ID, map[string]any{"revision": rev}, now)
}

// sameRevision reports whether a revision already holds this graph and
// these settings.
func sameRevision(v store.FlowRevision, graph json.RawMessage, settings Settings) bool {
	g, err := decodeStored(v.Graph, "revision")
	if err != nil {
		return false
	}
	stored, err := encodeGraph(g)
	if err != nil || string(stored) != string(graph) {
		return false
	}
	var old Settings
	if json.Unmarshal(v.Settings, &old) != nil {
		return false
	}
	a, _ := json.Marshal(old)
	b, _ := json.Marshal(settings)
	return string(a) == string(b)
}

// Unpublish stops new sessions from starting; running sessions finish on
// their revision. Unpublishing an unpublished flow changes nothing; a flow
// never published cannot be unpublished.
func (s *Service) Unpublish(ctx context.Context, projectID, id, actor string, version int) (Flow, error) {
	var out store.Flow
	err := s.store.InTx(ctx, func(q store.Queries) error {
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if version != 0 && version != f.Version {
			return s.stale(ctx, q, f, version)
		}
		switch f.Status {
		case store.FlowDraft:
			return domain.Errorf(domain.CodeConflict, "flow %q has never been published, so it cannot be unpublished", f.ID)
		case store.FlowUnpublished:
			out = f
			return nil
		}
		out, err = s.setStatus(ctx, q, f, store.FlowUnpublished, actor, s.clock.Now())
		return err
	})
	if err != nil {
		return Flow{}, err
	}
	return s.view(ctx, s.env(s.store, projectID), out)
}

// Delete deletes a flow that is not published, with its revisions and
// counters.
func (s *Service) Delete(ctx context.Context, projectID, id, actor string, version int) error {
	return s.store.InTx(ctx, func(q store.Queries) error {
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if version != 0 && version != f.Version {
			return s.stale(ctx, q, f, version)
		}
		if f.Status == store.FlowPublished {
			return domain.Errorf(domain.CodeConflict, "flow %q is published and cannot be deleted: unpublish it first (POST /chat-flow/flows/%s/unpublish/ or PUT with is_active: false), then delete it", f.Name, f.ID)
		}
		if err := q.FlowDelete(ctx, store.FlowDeleteParams{ProjectID: projectID, ID: id, ExpectVersion: f.Version}); err != nil {
			return err
		}
		s.programs.RemoveFunc(func(k programKey) bool { return k.projectID == projectID && k.flowID == id })
		q.AfterCommit(s.live.changed)
		return s.audit(ctx, q, projectID, actor, "flow.deleted", id, map[string]any{"name": f.Name}, s.clock.Now())
	})
}

// StaleError is a save based on a version of the flow that is no longer
// current. It says what the flow is now, so the caller can merge.
type StaleError struct {
	// Expected is the version the save started from.
	Expected int
	// Current is the flow as it is now.
	Current store.Flow
	// UpdatedBy describes who saved last, for people.
	UpdatedBy string
	err       *domain.Error
}

// Error implements error.
func (e *StaleError) Error() string { return e.err.Error() }

// Unwrap makes a StaleError a CodeConflict domain error.
func (e *StaleError) Unwrap() error { return e.err }

func (s *Service) stale(ctx context.Context, q store.Queries, cur store.Flow, expected int) error {
	who := s.describeActor(ctx, q, cur.ProjectID, cur.UpdatedBy)
	msg := fmt.Sprintf("the flow was changed after you loaded it: you started from version %d, it is now at version %d, last saved by %s at %s; reload it, reapply your changes and save again with version %d (If-Match: \"%d\")",
		expected, cur.Version, who, cur.UpdatedAt.Format(time.RFC3339), cur.Version, cur.Version)
	return &StaleError{Expected: expected, Current: cur, UpdatedBy: who, err: &domain.Error{Code: domain.CodeConflict, Message: msg,
		Fields: []domain.FieldError{{Pointer: "/version", Code: "stale_version", Message: fmt.Sprintf("version %d is stale; the current version is %d", expected, cur.Version)}}}}
}

// describeActor turns "user:<id>" or "token:<id>" into something a person
// recognises; it falls back to the raw actor.
func (s *Service) describeActor(ctx context.Context, q actorQueries, projectID, actor string) string {
	return DescribeActor(ctx, q, projectID, actor)
}

// DescribeActor turns an actor ("user:<id>", "token:<id>", "system") into
// what people recognise: "Ann (ann@example.com)", `API token "ci"`,
// "Parley"; it falls back to the raw actor.
func DescribeActor(ctx context.Context, q actorQueries, projectID, actor string) string {
	kind, id, _ := strings.Cut(actor, ":")
	switch kind {
	case "user":
		if u, err := q.UserGet(ctx, id); err == nil {
			if u.Name != "" && u.Name != u.Email {
				return fmt.Sprintf("%s (%s)", u.Name, u.Email)
			}
			return u.Email
		}
	case "token":
		if t, err := q.TokenGet(ctx, store.Ref{ProjectID: projectID, ID: id}); err == nil {
			return fmt.Sprintf("API token %q", t.Name)
		}
	case "system":
		return "Parley"
	}
	if actor == "" {
		return "someone"
	}
	return actor
}

// NodeTypes is the node-type registry, for the editor's palette.
func (s *Service) NodeTypes() []flow.NodeType { return flow.NodeTypes() }
