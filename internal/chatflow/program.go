package chatflow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// Program returns the compiled program of a published revision. Revisions
// are immutable, so programs are cached by (project, flow, revision) and
// compiled at most once per process while they stay in the cache.
func (s *Service) Program(ctx context.Context, projectID, flowID string, revision int) (*flow.Program, error) {
	key := programKey{projectID, flowID, revision}
	if p, ok := s.programs.Get(key); ok {
		return p, nil
	}
	v, err := s.store.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: projectID, FlowID: flowID, Revision: revision})
	if err != nil {
		return nil, err
	}
	g, err := decodeStored(v.Graph, fmt.Sprintf("graph of revision %d of flow %s", revision, flowID))
	if err != nil {
		return nil, err
	}
	var settings Settings
	if err := json.Unmarshal(v.Settings, &settings); err != nil {
		return nil, fmt.Errorf("decoding the settings of revision %d of flow %s: %w", revision, flowID, err)
	}
	p, err := flow.Compile(g, flow.CompileOptions{Env: frozenEnv{buttons: settings.TemplateButtons}})
	if err != nil {
		return nil, fmt.Errorf("compiling revision %d of flow %s: %w", revision, flowID, err)
	}
	s.programs.Put(key, p)
	return p, nil
}

type programKey struct {
	projectID, flowID string
	revision          int
}
