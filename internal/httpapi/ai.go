package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// AIProviderView is an LLM provider; its API key is never returned.
type AIProviderView struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	BaseURL        string    `json:"base_url" doc:"The API root, e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama)"`
	Model          string    `json:"model"`
	HasAPIKey      bool      `json:"has_api_key" doc:"Whether a key is stored (sealed; never returned)"`
	JSONMode       string    `json:"json_mode" enum:"json_schema,json_object"`
	TimeoutSeconds int       `json:"timeout_seconds"`
	MaxTokens      int       `json:"max_tokens"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func aiProviderView(p store.AIProvider) AIProviderView {
	return AIProviderView{ID: p.ID, Name: p.Name, BaseURL: p.BaseURL, Model: p.Model, HasAPIKey: p.APIKeySealed != "", JSONMode: p.JSONMode,
		TimeoutSeconds: p.TimeoutSeconds, MaxTokens: p.MaxTokens, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// AIProviderBody sets a provider.
type AIProviderBody struct {
	Name           string  `json:"name" maxLength:"100"`
	BaseURL        string  `json:"base_url" maxLength:"2000" doc:"The API root, e.g. http://localhost:11434/v1 for Ollama"`
	Model          string  `json:"model" maxLength:"200"`
	APIKey         *string `json:"api_key,omitempty" maxLength:"1000" doc:"Sealed at rest, never returned; on update, absent keeps the stored key and empty removes it"`
	JSONMode       string  `json:"json_mode,omitempty" enum:"json_schema,json_object," doc:"json_schema (default: OpenAI, Ollama, llama.cpp, vLLM) or json_object (the schema goes in the prompt)"`
	TimeoutSeconds int     `json:"timeout_seconds,omitempty" doc:"Per call, 1..900; default 120"`
	MaxTokens      int     `json:"max_tokens,omitempty" doc:"256..200000; default 8192"`
}

func (b AIProviderBody) input() ai.ProviderInput {
	return ai.ProviderInput{Name: b.Name, BaseURL: b.BaseURL, Model: b.Model, APIKey: b.APIKey, JSONMode: b.JSONMode,
		TimeoutSeconds: b.TimeoutSeconds, MaxTokens: b.MaxTokens}
}

// AIProviderCreateInput creates a provider.
type AIProviderCreateInput struct {
	Body AIProviderBody
}

// AIProviderPath names a provider.
type AIProviderPath struct {
	ProviderID string `path:"provider_id" maxLength:"100"`
}

// AIProviderUpdateInput changes a provider.
type AIProviderUpdateInput struct {
	AIProviderPath
	Body AIProviderBody
}

type aiAPI struct{ s *Server }

func (a aiAPI) ref(ctx context.Context, id string) store.Ref {
	return store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: id}
}

func (a aiAPI) list(ctx context.Context, _ *struct{}) (*ListOutput[AIProviderView], error) {
	l, err := a.s.deps.AI.List(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	out := store.List[AIProviderView]{Items: make([]AIProviderView, len(l))}
	for i, p := range l {
		out.Items[i] = aiProviderView(p)
	}
	return listOf(out), nil
}

func (a aiAPI) create(ctx context.Context, in *AIProviderCreateInput) (*Body[AIProviderView], error) {
	p, err := a.s.deps.AI.Create(ctx, principalFrom(ctx).ProjectID, in.Body.input())
	if err != nil {
		return nil, err
	}
	return bodyOf(aiProviderView(p)), nil
}

func (a aiAPI) get(ctx context.Context, in *AIProviderPath) (*Body[AIProviderView], error) {
	p, err := a.s.deps.AI.Get(ctx, a.ref(ctx, in.ProviderID))
	if err != nil {
		return nil, err
	}
	return bodyOf(aiProviderView(p)), nil
}

func (a aiAPI) update(ctx context.Context, in *AIProviderUpdateInput) (*Body[AIProviderView], error) {
	p, err := a.s.deps.AI.Update(ctx, a.ref(ctx, in.ProviderID), in.Body.input())
	if err != nil {
		return nil, err
	}
	return bodyOf(aiProviderView(p)), nil
}

func (a aiAPI) remove(ctx context.Context, in *AIProviderPath) (*struct{}, error) {
	return nil, a.s.deps.AI.Delete(ctx, a.ref(ctx, in.ProviderID))
}

func (a aiAPI) check(ctx context.Context, in *AIProviderPath) (*Body[ai.CheckResult], error) {
	r, err := a.s.deps.AI.Check(ctx, a.ref(ctx, in.ProviderID))
	if err != nil {
		return nil, err
	}
	return bodyOf(r), nil
}

// AIFlowGenerateInput asks for a chat-flow draft.
type AIFlowGenerateInput struct {
	Body struct {
		Description  string         `json:"description,omitempty" maxLength:"8000" doc:"What the flow should do, in words"`
		Outline      string         `json:"outline,omitempty" maxLength:"20000" doc:"YAML steps, instead of or with a description"`
		Trigger      map[string]any `json:"trigger,omitempty" doc:"The start node's trigger, used as given (e.g. {\"type\":\"keyword\",\"keywords\":[\"book\"]})"`
		ChannelTypes []string       `json:"channel_types,omitempty" maxItems:"8"`
		Language     string         `json:"language,omitempty" maxLength:"50"`
		ProviderID   string         `json:"provider_id,omitempty" maxLength:"100" doc:"Default: the project's first provider"`
	}
}

// aiGenerate streams a generation as server-sent events: "progress"
// events, then one "draft" event (the result) or one "error" event (a
// problem document). Problems found before the stream starts (no
// provider, no description) are answered as ordinary problems.
func (a aiAPI) generate(ctx context.Context, in *AIFlowGenerateInput) (*huma.StreamResponse, error) {
	b := in.Body
	p := ai.GenerateParams{ProjectID: principalFrom(ctx).ProjectID, ProviderID: b.ProviderID, Description: b.Description, Outline: b.Outline,
		Trigger: b.Trigger, ChannelTypes: b.ChannelTypes, Language: b.Language}
	if err := a.s.deps.AI.Ready(ctx, p); err != nil {
		return nil, err
	}
	return a.stream("draft", func(ctx context.Context, progress func(ai.Progress)) (any, error) {
		return a.s.deps.AI.Generate(ctx, p, progress)
	}), nil
}

// stream answers a model-calling route as server-sent events: "progress"
// events, then one result event named event, or one "error" event (a
// problem document) when run fails.
func (a aiAPI) stream(event string, run func(ctx context.Context, progress func(ai.Progress)) (any, error)) *huma.StreamResponse {
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "text/event-stream")
		hctx.SetHeader("Cache-Control", "no-cache")
		hctx.SetStatus(http.StatusOK)
		w := hctx.BodyWriter()
		rw, _ := w.(http.ResponseWriter)
		// The server's write timeout (60 s) is shorter than a local
		// model's answer: each event moves the deadline past the longest
		// a provider call may take (the service bounds every call).
		extend, flush := func() {}, func() {}
		if rw != nil {
			rc := http.NewResponseController(rw)
			extend = func() { _ = rc.SetWriteDeadline(time.Now().Add((ai.MaxTimeoutSeconds + 60) * time.Second)) }
			flush = func() { _ = rc.Flush() }
		}
		extend()
		send := func(event string, v any) {
			data, _ := json.Marshal(v)
			extend()
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
			flush()
		}
		res, err := run(hctx.Context(), func(pr ai.Progress) { send("progress", pr) })
		if err != nil {
			// A provider's failure is shown as the provider said it (never
			// an opaque "internal error"): the user has to act on it.
			code := domain.CodeOf(err)
			msg := err.Error()
			var de *domain.Error
			if errors.As(err, &de) {
				msg = de.Message
			}
			if code == domain.CodeInternal {
				loggerFrom(hctx.Context()).Error("AI request failed", "event", event, "err", err)
				msg = "internal error"
			}
			send("error", &Problem{Status: statusOf(code), Code: string(code), Detail: msg})
			return
		}
		send(event, res)
	}}
}

// AIFlowEditInput asks for a change to a flow's draft.
type AIFlowEditInput struct {
	FlowPath
	Body struct {
		Instruction string `json:"instruction" maxLength:"8000" doc:"What to change, in words"`
		ProviderID  string `json:"provider_id,omitempty" maxLength:"100" doc:"Default: the project's first provider"`
	}
}

// aiEdit streams a proposal: an edit script applied to the draft, linted,
// with its diff. Nothing is saved; the client applies it with PUT
// /chat-flow/flows/{flow_id}/ and the proposal's base_version.
func (a aiAPI) edit(ctx context.Context, in *AIFlowEditInput) (*huma.StreamResponse, error) {
	p := ai.EditParams{ProjectID: principalFrom(ctx).ProjectID, ProviderID: in.Body.ProviderID, FlowID: in.FlowID, Instruction: in.Body.Instruction}
	if err := a.s.deps.AI.ReadyEdit(ctx, p); err != nil {
		return nil, err
	}
	return a.stream("proposal", func(ctx context.Context, progress func(ai.Progress)) (any, error) {
		return a.s.deps.AI.Edit(ctx, p, progress)
	}), nil
}

// AIFormGenerateInput asks for a WhatsApp Flow from a description.
type AIFormGenerateInput struct {
	Body struct {
		Description string   `json:"description" maxLength:"8000" doc:"What the form asks, in words"`
		Name        string   `json:"name,omitempty" maxLength:"200" doc:"Default: the model's name"`
		Categories  []string `json:"categories,omitempty" maxItems:"8" doc:"Default: the model's choice among Meta's categories"`
		ProviderID  string   `json:"provider_id,omitempty" maxLength:"100"`
		ChannelID   string   `json:"channel_id,omitempty" maxLength:"100" doc:"Stored on the draft; nothing is sent to Meta until you sync or publish"`
	}
}

// AIFormResult is a generated or changed WhatsApp Flow: saved (flow) when
// status is ready, otherwise the best attempt with its problems, unsaved.
type AIFormResult struct {
	ai.FormResult
	Flow *WhatsAppFlowView `json:"flow"`
}

func formResult(r ai.FormResult) AIFormResult {
	out := AIFormResult{FormResult: r}
	if r.Flow != nil {
		v := waFlowView(*r.Flow)
		out.Flow = &v
	}
	return out
}

func (a aiAPI) formGenerate(ctx context.Context, in *AIFormGenerateInput) (*huma.StreamResponse, error) {
	b := in.Body
	p := ai.FormGenerateParams{ProjectID: principalFrom(ctx).ProjectID, ProviderID: b.ProviderID, Description: b.Description, Name: b.Name,
		Categories: b.Categories, ChannelID: b.ChannelID}
	if err := a.s.deps.AI.ReadyForm(ctx, p); err != nil {
		return nil, err
	}
	return a.stream("whatsapp_flow", func(ctx context.Context, progress func(ai.Progress)) (any, error) {
		r, err := a.s.deps.AI.GenerateForm(ctx, p, progress)
		return formResult(r), err
	}), nil
}

// AIFormUpdateInput asks for a change to a WhatsApp Flow.
type AIFormUpdateInput struct {
	WhatsAppFlowPath
	Body struct {
		Instruction string `json:"instruction" maxLength:"8000" doc:"What to change, in words"`
		ProviderID  string `json:"provider_id,omitempty" maxLength:"100"`
	}
}

func (a aiAPI) formUpdate(ctx context.Context, in *AIFormUpdateInput) (*huma.StreamResponse, error) {
	p := ai.FormUpdateParams{ProjectID: principalFrom(ctx).ProjectID, ProviderID: in.Body.ProviderID, ID: in.WAFlowID, Instruction: in.Body.Instruction}
	if err := a.s.deps.AI.ReadyFormUpdate(ctx, p); err != nil {
		return nil, err
	}
	return a.stream("whatsapp_flow", func(ctx context.Context, progress func(ai.Progress)) (any, error) {
		r, err := a.s.deps.AI.UpdateForm(ctx, p, progress)
		return formResult(r), err
	}), nil
}

func (a aiAPI) formCheck(ctx context.Context, in *WhatsAppFlowPath) (*Body[ai.FormCheck], error) {
	r, err := a.s.deps.AI.CheckForm(ctx, principalFrom(ctx).ProjectID, in.WAFlowID)
	if err != nil {
		return nil, err
	}
	return bodyOf(r), nil
}
