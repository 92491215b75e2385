package chatflow

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// CampaignFlow is a flow as a campaign's checklist sees it: the live
// revision's graph (the draft's before the first publish), linted with the
// project's templates and flows.
type CampaignFlow struct {
	Flow  store.Flow
	Facts flow.CampaignFacts
	// StartTemplate is the flow's start template ("" when none).
	StartTemplate string
}

// Campaign describes the flow for a campaign's checklist.
func (s *Service) Campaign(ctx context.Context, projectID, flowID string) (CampaignFlow, error) {
	f, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return CampaignFlow{}, err
	}
	raw, what := f.Draft, "draft of flow "+f.ID
	if f.LiveRevision > 0 {
		v, err := s.store.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: projectID, FlowID: flowID, Revision: f.LiveRevision})
		if err != nil {
			return CampaignFlow{}, fmt.Errorf("loading the live revision of flow %s: %w", f.ID, err)
		}
		raw, what = v.Graph, fmt.Sprintf("graph of revision %d of flow %s", f.LiveRevision, f.ID)
	}
	g, err := decodeStored(raw, what)
	if err != nil {
		return CampaignFlow{}, err
	}
	env := newEnv(s.store, projectID)
	if err := env.load(ctx, g, f.StartTemplate); err != nil {
		return CampaignFlow{}, err
	}
	return CampaignFlow{Flow: f, Facts: flow.Campaign(g, env), StartTemplate: f.StartTemplate}, nil
}
