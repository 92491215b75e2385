package chatflow

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// DraftProgram compiles a flow's working draft for the simulator, with the
// same project-aware checks publish applies. Drafts change on every save, so
// nothing is cached; a draft with lint errors cannot be simulated and the
// error lists every problem.
func (s *Service) DraftProgram(ctx context.Context, projectID, flowID string) (*flow.Program, error) {
	f, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return nil, err
	}
	g, err := decodeStored(f.Draft, "flow_data of flow "+f.ID)
	if err != nil {
		return nil, err
	}
	env := s.env(s.store, projectID)
	if err := env.load(ctx, g, f.StartTemplate); err != nil {
		return nil, err
	}
	for _, p := range lint(g, env, f.StartTemplate) {
		if p.Severity == flow.SeverityError {
			return nil, lintFailure(lint(g, env, f.StartTemplate), true)
		}
	}
	prog, err := flow.Compile(g, flow.CompileOptions{Env: frozenEnv{buttons: env.frozenButtons()}})
	if err != nil {
		return nil, fmt.Errorf("compiling the draft of flow %s: %w", flowID, err)
	}
	return prog, nil
}
