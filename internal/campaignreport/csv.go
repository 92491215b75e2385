package campaignreport

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// csvHeader is the recipients CSV's first line.
var csvHeader = []string{"dataset_id", "row", "line", "phone", "row_status", "row_problem", "recipient_status", "start_error",
	"contact_id", "session_id", "started_at", "session_status", "end_reason", "end_node", "messages", "message_status",
	"failure_reason", "replies", "outcome"}

// WriteRecipients writes the recipients CSV: one line per row of the
// campaign's datasets with what happened to it, streamed as the rows are
// read. Every cell is escaped against formula injection (see Escape).
func WriteRecipients(ctx context.Context, st store.CampaignReports, p Params, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("writing the recipients CSV: %w", err)
	}
	rec := make([]string, len(csvHeader))
	err := st.CampaignRowsScan(ctx, store.CampaignRowsScanParams{ProjectID: p.ProjectID, CampaignID: p.CampaignID, DatasetIDs: p.DatasetIDs,
		Each: func(r store.CampaignRow) error {
			started, endNode := "", ""
			if r.StartedAt != nil {
				started = r.StartedAt.UTC().Format(time.RFC3339)
			}
			if r.SessionStatus == domain.SessionCompleted {
				endNode = r.NodeID
			}
			msgStatus := ""
			if r.Messages > 0 {
				msgStatus = r.BestStatus
			}
			vals := []string{r.DatasetID, strconv.FormatInt(r.RowNum, 10), strconv.FormatInt(r.Line, 10), r.Phone, r.RowStatus, r.RowReason,
				r.Recipient, r.RecipientError, r.ContactID, r.SessionID, started, r.SessionStatus, r.EndReason, endNode,
				strconv.FormatInt(r.Messages, 10), msgStatus, r.ErrorReason, strconv.FormatInt(r.Replies, 10), Outcome(r)}
			for i, v := range vals {
				rec[i] = Escape(v)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
			if r.RowNum%1000 == 0 {
				cw.Flush()
				return cw.Error()
			}
			return ctx.Err()
		}})
	if err != nil {
		return fmt.Errorf("writing the recipients CSV: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing the recipients CSV: %w", err)
	}
	return nil
}

// Outcome sums up a row in one word: the dataset's verdict when the row was
// not valid (invalid, duplicate, opted_out…), not_queued when no execution
// took it, queued or waiting (for its sending window), start_failed,
// completed (the flow reached an End), replied, or the furthest status of
// the messages sent (read, delivered, sent, failed, queued), else started.
func Outcome(r store.CampaignRow) string {
	switch {
	case r.RowStatus != "" && r.RowStatus != "valid":
		return r.RowStatus
	case r.Recipient == "":
		return "not_queued"
	case r.Recipient == "failed":
		return "start_failed"
	case r.Recipient != "started":
		return r.Recipient
	case r.SessionStatus == domain.SessionCompleted:
		return "completed"
	case r.Replies > 0:
		return "replied"
	case r.Messages > 0 && r.BestStatus != "":
		return r.BestStatus
	}
	return "started"
}

// Escape neutralises a cell a spreadsheet would run as a formula (one that
// starts with =, +, -, @, a tab or a carriage return) by prefixing a single
// quote, as OWASP advises; the quote shows, the formula never runs. Phone
// numbers in E.164 start with + and are escaped like any other cell.
func Escape(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
