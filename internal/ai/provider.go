// Package ai owns Parley's use of large language models: a project's
// providers (any endpoint speaking the OpenAI chat-completions API: OpenAI,
// Ollama, llama.cpp server, vLLM), the check of what a provider supports,
// and the chat-flow generator that drafts a flow from a description and
// repairs it with the linter's errors until it lints (docs/ai.md).
package ai

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
)

// JSON modes: how a provider is asked for structured output.
const (
	// JSONSchema sends response_format json_schema (OpenAI, Ollama ≥ 0.5,
	// llama.cpp server, vLLM).
	JSONSchema = "json_schema"
	// JSONObject sends response_format json_object and puts the schema in
	// the prompt, for servers that ignore or reject json_schema.
	JSONObject = "json_object"
)

// Limits and defaults of a provider's settings.
const (
	DefaultTimeoutSeconds = 120
	MaxTimeoutSeconds     = 900
	DefaultMaxTokens      = 8192
	MaxMaxTokens          = 200000
)

// ErrNoProvider is the problem every AI entry point answers while a project
// has no provider.
var ErrNoProvider = domain.Errorf(domain.CodeConflict,
	"no AI provider configured: add one under Settings → AI providers or with POST /ai/providers/ "+
		`(e.g. {"name":"local","base_url":"http://localhost:11434/v1","model":"qwen2.5:7b"} for Ollama; see docs/ai.md)`)

// Deps are what the service needs.
type Deps struct {
	Store store.Queries
	// Box seals API keys; nil refuses providers with a key.
	Box   *secret.Box
	Clock domain.Clock
	IDs   domain.IDGen
	// Flows gives the AI editor a flow's draft and the project's linter;
	// nil refuses edits.
	Flows Flows
	// Forms stores generated WhatsApp Flows; nil refuses them.
	Forms Forms
}

// Service manages a project's providers and talks to them.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }

// ProviderInput is what a caller sets on a provider. On update, a nil
// APIKey keeps the stored key and an empty one removes it.
type ProviderInput struct {
	Name           string
	BaseURL        string
	Model          string
	APIKey         *string
	JSONMode       string
	TimeoutSeconds int
	MaxTokens      int
}

func (in *ProviderInput) normalize() error {
	in.Name, in.BaseURL, in.Model = strings.TrimSpace(in.Name), strings.TrimSpace(in.BaseURL), strings.TrimSpace(in.Model)
	if in.Name == "" {
		return domain.Invalid("/name", "name is required")
	}
	u, err := url.Parse(in.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return domain.Invalid("/base_url", "base_url must be an http(s) URL such as http://localhost:11434/v1, got %q", in.BaseURL)
	}
	if in.Model == "" {
		return domain.Invalid("/model", "model is required (e.g. gpt-4o-mini, or qwen2.5:7b on Ollama)")
	}
	switch in.JSONMode {
	case "":
		in.JSONMode = JSONSchema
	case JSONSchema, JSONObject:
	default:
		return domain.Invalid("/json_mode", "json_mode must be %s or %s, got %q", JSONSchema, JSONObject, in.JSONMode)
	}
	switch {
	case in.TimeoutSeconds == 0:
		in.TimeoutSeconds = DefaultTimeoutSeconds
	case in.TimeoutSeconds < 1 || in.TimeoutSeconds > MaxTimeoutSeconds:
		return domain.Invalid("/timeout_seconds", "timeout_seconds must be within 1..%d", MaxTimeoutSeconds)
	}
	switch {
	case in.MaxTokens == 0:
		in.MaxTokens = DefaultMaxTokens
	case in.MaxTokens < 256 || in.MaxTokens > MaxMaxTokens:
		return domain.Invalid("/max_tokens", "max_tokens must be within 256..%d", MaxMaxTokens)
	}
	return nil
}

func (s *Service) seal(key string) (string, error) {
	if key == "" {
		return "", nil
	}
	if s.d.Box == nil {
		return "", domain.Errorf(domain.CodeUnavailable, "this server has no secret key to seal an API key with")
	}
	sealed, err := s.d.Box.Seal(key)
	if err != nil {
		return "", fmt.Errorf("sealing the API key: %w", err)
	}
	return sealed, nil
}

// Create adds a provider to a project.
func (s *Service) Create(ctx context.Context, projectID string, in ProviderInput) (store.AIProvider, error) {
	if err := in.normalize(); err != nil {
		return store.AIProvider{}, err
	}
	now := s.d.Clock.Now()
	p := store.AIProvider{ID: s.d.IDs.NewID(), ProjectID: projectID, Name: in.Name, BaseURL: in.BaseURL, Model: in.Model,
		JSONMode: in.JSONMode, TimeoutSeconds: in.TimeoutSeconds, MaxTokens: in.MaxTokens, CreatedAt: now, UpdatedAt: now}
	if in.APIKey != nil {
		sealed, err := s.seal(*in.APIKey)
		if err != nil {
			return p, err
		}
		p.APIKeySealed = sealed
	}
	return s.d.Store.AIProviderCreate(ctx, p)
}

// Update changes a provider.
func (s *Service) Update(ctx context.Context, r store.Ref, in ProviderInput) (store.AIProvider, error) {
	if err := in.normalize(); err != nil {
		return store.AIProvider{}, err
	}
	p, err := s.d.Store.AIProviderGet(ctx, r)
	if err != nil {
		return p, err
	}
	p.Name, p.BaseURL, p.Model, p.JSONMode, p.TimeoutSeconds, p.MaxTokens = in.Name, in.BaseURL, in.Model, in.JSONMode, in.TimeoutSeconds, in.MaxTokens
	if in.APIKey != nil {
		if p.APIKeySealed, err = s.seal(*in.APIKey); err != nil {
			return p, err
		}
	}
	p.UpdatedAt = s.d.Clock.Now()
	return s.d.Store.AIProviderUpdate(ctx, p)
}

// Get returns a provider.
func (s *Service) Get(ctx context.Context, r store.Ref) (store.AIProvider, error) {
	return s.d.Store.AIProviderGet(ctx, r)
}

// Delete removes a provider.
func (s *Service) Delete(ctx context.Context, r store.Ref) error {
	return s.d.Store.AIProviderDelete(ctx, r)
}

// List returns a project's providers, the default (oldest) first.
func (s *Service) List(ctx context.Context, projectID string) ([]store.AIProvider, error) {
	return s.d.Store.AIProviderList(ctx, projectID)
}

// Pick returns the provider a generation uses: the one named, or the
// project's first; ErrNoProvider when it has none.
func (s *Service) Pick(ctx context.Context, projectID, id string) (store.AIProvider, error) {
	if id != "" {
		return s.d.Store.AIProviderGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	}
	l, err := s.d.Store.AIProviderList(ctx, projectID)
	if err != nil {
		return store.AIProvider{}, err
	}
	if len(l) == 0 {
		return store.AIProvider{}, ErrNoProvider
	}
	return l[0], nil
}

// timeout is the provider's per-call limit.
func timeout(p store.AIProvider) time.Duration {
	if p.TimeoutSeconds <= 0 {
		return DefaultTimeoutSeconds * time.Second
	}
	return time.Duration(p.TimeoutSeconds) * time.Second
}
