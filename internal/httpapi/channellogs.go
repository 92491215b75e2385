package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// WebhookReplayer runs a stored webhook body through the ingest path again,
// as if the provider had just sent it (its signature was checked when it
// first arrived). An error whose code is CodeInvalid means the content is
// still unprocessable; any other error is transient.
type WebhookReplayer interface {
	Replay(ctx context.Context, channelID string, body []byte, header http.Header) error
}

// ChannelLogInput filters a channel's log.
type ChannelLogInput struct {
	ChannelPath
	PageParams
	MessageID string `query:"message_id" maxLength:"100" doc:"Only the entries of this message"`
	Kind      string `query:"kind" enum:"request,webhook," doc:"request: calls to the provider; webhook: what it sent us"`
	Errors    bool   `query:"errors" doc:"Only failures: an error, or a status of 400 and above"`
}

// ChannelLogPage is a page of a channel's log and what the log records.
type ChannelLogPage struct {
	ListBody[store.ChannelLogEntry]
	Recording string `json:"recording" enum:"all,failures" doc:"What this server records (PARLEY_CHANNEL_LOG): all, or only failures (an error, or a status of 400 and above)"`
}

// ChannelLogOutput wraps ChannelLogPage for huma.
type ChannelLogOutput struct {
	Body ChannelLogPage
}

func (a *runtimeAPI) channelLogList(ctx context.Context, in *ChannelLogInput) (*ChannelLogOutput, error) {
	p := principalFrom(ctx)
	if _, err := a.s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.ChannelID}); err != nil {
		return nil, err
	}
	l, err := a.s.deps.Store.ChannelLogList(ctx, store.ChannelLogListParams{ProjectID: p.ProjectID, ChannelID: in.ChannelID,
		MessageID: in.MessageID, Kind: in.Kind, ErrorsOnly: in.Errors, Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := &ChannelLogOutput{Body: ChannelLogPage{ListBody: listOf(l).Body, Recording: "all"}}
	if a.s.deps.ChannelLog != nil && !channellog.Keeps(a.s.deps.ChannelLog, false) {
		out.Body.Recording = "failures"
	}
	return out, nil
}

// DeadLetterView is a dead letter as the API shows it.
type DeadLetterView struct {
	ID          string              `json:"id"`
	ChannelID   string              `json:"channel_id"`
	ChannelType string              `json:"channel_type"`
	Body        string              `json:"body" doc:"The raw body as received (invalid UTF-8 shown as U+FFFD)"`
	Headers     map[string][]string `json:"headers" doc:"The request's headers, credentials redacted"`
	Reason      string              `json:"reason" doc:"Why it could not be processed"`
	ReceivedAt  time.Time           `json:"received_at"`
	ReplayedAt  *time.Time          `json:"replayed_at,omitempty"`
	// ReplayOutcome is "ok", or why the last replay failed; empty before any.
	ReplayOutcome string `json:"replay_outcome,omitempty"`
}

func deadLetterView(d store.DeadLetter) DeadLetterView {
	v := DeadLetterView{ID: d.ID, ChannelID: d.ChannelID, ChannelType: d.ChannelType, Body: strings.ToValidUTF8(string(d.Body), "\uFFFD"),
		Headers: map[string][]string{}, Reason: d.Reason, ReceivedAt: d.ReceivedAt, ReplayedAt: d.ReplayedAt, ReplayOutcome: d.ReplayOutcome}
	_ = json.Unmarshal(d.Headers, &v.Headers)
	return v
}

// DeadLetterListInput pages a channel's dead letters.
type DeadLetterListInput struct {
	ChannelPath
	PageParams
}

func (a *runtimeAPI) deadLetterList(ctx context.Context, in *DeadLetterListInput) (*ListOutput[DeadLetterView], error) {
	p := principalFrom(ctx)
	if _, err := a.s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.ChannelID}); err != nil {
		return nil, err
	}
	l, err := a.s.deps.Store.DeadLetterList(ctx, store.DeadLetterListParams{ProjectID: p.ProjectID, ChannelID: in.ChannelID, Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := &ListOutput[DeadLetterView]{Body: ListBody[DeadLetterView]{Results: make([]DeadLetterView, len(l.Items)), NextCursor: l.Next}}
	for i, d := range l.Items {
		out.Body.Results[i] = deadLetterView(d)
	}
	return out, nil
}

// DeadLetterPath names a dead letter of a channel.
type DeadLetterPath struct {
	ChannelPath
	DeadLetterID string `path:"dead_letter_id" maxLength:"100"`
}

func (a *runtimeAPI) deadLetterReplay(ctx context.Context, in *DeadLetterPath) (*Body[DeadLetterView], error) {
	p := principalFrom(ctx)
	d, err := a.s.deps.Store.DeadLetterGet(ctx, store.DeadLetterGetParams{ProjectID: p.ProjectID, ID: in.DeadLetterID})
	if err != nil {
		return nil, err
	}
	if d.ChannelID != in.ChannelID {
		return nil, domain.NotFound("dead letter", in.DeadLetterID)
	}
	header := http.Header{}
	_ = json.Unmarshal(d.Headers, &header)
	outcome := "ok"
	if err := a.replayer().Replay(ctx, d.ChannelID, d.Body, header); err != nil {
		if domain.CodeOf(err) != domain.CodeInvalid {
			// Transient (the database): nothing is recorded, try again.
			return nil, err
		}
		outcome = err.Error()
	}
	d, err = a.s.deps.Store.DeadLetterMarkReplayed(ctx, store.DeadLetterMarkReplayedParams{ProjectID: p.ProjectID, ID: d.ID,
		Outcome: outcome, Now: a.s.deps.Clock.Now()})
	if err != nil {
		return nil, err
	}
	return bodyOf(deadLetterView(d)), nil
}

// replayer is the configured replayer, or the ingest path of this package.
func (a *runtimeAPI) replayer() WebhookReplayer {
	if a.s.deps.Replayer != nil {
		return a.s.deps.Replayer
	}
	return ingestReplayer{a}
}
