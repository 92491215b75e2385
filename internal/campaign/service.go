// Package campaign owns campaigns: a published flow run once for every
// valid row of a dataset, on the campaign's channels, in batches, inside
// each contact's sending window. It keeps the campaign's status machine,
// the pre-flight checklist, executions (pause, resume, stop) and the
// Runner that starts rows through the conversation service — exactly once
// per row per campaign: a row's claim commits in the transaction that
// queues its start.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"

	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Flows describes a flow for the checklist (chatflow.Service).
type Flows interface {
	Campaign(ctx context.Context, projectID, flowID string) (chatflow.CampaignFlow, error)
}

// Starter starts campaign rows (conversation.Service).
type Starter interface {
	StartRows(ctx context.Context, p conversation.RowsStartParams) ([]conversation.RowStarted, error)
}

// Limiters gives a channel's send pacer, nil when it has none
// (channels.Service).
type Limiters interface {
	Limiter(ctx context.Context, ch domain.Channel) *ratelimit.Limiter
}

// Deps are what the service works with.
type Deps struct {
	Store    store.Store
	Flows    Flows
	Starter  Starter
	Limiters Limiters
	Clock    domain.Clock
	IDs      domain.IDGen
	Logger   *slog.Logger
	// Tick is how often the runner looks for due batches (default 200 ms).
	Tick time.Duration
	// Events records campaign.progress for event webhooks in the
	// transaction that changes an execution's status or counts; nil
	// records none.
	Events *eventhook.Recorder
}

// Service manages campaigns and runs their executions.
type Service struct {
	d Deps
	*Runner
}

// New returns a Service; its Runner starts with Start.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Tick <= 0 {
		d.Tick = 200 * time.Millisecond
	}
	s := &Service{d: d}
	s.Runner = newRunner(s)
	return s
}

// Input is a campaign's editable settings.
type Input struct {
	Name        string
	Description string
	FlowID      string
	ChannelIDs  []string
	DatasetIDs  []string
	StartAt     *time.Time
	EndAt       *time.Time
}

// check validates in against the project: referenced rows exist.
func (s *Service) check(ctx context.Context, projectID string, in *Input) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return domain.Invalid("/name", "give the campaign a name")
	}
	if len(in.Name) > 200 {
		return domain.Invalid("/name", "the name is %d characters; the limit is 200", len(in.Name))
	}
	if len(in.Description) > 2000 {
		return domain.Invalid("/description", "the description is %d characters; the limit is 2000", len(in.Description))
	}
	if in.FlowID != "" {
		if _, err := s.d.Store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: in.FlowID}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return domain.Invalid("/flow_id", "flow %q not found; pick one from GET /chat-flow/flows/", in.FlowID)
			}
			return err
		}
	}
	seen := map[string]bool{}
	for i, id := range in.ChannelIDs {
		if seen[id] {
			return domain.Invalid(fmt.Sprintf("/channel_ids/%d", i), "channel %q is listed twice", id)
		}
		seen[id] = true
		if _, err := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: id}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return domain.Invalid(fmt.Sprintf("/channel_ids/%d", i), "channel %q not found; list channels with GET /channels/", id)
			}
			return err
		}
	}
	for i, id := range in.DatasetIDs {
		if seen[id] {
			return domain.Invalid(fmt.Sprintf("/dataset_ids/%d", i), "dataset %q is listed twice", id)
		}
		seen[id] = true
		if _, err := s.d.Store.DatasetGet(ctx, store.Ref{ProjectID: projectID, ID: id}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return domain.Invalid(fmt.Sprintf("/dataset_ids/%d", i), "dataset %q not found; upload one with POST /datasets/", id)
			}
			return err
		}
	}
	if in.StartAt != nil && in.EndAt != nil && !in.EndAt.After(*in.StartAt) {
		return domain.Invalid("/end_at", "the end (%s) must be after the start (%s)", in.EndAt.Format(time.RFC3339), in.StartAt.Format(time.RFC3339))
	}
	if in.ChannelIDs == nil {
		in.ChannelIDs = []string{}
	}
	if in.DatasetIDs == nil {
		in.DatasetIDs = []string{}
	}
	return nil
}

// Create stores a draft campaign.
func (s *Service) Create(ctx context.Context, projectID string, in Input) (store.Campaign, error) {
	if err := s.check(ctx, projectID, &in); err != nil {
		return store.Campaign{}, err
	}
	now := s.d.Clock.Now()
	return s.d.Store.CampaignCreate(ctx, store.Campaign{ID: s.d.IDs.NewID(), ProjectID: projectID, Name: in.Name, Description: in.Description,
		Status: store.CampaignDraft, FlowID: in.FlowID, ChannelIDs: in.ChannelIDs, DatasetIDs: in.DatasetIDs, StartAt: utc(in.StartAt), EndAt: utc(in.EndAt),
		CreatedAt: now, UpdatedAt: now})
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Update changes a campaign's settings if version is current. While it
// runs (active or paused) only its name, description and end may change.
func (s *Service) Update(ctx context.Context, projectID, id string, version int64, in Input) (store.Campaign, error) {
	c, err := s.d.Store.CampaignGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return c, err
	}
	if err := s.check(ctx, projectID, &in); err != nil {
		return c, err
	}
	if c.Status == store.CampaignActive || c.Status == store.CampaignPaused {
		if in.FlowID != c.FlowID || !slices.Equal(in.ChannelIDs, c.ChannelIDs) || !slices.Equal(in.DatasetIDs, c.DatasetIDs) || !sameTime(in.StartAt, c.StartAt) {
			return c, domain.Errorf(domain.CodeConflict, "the campaign is %s: its flow, channels, datasets and start cannot change; stop it first", c.Status)
		}
	}
	c.Name, c.Description, c.FlowID, c.ChannelIDs, c.DatasetIDs, c.StartAt, c.EndAt = in.Name, in.Description, in.FlowID, in.ChannelIDs, in.DatasetIDs,
		utc(in.StartAt), utc(in.EndAt)
	c.Version, c.UpdatedAt = version, s.d.Clock.Now()
	return s.d.Store.CampaignUpdate(ctx, c)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// Delete removes a campaign that is not running.
func (s *Service) Delete(ctx context.Context, projectID, id string) error {
	c, err := s.d.Store.CampaignGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return err
	}
	if c.Status == store.CampaignActive || c.Status == store.CampaignPaused {
		return domain.Errorf(domain.CodeConflict, "the campaign is %s; stop it before deleting it", c.Status)
	}
	return s.d.Store.CampaignDelete(ctx, store.Ref{ProjectID: projectID, ID: id})
}

// transitions are the campaign statuses each status may move to.
var transitions = map[string][]string{
	store.CampaignDraft:     {store.CampaignActive},
	store.CampaignActive:    {store.CampaignPaused, store.CampaignStopped, store.CampaignCompleted},
	store.CampaignPaused:    {store.CampaignActive, store.CampaignStopped, store.CampaignCompleted},
	store.CampaignStopped:   {store.CampaignActive},
	store.CampaignCompleted: {},
}

// CanMove reports whether a campaign may go from one status to another,
// and why not.
func CanMove(from, to string) error {
	if slices.Contains(transitions[from], to) {
		return nil
	}
	allowed := transitions[from]
	if len(allowed) == 0 {
		return domain.Errorf(domain.CodeConflict, "the campaign is %s; it cannot become %s (a completed campaign is final — create a new one)", from, to)
	}
	return domain.Errorf(domain.CodeConflict, "the campaign is %s; it cannot become %s (from %s it can become %s)", from, to, from, strings.Join(allowed, " or "))
}

// move sets the campaign's status in q, enforcing the transitions.
func (s *Service) move(ctx context.Context, q store.Queries, projectID, id, to, reason string) error {
	c, err := q.CampaignGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return err
	}
	if c.Status == to {
		return nil
	}
	if err := CanMove(c.Status, to); err != nil {
		return err
	}
	c.Status, c.StatusReason, c.UpdatedAt = to, reason, s.d.Clock.Now()
	_, err = q.CampaignUpdate(ctx, c)
	return err
}

// ExecutionInput are an execution's settings as asked.
type ExecutionInput struct {
	DatasetID string
	store.ExecutionSettings
	// Set says which fields were given (the rest take defaults).
	BatchSizeSet, DelaySet, FailureRateSet bool
}

// Defaults of an execution.
const (
	DefaultBatchSize      = 100
	DefaultBatchDelay     = 1.0
	DefaultMaxFailureRate = 0.5
)

func checkSettings(in *ExecutionInput) error {
	st := &in.ExecutionSettings
	if !in.BatchSizeSet {
		st.BatchSize = DefaultBatchSize
	}
	if !in.DelaySet {
		st.BatchDelaySeconds = DefaultBatchDelay
	}
	if !in.FailureRateSet {
		st.MaxFailureRate = DefaultMaxFailureRate
	}
	if st.BatchSize < 1 || st.BatchSize > 10000 {
		return domain.Invalid("/batch_size", "batch_size must be 1 to 10000, not %d", st.BatchSize)
	}
	if st.BatchDelaySeconds < 0 || st.BatchDelaySeconds > 3600 {
		return domain.Invalid("/batch_delay_seconds", "batch_delay_seconds must be 0 to 3600, not %g", st.BatchDelaySeconds)
	}
	if st.MaxFailureRate < 0 || st.MaxFailureRate > 1 {
		return domain.Invalid("/max_failure_rate", "max_failure_rate is a fraction from 0 to 1 (0.2 = 20 %%), not %g", st.MaxFailureRate)
	}
	return checkWindow(&st.SendWindow)
}

// CreateExecution checks the campaign and starts an execution over a
// dataset: its valid rows not yet taken by the campaign, and the rows an
// earlier execution left.
func (s *Service) CreateExecution(ctx context.Context, projectID, campaignID string, in ExecutionInput) (store.Execution, error) {
	if err := checkSettings(&in); err != nil {
		return store.Execution{}, err
	}
	c, err := s.d.Store.CampaignGet(ctx, store.Ref{ProjectID: projectID, ID: campaignID})
	if err != nil {
		return store.Execution{}, err
	}
	if in.DatasetID == "" && len(c.DatasetIDs) > 0 {
		in.DatasetID = c.DatasetIDs[0]
	}
	if in.DatasetID == "" {
		return store.Execution{}, domain.Invalid("/dataset_id", "the campaign has no dataset; upload one and add it to the campaign")
	}
	if !slices.Contains(c.DatasetIDs, in.DatasetID) {
		return store.Execution{}, domain.Invalid("/dataset_id", "dataset %q is not one of the campaign's datasets; add it to the campaign first", in.DatasetID)
	}
	if err := CanMove(c.Status, store.CampaignActive); err != nil {
		return store.Execution{}, err
	}
	cl, err := s.Checklist(ctx, projectID, campaignID, in.DatasetID)
	if err != nil {
		return store.Execution{}, err
	}
	if !cl.Ready {
		e := domain.Errorf(domain.CodeConflict, "the campaign is not ready to start; fix the failed checklist items")
		for _, it := range cl.Items {
			if !it.OK {
				e.Fields = append(e.Fields, domain.FieldError{Code: it.ID, Message: it.Message + " — " + it.Fix})
			}
		}
		return store.Execution{}, e
	}
	now := s.d.Clock.Now()
	// Due at once: the runner takes the rows now and starts none before
	// the campaign's start date.
	next := now
	e := store.Execution{ID: s.d.IDs.NewID(), ProjectID: projectID, CampaignID: campaignID, DatasetID: in.DatasetID, Status: store.ExecutionRunning,
		Settings: in.ExecutionSettings, Stats: store.ExecutionStats{FailedByReason: map[string]int64{}, UpdatedAt: now, ChecksSince: now},
		NextBatchAt: next, CreatedAt: now, UpdatedAt: now}
	err = s.d.Store.InTx(ctx, func(q store.Queries) error {
		l, err := q.ExecutionList(ctx, store.ExecutionListParams{ProjectID: projectID, CampaignID: campaignID, Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			return err
		}
		for _, other := range l.Items {
			if other.Status == store.ExecutionRunning || other.Status == store.ExecutionPaused {
				return domain.Errorf(domain.CodeConflict, "execution %s is %s; stop it before starting another", other.ID, other.Status)
			}
		}
		if err := s.move(ctx, q, projectID, campaignID, store.CampaignActive, ""); err != nil {
			return err
		}
		e, err = q.ExecutionCreate(ctx, store.ExecutionCreateParams{Execution: e})
		return err
	})
	if err != nil {
		return e, err
	}
	s.Runner.wake()
	return e, nil
}

// statsBudget bounds recomputing a finished execution's counts on a read.
const statsBudget = 3 * time.Second

// Execution returns an execution with its counts (refreshed when the
// snapshot is older than a few seconds and the runner is not refreshing
// it).
func (s *Service) Execution(ctx context.Context, projectID, campaignID, id string) (store.Execution, error) {
	e, err := s.d.Store.ExecutionGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return e, err
	}
	if e.CampaignID != campaignID {
		return e, domain.NotFound("execution", id)
	}
	// A running execution's snapshot is the runner's (every 2 s). A
	// finished one's statuses still arrive: a stale snapshot is recomputed
	// here, within a bound, and the old one served if that is too slow.
	if e.Status != store.ExecutionRunning && s.d.Clock.Now().Sub(e.Stats.UpdatedAt) > staleStats {
		sctx, cancel := context.WithTimeout(ctx, statsBudget)
		defer cancel()
		if st, err := s.stats(sctx, e); err == nil {
			e.Stats = st
		} else if ctx.Err() != nil {
			return e, ctx.Err()
		}
	}
	return e, nil
}

// Executions lists a campaign's executions, newest first.
func (s *Service) Executions(ctx context.Context, projectID, campaignID string, page store.Page) (store.List[store.Execution], error) {
	if _, err := s.d.Store.CampaignGet(ctx, store.Ref{ProjectID: projectID, ID: campaignID}); err != nil {
		return store.List[store.Execution]{}, err
	}
	return s.d.Store.ExecutionList(ctx, store.ExecutionListParams{ProjectID: projectID, CampaignID: campaignID, Page: page})
}

// PauseExecution stops new starts; in-flight sends finish.
func (s *Service) PauseExecution(ctx context.Context, projectID, campaignID, id, reason string) (store.Execution, error) {
	if reason == "" {
		reason = "paused by a person"
	}
	return s.setExecution(ctx, projectID, campaignID, id, store.ExecutionPaused, reason)
}

// ResumeExecution lets a paused execution start rows again.
func (s *Service) ResumeExecution(ctx context.Context, projectID, campaignID, id string) (store.Execution, error) {
	return s.setExecution(ctx, projectID, campaignID, id, store.ExecutionRunning, "")
}

// StopExecution ends an execution; its unstarted rows stay queued for a
// later one.
func (s *Service) StopExecution(ctx context.Context, projectID, campaignID, id string) (store.Execution, error) {
	return s.setExecution(ctx, projectID, campaignID, id, store.ExecutionStopped, "stopped by a person")
}

// executionMoves are the execution statuses each may move to.
var executionMoves = map[string][]string{
	store.ExecutionRunning: {store.ExecutionPaused, store.ExecutionStopped, store.ExecutionCompleted},
	store.ExecutionPaused:  {store.ExecutionRunning, store.ExecutionStopped, store.ExecutionCompleted},
}

// campaignStatusOf is the campaign status an execution status gives.
var campaignStatusOf = map[string]string{
	store.ExecutionRunning:   store.CampaignActive,
	store.ExecutionPaused:    store.CampaignPaused,
	store.ExecutionStopped:   store.CampaignStopped,
	store.ExecutionCompleted: store.CampaignCompleted,
}

// setExecution moves an execution and its campaign together.
func (s *Service) setExecution(ctx context.Context, projectID, campaignID, id, to, reason string) (store.Execution, error) {
	var out store.Execution
	err := s.d.Store.InTx(ctx, func(q store.Queries) error {
		// Locked: the runner's batch (its schedule, its starts' count)
		// commits before this reads the status and counts the rows, and
		// none after (ExecutionCountStarts refuses a paused execution).
		e, err := q.ExecutionLock(ctx, store.Ref{ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if e.CampaignID != campaignID {
			return domain.NotFound("execution", id)
		}
		out, err = s.moveExecution(ctx, q, e, to, reason)
		return err
	})
	if err == nil && to == store.ExecutionRunning {
		s.Runner.wake()
	}
	return out, err
}

// datasetsLeft are the campaign's datasets no execution has run.
func (s *Service) datasetsLeft(ctx context.Context, q store.Queries, e store.Execution) ([]string, error) {
	c, err := q.CampaignGet(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.CampaignID})
	if err != nil {
		return nil, err
	}
	l, err := q.ExecutionList(ctx, store.ExecutionListParams{ProjectID: e.ProjectID, CampaignID: e.CampaignID, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	ran := map[string]bool{e.DatasetID: true}
	for _, x := range l.Items {
		ran[x.DatasetID] = true
	}
	var left []string
	for _, id := range c.DatasetIDs {
		if !ran[id] {
			left = append(left, id)
		}
	}
	return left, nil
}

// moveExecution moves e (and its campaign) to status to, in q.
func (s *Service) moveExecution(ctx context.Context, q store.Queries, e store.Execution, to, reason string) (store.Execution, error) {
	if !slices.Contains(executionMoves[e.Status], to) {
		verb := map[string]string{store.ExecutionPaused: "paused", store.ExecutionRunning: "resumed", store.ExecutionStopped: "stopped", store.ExecutionCompleted: "completed"}[to]
		return e, domain.Errorf(domain.CodeConflict, "the execution is %s; it cannot be %s", e.Status, verb)
	}
	now := s.d.Clock.Now()
	cstatus, creason := campaignStatusOf[to], reason
	if to == store.ExecutionCompleted && !strings.Contains(reason, "end date") {
		// A campaign completes when every dataset has run; until then it
		// waits, stopped, for the next execution.
		left, err := s.datasetsLeft(ctx, q, e)
		if err != nil {
			return e, err
		}
		if len(left) > 0 {
			cstatus, creason = store.CampaignStopped, fmt.Sprintf("%s; %d dataset(s) have not run yet: start an execution for each", reason, len(left))
		}
	}
	if err := s.move(ctx, q, e.ProjectID, e.CampaignID, cstatus, creason); err != nil {
		return e, err
	}
	e.Status, e.StatusReason, e.UpdatedAt = to, reason, now
	switch to {
	case store.ExecutionRunning:
		e.NextBatchAt, e.Stats.ChecksSince = now, now
	case store.ExecutionStopped, store.ExecutionCompleted:
		e.FinishedAt = &now
	}
	if st, err := s.statsIn(ctx, q, e); err == nil {
		e.Stats = st
	}
	if err := s.progressEvent(ctx, q, e); err != nil {
		return e, err
	}
	return q.ExecutionUpdate(ctx, e)
}

// progressEvent records campaign.progress for e, in the caller's
// transaction. Events of one execution are delivered in order.
func (s *Service) progressEvent(ctx context.Context, q store.Queries, e store.Execution) error {
	return s.d.Events.Record(ctx, q, eventhook.Event{ProjectID: e.ProjectID, OrderKey: "execution:" + e.ID, Type: eventhook.CampaignProgress,
		Data: map[string]any{"campaign_id": e.CampaignID, "execution_id": e.ID, "dataset_id": e.DatasetID, "status": e.Status,
			"status_reason": e.StatusReason, "stats": e.Stats}})
}
