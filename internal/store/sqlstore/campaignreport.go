package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// The campaign report's reads. They join the runtime's tables to
// campaign_recipients by the session each recipient row started, and stream
// rows to a callback rather than collecting them: a campaign may have a
// million recipients.

// scanEach runs query and calls each for every row, closing the rows.
func scanEach(rows Rows, err error, each func(Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CampaignMessagesScan implements store.Queries.
func (q *Queries) CampaignMessagesScan(ctx context.Context, p store.CampaignMessagesScanParams) error {
	rows, err := q.r.Query(ctx, `SELECT m.session_id, m.channel_id, m.type, m.status, m.error_code, m.error_reason,
			CASE WHEN m.type = 'template' THEN m.content ELSE '{}' END, m.created_at, m.sent_at
		FROM campaign_recipients r JOIN messages m ON m.session_id = r.session_id AND m.project_id = r.project_id
		WHERE r.campaign_id = ? AND r.project_id = ? AND r.session_id <> '' AND m.direction = 'out'
		ORDER BY m.session_id, m.created_at, m.id`, p.CampaignID, p.ProjectID)
	err = scanEach(rows, err, func(r Rows) error {
		var m store.CampaignMessage
		var content string
		if err := r.Scan(&m.SessionID, &m.ChannelID, &m.Type, &m.Status, &m.ErrorCode, &m.ErrorReason, &content, &m.CreatedAt, &m.SentAt); err != nil {
			return err
		}
		m.CreatedAt, m.SentAt = m.CreatedAt.UTC(), utcPtr(m.SentAt)
		if m.Type == "template" {
			m.TemplateID, m.TemplateName = templateRef(content)
		}
		return p.Each(m)
	})
	return q.translate(err, "reading the campaign's messages")
}

// templateRef reads the template's ID and name from a stored template message.
func templateRef(content string) (id, name string) {
	var c struct {
		Template struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"template"`
	}
	if json.Unmarshal([]byte(content), &c) != nil {
		return "", ""
	}
	return c.Template.ID, c.Template.Name
}

// CampaignRepliesScan implements store.Queries.
func (q *Queries) CampaignRepliesScan(ctx context.Context, p store.CampaignRepliesScanParams) error {
	rows, err := q.r.Query(ctx, `SELECT r.session_id, r.channel_id, m.type, m.created_at
		FROM campaign_recipients r JOIN messages m ON m.project_id = r.project_id AND m.contact_id = r.contact_id
		WHERE r.campaign_id = ? AND r.project_id = ? AND r.session_id <> '' AND r.started_at IS NOT NULL
			AND m.direction = 'in' AND m.created_at >= r.started_at
		ORDER BY r.session_id, m.created_at, m.id`, p.CampaignID, p.ProjectID)
	err = scanEach(rows, err, func(r Rows) error {
		var m store.CampaignReply
		if err := r.Scan(&m.SessionID, &m.ChannelID, &m.Type, &m.CreatedAt); err != nil {
			return err
		}
		m.CreatedAt = m.CreatedAt.UTC()
		return p.Each(m)
	})
	return q.translate(err, "reading the campaign's replies")
}

// CampaignSessionsScan implements store.Queries.
func (q *Queries) CampaignSessionsScan(ctx context.Context, p store.CampaignSessionsScanParams) error {
	rows, err := q.r.Query(ctx, `SELECT s.id, r.channel_id, s.status, s.end_reason, s.node_id
		FROM campaign_recipients r JOIN flow_sessions s ON s.id = r.session_id AND s.project_id = r.project_id
		WHERE r.campaign_id = ? AND r.project_id = ? AND r.session_id <> ''
		ORDER BY s.id`, p.CampaignID, p.ProjectID)
	err = scanEach(rows, err, func(r Rows) error {
		var s store.CampaignSession
		if err := r.Scan(&s.SessionID, &s.ChannelID, &s.Status, &s.EndReason, &s.NodeID); err != nil {
			return err
		}
		return p.Each(s)
	})
	return q.translate(err, "reading the campaign's sessions")
}

// CampaignCallsScan implements store.Queries.
func (q *Queries) CampaignCallsScan(ctx context.Context, p store.CampaignCallsScanParams) error {
	rows, err := q.r.Query(ctx, `SELECT c.session_id, c.channel_id, c.id, c.direction, c.status, c.result, c.created_at, c.ended_at
		FROM campaign_recipients r JOIN voice_calls c ON c.session_id = r.session_id AND c.project_id = r.project_id
		WHERE r.campaign_id = ? AND r.project_id = ? AND r.session_id <> ''
		ORDER BY c.session_id, c.created_at, c.id`, p.CampaignID, p.ProjectID)
	err = scanEach(rows, err, func(r Rows) error {
		var c store.CampaignCall
		var res string
		if err := r.Scan(&c.SessionID, &c.ChannelID, &c.CallID, &c.Direction, &c.Status, &res, &c.CreatedAt, &c.EndedAt); err != nil {
			return err
		}
		c.CreatedAt, c.EndedAt = c.CreatedAt.UTC(), utcPtr(c.EndedAt)
		if res != "" {
			c.Result = []byte(res)
		}
		return p.Each(c)
	})
	return q.translate(err, "reading the campaign's voice calls")
}

// CampaignTracesScan implements store.Queries.
func (q *Queries) CampaignTracesScan(ctx context.Context, p store.CampaignTracesScanParams) error {
	// Each session's first trace is its row's own (SessionCreate).
	rows, err := q.r.Query(ctx, `SELECT s.id AS session_id, NULL AS events, s.trace AS packed, 0 AS seq
		FROM campaign_recipients r JOIN flow_sessions s ON s.id = r.session_id
		WHERE r.campaign_id = ? AND r.project_id = ? AND r.session_id <> '' AND s.trace IS NOT NULL
		UNION ALL
		SELECT t.session_id, t.events, t.packed, t.id
		FROM campaign_recipients r JOIN session_traces t ON t.session_id = r.session_id
		WHERE r.campaign_id = ? AND r.project_id = ? AND r.session_id <> ''
		ORDER BY 1, 4`, p.CampaignID, p.ProjectID, p.CampaignID, p.ProjectID)
	err = scanEach(rows, err, func(r Rows) error {
		var t store.CampaignTrace
		var events *string
		var packed []byte
		var seq int64
		if err := r.Scan(&t.SessionID, &events, &packed, &seq); err != nil {
			return err
		}
		var err error
		if t.Events, err = traceEvents(events, packed); err != nil {
			return fmt.Errorf("reading a trace of session %s: %w", t.SessionID, err)
		}
		return p.Each(t)
	})
	return q.translate(err, "reading the campaign's traces")
}

// CampaignRowsScan implements store.Queries.
func (q *Queries) CampaignRowsScan(ctx context.Context, p store.CampaignRowsScanParams) error {
	if len(p.DatasetIDs) == 0 {
		return nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(p.DatasetIDs)), ", ")
	args := []any{p.CampaignID, p.CampaignID, p.CampaignID, p.ProjectID, p.CampaignID}
	for _, id := range p.DatasetIDs {
		args = append(args, id)
	}
	args = append(args, p.ProjectID)
	rows, err := q.r.Query(ctx, `SELECT d.dataset_id, d.row_num, d.line, d.phone, d.status, d.reason,
			COALESCE(r.status, CASE WHEN d.status = 'valid' AND d.row_num > ex.take_cursor THEN 'queued' ELSE '' END), COALESCE(r.error, ''), COALESCE(r.contact_id, ''), COALESCE(r.session_id, ''), r.started_at,
			COALESCE(s.status, ''), COALESCE(s.end_reason, ''), COALESCE(s.node_id, ''),
			COALESCE(ms.n, 0), COALESCE(ms.best, 0), COALESCE(ms.reason, ''), COALESCE(rp.n, 0)
		FROM dataset_rows d
		JOIN datasets ds ON ds.id = d.dataset_id
		LEFT JOIN campaign_recipients r ON r.campaign_id = ? AND r.dataset_id = d.dataset_id AND r.row_num = d.row_num
		LEFT JOIN (SELECT e.dataset_id, e.take_cursor FROM campaign_executions e WHERE e.campaign_id = ? AND NOT e.taken
			AND NOT EXISTS (SELECT 1 FROM campaign_executions l WHERE l.campaign_id = e.campaign_id AND l.dataset_id = e.dataset_id
				AND (l.created_at > e.created_at OR (l.created_at = e.created_at AND l.id > e.id)))) ex ON ex.dataset_id = d.dataset_id
		LEFT JOIN flow_sessions s ON s.id = r.session_id AND r.session_id <> ''
		LEFT JOIN (SELECT m.session_id AS session_id, COUNT(*) AS n, MAX(m.status_rank) AS best, MAX(m.error_reason) AS reason
			FROM campaign_recipients r2 JOIN messages m ON m.session_id = r2.session_id AND m.project_id = r2.project_id
			WHERE r2.campaign_id = ? AND r2.project_id = ? AND r2.session_id <> '' AND m.direction = 'out'
			GROUP BY m.session_id) ms ON ms.session_id = r.session_id
		LEFT JOIN (SELECT r3.session_id AS session_id, COUNT(*) AS n
			FROM campaign_recipients r3 JOIN messages mi ON mi.project_id = r3.project_id AND mi.contact_id = r3.contact_id
			WHERE r3.campaign_id = ? AND r3.session_id <> '' AND r3.started_at IS NOT NULL AND mi.direction = 'in' AND mi.created_at >= r3.started_at
			GROUP BY r3.session_id) rp ON rp.session_id = r.session_id
		WHERE d.dataset_id IN (`+marks+`) AND ds.project_id = ?
		ORDER BY d.dataset_id, d.row_num`, args...)
	err = scanEach(rows, err, func(r Rows) error {
		var c store.CampaignRow
		var best int
		if err := r.Scan(&c.DatasetID, &c.RowNum, &c.Line, &c.Phone, &c.RowStatus, &c.RowReason,
			&c.Recipient, &c.RecipientError, &c.ContactID, &c.SessionID, &c.StartedAt,
			&c.SessionStatus, &c.EndReason, &c.NodeID, &c.Messages, &best, &c.ErrorReason, &c.Replies); err != nil {
			return err
		}
		c.StartedAt = utcPtr(c.StartedAt)
		c.BestStatus = statusOfRank(best)
		return p.Each(c)
	})
	return q.translate(err, "reading the campaign's rows")
}

// statusOfRank is the outbound status of a domain.StatusRank.
func statusOfRank(rank int) string {
	for _, s := range []string{domain.MessageQueued, domain.MessageSent, domain.MessageDelivered, domain.MessageFailed, domain.MessageRead} {
		if domain.StatusRank(s) == rank {
			return s
		}
	}
	return ""
}
