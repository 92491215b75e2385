package sqlstore

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

const datasetCols = `id, project_id, name, filename, status, error, encoding, delimiter, columns, mapping, warnings, counts, created_at, updated_at`

func scanDataset(r Row) (store.Dataset, error) {
	var d store.Dataset
	var cols, mapping, warnings, counts string
	err := r.Scan(&d.ID, &d.ProjectID, &d.Name, &d.Filename, &d.Status, &d.Error, &d.Encoding, &d.Delimiter, &cols, &mapping, &warnings, &counts,
		&d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return d, err
	}
	_ = json.Unmarshal([]byte(cols), &d.Columns)
	_ = json.Unmarshal([]byte(mapping), &d.Mapping)
	_ = json.Unmarshal([]byte(warnings), &d.Warnings)
	_ = json.Unmarshal([]byte(counts), &d.Counts)
	if d.Columns == nil {
		d.Columns = []string{}
	}
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	if d.Counts == nil {
		d.Counts = map[string]int64{}
	}
	if d.Mapping.Variables == nil {
		d.Mapping.Variables = map[string]string{}
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func datasetArgs(d store.Dataset) []any {
	if d.Columns == nil {
		d.Columns = []string{}
	}
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	if d.Counts == nil {
		d.Counts = map[string]int64{}
	}
	if d.Mapping.Variables == nil {
		d.Mapping.Variables = map[string]string{}
	}
	return []any{d.Status, d.Error, d.Encoding, d.Delimiter, jsonText(d.Columns), jsonText(d.Mapping), jsonText(d.Warnings), jsonText(d.Counts)}
}

// DatasetCreate implements store.Queries.
func (q *Queries) DatasetCreate(ctx context.Context, d store.Dataset) (store.Dataset, error) {
	args := append([]any{d.ID, d.ProjectID, d.Name, d.Filename}, datasetArgs(d)...)
	args = append(args, d.CreatedAt.UTC(), d.UpdatedAt.UTC())
	out, err := scanDataset(q.w.QueryRow(ctx, `INSERT INTO datasets (`+datasetCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+datasetCols, args...))
	return out, q.translate(err, "creating dataset")
}

// DatasetGet implements store.Queries.
func (q *Queries) DatasetGet(ctx context.Context, r store.Ref) (store.Dataset, error) {
	d, err := scanDataset(q.r.QueryRow(ctx, `SELECT `+datasetCols+` FROM datasets WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return d, notFound("dataset", r.ID)
	}
	return d, q.translate(err, "getting dataset")
}

// DatasetList implements store.Queries.
func (q *Queries) DatasetList(ctx context.Context, p store.DatasetListParams) (store.List[store.Dataset], error) {
	where, limit, args := pageClause(p.Page, "id")
	items, err := queryAll(ctx, q.r, func(r Rows) (store.Dataset, error) { return scanDataset(r) }, `SELECT `+datasetCols+` FROM datasets WHERE project_id = ?`+where+limit, append([]any{p.ProjectID}, args...)...)
	if err != nil {
		return store.List[store.Dataset]{}, q.translate(err, "listing datasets")
	}
	return finishPage(items, p.Page, func(d store.Dataset) string { return d.ID }), nil
}

// DatasetUpdate implements store.Queries.
func (q *Queries) DatasetUpdate(ctx context.Context, d store.Dataset) (store.Dataset, error) {
	args := append(datasetArgs(d), d.UpdatedAt.UTC(), d.ProjectID, d.ID)
	out, err := scanDataset(q.w.QueryRow(ctx, `UPDATE datasets SET status = ?, error = ?, encoding = ?, delimiter = ?, columns = ?, mapping = ?,
		warnings = ?, counts = ?, updated_at = ? WHERE project_id = ? AND id = ? RETURNING `+datasetCols, args...))
	if err == ErrNoRows {
		return out, notFound("dataset", d.ID)
	}
	return out, q.translate(err, "updating dataset")
}

// DatasetDelete implements store.Queries.
func (q *Queries) DatasetDelete(ctx context.Context, r store.Ref) error {
	var n int64
	if err := q.r.QueryRow(ctx, `SELECT COUNT(*) FROM campaign_executions WHERE project_id = ? AND dataset_id = ? AND status IN ('running', 'paused')`,
		r.ProjectID, r.ID).Scan(&n); err != nil {
		return q.translate(err, "checking the dataset's executions")
	}
	if n > 0 {
		return domain.Errorf(domain.CodeConflict, "a campaign execution is using the dataset; stop it first")
	}
	if _, err := q.w.Exec(ctx, `DELETE FROM dataset_rows WHERE dataset_id = (SELECT id FROM datasets WHERE project_id = ? AND id = ?)`, r.ProjectID, r.ID); err != nil {
		return q.translate(err, "deleting dataset rows")
	}
	n, err := q.w.Exec(ctx, `DELETE FROM datasets WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID)
	if err != nil {
		return q.translate(err, "deleting dataset")
	}
	if n == 0 {
		return notFound("dataset", r.ID)
	}
	return nil
}

// rowChunk bounds the rows of one multi-row statement (9 parameters each).
const rowChunk = 400

// DatasetRowsInsert implements store.Queries.
func (q *Queries) DatasetRowsInsert(ctx context.Context, rows []store.DatasetRow) error {
	for len(rows) > 0 {
		n := min(len(rows), rowChunk)
		var sb strings.Builder
		sb.WriteString(`INSERT INTO dataset_rows (dataset_id, row_num, line, cells, status, reason, duplicate_of, phone, timezone) VALUES `)
		args := make([]any, 0, n*9)
		for i, r := range rows[:n] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			cells := r.Cells
			if cells == nil {
				cells = []string{}
			}
			args = append(args, r.DatasetID, r.RowNum, r.Line, jsonText(cells), r.Status, r.Reason, r.DuplicateOf, r.Phone, r.Timezone)
		}
		if _, err := q.w.Exec(ctx, sb.String(), args...); err != nil {
			return q.translate(err, "storing dataset rows")
		}
		rows = rows[n:]
	}
	return nil
}

// DatasetRowsUpdate implements store.Queries.
func (q *Queries) DatasetRowsUpdate(ctx context.Context, rows []store.DatasetRow) error {
	for _, r := range rows {
		if _, err := q.w.Exec(ctx, `UPDATE dataset_rows SET status = ?, reason = ?, duplicate_of = ?, phone = ?, timezone = ? WHERE dataset_id = ? AND row_num = ?`,
			r.Status, r.Reason, r.DuplicateOf, r.Phone, r.Timezone, r.DatasetID, r.RowNum); err != nil {
			return q.translate(err, "updating dataset row")
		}
	}
	return nil
}

// DatasetRowList implements store.Queries.
func (q *Queries) DatasetRowList(ctx context.Context, p store.DatasetRowListParams) ([]store.DatasetRow, error) {
	limit := p.Limit
	if limit <= 0 || limit > 10000 {
		limit = store.DefaultPageSize
	}
	query := `SELECT dataset_id, row_num, line, cells, status, reason, duplicate_of, phone, timezone FROM dataset_rows WHERE dataset_id = ? AND row_num > ?`
	args := []any{p.DatasetID, p.AfterRow}
	if p.Status != "" {
		query += ` AND status = ?`
		args = append(args, p.Status)
	}
	query += ` ORDER BY row_num LIMIT ?`
	args = append(args, limit)
	out, err := queryAll(ctx, q.r, func(r Rows) (store.DatasetRow, error) {
		var d store.DatasetRow
		var cells string
		err := r.Scan(&d.DatasetID, &d.RowNum, &d.Line, &cells, &d.Status, &d.Reason, &d.DuplicateOf, &d.Phone, &d.Timezone)
		if err == nil {
			err = json.Unmarshal([]byte(cells), &d.Cells)
		}
		return d, err
	}, query, args...)
	if out == nil {
		out = []store.DatasetRow{}
	}
	return out, q.translate(err, "listing dataset rows")
}

// ContactsOptedOut implements store.Queries.
func (q *Queries) ContactsOptedOut(ctx context.Context, p store.ContactsOptedOutParams) (map[string]bool, error) {
	out := map[string]bool{}
	for phones := p.Phones; len(phones) > 0; {
		n := min(len(phones), rowChunk)
		args := []any{p.ProjectID, p.Scheme}
		for _, ph := range phones[:n] {
			args = append(args, strings.TrimPrefix(ph, "+"))
		}
		rows, err := q.r.Query(ctx, `SELECT u.path FROM contact_urns u JOIN contacts c ON c.id = u.contact_id
			WHERE u.project_id = ? AND u.scheme = ? AND c.opted_out AND u.path IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, q.translate(err, "finding opted-out contacts")
		}
		for rows.Next() {
			var path string
			if err := rows.Scan(&path); err != nil {
				rows.Close()
				return nil, q.translate(err, "finding opted-out contacts")
			}
			out["+"+path] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, q.translate(err, "finding opted-out contacts")
		}
		phones = phones[n:]
	}
	return out, nil
}

const campaignCols = `id, project_id, name, description, status, status_reason, flow_id, channel_ids, dataset_ids, start_at, end_at, version, created_at, updated_at`

func scanCampaign(r Row) (store.Campaign, error) {
	var c store.Campaign
	var chans, sets string
	err := r.Scan(&c.ID, &c.ProjectID, &c.Name, &c.Description, &c.Status, &c.StatusReason, &c.FlowID, &chans, &sets, &c.StartAt, &c.EndAt,
		&c.Version, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, err
	}
	_ = json.Unmarshal([]byte(chans), &c.ChannelIDs)
	_ = json.Unmarshal([]byte(sets), &c.DatasetIDs)
	if c.ChannelIDs == nil {
		c.ChannelIDs = []string{}
	}
	if c.DatasetIDs == nil {
		c.DatasetIDs = []string{}
	}
	c.StartAt, c.EndAt = utcPtr(c.StartAt), utcPtr(c.EndAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

func idsText(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	return jsonText(ids)
}

// CampaignCreate implements store.Queries.
func (q *Queries) CampaignCreate(ctx context.Context, c store.Campaign) (store.Campaign, error) {
	out, err := scanCampaign(q.w.QueryRow(ctx, `INSERT INTO campaigns (`+campaignCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING `+campaignCols,
		c.ID, c.ProjectID, c.Name, c.Description, c.Status, c.StatusReason, c.FlowID, idsText(c.ChannelIDs), idsText(c.DatasetIDs),
		utcPtr(c.StartAt), utcPtr(c.EndAt), c.CreatedAt.UTC(), c.UpdatedAt.UTC()))
	return out, q.translate(err, "creating campaign")
}

// CampaignGet implements store.Queries.
func (q *Queries) CampaignGet(ctx context.Context, r store.Ref) (store.Campaign, error) {
	c, err := scanCampaign(q.r.QueryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return c, notFound("campaign", r.ID)
	}
	return c, q.translate(err, "getting campaign")
}

// CampaignList implements store.Queries.
func (q *Queries) CampaignList(ctx context.Context, p store.CampaignListParams) (store.List[store.Campaign], error) {
	where, limit, args := pageClause(p.Page, "id")
	items, err := queryAll(ctx, q.r, func(r Rows) (store.Campaign, error) { return scanCampaign(r) }, `SELECT `+campaignCols+` FROM campaigns WHERE project_id = ?`+where+limit, append([]any{p.ProjectID}, args...)...)
	if err != nil {
		return store.List[store.Campaign]{}, q.translate(err, "listing campaigns")
	}
	return finishPage(items, p.Page, func(c store.Campaign) string { return c.ID }), nil
}

// CampaignUpdate implements store.Queries.
func (q *Queries) CampaignUpdate(ctx context.Context, c store.Campaign) (store.Campaign, error) {
	out, err := scanCampaign(q.w.QueryRow(ctx, `UPDATE campaigns SET name = ?, description = ?, status = ?, status_reason = ?, flow_id = ?,
			channel_ids = ?, dataset_ids = ?, start_at = ?, end_at = ?, version = version + 1, updated_at = ?
		WHERE project_id = ? AND id = ? AND version = ? RETURNING `+campaignCols,
		c.Name, c.Description, c.Status, c.StatusReason, c.FlowID, idsText(c.ChannelIDs), idsText(c.DatasetIDs), utcPtr(c.StartAt), utcPtr(c.EndAt),
		c.UpdatedAt.UTC(), c.ProjectID, c.ID, c.Version))
	if err == ErrNoRows {
		if _, gerr := q.CampaignGet(ctx, store.Ref{ProjectID: c.ProjectID, ID: c.ID}); gerr != nil {
			return out, gerr
		}
		return out, domain.Errorf(domain.CodeConflict, "the campaign changed since version %d; reload it and try again", c.Version)
	}
	return out, q.translate(err, "updating campaign")
}

// CampaignDelete implements store.Queries.
func (q *Queries) CampaignDelete(ctx context.Context, r store.Ref) error {
	n, err := q.w.Exec(ctx, `DELETE FROM campaigns WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID)
	if err != nil {
		return q.translate(err, "deleting campaign")
	}
	if n == 0 {
		return notFound("campaign", r.ID)
	}
	return nil
}

const executionCols = `id, project_id, campaign_id, dataset_id, status, status_reason, settings, total, started, start_failed, stats, next_batch_at,
	created_at, updated_at, finished_at, take_cursor, taken`

func scanExecution(r Row) (store.Execution, error) {
	var e store.Execution
	var settings, stats string
	err := r.Scan(&e.ID, &e.ProjectID, &e.CampaignID, &e.DatasetID, &e.Status, &e.StatusReason, &settings, &e.Total, &e.Started, &e.StartFailed,
		&stats, &e.NextBatchAt, &e.CreatedAt, &e.UpdatedAt, &e.FinishedAt, &e.TakeCursor, &e.Taken)
	if err != nil {
		return e, err
	}
	_ = json.Unmarshal([]byte(settings), &e.Settings)
	_ = json.Unmarshal([]byte(stats), &e.Stats)
	if e.Stats.FailedByReason == nil {
		e.Stats.FailedByReason = map[string]int64{}
	}
	e.NextBatchAt, e.CreatedAt, e.UpdatedAt, e.FinishedAt = e.NextBatchAt.UTC(), e.CreatedAt.UTC(), e.UpdatedAt.UTC(), utcPtr(e.FinishedAt)
	e.Stats.UpdatedAt = e.Stats.UpdatedAt.UTC()
	return e, nil
}

// ExecutionCreate implements store.Queries.
func (q *Queries) ExecutionCreate(ctx context.Context, p store.ExecutionCreateParams) (store.Execution, error) {
	e := p.Execution
	// Its total is counted now, every row it will run: the dataset's valid
	// rows less those the campaign already started (or failed to start).
	// The rows themselves are taken later, a chunk at a time, just ahead
	// of the starts (ExecutionTake).
	if _, err := q.w.Exec(ctx, `INSERT INTO campaign_executions (`+executionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?,
			(SELECT COUNT(*) FROM dataset_rows WHERE dataset_id = ? AND status = 'valid')
			- (SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ? AND dataset_id = ? AND status IN ('started', 'failed')),
			0, 0, ?, ?, ?, ?, NULL, 0, FALSE)`,
		e.ID, e.ProjectID, e.CampaignID, e.DatasetID, e.Status, e.StatusReason, jsonText(e.Settings), e.DatasetID, e.CampaignID, e.DatasetID,
		jsonText(e.Stats), e.NextBatchAt.UTC(), e.CreatedAt.UTC(), e.UpdatedAt.UTC()); err != nil {
		return e, q.translate(err, "creating campaign execution")
	}
	return q.ExecutionGet(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.ID})
}

// ExecutionTake implements store.Queries.
func (q *Queries) ExecutionTake(ctx context.Context, p store.ExecutionTakeParams) (store.Execution, error) {
	e, err := q.ExecutionGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ID})
	if err != nil || e.Taken {
		return e, err
	}
	lo, hi := e.TakeCursor, e.TakeCursor+p.Limit
	// Rows the campaign never took join this execution; the primary key
	// keeps a row the campaign already has from being added twice.
	if _, err := q.w.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, dataset_id, row_num, project_id, execution_id, status, phone, timezone)
		SELECT ?, dataset_id, row_num, ?, ?, 'queued', phone, timezone FROM dataset_rows
		WHERE dataset_id = ? AND row_num > ? AND row_num <= ? AND status = 'valid'
		ON CONFLICT DO NOTHING`, e.CampaignID, e.ProjectID, e.ID, e.DatasetID, lo, hi); err != nil {
		return e, q.translate(err, "taking the dataset's rows")
	}
	var earlier int64
	if err := q.w.QueryRow(ctx, `SELECT COUNT(*) FROM campaign_executions WHERE campaign_id = ? AND dataset_id = ? AND id <> ?`,
		e.CampaignID, e.DatasetID, e.ID).Scan(&earlier); err != nil {
		return e, q.translate(err, "looking for earlier executions")
	}
	if earlier > 0 {
		// Rows an earlier (stopped) execution left unstarted move here.
		if _, err := q.w.Exec(ctx, `UPDATE campaign_recipients SET execution_id = ?, status = 'queued', not_before = NULL
			WHERE campaign_id = ? AND dataset_id = ? AND row_num > ? AND row_num <= ? AND status IN ('queued', 'waiting') AND execution_id <> ?`,
			e.ID, e.CampaignID, e.DatasetID, lo, hi, e.ID); err != nil {
			return e, q.translate(err, "taking the rows an earlier execution left")
		}
	}
	var more int64
	if err := q.w.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM dataset_rows WHERE dataset_id = ? AND row_num > ? LIMIT 1) x`, e.DatasetID, hi).Scan(&more); err != nil {
		return e, q.translate(err, "looking for rows left to take")
	}
	if _, err := q.w.Exec(ctx, `UPDATE campaign_executions SET take_cursor = ?, taken = ? WHERE id = ?`, hi, more == 0, e.ID); err != nil {
		return e, q.translate(err, "advancing the execution's take")
	}
	return q.ExecutionGet(ctx, store.Ref{ProjectID: e.ProjectID, ID: e.ID})
}

// ExecutionGet implements store.Queries.
func (q *Queries) ExecutionGet(ctx context.Context, r store.Ref) (store.Execution, error) {
	return q.execution(ctx, r, "", "getting campaign execution")
}

// ExecutionLock implements store.Queries.
func (q *Queries) ExecutionLock(ctx context.Context, r store.Ref) (store.Execution, error) {
	return q.execution(ctx, r, q.d.ForUpdate, "locking campaign execution")
}

// execution reads one execution from the write side, with lock appended
// to the SELECT.
func (q *Queries) execution(ctx context.Context, r store.Ref, lock, doing string) (store.Execution, error) {
	e, err := scanExecution(q.w.QueryRow(ctx, `SELECT `+executionCols+` FROM campaign_executions WHERE project_id = ? AND id = ?`+lock, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return e, notFound("execution", r.ID)
	}
	return e, q.translate(err, doing)
}

// ExecutionList implements store.Queries.
func (q *Queries) ExecutionList(ctx context.Context, p store.ExecutionListParams) (store.List[store.Execution], error) {
	where, limit, args := pageClause(p.Page, "id")
	items, err := queryAll(ctx, q.r, func(r Rows) (store.Execution, error) { return scanExecution(r) }, `SELECT `+executionCols+` FROM campaign_executions WHERE project_id = ? AND campaign_id = ?`+where+limit,
		append([]any{p.ProjectID, p.CampaignID}, args...)...)
	if err != nil {
		return store.List[store.Execution]{}, q.translate(err, "listing campaign executions")
	}
	return finishPage(items, p.Page, func(e store.Execution) string { return e.ID }), nil
}

// ExecutionsDue implements store.Queries.
func (q *Queries) ExecutionsDue(ctx context.Context, now time.Time) ([]store.Execution, error) {
	out, err := queryAll(ctx, q.r, func(r Rows) (store.Execution, error) { return scanExecution(r) }, `SELECT `+executionCols+` FROM campaign_executions WHERE status = 'running' AND next_batch_at <= ? ORDER BY next_batch_at LIMIT 100`,
		now.UTC())
	return out, q.translate(err, "listing due campaign executions")
}

// ExecutionsEnded implements store.Queries.
func (q *Queries) ExecutionsEnded(ctx context.Context, now time.Time) ([]store.Execution, error) {
	out, err := queryAll(ctx, q.r, func(r Rows) (store.Execution, error) { return scanExecution(r) }, `SELECT `+prefixed("e.", executionCols)+`
		FROM campaign_executions e JOIN campaigns c ON c.project_id = e.project_id AND c.id = e.campaign_id
		WHERE e.status = 'paused' AND c.end_at IS NOT NULL AND c.end_at <= ? ORDER BY c.end_at LIMIT 100`, now.UTC())
	return out, q.translate(err, "listing paused campaign executions past their end date")
}

// ExecutionUpdate implements store.Queries.
func (q *Queries) ExecutionUpdate(ctx context.Context, e store.Execution) (store.Execution, error) {
	out, err := scanExecution(q.w.QueryRow(ctx, `UPDATE campaign_executions SET status = ?, status_reason = ?, settings = ?, stats = ?, next_batch_at = ?,
			updated_at = ?, finished_at = ? WHERE project_id = ? AND id = ? RETURNING `+executionCols,
		e.Status, e.StatusReason, jsonText(e.Settings), jsonText(e.Stats), e.NextBatchAt.UTC(), e.UpdatedAt.UTC(), utcPtr(e.FinishedAt), e.ProjectID, e.ID))
	if err == ErrNoRows {
		return out, notFound("execution", e.ID)
	}
	return out, q.translate(err, "updating campaign execution")
}

// ExecutionCountStarts implements store.Queries.
func (q *Queries) ExecutionCountStarts(ctx context.Context, p store.ExecutionCountParams) error {
	// Only a running execution counts starts: a pause or stop committed
	// while a chunk of starts was under way (its status read before) makes
	// the chunk's transaction fail here and roll back, so nothing starts
	// after the pause. On PostgreSQL the UPDATE waits for the pause's lock
	// and then sees its status.
	n, err := q.w.Exec(ctx, `UPDATE campaign_executions SET started = started + ?, start_failed = start_failed + ?, updated_at = ?
		WHERE project_id = ? AND id = ? AND status = ?`,
		p.Started, p.StartFailed, p.Now.UTC(), p.ProjectID, p.ID, store.ExecutionRunning)
	if err == nil && n == 0 {
		return domain.Errorf(domain.CodeConflict, "campaign execution %s is not running: its starts are not taken", p.ID)
	}
	return q.translate(err, "counting campaign starts")
}

const recipientCols = `campaign_id, dataset_id, row_num, project_id, execution_id, status, phone, timezone, not_before, channel_id, contact_id, session_id, error, started_at`

func scanRecipient(r Row) (store.Recipient, error) {
	var x store.Recipient
	err := r.Scan(&x.CampaignID, &x.DatasetID, &x.RowNum, &x.ProjectID, &x.ExecutionID, &x.Status, &x.Phone, &x.Timezone, &x.NotBefore, &x.ChannelID,
		&x.ContactID, &x.SessionID, &x.Error, &x.StartedAt)
	x.NotBefore, x.StartedAt = utcPtr(x.NotBefore), utcPtr(x.StartedAt)
	return x, err
}

// RecipientsDue implements store.Queries.
func (q *Queries) RecipientsDue(ctx context.Context, p store.RecipientsDueParams) ([]store.Recipient, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	// Two index ranges (execution, status, row_num), each cut at limit,
	// merged: one condition with OR read every row of the execution,
	// started ones included, and sorted them, per batch — a scan that grew
	// with the execution and dominated the runner's work at 1,000 msg/s.
	out, err := queryAll(ctx, q.r, func(r Rows) (store.Recipient, error) { return scanRecipient(r) }, `SELECT `+recipientCols+` FROM
		(SELECT `+recipientCols+` FROM campaign_recipients WHERE execution_id = ? AND status = 'queued' ORDER BY row_num LIMIT ?) AS q
		UNION ALL SELECT `+recipientCols+` FROM
		(SELECT `+recipientCols+` FROM campaign_recipients WHERE execution_id = ? AND status = 'waiting' AND not_before <= ? ORDER BY row_num LIMIT ?) AS w
		ORDER BY row_num LIMIT ?`,
		p.ExecutionID, limit, p.ExecutionID, p.Now.UTC(), limit, limit)
	return out, q.translate(err, "listing due campaign recipients")
}

// RecipientsWait implements store.Queries.
func (q *Queries) RecipientsWait(ctx context.Context, p store.RecipientsWaitParams) error {
	for rows := p.Rows; len(rows) > 0; {
		n := min(len(rows), rowChunk)
		args := []any{p.NotBefore.UTC(), p.CampaignID, p.DatasetID}
		for _, r := range rows[:n] {
			args = append(args, r)
		}
		if _, err := q.w.Exec(ctx, `UPDATE campaign_recipients SET status = 'waiting', not_before = ?
			WHERE campaign_id = ? AND dataset_id = ? AND status IN ('queued', 'waiting') AND row_num IN (`+placeholders(n)+`)`, args...); err != nil {
			return q.translate(err, "parking campaign recipients")
		}
		rows = rows[n:]
	}
	return nil
}

// RecipientClaim implements store.Queries.
func (q *Queries) RecipientClaim(ctx context.Context, p store.RecipientClaimParams) (bool, error) {
	n, err := q.w.Exec(ctx, `UPDATE campaign_recipients SET status = ?, channel_id = ?, contact_id = ?, session_id = ?, error = ?, started_at = ?, not_before = NULL
		WHERE campaign_id = ? AND dataset_id = ? AND row_num = ? AND status IN ('queued', 'waiting')`,
		p.Status, p.ChannelID, p.ContactID, p.SessionID, p.Error, p.Now.UTC(), p.CampaignID, p.DatasetID, p.RowNum)
	if err != nil {
		return false, q.translate(err, "claiming campaign recipient")
	}
	return n == 1, nil
}

// RecipientList implements store.Queries.
func (q *Queries) RecipientList(ctx context.Context, p store.RecipientListParams) ([]store.Recipient, error) {
	limit := p.Limit
	if limit <= 0 || limit > 10000 {
		limit = store.DefaultPageSize
	}
	query := `SELECT ` + recipientCols + ` FROM campaign_recipients WHERE project_id = ? AND campaign_id = ? AND row_num > ?`
	args := []any{p.ProjectID, p.CampaignID, p.AfterRow}
	if p.ExecutionID != "" {
		query += ` AND execution_id = ?`
		args = append(args, p.ExecutionID)
	}
	if p.Status != "" {
		query += ` AND status = ?`
		args = append(args, p.Status)
	}
	query += ` ORDER BY row_num, dataset_id LIMIT ?`
	args = append(args, limit)
	out, err := queryAll(ctx, q.r, func(r Rows) (store.Recipient, error) { return scanRecipient(r) }, query, args...)
	if out == nil {
		out = []store.Recipient{}
	}
	return out, q.translate(err, "listing campaign recipients")
}

// RecipientCounts implements store.Queries.
func (q *Queries) RecipientCounts(ctx context.Context, r store.Ref) (map[string]int64, error) {
	out := map[string]int64{}
	rows, err := q.r.Query(ctx, `SELECT status, COUNT(*) FROM campaign_recipients WHERE project_id = ? AND execution_id = ? GROUP BY status`, r.ProjectID, r.ID)
	if err != nil {
		return nil, q.translate(err, "counting campaign recipients")
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, q.translate(err, "counting campaign recipients")
		}
		out[s] = n
	}
	return out, q.translate(rows.Err(), "counting campaign recipients")
}

// countBy runs a two-column (key, count) query into a map.
func (q *Queries) countBy(ctx context.Context, what, query string, args ...any) (map[string]int64, error) {
	out := map[string]int64{}
	rows, err := q.r.Query(ctx, query, args...)
	if err != nil {
		return nil, q.translate(err, what)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, q.translate(err, what)
		}
		out[k] = n
	}
	return out, q.translate(rows.Err(), what)
}

// ExecutionMessageStats implements store.Queries. Messages are reached
// through the contact index (project, contact) and matched to the
// recipient's session, so no index on messages is needed for it.
func (q *Queries) ExecutionMessageStats(ctx context.Context, r store.Ref) (store.ExecutionMessageStats, error) {
	var out store.ExecutionMessageStats
	var err error
	// One pass over the messages gives both the counts by status and the
	// failures by code.
	out.Outbound, out.FailedByReason = map[string]int64{}, map[string]int64{}
	rows, err := q.r.Query(ctx, `SELECT m.status, CASE WHEN m.status = 'failed' THEN m.error_code ELSE '' END, COUNT(*) FROM campaign_recipients x
		JOIN messages m ON m.project_id = x.project_id AND m.contact_id = x.contact_id AND m.session_id = x.session_id
		WHERE x.project_id = ? AND x.execution_id = ? AND x.status = 'started' AND m.direction = 'out' GROUP BY 1, 2`, r.ProjectID, r.ID)
	if err != nil {
		return out, q.translate(err, "counting campaign messages")
	}
	for rows.Next() {
		var status, code string
		var n int64
		if err := rows.Scan(&status, &code, &n); err != nil {
			rows.Close()
			return out, q.translate(err, "counting campaign messages")
		}
		out.Outbound[status] += n
		if status == domain.MessageFailed {
			out.FailedByReason[code] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, q.translate(err, "counting campaign messages")
	}
	out.Sessions, err = q.countBy(ctx, "counting campaign sessions", `SELECT s.status, COUNT(*) FROM campaign_recipients x
		JOIN flow_sessions s ON s.id = x.session_id
		WHERE x.project_id = ? AND x.execution_id = ? AND x.status = 'started' GROUP BY s.status`, r.ProjectID, r.ID)
	if err != nil {
		return out, err
	}
	err = q.r.QueryRow(ctx, `SELECT COUNT(*) FROM campaign_recipients x WHERE x.project_id = ? AND x.execution_id = ? AND x.status = 'started'
		AND EXISTS (SELECT 1 FROM messages m WHERE m.project_id = x.project_id AND m.contact_id = x.contact_id AND m.direction = 'in'
			AND m.created_at >= x.started_at)`, r.ProjectID, r.ID).Scan(&out.RepliedContacts)
	return out, q.translate(err, "counting campaign replies")
}

// ExecutionRecentSends implements store.Queries.
func (q *Queries) ExecutionRecentSends(ctx context.Context, p store.ExecutionRecentSendsParams) ([]store.RecentSend, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	out, err := queryAll(ctx, q.r, func(r Rows) (store.RecentSend, error) {
		var s store.RecentSend
		return s, r.Scan(&s.Status, &s.ErrorCode)
	}, `SELECT m.status, m.error_code FROM (
			SELECT project_id, contact_id, session_id FROM campaign_recipients
			WHERE execution_id = ? AND status = 'started' AND project_id = ?
			ORDER BY started_at DESC LIMIT ?) x
		JOIN messages m ON m.project_id = x.project_id AND m.contact_id = x.contact_id AND m.session_id = x.session_id
		WHERE m.direction = 'out' AND m.status <> 'queued' AND m.updated_at >= ?
		ORDER BY m.updated_at DESC LIMIT ?`, p.ExecutionID, p.ProjectID, limit*store.RecentSendsRows, p.Since.UTC(), limit)
	return out, q.translate(err, "listing campaign sends")
}

// queryAll runs query on c and scans every row with scan.
func queryAll[T any](ctx context.Context, c Conn, scan func(Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := c.Query(ctx, query, args...)
	return collect(rows, err, scan)
}
