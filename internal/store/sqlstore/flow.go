package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

const templateCols = `id, project_id, name, language, category, components, status, meta_template_id, created_at, updated_at, channel_id, reason, quality`

func scanTemplate(r Row) (store.MessageTemplate, error) {
	var t store.MessageTemplate
	var comps string
	err := r.Scan(&t.ID, &t.ProjectID, &t.Name, &t.Language, &t.Category, &comps, &t.Status, &t.MetaTemplateID, &t.CreatedAt, &t.UpdatedAt,
		&t.ChannelID, &t.Reason, &t.Quality)
	t.Components = json.RawMessage(comps)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// TemplateCreate implements store.Queries.
func (q *Queries) TemplateCreate(ctx context.Context, p store.TemplateCreateParams) (store.MessageTemplate, error) {
	comps := string(p.Components)
	if len(p.Components) == 0 {
		comps = "[]"
	}
	t, err := scanTemplate(q.w.QueryRow(ctx, `INSERT INTO message_templates (`+templateCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '') RETURNING `+templateCols,
		p.ID, p.ProjectID, p.Name, p.Language, p.Category, comps, p.Status, p.MetaTemplateID, p.Now, p.Now, p.ChannelID))
	if err != nil && q.d.IsUniqueViolation(err) {
		return t, domain.Errorf(domain.CodeConflict, "a template named %q in language %q already exists", p.Name, p.Language)
	}
	return t, q.translate(err, "creating message template")
}

// TemplateGet implements store.Queries.
func (q *Queries) TemplateGet(ctx context.Context, r store.Ref) (store.MessageTemplate, error) {
	projectID, id := r.ProjectID, r.ID
	t, err := scanTemplate(q.r.QueryRow(ctx, `SELECT `+templateCols+` FROM message_templates WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return t, notFound("template", id)
	}
	return t, q.translate(err, "getting message template")
}

// TemplateLock implements store.Queries.
func (q *Queries) TemplateLock(ctx context.Context, r store.Ref) (store.MessageTemplate, error) {
	t, err := scanTemplate(q.w.QueryRow(ctx, `SELECT `+templateCols+` FROM message_templates WHERE project_id = ? AND id = ?`+q.d.ForUpdate, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return t, notFound("template", r.ID)
	}
	return t, q.translate(err, "locking message template")
}

// TemplateGetByMetaID implements store.Queries.
func (q *Queries) TemplateGetByMetaID(ctx context.Context, p store.TemplateGetByMetaIDParams) (store.MessageTemplate, error) {
	projectID, metaID := p.ProjectID, p.MetaID
	if metaID == "" {
		return store.MessageTemplate{}, notFound("template", metaID)
	}
	t, err := scanTemplate(q.r.QueryRow(ctx, `SELECT `+templateCols+` FROM message_templates WHERE project_id = ? AND meta_template_id = ?`, projectID, metaID))
	if err == ErrNoRows {
		return t, notFound("template", metaID)
	}
	return t, q.translate(err, "getting message template by Meta ID")
}

// TemplateUpdate implements store.Queries.
func (q *Queries) TemplateUpdate(ctx context.Context, t store.MessageTemplate) (store.MessageTemplate, error) {
	comps := string(t.Components)
	if len(t.Components) == 0 {
		comps = "[]"
	}
	out, err := scanTemplate(q.w.QueryRow(ctx, `UPDATE message_templates SET category = ?, components = ?, status = ?, meta_template_id = ?,
			channel_id = ?, reason = ?, quality = ?, updated_at = ?
		WHERE project_id = ? AND id = ? RETURNING `+templateCols,
		t.Category, comps, t.Status, t.MetaTemplateID, t.ChannelID, t.Reason, t.Quality, t.UpdatedAt, t.ProjectID, t.ID))
	if err == ErrNoRows {
		return out, notFound("template", t.ID)
	}
	return out, q.translate(err, "updating message template")
}

// TemplateDelete implements store.Queries.
func (q *Queries) TemplateDelete(ctx context.Context, r store.Ref) error {
	projectID, id := r.ProjectID, r.ID
	n, err := q.w.Exec(ctx, `DELETE FROM message_templates WHERE project_id = ? AND id = ?`, projectID, id)
	if err == nil && n == 0 {
		return notFound("template", id)
	}
	return q.translate(err, "deleting message template")
}

// TemplateGetByName implements store.Queries.
func (q *Queries) TemplateGetByName(ctx context.Context, p store.TemplateGetByNameParams) (store.MessageTemplate, error) {
	projectID, name, language := p.ProjectID, p.Name, p.Language
	sql := `SELECT ` + templateCols + ` FROM message_templates WHERE project_id = ? AND name = ?`
	args := []any{projectID, name}
	if language != "" {
		sql += ` AND language = ?`
		args = append(args, language)
	}
	t, err := scanTemplate(q.r.QueryRow(ctx, sql+` ORDER BY language LIMIT 1`, args...))
	if err == ErrNoRows {
		return t, notFound("template", name)
	}
	return t, q.translate(err, "getting message template by name")
}

// TemplateList implements store.Queries.
func (q *Queries) TemplateList(ctx context.Context, p store.TemplateListParams) (store.List[store.MessageTemplate], error) {
	sql := `SELECT ` + templateCols + ` FROM message_templates WHERE project_id = ?`
	args := []any{p.ProjectID}
	if p.Status != "" {
		sql += ` AND status = ?`
		args = append(args, p.Status)
	}
	if p.Name != "" {
		sql += ` AND name = ?`
		args = append(args, p.Name)
	}
	if p.Search != "" {
		// The components are Meta's JSON: the body, header, footer and
		// button texts are in it, so a part of any of them matches.
		sql += ` AND (lower(name) LIKE ? ESCAPE '\' OR lower(CAST(components AS TEXT)) LIKE ? ESCAPE '\')`
		args = append(args, likePattern(p.Search), likePattern(p.Search))
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (store.MessageTemplate, error) { return scanTemplate(r) })
	if err != nil {
		return store.List[store.MessageTemplate]{}, q.translate(err, "listing message templates")
	}
	return finishPage(items, p.Page, func(t store.MessageTemplate) string { return t.ID }), nil
}

const flowCols = `id, project_id, name, remark, status, draft, version, live_revision, start_trigger, channel_id,
	logging, expire_after_seconds, on_retrigger, start_template, created_at, updated_at, created_by, updated_by`

func scanFlow(r Row) (store.Flow, error) {
	var f store.Flow
	dest, finish := flowDest(&f)
	err := r.Scan(dest...)
	finish()
	return f, err
}

// flowDest is where a row of flowCols scans into f, and what to do after.
func flowDest(f *store.Flow) ([]any, func()) {
	var draft, trigger string
	return []any{&f.ID, &f.ProjectID, &f.Name, &f.Remark, &f.Status, &draft, &f.Version, &f.LiveRevision, &trigger, &f.ChannelID,
			&f.Logging, &f.ExpireAfterSeconds, &f.OnRetrigger, &f.StartTemplate, &f.CreatedAt, &f.UpdatedAt, &f.CreatedBy, &f.UpdatedBy}, func() {
			f.Draft, f.Trigger = json.RawMessage(draft), json.RawMessage(trigger)
			f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
		}
}

// FlowCreate implements store.Queries.
func (q *Queries) FlowCreate(ctx context.Context, p store.FlowCreateParams) (store.Flow, error) {
	draft := string(p.Draft)
	if len(p.Draft) == 0 {
		draft = `{"nodes":[],"edges":[]}`
	}
	f, err := scanFlow(q.w.QueryRow(ctx, `INSERT INTO flows (id, project_id, name, remark, status, draft, version, live_revision,
		start_trigger, channel_id, logging, expire_after_seconds, on_retrigger, start_template, created_at, updated_at, created_by, updated_by)
		VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+flowCols,
		p.ID, p.ProjectID, p.Name, p.Remark, store.FlowDraft, draft, jsonOrEmpty(p.Trigger), p.ChannelID,
		p.Logging, p.ExpireAfterSeconds, p.OnRetrigger, p.StartTemplate, p.Now, p.Now, p.Actor, p.Actor))
	return f, q.translate(err, "creating flow")
}

// FlowGet implements store.Queries.
func (q *Queries) FlowGet(ctx context.Context, r store.Ref) (store.Flow, error) {
	projectID, id := r.ProjectID, r.ID
	f, err := scanFlow(q.r.QueryRow(ctx, `SELECT `+flowCols+` FROM flows WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return f, notFound("flow", id)
	}
	return f, q.translate(err, "getting flow")
}

// flowHeadCols are flowCols with an empty draft in place of the graph.
var flowHeadCols = strings.Replace(flowCols, "draft,", "'' AS draft,", 1)

// FlowHeadGet implements store.Queries.
func (q *Queries) FlowHeadGet(ctx context.Context, r store.Ref) (store.Flow, error) {
	f, err := scanFlow(q.r.QueryRow(ctx, `SELECT `+flowHeadCols+` FROM flows WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err == ErrNoRows {
		return f, notFound("flow", r.ID)
	}
	f.Draft = nil
	return f, q.translate(err, "getting flow")
}

// likePattern escapes LIKE wildcards so a search matches literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

// FlowList implements store.Queries.
func (q *Queries) FlowList(ctx context.Context, p store.FlowListParams) (store.List[store.Flow], error) {
	sql := `SELECT ` + flowCols + ` FROM flows WHERE project_id = ?`
	args := []any{p.ProjectID}
	if p.Status != "" {
		sql += ` AND status = ?`
		args = append(args, p.Status)
	}
	if p.ChannelID != "" {
		sql += ` AND channel_id = ?`
		args = append(args, p.ChannelID)
	}
	if p.Search != "" {
		sql += ` AND lower(name) LIKE ? ESCAPE '\'`
		args = append(args, likePattern(p.Search))
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (store.Flow, error) { return scanFlow(r) })
	if err != nil {
		return store.List[store.Flow]{}, q.translate(err, "listing flows")
	}
	return finishPage(items, p.Page, func(f store.Flow) string { return f.ID }), nil
}

// staleFlow is the error for a write whose expected version is gone.
func staleFlow(id string, expected, current int) error {
	return domain.Errorf(domain.CodeConflict, "flow %q was changed since version %d (it is now at version %d)", id, expected, current)
}

// FlowUpdate implements store.Queries.
func (q *Queries) FlowUpdate(ctx context.Context, p store.FlowUpdateParams) (store.Flow, error) {
	sets := []string{"version = version + 1", "updated_at = ?", "updated_by = ?"}
	args := []any{p.Now, p.Actor}
	set := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
	}
	if p.Name != nil {
		set("name", *p.Name)
	}
	if p.Remark != nil {
		set("remark", *p.Remark)
	}
	if p.Status != nil {
		set("status", *p.Status)
	}
	if p.LiveRevision != nil {
		set("live_revision", *p.LiveRevision)
	}
	if p.Draft != nil {
		set("draft", string(p.Draft))
	}
	if p.Trigger != nil {
		set("start_trigger", jsonOrEmpty(p.Trigger))
	}
	if p.ChannelID != nil {
		set("channel_id", *p.ChannelID)
	}
	if p.Logging != nil {
		set("logging", *p.Logging)
	}
	if p.ExpireAfterSeconds != nil {
		set("expire_after_seconds", *p.ExpireAfterSeconds)
	}
	if p.OnRetrigger != nil {
		set("on_retrigger", *p.OnRetrigger)
	}
	if p.StartTemplate != nil {
		set("start_template", *p.StartTemplate)
	}
	sql := `UPDATE flows SET ` + strings.Join(sets, ", ") + ` WHERE project_id = ? AND id = ?`
	args = append(args, p.ProjectID, p.ID)
	if p.ExpectVersion > 0 {
		sql += ` AND version = ?`
		args = append(args, p.ExpectVersion)
	}
	f, err := scanFlow(q.w.QueryRow(ctx, sql+` RETURNING `+flowCols, args...))
	if err == ErrNoRows {
		cur, gerr := q.flowGetW(ctx, p.ProjectID, p.ID)
		if gerr != nil {
			return f, gerr
		}
		return f, staleFlow(p.ID, p.ExpectVersion, cur.Version)
	}
	return f, q.translate(err, "updating flow")
}

// flowGetW reads a flow on the write connection, so that inside a
// transaction it sees the transaction's own state.
func (q *Queries) flowGetW(ctx context.Context, projectID, id string) (store.Flow, error) {
	f, err := scanFlow(q.w.QueryRow(ctx, `SELECT `+flowCols+` FROM flows WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return f, notFound("flow", id)
	}
	return f, q.translate(err, "getting flow")
}

// FlowDelete implements store.Queries.
func (q *Queries) FlowDelete(ctx context.Context, p store.FlowDeleteParams) error {
	sql := `DELETE FROM flows WHERE project_id = ? AND id = ? AND status <> ?`
	args := []any{p.ProjectID, p.ID, store.FlowPublished}
	if p.ExpectVersion > 0 {
		sql += ` AND version = ?`
		args = append(args, p.ExpectVersion)
	}
	n, err := q.w.Exec(ctx, sql, args...)
	if err != nil {
		return q.translate(err, "deleting flow")
	}
	if n > 0 {
		return nil
	}
	cur, err := q.flowGetW(ctx, p.ProjectID, p.ID)
	switch {
	case err != nil:
		return err
	case cur.Status == store.FlowPublished:
		return domain.Errorf(domain.CodeConflict, "flow %q is published; unpublish it before deleting it", p.ID)
	default:
		return staleFlow(p.ID, p.ExpectVersion, cur.Version)
	}
}

const revisionCols = `project_id, flow_id, revision, graph, settings, published_by, published_at`

func scanRevision(r Row) (store.FlowRevision, error) {
	var v store.FlowRevision
	var graph, settings string
	err := r.Scan(&v.ProjectID, &v.FlowID, &v.Revision, &graph, &settings, &v.PublishedBy, &v.PublishedAt)
	v.Graph, v.Settings = json.RawMessage(graph), json.RawMessage(settings)
	v.PublishedAt = v.PublishedAt.UTC()
	return v, err
}

// FlowRevisionCreate implements store.Queries.
func (q *Queries) FlowRevisionCreate(ctx context.Context, p store.FlowRevisionCreateParams) (store.FlowRevision, error) {
	v, err := scanRevision(q.w.QueryRow(ctx, `INSERT INTO flow_revisions (`+revisionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+revisionCols,
		p.ProjectID, p.FlowID, p.Revision, string(p.Graph), jsonOrEmpty(p.Settings), p.PublishedBy, p.Now))
	if err != nil && q.d.IsUniqueViolation(err) {
		return v, domain.Errorf(domain.CodeConflict, "revision %d of flow %q already exists (published concurrently?)", p.Revision, p.FlowID)
	}
	return v, q.translate(err, "creating flow revision")
}

// FlowRevisionGet implements store.Queries.
func (q *Queries) FlowRevisionGet(ctx context.Context, p store.FlowRevisionGetParams) (store.FlowRevision, error) {
	projectID, flowID, revision := p.ProjectID, p.FlowID, p.Revision
	v, err := scanRevision(q.r.QueryRow(ctx, `SELECT `+revisionCols+` FROM flow_revisions
		WHERE project_id = ? AND flow_id = ? AND revision = ?`, projectID, flowID, revision))
	if err == ErrNoRows {
		return v, domain.Errorf(domain.CodeNotFound, "flow %q has no revision %d", flowID, revision)
	}
	return v, q.translate(err, "getting flow revision")
}

// FlowRevisionLatest implements store.Queries. It reads on the write
// connection: publishing numbers the next revision from it inside a
// transaction.
func (q *Queries) FlowRevisionLatest(ctx context.Context, r store.Ref) (store.FlowRevision, error) {
	projectID, flowID := r.ProjectID, r.ID
	v, err := scanRevision(q.w.QueryRow(ctx, `SELECT `+revisionCols+` FROM flow_revisions
		WHERE project_id = ? AND flow_id = ? ORDER BY revision DESC LIMIT 1`, projectID, flowID))
	if err == ErrNoRows {
		return v, domain.Errorf(domain.CodeNotFound, "flow %q has no revisions", flowID)
	}
	return v, q.translate(err, "getting latest flow revision")
}

// FlowRevisionList implements store.Queries.
func (q *Queries) FlowRevisionList(ctx context.Context, p store.FlowRevisionListParams) (store.List[store.FlowRevision], error) {
	page := p.Page.Clamp()
	sql := `SELECT ` + revisionCols + ` FROM flow_revisions WHERE project_id = ? AND flow_id = ?`
	args := []any{p.ProjectID, p.FlowID}
	if page.After != "" {
		after, err := strconv.Atoi(page.After)
		if err != nil {
			return store.List[store.FlowRevision]{}, domain.Invalid("", "the cursor %q is not a revision number", page.After)
		}
		sql += ` AND revision < ?`
		args = append(args, after)
	}
	sql += fmt.Sprintf(` ORDER BY revision DESC LIMIT %d`, page.Limit+1)
	rows, err := q.r.Query(ctx, sql, args...)
	items, err := collect(rows, err, func(r Rows) (store.FlowRevision, error) { return scanRevision(r) })
	if err != nil {
		return store.List[store.FlowRevision]{}, q.translate(err, "listing flow revisions")
	}
	return finishPage(items, page, func(v store.FlowRevision) string { return strconv.Itoa(v.Revision) }), nil
}

// bucketOf is the hour bucket counters observed at t are added to.
func bucketOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// FlowStatsAdd implements store.Queries.
func (q *Queries) FlowStatsAdd(ctx context.Context, p store.FlowStatsAddParams) error {
	b := bucketOf(p.At)
	if s := p.Sessions; s != (store.SessionCounts{}) {
		_, err := q.w.Exec(ctx, `INSERT INTO flow_session_stats (project_id, flow_id, revision, bucket, started, completed, expired, failed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (flow_id, revision, bucket) DO UPDATE SET
				started = flow_session_stats.started + excluded.started,
				completed = flow_session_stats.completed + excluded.completed,
				expired = flow_session_stats.expired + excluded.expired,
				failed = flow_session_stats.failed + excluded.failed`,
			p.ProjectID, p.FlowID, p.Revision, b, s.Started, s.Completed, s.Expired, s.Failed)
		if err != nil {
			return q.translate(err, "adding session counts")
		}
	}
	// All of a sprint's node counts in one statement, and its edge counts
	// in another (each statement is a round on SQLite's single writer).
	// Rows are in key order so that concurrent sprints of one flow lock them
	// in the same order and cannot deadlock.
	var vals []string
	var args []any
	for _, id := range sortedKeys(p.Nodes) {
		c := p.Nodes[id]
		if c == (store.NodeCounts{}) {
			continue
		}
		vals = append(vals, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, p.ProjectID, p.FlowID, p.Revision, id, b, c.Visits, c.DropOffs,
			c.LLM.Calls, c.LLM.Failures, c.LLM.PromptTokens, c.LLM.CompletionTokens, c.LLM.LatencyMS)
	}
	if len(vals) > 0 {
		_, err := q.w.Exec(ctx, `INSERT INTO flow_node_stats (project_id, flow_id, revision, node_id, bucket, visits, drop_offs,
				llm_calls, llm_failures, llm_prompt_tokens, llm_completion_tokens, llm_latency_ms)
			VALUES `+strings.Join(vals, ", ")+`
			ON CONFLICT (flow_id, revision, node_id, bucket) DO UPDATE SET
				visits = flow_node_stats.visits + excluded.visits,
				drop_offs = flow_node_stats.drop_offs + excluded.drop_offs,
				llm_calls = flow_node_stats.llm_calls + excluded.llm_calls,
				llm_failures = flow_node_stats.llm_failures + excluded.llm_failures,
				llm_prompt_tokens = flow_node_stats.llm_prompt_tokens + excluded.llm_prompt_tokens,
				llm_completion_tokens = flow_node_stats.llm_completion_tokens + excluded.llm_completion_tokens,
				llm_latency_ms = flow_node_stats.llm_latency_ms + excluded.llm_latency_ms`, args...)
		if err != nil {
			return q.translate(err, "adding node counts")
		}
	}
	vals, args = vals[:0], args[:0]
	for _, id := range sortedKeys(p.Edges) {
		n := p.Edges[id]
		if n == 0 {
			continue
		}
		vals = append(vals, "(?, ?, ?, ?, ?, ?)")
		args = append(args, p.ProjectID, p.FlowID, p.Revision, id, b, n)
	}
	if len(vals) > 0 {
		_, err := q.w.Exec(ctx, `INSERT INTO flow_edge_stats (project_id, flow_id, revision, edge_id, bucket, transitions)
			VALUES `+strings.Join(vals, ", ")+`
			ON CONFLICT (flow_id, revision, edge_id, bucket) DO UPDATE SET
				transitions = flow_edge_stats.transitions + excluded.transitions`, args...)
		if err != nil {
			return q.translate(err, "adding edge counts")
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// statsWhere is the shared filter of the counter tables.
func statsWhere(p store.FlowStatsParams) (string, []any) {
	where := ` WHERE project_id = ?`
	args := []any{p.ProjectID}
	if p.FlowID != "" {
		where += ` AND flow_id = ?`
		args = append(args, p.FlowID)
	}
	if p.Revision > 0 {
		where += ` AND revision = ?`
		args = append(args, p.Revision)
	}
	if !p.From.IsZero() {
		where += ` AND bucket >= ?`
		args = append(args, bucketOf(p.From))
	}
	if !p.To.IsZero() {
		where += ` AND bucket < ?`
		args = append(args, p.To.UTC())
	}
	return where, args
}

// sum is a portable SUM: CAST keeps PostgreSQL from returning numeric, and
// COALESCE turns no rows into 0.
func sum(col string) string { return `COALESCE(CAST(SUM(` + col + `) AS BIGINT), 0)` }

// FlowStatsGet implements store.Queries.
func (q *Queries) FlowStatsGet(ctx context.Context, p store.FlowStatsParams) (store.FlowStats, error) {
	out := store.FlowStats{Nodes: map[string]store.NodeCounts{}, Edges: map[string]int64{}, Flows: map[string]store.SessionCounts{}}
	where, args := statsWhere(p)
	s := &out.Sessions
	err := q.r.QueryRow(ctx, `SELECT `+sum("started")+`, `+sum("completed")+`, `+sum("expired")+`, `+sum("failed")+
		` FROM flow_session_stats`+where, args...).Scan(&s.Started, &s.Completed, &s.Expired, &s.Failed)
	if err != nil {
		return out, q.translate(err, "reading session counts")
	}
	if p.FlowID == "" {
		rows, err := q.r.Query(ctx, `SELECT flow_id, `+sum("started")+`, `+sum("completed")+`, `+sum("expired")+`, `+sum("failed")+
			` FROM flow_session_stats`+where+` GROUP BY flow_id`, args...)
		_, err = collect(rows, err, func(r Rows) (struct{}, error) {
			var id string
			var c store.SessionCounts
			err := r.Scan(&id, &c.Started, &c.Completed, &c.Expired, &c.Failed)
			out.Flows[id] = c
			return struct{}{}, err
		})
		return out, q.translate(err, "reading session counts per flow")
	}
	rows, err := q.r.Query(ctx, `SELECT node_id, `+sum("visits")+`, `+sum("drop_offs")+`, `+sum("llm_calls")+`, `+sum("llm_failures")+`, `+
		sum("llm_prompt_tokens")+`, `+sum("llm_completion_tokens")+`, `+sum("llm_latency_ms")+` FROM flow_node_stats`+where+` GROUP BY node_id`, args...)
	_, err = collect(rows, err, func(r Rows) (struct{}, error) {
		var id string
		var c store.NodeCounts
		err := r.Scan(&id, &c.Visits, &c.DropOffs, &c.LLM.Calls, &c.LLM.Failures, &c.LLM.PromptTokens, &c.LLM.CompletionTokens, &c.LLM.LatencyMS)
		out.Nodes[id] = c
		return struct{}{}, err
	})
	if err != nil {
		return out, q.translate(err, "reading node counts")
	}
	rows, err = q.r.Query(ctx, `SELECT edge_id, `+sum("transitions")+` FROM flow_edge_stats`+where+` GROUP BY edge_id`, args...)
	_, err = collect(rows, err, func(r Rows) (struct{}, error) {
		var id string
		var n int64
		err := r.Scan(&id, &n)
		out.Edges[id] = n
		return struct{}{}, err
	})
	return out, q.translate(err, "reading edge counts")
}
