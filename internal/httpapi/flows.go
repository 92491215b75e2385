package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// flowAPI serves the chat-flow API on the chatflow service.
type flowAPI struct {
	s   *Server
	svc *chatflow.Service
}

// flowBodyLimit lets a flow of the 2 MB flow_data limit, plus its settings,
// reach the service, which refuses bigger ones with a message naming the
// limit rather than a bare "body too large".
const flowBodyLimit = chatflow.MaxFlowDataBytes + 256<<10

func (s *Server) newFlowAPI() *flowAPI {
	// flow.Graph encodes itself as {nodes, edges}; describe that shape in
	// the OpenAPI document instead of the Go struct.
	reg := s.api.OpenAPI().Components.Schemas
	reg.RegisterTypeAlias(reflect.TypeFor[flow.Graph](), reflect.TypeFor[graphDoc]())
	// flow.Problem would clash with this package's Problem in the schemas.
	reg.RegisterTypeAlias(reflect.TypeFor[flow.Problem](), reflect.TypeFor[LintProblem]())
	svc := s.deps.Flows
	if svc == nil {
		svc = chatflow.New(s.deps.Store, s.deps.Clock, s.deps.IDs)
	}
	return &flowAPI{s: s, svc: svc}
}

// graphDoc documents flow_data.
type graphDoc struct {
	Nodes []nodeDoc `json:"nodes"`
	Edges []edgeDoc `json:"edges"`
}

type nodeDoc struct {
	ID       string         `json:"id"`
	Type     string         `json:"type" doc:"A node type of GET /chat-flow/node-types/"`
	Position *flow.Position `json:"position,omitempty"`
	Data     map[string]any `json:"data" doc:"The type's fields"`
}

type edgeDoc struct {
	ID           string         `json:"id"`
	Source       string         `json:"source"`
	SourceHandle string         `json:"sourceHandle,omitempty" doc:"The exit the edge leaves by; empty: the default exit"`
	Target       string         `json:"target"`
	TargetHandle string         `json:"targetHandle,omitempty"`
	Label        string         `json:"label,omitempty"`
	Data         map[string]any `json:"data,omitempty" doc:"trigger/trigger_value name a button exit the chat-flow API's way"`
}

// LintProblem documents flow.Problem: one finding of the linter.
type LintProblem struct {
	Severity string `json:"severity" enum:"error,warning" doc:"Errors block publishing; warnings do not"`
	Code     string `json:"code" doc:"Stable code, see docs/flows.md"`
	NodeID   string `json:"node_id,omitempty"`
	EdgeID   string `json:"edge_id,omitempty"`
	Pointer  string `json:"pointer" doc:"JSON pointer into the flow document, e.g. /flow_data/nodes/2/data/text"`
	Message  string `json:"message"`
}

// TemplateRef is a message template ID; the chat-flow API sends template
// IDs as strings or numbers, so both are accepted (null clears it).
type TemplateRef string

// UnmarshalJSON accepts a string, a number or null.
func (r *TemplateRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*r = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = TemplateRef(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("start_template must be a template ID (a string or a number)")
		}
		*r = TemplateRef(n.String())
	}
	return nil
}

// Schema implements huma.SchemaProvider.
func (TemplateRef) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Description: "A message template ID (string or number); empty or null for none"}
}

// ReadOnlyFields are the flow fields the server owns. They are accepted and
// ignored in request bodies, so a client can send back the object it read.
type ReadOnlyFields struct {
	ID        any `json:"id,omitempty" doc:"Read-only; ignored"`
	Status    any `json:"status,omitempty" doc:"Read-only; ignored (use is_active)"`
	Revision  any `json:"revision,omitempty" doc:"Read-only; ignored"`
	Trigger   any `json:"trigger,omitempty" doc:"Read-only; ignored (derived from the start node)"`
	CreatedAt any `json:"created_at,omitempty" doc:"Read-only; ignored"`
	UpdatedAt any `json:"updated_at,omitempty" doc:"Read-only; ignored"`
	CreatedBy any `json:"created_by,omitempty" doc:"Read-only; ignored"`
	UpdatedBy any `json:"updated_by,omitempty" doc:"Read-only; ignored"`
	Problems  any `json:"problems,omitempty" doc:"Read-only; ignored"`
	// CreatedByName and UpdatedByName are the names of the actors above.
	CreatedByName any `json:"created_by_name,omitempty" doc:"Read-only; ignored"`
	UpdatedByName any `json:"updated_by_name,omitempty" doc:"Read-only; ignored"`
}

// FlowOutput is one flow with its version as the ETag.
type FlowOutput struct {
	ETag string `header:"ETag" doc:"The flow's version; send it back as If-Match"`
	Body chatflow.Flow
}

func flowOut(f chatflow.Flow) *FlowOutput { return &FlowOutput{ETag: etag(f.Version), Body: f} }

func etag(v int) string { return `"` + strconv.Itoa(v) + `"` }

var etagPattern = regexp.MustCompile(`^(?:W/)?"?([0-9]+)"?$`)

// versionOf reads the version a write started from: the If-Match header
// ("5", W/"5" or 5) or the body's version; 0 when neither is sent. When
// both are sent they must agree.
func versionOf(ifMatch string, body *int) (int, error) {
	v := 0
	if h := strings.TrimSpace(ifMatch); h != "" {
		m := etagPattern.FindStringSubmatch(h)
		if m == nil {
			return 0, &domain.Error{Code: domain.CodeInvalid, Message: fmt.Sprintf("If-Match %q is not a flow version: send the ETag of the flow you loaded, e.g. If-Match: \"3\"", h),
				Fields: []domain.FieldError{{Location: "header.If-Match", Message: "not a flow version"}}}
		}
		v, _ = strconv.Atoi(m[1])
	}
	if body != nil {
		if v != 0 && *body != v {
			return 0, domain.Invalid("/version", "the If-Match header (%d) and the version field (%d) disagree; send one", v, *body)
		}
		v = *body
	}
	if v < 0 {
		return 0, domain.Invalid("/version", "version must be positive")
	}
	return v, nil
}

// IfMatch is the optional precondition of flow writes.
type IfMatch struct {
	IfMatch string `header:"If-Match" maxLength:"40" doc:"The flow version (ETag) the change is based on; a stale one gets 409"`
}

// staleProblem is a 409 for a stale save, with what the flow is now.
type staleProblem struct {
	*Problem
	CurrentVersion int            `json:"current_version"`
	UpdatedBy      string         `json:"updated_by"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Current        *chatflow.Flow `json:"current,omitempty"`
}

// flowErr gives stale saves their richer problem; other errors pass.
func (a *flowAPI) flowErr(ctx context.Context, err error) error {
	var stale *chatflow.StaleError
	if !errors.As(err, &stale) {
		return err
	}
	p := &staleProblem{Problem: problemOf(ctx, 409, "", err), CurrentVersion: stale.Current.Version, UpdatedBy: stale.UpdatedBy, UpdatedAt: stale.Current.UpdatedAt}
	if cur, gerr := a.svc.Get(ctx, stale.Current.ProjectID, stale.Current.ID); gerr == nil {
		p.Current = &cur
	}
	return p
}

// FlowListInput filters and pages flows.
type FlowListInput struct {
	PageParams
	Status    string `query:"status" enum:"draft,published,unpublished" doc:"Only flows with this status"`
	ChannelID string `query:"channel_id" maxLength:"100" doc:"Only flows bound to this channel"`
	Search    string `query:"search" maxLength:"200" doc:"Only flows whose name contains this (case-insensitive)"`
}

func (a *flowAPI) list(ctx context.Context, in *FlowListInput) (*ListOutput[chatflow.Flow], error) {
	l, err := a.svc.List(ctx, principalFrom(ctx).ProjectID, chatflow.ListParams{Status: in.Status, ChannelID: in.ChannelID, Search: in.Search, Page: in.page()})
	if err != nil {
		return nil, err
	}
	return listOf(l), nil
}

// FlowCreateBody creates a flow.
type FlowCreateBody struct {
	ReadOnlyFields
	Name               string          `json:"name" minLength:"1" maxLength:"200"`
	IsActive           bool            `json:"is_active,omitempty" doc:"true: create and publish in one call (or fail with the lint errors and create nothing)"`
	StartTemplate      TemplateRef     `json:"start_template,omitempty"`
	FlowData           json.RawMessage `json:"flow_data,omitempty" doc:"The graph {nodes, edges}; a start node joined to an end node when absent"`
	Remark             string          `json:"remark,omitempty" maxLength:"2000"`
	ChannelID          string          `json:"channel_id,omitempty" maxLength:"100"`
	Logging            *bool           `json:"logging,omitempty" doc:"Defaults to true"`
	ExpireAfterSeconds *int            `json:"expire_after_seconds,omitempty" doc:"Defaults to 86400 (24 h); 60 to 7776000"`
	OnRetrigger        string          `json:"on_retrigger,omitempty" enum:"ignore,restart" doc:"Defaults to ignore"`
	Version            *int            `json:"version,omitempty" doc:"Ignored on create"`
}

// FlowCreateInput wraps the create body.
type FlowCreateInput struct {
	Body FlowCreateBody
}

func (a *flowAPI) create(ctx context.Context, in *FlowCreateInput) (*FlowOutput, error) {
	p := principalFrom(ctx)
	b := in.Body
	f, err := a.svc.Create(ctx, p.ProjectID, string(p.Actor()), chatflow.CreateInput{Name: b.Name, Remark: b.Remark, StartTemplate: string(b.StartTemplate),
		FlowData: b.FlowData, ChannelID: b.ChannelID, Logging: b.Logging, ExpireAfterSeconds: b.ExpireAfterSeconds, OnRetrigger: b.OnRetrigger, IsActive: b.IsActive})
	if err != nil {
		return nil, err
	}
	return flowOut(f), nil
}

// FlowPath names a flow.
type FlowPath struct {
	FlowID string `path:"flow_id" maxLength:"100"`
}

func (a *flowAPI) get(ctx context.Context, in *FlowPath) (*FlowOutput, error) {
	f, err := a.svc.Get(ctx, principalFrom(ctx).ProjectID, in.FlowID)
	if err != nil {
		return nil, err
	}
	return flowOut(f), nil
}

// FlowUpdateInput saves a flow and/or toggles publishing.
type FlowUpdateInput struct {
	FlowPath
	IfMatch
	Body struct {
		ReadOnlyFields
		Version            *int            `json:"version,omitempty" doc:"The version this save started from (or send If-Match); required unless only is_active is sent"`
		Name               *string         `json:"name,omitempty" minLength:"1" maxLength:"200"`
		IsActive           *bool           `json:"is_active,omitempty" doc:"true publishes the (saved) draft; false unpublishes"`
		StartTemplate      *TemplateRef    `json:"start_template,omitempty"`
		FlowData           json.RawMessage `json:"flow_data,omitempty"`
		Remark             *string         `json:"remark,omitempty" maxLength:"2000"`
		ChannelID          *string         `json:"channel_id,omitempty" maxLength:"100" doc:"Only while not published"`
		Logging            *bool           `json:"logging,omitempty"`
		ExpireAfterSeconds *int            `json:"expire_after_seconds,omitempty"`
		OnRetrigger        *string         `json:"on_retrigger,omitempty" enum:"ignore,restart"`
	}
}

func (a *flowAPI) update(ctx context.Context, in *FlowUpdateInput) (*FlowOutput, error) {
	p := principalFrom(ctx)
	b := in.Body
	v, err := versionOf(in.IfMatch.IfMatch, b.Version)
	if err != nil {
		return nil, err
	}
	u := chatflow.UpdateInput{Version: v, Name: b.Name, Remark: b.Remark, FlowData: b.FlowData, ChannelID: b.ChannelID,
		Logging: b.Logging, ExpireAfterSeconds: b.ExpireAfterSeconds, OnRetrigger: b.OnRetrigger, IsActive: b.IsActive}
	if b.StartTemplate != nil {
		t := string(*b.StartTemplate)
		u.StartTemplate = &t
	}
	f, err := a.svc.Update(ctx, p.ProjectID, in.FlowID, string(p.Actor()), u)
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return flowOut(f), nil
}

// FlowWriteInput names a flow and the version an action is based on.
type FlowWriteInput struct {
	FlowPath
	IfMatch
}

func (a *flowAPI) remove(ctx context.Context, in *FlowWriteInput) (*struct{}, error) {
	p := principalFrom(ctx)
	v, err := versionOf(in.IfMatch.IfMatch, nil)
	if err != nil {
		return nil, err
	}
	return nil, a.flowErr(ctx, a.svc.Delete(ctx, p.ProjectID, in.FlowID, string(p.Actor()), v))
}

func (a *flowAPI) publish(ctx context.Context, in *FlowWriteInput) (*FlowOutput, error) {
	p := principalFrom(ctx)
	v, err := versionOf(in.IfMatch.IfMatch, nil)
	if err != nil {
		return nil, err
	}
	f, err := a.svc.Publish(ctx, p.ProjectID, in.FlowID, string(p.Actor()), v)
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return flowOut(f), nil
}

func (a *flowAPI) unpublish(ctx context.Context, in *FlowWriteInput) (*FlowOutput, error) {
	p := principalFrom(ctx)
	v, err := versionOf(in.IfMatch.IfMatch, nil)
	if err != nil {
		return nil, err
	}
	f, err := a.svc.Unpublish(ctx, p.ProjectID, in.FlowID, string(p.Actor()), v)
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return flowOut(f), nil
}

// FlowValidateInput lints the draft or the given graph.
type FlowValidateInput struct {
	FlowPath
	Body *struct {
		FlowData      json.RawMessage `json:"flow_data,omitempty" doc:"A graph to check instead of the saved draft"`
		StartTemplate *TemplateRef    `json:"start_template,omitempty" doc:"A start template to check instead of the saved one"`
	}
}

func (a *flowAPI) validate(ctx context.Context, in *FlowValidateInput) (*Body[chatflow.Validation], error) {
	var graph json.RawMessage
	var tpl *string
	if in.Body != nil {
		graph = in.Body.FlowData
		if in.Body.StartTemplate != nil {
			t := string(*in.Body.StartTemplate)
			tpl = &t
		}
	}
	v, err := a.svc.Validate(ctx, principalFrom(ctx).ProjectID, in.FlowID, graph, tpl)
	if err != nil {
		return nil, err
	}
	return bodyOf(v), nil
}

// FlowExportInput picks what to export.
type FlowExportInput struct {
	FlowPath
	Revision int `query:"revision" minimum:"0" doc:"Export this published revision instead of the draft"`
}

// FlowExportOutput is an export document, served as a download.
type FlowExportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

var unsafeFileChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

func (a *flowAPI) export(ctx context.Context, in *FlowExportInput) (*FlowExportOutput, error) {
	pid := principalFrom(ctx).ProjectID
	doc, err := a.svc.Export(ctx, pid, in.FlowID, in.Revision)
	if err != nil {
		return nil, err
	}
	var head struct {
		Flow struct {
			Name string `json:"name"`
		} `json:"flow"`
	}
	_ = json.Unmarshal(doc, &head)
	name := strings.Trim(unsafeFileChars.ReplaceAllString(strings.ToLower(head.Flow.Name), "-"), "-")
	if name == "" {
		name = "flow"
	}
	return &FlowExportOutput{ContentType: "application/json", ContentDisposition: fmt.Sprintf(`attachment; filename="%s.flow.json"`, name), Body: doc}, nil
}

// FlowImportInput is an import document.
type FlowImportInput struct {
	Name string `query:"name" maxLength:"200" doc:"Name of the new flow; defaults to the document's"`
	// Body is any JSON document: a parley.flow export, a chat-flow API
	// flow object, or a bare {nodes, edges} graph.
	Body json.RawMessage
}

func (a *flowAPI) importFlow(ctx context.Context, in *FlowImportInput) (*FlowOutput, error) {
	p := principalFrom(ctx)
	f, err := a.svc.Import(ctx, p.ProjectID, string(p.Actor()), chatflow.ImportInput{Document: in.Body, Name: in.Name})
	if err != nil {
		return nil, err
	}
	return flowOut(f), nil
}

// RevisionListInput pages a flow's revisions.
type RevisionListInput struct {
	FlowPath
	PageParams
}

func (a *flowAPI) revisions(ctx context.Context, in *RevisionListInput) (*ListOutput[chatflow.Revision], error) {
	l, err := a.svc.Revisions(ctx, principalFrom(ctx).ProjectID, in.FlowID, in.page())
	if err != nil {
		return nil, err
	}
	return listOf(l), nil
}

// RevisionPath names a revision of a flow.
type RevisionPath struct {
	FlowPath
	Revision int `path:"revision" minimum:"1"`
}

func (a *flowAPI) revision(ctx context.Context, in *RevisionPath) (*Body[chatflow.Revision], error) {
	v, err := a.svc.Revision(ctx, principalFrom(ctx).ProjectID, in.FlowID, in.Revision)
	if err != nil {
		return nil, err
	}
	return bodyOf(v), nil
}

// RevisionRestoreInput restores a revision as the draft.
type RevisionRestoreInput struct {
	RevisionPath
	IfMatch
}

func (a *flowAPI) restore(ctx context.Context, in *RevisionRestoreInput) (*FlowOutput, error) {
	p := principalFrom(ctx)
	v, err := versionOf(in.IfMatch.IfMatch, nil)
	if err != nil {
		return nil, err
	}
	f, err := a.svc.Restore(ctx, p.ProjectID, in.FlowID, in.Revision, string(p.Actor()), v)
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return flowOut(f), nil
}

func (a *flowAPI) templates(ctx context.Context, _ *struct{}) (*ListOutput[flow.BuiltinTemplate], error) {
	t, err := a.svc.Templates()
	if err != nil {
		return nil, err
	}
	return listOf(store.List[flow.BuiltinTemplate]{Items: t}), nil
}

// FromTemplateInput creates a flow from a built-in template.
type FromTemplateInput struct {
	Body struct {
		Template  string `json:"template" minLength:"1" maxLength:"100" doc:"A built-in template ID (GET /chat-flow/templates/)"`
		Name      string `json:"name,omitempty" maxLength:"200" doc:"Defaults to the template's name"`
		ChannelID string `json:"channel_id,omitempty" maxLength:"100"`
		IsActive  bool   `json:"is_active,omitempty" doc:"Publish right away"`
	}
}

func (a *flowAPI) fromTemplate(ctx context.Context, in *FromTemplateInput) (*FlowOutput, error) {
	p := principalFrom(ctx)
	b := in.Body
	f, err := a.svc.CreateFromTemplate(ctx, p.ProjectID, string(p.Actor()), chatflow.FromTemplateInput{Template: b.Template, Name: b.Name, ChannelID: b.ChannelID, IsActive: b.IsActive})
	if err != nil {
		return nil, err
	}
	return flowOut(f), nil
}

func (a *flowAPI) nodeTypes(ctx context.Context, _ *struct{}) (*ListOutput[flow.NodeType], error) {
	types := a.svc.NodeTypes()
	var registered []string
	if a.s.deps.Channels != nil {
		for _, t := range a.s.deps.Channels.Types() {
			registered = append(registered, t.Name)
		}
	}
	for i := range types {
		if types[i].Type == flow.TypeStart {
			types[i].TriggerChannelTypes = flow.TriggerChannelTypes(registered)
		}
	}
	return listOf(store.List[flow.NodeType]{Items: types}), nil
}

// AnalyticsInput selects execution analytics.
type AnalyticsInput struct {
	Flow     string `query:"flow" maxLength:"100" doc:"One flow; without it, session counts per flow of the project"`
	From     string `query:"from" maxLength:"40" doc:"Start of the range (RFC 3339 time or YYYY-MM-DD), inclusive; counts are hourly"`
	To       string `query:"to" maxLength:"40" doc:"End of the range (RFC 3339 time or YYYY-MM-DD), exclusive"`
	Revision int    `query:"revision" minimum:"0" doc:"Only sessions of this revision"`
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &domain.Error{Code: domain.CodeInvalid, Message: fmt.Sprintf("%s %q is not a time: use RFC 3339 (2026-11-21T09:30:00Z) or a date (2026-11-21)", name, v),
		Fields: []domain.FieldError{{Location: "query." + name, Message: "not an RFC 3339 time or a date"}}}
}

func (a *flowAPI) analytics(ctx context.Context, in *AnalyticsInput) (*Body[chatflow.Analytics], error) {
	from, err := parseTime("from", in.From)
	if err != nil {
		return nil, err
	}
	to, err := parseTime("to", in.To)
	if err != nil {
		return nil, err
	}
	if a.s.deps.Runner != nil {
		// This process's counters of the last second, written now.
		if err := a.s.deps.Runner.FlushStats(ctx); err != nil {
			return nil, err
		}
	}
	out, err := a.svc.Analytics(ctx, principalFrom(ctx).ProjectID, chatflow.AnalyticsParams{FlowID: in.Flow, Revision: in.Revision, From: from, To: to})
	if err != nil {
		return nil, err
	}
	return bodyOf(out), nil
}
