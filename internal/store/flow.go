package store

import (
	"context"
	"encoding/json"
	"time"
)

// Templates are the repository methods of a project's message templates.
type Templates interface {
	TemplateCreate(ctx context.Context, p TemplateCreateParams) (MessageTemplate, error)
	TemplateGet(ctx context.Context, r Ref) (MessageTemplate, error)
	// TemplateLock is TemplateGet inside a transaction that will write the
	// template: on PostgreSQL the row stays locked until the transaction
	// ends, so a status webhook and Meta's answer to our own call, each
	// read-modify-writing the template, cannot overwrite one another
	// (SQLite's one writer already runs them one at a time).
	TemplateLock(ctx context.Context, r Ref) (MessageTemplate, error)
	TemplateGetByMetaID(ctx context.Context, p TemplateGetByMetaIDParams) (MessageTemplate, error)
	// TemplateGetByName finds a template by name and language; with an
	// empty language, the first of the name's languages in sort order.
	TemplateGetByName(ctx context.Context, p TemplateGetByNameParams) (MessageTemplate, error)
	TemplateUpdate(ctx context.Context, t MessageTemplate) (MessageTemplate, error)
	TemplateDelete(ctx context.Context, r Ref) error
	TemplateList(ctx context.Context, p TemplateListParams) (List[MessageTemplate], error)
}

// Flows are the repository methods of chat flows: drafts, published
// revisions and execution counters.
type Flows interface {
	FlowCreate(ctx context.Context, p FlowCreateParams) (Flow, error)
	FlowGet(ctx context.Context, r Ref) (Flow, error)
	// FlowHeadGet is FlowGet without the draft graph (Draft nil): the
	// settings and live revision the runner reads for every sprint, which
	// need not carry a large flow's working graph each time.
	FlowHeadGet(ctx context.Context, r Ref) (Flow, error)
	FlowList(ctx context.Context, p FlowListParams) (List[Flow], error)
	FlowUpdate(ctx context.Context, p FlowUpdateParams) (Flow, error)
	FlowDelete(ctx context.Context, p FlowDeleteParams) error
	FlowRevisionCreate(ctx context.Context, p FlowRevisionCreateParams) (FlowRevision, error)
	FlowRevisionGet(ctx context.Context, p FlowRevisionGetParams) (FlowRevision, error)
	// FlowRevisionLatest returns the highest-numbered revision of the flow
	// r names, ErrNotFound when it has none.
	FlowRevisionLatest(ctx context.Context, r Ref) (FlowRevision, error)
	FlowRevisionList(ctx context.Context, p FlowRevisionListParams) (List[FlowRevision], error)
	// FlowStatsAdd increments execution counters (the runner calls it in
	// the transaction that applies a sprint).
	FlowStatsAdd(ctx context.Context, p FlowStatsAddParams) error
	FlowStatsGet(ctx context.Context, p FlowStatsParams) (FlowStats, error)
}

// Chat-flow statuses: a flow is a draft until its first publish, then
// published or unpublished.
const (
	FlowDraft       = "draft"
	FlowPublished   = "published"
	FlowUnpublished = "unpublished"
)

// What happens when a contact already in a flow triggers it again.
const (
	RetriggerIgnore  = "ignore"
	RetriggerRestart = "restart"
)

// Message template statuses, as Meta reports them.
const (
	TemplatePending  = "PENDING"
	TemplateApproved = "APPROVED"
	TemplateRejected = "REJECTED"
	TemplatePaused   = "PAUSED"
	TemplateDisabled = "DISABLED"
)

// MessageTemplate is a WhatsApp message template of a project.
type MessageTemplate struct {
	ID         string          `json:"id"`
	ProjectID  string          `json:"project_id"`
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Components json.RawMessage `json:"components"`
	Status     string          `json:"status"`
	// MetaTemplateID is Meta's ID once the template was submitted.
	MetaTemplateID string `json:"meta_template_id"`
	// ChannelID is the WhatsApp channel (and so the business account) the
	// template was submitted through.
	ChannelID string `json:"channel_id"`
	// Reason is Meta's rejection or pause reason; Quality its quality score.
	Reason    string    `json:"reason"`
	Quality   string    `json:"quality"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TemplateCreateParams creates a message template. Name and language are
// unique per project (ErrConflict otherwise).
type TemplateCreateParams struct {
	ID             string
	ChannelID      string
	ProjectID      string
	Name           string
	Language       string
	Category       string
	Components     json.RawMessage // nil means []
	Status         string
	MetaTemplateID string
	Now            time.Time
}

// TemplateGetByMetaIDParams find a template by the ID Meta gave it.
type TemplateGetByMetaIDParams struct {
	ProjectID string
	MetaID    string
}

// TemplateGetByNameParams find a template by name and language.
type TemplateGetByNameParams struct {
	ProjectID string
	Name      string
	// Language empty means the first of the name's languages in sort order.
	Language string
}

// TemplateListParams lists a project's templates, optionally by status,
// exact name or a search text.
type TemplateListParams struct {
	ProjectID string
	Status    string
	Name      string
	// Search matches part of the name or of the components' text, any case.
	Search string
	Page   Page
}

// Flow is a chat flow: its working draft, its settings and its status. The
// graph and trigger are raw JSON; internal/chatflow gives them meaning.
type Flow struct {
	ID        string
	ProjectID string
	Name      string
	Remark    string
	Status    string
	// Draft is the working graph (flow_data).
	Draft json.RawMessage
	// Version is the row's etag: every write bumps it.
	Version int
	// LiveRevision is the published revision; 0 before the first publish.
	LiveRevision int
	// Trigger is the draft start node's trigger, derived on save.
	Trigger            json.RawMessage
	ChannelID          string
	Logging            bool
	ExpireAfterSeconds int
	OnRetrigger        string
	StartTemplate      string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	CreatedBy          string
	UpdatedBy          string
}

// FlowCreateParams creates a flow in the draft status at version 1.
type FlowCreateParams struct {
	ID                 string
	ProjectID          string
	Name               string
	Remark             string
	Draft              json.RawMessage
	Trigger            json.RawMessage // nil means {}
	ChannelID          string
	Logging            bool
	ExpireAfterSeconds int
	OnRetrigger        string
	StartTemplate      string
	Actor              string
	Now                time.Time
}

// FlowListParams lists a project's flows, newest first. Empty filters match
// everything; Search matches a part of the name, case-insensitively.
type FlowListParams struct {
	ProjectID string
	Status    string
	ChannelID string
	Search    string
	Page      Page
}

// FlowUpdateParams changes the given fields of a flow and bumps its
// version. Nil fields are left alone. With ExpectVersion set the update
// applies only if the stored version still equals it; otherwise it fails
// with ErrConflict and changes nothing (optimistic concurrency).
type FlowUpdateParams struct {
	ProjectID          string
	ID                 string
	ExpectVersion      int
	Name               *string
	Remark             *string
	Status             *string
	LiveRevision       *int
	Draft              json.RawMessage
	Trigger            json.RawMessage
	ChannelID          *string
	Logging            *bool
	ExpireAfterSeconds *int
	OnRetrigger        *string
	StartTemplate      *string
	Actor              string
	Now                time.Time
}

// FlowDeleteParams deletes a flow that is not published, with its
// revisions and counters. A published flow is ErrConflict; with
// ExpectVersion set a changed flow is ErrConflict too.
type FlowDeleteParams struct {
	ProjectID     string
	ID            string
	ExpectVersion int
}

// FlowRevision is an immutable published snapshot of a flow.
type FlowRevision struct {
	ProjectID string
	FlowID    string
	Revision  int
	Graph     json.RawMessage
	// Settings are the flow settings in force for sessions of this revision.
	Settings    json.RawMessage
	PublishedBy string
	PublishedAt time.Time
}

// FlowRevisionCreateParams stores a new revision. A revision number that
// exists already is ErrConflict: revisions are never overwritten.
type FlowRevisionCreateParams struct {
	ProjectID   string
	FlowID      string
	Revision    int
	Graph       json.RawMessage
	Settings    json.RawMessage
	PublishedBy string
	Now         time.Time
}

// FlowRevisionGetParams find one revision of a flow.
type FlowRevisionGetParams struct {
	ProjectID string
	FlowID    string
	Revision  int
}

// FlowRevisionListParams lists a flow's revisions, newest first. The page
// cursor is a revision number.
type FlowRevisionListParams struct {
	ProjectID string
	FlowID    string
	Page      Page
}

// FlowStatsAddParams adds execution counts of one flow revision, observed
// at At, to the hour bucket At falls in. Zero counts are not written.
type FlowStatsAddParams struct {
	ProjectID string
	FlowID    string
	Revision  int
	At        time.Time
	Sessions  SessionCounts
	// Nodes and Edges are keyed by node and edge ID.
	Nodes map[string]NodeCounts
	Edges map[string]int64
}

// SessionCounts are the session outcomes of a flow.
type SessionCounts struct {
	Started   int64 `json:"started"`
	Completed int64 `json:"completed"`
	Expired   int64 `json:"expired"`
	Failed    int64 `json:"failed"`
}

// NodeCounts are the counters of one node: how many sessions entered it and
// how many ended there without leaving (expired, failed or left with no
// edge).
type NodeCounts struct {
	Visits   int64 `json:"visits"`
	DropOffs int64 `json:"drop_offs"`
	// LLM counts an ai_agent node's calls to the AI provider.
	LLM LLMCounts `json:"llm"`
}

// LLMCounts are an ai_agent node's calls: how many, how many failed, the
// tokens they used and their summed latency.
type LLMCounts struct {
	Calls            int64 `json:"calls"`
	Failures         int64 `json:"failures"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	LatencyMS        int64 `json:"latency_ms"`
}

// Add adds o to c.
func (c *LLMCounts) Add(o LLMCounts) {
	c.Calls += o.Calls
	c.Failures += o.Failures
	c.PromptTokens += o.PromptTokens
	c.CompletionTokens += o.CompletionTokens
	c.LatencyMS += o.LatencyMS
}

// FlowStatsParams selects counters: one flow (FlowID set) or the whole
// project, optionally one revision, in the time range [From, To) (zero
// times are open ends). Buckets are hours, so the range is effectively
// rounded down to whole hours.
type FlowStatsParams struct {
	ProjectID string
	FlowID    string
	Revision  int
	From      time.Time
	To        time.Time
}

// FlowStats are summed counters.
type FlowStats struct {
	Sessions SessionCounts
	// Nodes and Edges are filled only when one flow was asked for.
	Nodes map[string]NodeCounts
	Edges map[string]int64
	// Flows are the session counts per flow ID when the whole project was
	// asked for.
	Flows map[string]SessionCounts
}
