package store

import (
	"context"
	"time"
)

// AIProviders are the repository methods of a project's LLM providers.
type AIProviders interface {
	// AIProviderCreate stores a new provider; the name is unique per
	// project (ErrConflict otherwise).
	AIProviderCreate(ctx context.Context, p AIProvider) (AIProvider, error)
	AIProviderGet(ctx context.Context, r Ref) (AIProvider, error)
	// AIProviderUpdate writes every mutable field of p.
	AIProviderUpdate(ctx context.Context, p AIProvider) (AIProvider, error)
	AIProviderDelete(ctx context.Context, r Ref) error
	// AIProviderList lists a project's providers, oldest first (the first
	// is the project's default).
	AIProviderList(ctx context.Context, projectID string) ([]AIProvider, error)
}

// AIProvider is an LLM endpoint speaking the OpenAI chat-completions API.
type AIProvider struct {
	ID        string
	ProjectID string
	Name      string
	// BaseURL is the API root, e.g. https://api.openai.com/v1 or
	// http://localhost:11434/v1 for Ollama.
	BaseURL string
	Model   string
	// APIKeySealed is the API key sealed with the server's key; empty
	// when the endpoint needs none (local servers).
	APIKeySealed string
	// JSONMode is how structured output is asked for: json_schema or
	// json_object (the schema then goes in the prompt).
	JSONMode       string
	TimeoutSeconds int
	MaxTokens      int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}
