package voice

import (
	"context"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/store"
)

// ProviderModel is a project's LLM provider bound to the AI service: the
// Model a call's agent, a simulated persona and the classifier talk to.
type ProviderModel struct {
	AI       *ai.Service
	Provider store.AIProvider
}

// Complete implements Model.
func (m ProviderModel) Complete(ctx context.Context, req ai.Request) (ai.Completion, error) {
	return m.AI.Complete(ctx, m.Provider, req)
}
