package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/parleyhq/parley/internal/campaignreport"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// The campaign report, its recipients CSV and the live progress stream of
// an execution. The report is computed on request from the runtime's rows
// (internal/campaignreport); the stream polls the execution row, whose
// counts the campaign runner keeps fresh.

type campaignReportOut struct {
	Body campaignreport.Report
}

// campaignReport answers GET /campaigns/{campaign_id}/report/.
func (a *runtimeAPI) campaignReport(ctx context.Context, in *CampaignPath) (*campaignReportOut, error) {
	p := principalFrom(ctx)
	c, err := a.s.deps.Store.CampaignGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.CampaignID})
	if err != nil {
		return nil, err
	}
	rep, err := campaignreport.Build(ctx, a.s.deps.Store, campaignreport.Params{ProjectID: p.ProjectID, CampaignID: c.ID, FlowID: c.FlowID,
		DatasetIDs: c.DatasetIDs, Now: a.s.deps.Clock.Now()})
	if err != nil {
		return nil, err
	}
	return &campaignReportOut{Body: rep}, nil
}

// campaignRecipientsCSV answers GET /campaigns/{campaign_id}/report/recipients.csv,
// streamed: the rows are written as they are read.
func (a *runtimeAPI) campaignRecipientsCSV(ctx context.Context, in *CampaignPath) (*huma.StreamResponse, error) {
	p := principalFrom(ctx)
	c, err := a.s.deps.Store.CampaignGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.CampaignID})
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hctx.SetHeader("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "campaign-"+c.ID+"-recipients.csv"))
		_, w := humago.Unwrap(hctx)
		rc := http.NewResponseController(w)
		// A big campaign's CSV takes longer than the server's write timeout.
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Minute))
		err := campaignreport.WriteRecipients(hctx.Context(), a.s.deps.Store, campaignreport.Params{ProjectID: p.ProjectID, CampaignID: c.ID,
			DatasetIDs: c.DatasetIDs}, hctx.BodyWriter())
		if err != nil && hctx.Context().Err() == nil {
			// The header is gone already: say it in the body, where a reader sees the file is cut.
			_, _ = fmt.Fprintf(hctx.BodyWriter(), "\n# the export stopped: %s\n", err)
			a.s.deps.Logger.Error("writing a campaign's recipients CSV", "campaign", c.ID, "err", err)
		}
	}}, nil
}

// executionEvents answers GET /campaigns/{campaign_id}/executions/{execution_id}/events
// with server-sent events: "progress" (data: the execution, as GET
// …/executions/{execution_id}/ answers it) whenever it changed, comments
// to keep the connection open, and "end" once the execution finished.
func (a *runtimeAPI) executionEvents(ctx context.Context, in *ExecutionPath) (*huma.StreamResponse, error) {
	p := principalFrom(ctx)
	ref := store.Ref{ProjectID: p.ProjectID, ID: in.ExecutionID}
	first, err := a.s.deps.Store.ExecutionGet(ctx, ref)
	if err != nil {
		return nil, err
	}
	if first.CampaignID != in.CampaignID {
		return nil, domain.NotFound("execution", in.ExecutionID)
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "text/event-stream")
		hctx.SetHeader("Cache-Control", "no-store")
		hctx.SetHeader("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		_, w := humago.Unwrap(hctx)
		sw := &responseSSE{w: hctx.BodyWriter(), rc: http.NewResponseController(w)}
		err := streamProgress(hctx.Context(), sw, streamConfig{}, a.s.deps.Clock.Now, func(ctx context.Context) (progressSample, error) {
			e, err := a.s.deps.Store.ExecutionGet(ctx, ref)
			if err != nil {
				return progressSample{}, err
			}
			return progressSample{Payload: ExecutionViewOf(e), Finished: executionFinished(e.Status)}, nil
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			a.s.deps.Logger.Warn("an execution's progress stream ended on an error", "execution", in.ExecutionID, "err", err)
		}
	}}, nil
}

// executionFinished reports whether an execution status is final.
func executionFinished(status string) bool {
	return status == store.ExecutionCompleted || status == store.ExecutionStopped
}

// responseSSE adapts a response to sseWriter.
type responseSSE struct {
	w interface {
		Write([]byte) (int, error)
	}
	rc *http.ResponseController
}

func (r *responseSSE) Write(b []byte) (int, error)        { return r.w.Write(b) }
func (r *responseSSE) Flush() error                       { return r.rc.Flush() }
func (r *responseSSE) SetWriteDeadline(t time.Time) error { return r.rc.SetWriteDeadline(t) }
