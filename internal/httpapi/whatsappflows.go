package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/waflow"
)

// WhatsAppFlowView is a WhatsApp Flow (form) with its state at Meta.
type WhatsAppFlowView struct {
	ID               string                `json:"id"`
	ChannelID        string                `json:"channel_id"`
	Name             string                `json:"name"`
	Categories       []string              `json:"categories"`
	FlowJSON         string                `json:"flow_json" doc:"The Flow JSON exactly as written"`
	Status           string                `json:"status" enum:"DRAFT,PUBLISHED,DEPRECATED,THROTTLED,BLOCKED"`
	MetaFlowID       string                `json:"meta_flow_id" doc:"Meta's flow ID once created there; kept when a published flow returns to DRAFT"`
	ValidationErrors []channel.FormProblem `json:"validation_errors" doc:"Ours (source parley) and Meta's (source meta); a flow with any cannot be published"`
	Endpoint         map[string]any        `json:"endpoint" doc:"Data-exchange endpoint settings"`
	PreviewURL       string                `json:"preview_url"`
	SyncedAt         *time.Time            `json:"synced_at"`
	Version          int                   `json:"version"`
	CreatedAt        time.Time             `json:"created_at"`
	UpdatedAt        time.Time             `json:"updated_at"`
}

func waFlowView(f store.WhatsAppFlow) WhatsAppFlowView {
	v := WhatsAppFlowView{ID: f.ID, ChannelID: f.ChannelID, Name: f.Name, Categories: f.Categories, FlowJSON: f.JSON, Status: f.Status,
		MetaFlowID: f.MetaFlowID, ValidationErrors: waflow.Problems(f), Endpoint: map[string]any{}, PreviewURL: f.PreviewURL,
		SyncedAt: f.SyncedAt, Version: f.Version, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
	if v.Categories == nil {
		v.Categories = []string{}
	}
	if v.ValidationErrors == nil {
		v.ValidationErrors = []channel.FormProblem{}
	}
	_ = json.Unmarshal(f.Endpoint, &v.Endpoint)
	return v
}

// WhatsAppFlowPath names a WhatsApp Flow.
type WhatsAppFlowPath struct {
	WAFlowID string `path:"wa_flow_id" maxLength:"100"`
}

// WhatsAppFlowListInput filters WhatsApp Flows.
type WhatsAppFlowListInput struct {
	PageParams
	Status    string `query:"status" enum:"DRAFT,PUBLISHED,DEPRECATED,THROTTLED,BLOCKED,"`
	ChannelID string `query:"channel_id" maxLength:"100"`
}

func (a *runtimeAPI) waFlowList(ctx context.Context, in *WhatsAppFlowListInput) (*ListOutput[WhatsAppFlowView], error) {
	l, err := a.s.deps.WhatsAppFlows.List(ctx, store.WhatsAppFlowListParams{ProjectID: principalFrom(ctx).ProjectID, Status: in.Status,
		ChannelID: in.ChannelID, Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := store.List[WhatsAppFlowView]{Items: make([]WhatsAppFlowView, len(l.Items)), Next: l.Next}
	for i, f := range l.Items {
		out.Items[i] = waFlowView(f)
	}
	return listOf(out), nil
}

// WhatsAppFlowCreateInput creates a WhatsApp Flow from Flow JSON or from a
// built-in template.
type WhatsAppFlowCreateInput struct {
	Body struct {
		Name       string         `json:"name,omitempty" maxLength:"200" doc:"Unique in the project; default: the template's name"`
		Categories []string       `json:"categories,omitempty" maxItems:"8" doc:"SIGN_UP, SIGN_IN, APPOINTMENT_BOOKING, LEAD_GENERATION, CONTACT_US, CUSTOMER_SUPPORT, SURVEY, OTHER"`
		FlowJSON   string         `json:"flow_json,omitempty" maxLength:"1000000" doc:"The Flow JSON document as text"`
		Template   string         `json:"template,omitempty" maxLength:"100" doc:"A built-in form template (GET /whatsapp-flows/templates/)"`
		ChannelID  string         `json:"channel_id,omitempty" maxLength:"100" doc:"The WhatsApp channel whose business account gets the flow; it is created there at once"`
		Endpoint   map[string]any `json:"endpoint,omitempty"`
	}
}

func (a *runtimeAPI) waFlowCreate(ctx context.Context, in *WhatsAppFlowCreateInput) (*Body[WhatsAppFlowView], error) {
	b := in.Body
	var ep json.RawMessage
	if b.Endpoint != nil {
		ep, _ = json.Marshal(b.Endpoint)
	}
	f, err := a.s.deps.WhatsAppFlows.Create(ctx, waflow.CreateParams{ProjectID: principalFrom(ctx).ProjectID, Name: b.Name, Categories: b.Categories,
		JSON: b.FlowJSON, Template: b.Template, ChannelID: b.ChannelID, Endpoint: ep})
	if err != nil {
		return nil, err
	}
	return bodyOf(waFlowView(f)), nil
}

func (a *runtimeAPI) waFlowGet(ctx context.Context, in *WhatsAppFlowPath) (*Body[WhatsAppFlowView], error) {
	f, err := a.s.deps.WhatsAppFlows.Get(ctx, principalFrom(ctx).ProjectID, in.WAFlowID)
	if err != nil {
		return nil, err
	}
	return bodyOf(waFlowView(f)), nil
}

// WhatsAppFlowUpdateInput changes a WhatsApp Flow; absent fields stay. A
// published flow returns to DRAFT, as at Meta.
type WhatsAppFlowUpdateInput struct {
	WhatsAppFlowPath
	Body struct {
		Version    int            `json:"version,omitempty" doc:"The version read; a newer row answers 409"`
		Name       *string        `json:"name,omitempty" maxLength:"200"`
		Categories []string       `json:"categories,omitempty" maxItems:"8"`
		FlowJSON   *string        `json:"flow_json,omitempty" maxLength:"1000000"`
		ChannelID  *string        `json:"channel_id,omitempty" maxLength:"100"`
		Endpoint   map[string]any `json:"endpoint,omitempty"`
	}
}

func (a *runtimeAPI) waFlowUpdate(ctx context.Context, in *WhatsAppFlowUpdateInput) (*Body[WhatsAppFlowView], error) {
	b := in.Body
	var ep json.RawMessage
	if b.Endpoint != nil {
		ep, _ = json.Marshal(b.Endpoint)
	}
	f, err := a.s.deps.WhatsAppFlows.Update(ctx, waflow.UpdateParams{ProjectID: principalFrom(ctx).ProjectID, ID: in.WAFlowID, Version: b.Version,
		Name: b.Name, Categories: b.Categories, JSON: b.FlowJSON, ChannelID: b.ChannelID, Endpoint: ep})
	if err != nil {
		return nil, err
	}
	return bodyOf(waFlowView(f)), nil
}

func (a *runtimeAPI) waFlowDelete(ctx context.Context, in *WhatsAppFlowPath) (*struct{}, error) {
	return nil, a.s.deps.WhatsAppFlows.Delete(ctx, principalFrom(ctx).ProjectID, in.WAFlowID)
}

// waFlowAction is one lifecycle step of a flow.
func (a *runtimeAPI) waFlowAction(do func(*waflow.Service, context.Context, string, string) (store.WhatsAppFlow, error)) func(context.Context, *WhatsAppFlowPath) (*Body[WhatsAppFlowView], error) {
	return func(ctx context.Context, in *WhatsAppFlowPath) (*Body[WhatsAppFlowView], error) {
		f, err := do(a.s.deps.WhatsAppFlows, ctx, principalFrom(ctx).ProjectID, in.WAFlowID)
		if err != nil {
			return nil, err
		}
		return bodyOf(waFlowView(f)), nil
	}
}

// WhatsAppFlowCloneInput names the copy.
type WhatsAppFlowCloneInput struct {
	WhatsAppFlowPath
	Body *struct {
		Name string `json:"name,omitempty" maxLength:"200" doc:"Default: the name with (copy)"`
	}
}

func (a *runtimeAPI) waFlowClone(ctx context.Context, in *WhatsAppFlowCloneInput) (*Body[WhatsAppFlowView], error) {
	name := ""
	if in.Body != nil {
		name = in.Body.Name
	}
	f, err := a.s.deps.WhatsAppFlows.Clone(ctx, principalFrom(ctx).ProjectID, in.WAFlowID, name)
	if err != nil {
		return nil, err
	}
	return bodyOf(waFlowView(f)), nil
}

// WhatsAppFlowValidateInput is a Flow JSON document to check without
// storing it (the editor's markers).
type WhatsAppFlowValidateInput struct {
	Body struct {
		FlowJSON string `json:"flow_json" maxLength:"1000000"`
	}
}

// WhatsAppFlowValidateOutput is the validator's verdict.
type WhatsAppFlowValidateOutput struct {
	Valid  bool                  `json:"valid"`
	Errors []channel.FormProblem `json:"errors"`
}

func (a *runtimeAPI) waFlowValidate(ctx context.Context, in *WhatsAppFlowValidateInput) (*Body[WhatsAppFlowValidateOutput], error) {
	ps := a.s.deps.WhatsAppFlows.Validate([]byte(in.Body.FlowJSON))
	if ps == nil {
		ps = []channel.FormProblem{}
	}
	return bodyOf(WhatsAppFlowValidateOutput{Valid: len(ps) == 0, Errors: ps}), nil
}

// WhatsAppFlowTemplate is a built-in form to start from.
type WhatsAppFlowTemplate struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Categories  []string `json:"categories"`
	FlowJSON    string   `json:"flow_json"`
}

func (a *runtimeAPI) waFlowTemplates(ctx context.Context, _ *struct{}) (*ListOutput[WhatsAppFlowTemplate], error) {
	var out []WhatsAppFlowTemplate
	for _, t := range a.s.deps.WhatsAppFlows.Templates() {
		out = append(out, WhatsAppFlowTemplate{ID: t.ID, Name: t.Name, Description: t.Description, Categories: t.Categories, FlowJSON: t.JSON})
	}
	return listOf(store.List[WhatsAppFlowTemplate]{Items: out}), nil
}

// WhatsAppFlowKeysInput names the WhatsApp channel whose number gets a key.
type WhatsAppFlowKeysInput struct {
	Body struct {
		ChannelID string `json:"channel_id" minLength:"1" maxLength:"100"`
	}
}

// WhatsAppFlowKeysOutput is the uploaded public key (the private key never
// leaves the server).
type WhatsAppFlowKeysOutput struct {
	ChannelID string    `json:"channel_id"`
	PublicKey string    `json:"public_key"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *runtimeAPI) waFlowKeys(ctx context.Context, in *WhatsAppFlowKeysInput) (*Body[WhatsAppFlowKeysOutput], error) {
	k, err := a.s.deps.WhatsAppFlows.GenerateKey(ctx, principalFrom(ctx).ProjectID, in.Body.ChannelID)
	if err != nil {
		return nil, err
	}
	return bodyOf(WhatsAppFlowKeysOutput{ChannelID: k.ChannelID, PublicKey: k.PublicKey, CreatedAt: k.CreatedAt}), nil
}

// waFlowEndpoint is the data-exchange endpoint: Meta's client posts the
// encrypted request; waform answers (432 bad signature, 421 undecryptable,
// 427 dead token, else the encrypted answer as base64 text).
func (s *Server) waFlowEndpoint(w http.ResponseWriter, r *http.Request) {
	s.deps.WhatsAppFlows.Endpoint().Serve(w, r, r.PathValue("wa_flow_id"))
}
