package sqlstore

import (
	"context"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// SessionTimersTake implements store.Queries: one session's timeout, by
// ID. Clearing timeout_at takes it out of flow_sessions_timeout_idx, so
// the timer loop does not read it again.
func (q *Queries) SessionTimersTake(ctx context.Context, p store.SessionTimersTakeParams) ([]store.SessionTimer, error) {
	if p.SessionID == "" {
		return nil, &domain.Error{Code: domain.CodeInvalid, Message: "taking a session's timeout needs its session ID"}
	}
	sql := timersDue + ` AND id = ? AND wait_seq = ?`
	if q.d.Name == "postgres" {
		// A concurrent take of the same session waits for this one.
		sql += ` FOR UPDATE`
	}
	rows, err := q.w.Query(ctx, sql, p.SessionID, p.Seq)
	taken, err := collect(rows, err, scanTimer)
	if err != nil {
		return nil, q.translate(err, "finding a session's timeout")
	}
	if len(taken) == 0 {
		return nil, nil
	}
	if _, err := q.w.Exec(ctx, `UPDATE flow_sessions SET timeout_at = NULL WHERE id = ?`, p.SessionID); err != nil {
		return nil, q.translate(err, "taking a session's timeout")
	}
	return taken, nil
}

// timersDue selects the waiting sessions with a timeout, as
// flow_sessions_timeout_idx holds them (the same predicate).
const timersDue = `SELECT project_id, contact_id, id, wait_seq, timeout_at FROM flow_sessions
		WHERE status = 'waiting' AND timeout_at IS NOT NULL AND NOT simulated`

func scanTimer(r Rows) (store.SessionTimer, error) {
	var t store.SessionTimer
	err := r.Scan(&t.ProjectID, &t.ContactID, &t.SessionID, &t.Seq, &t.At)
	t.At = t.At.UTC()
	return t, err
}

// SessionTimersDue implements store.Queries. It reads
// flow_sessions_timeout_idx from the cursor on, in timeout order; ties
// (sessions that timed out at the same instant) are put in ID order
// among themselves only, so the read stops at the limit without sorting
// everything due.
func (q *Queries) SessionTimersDue(ctx context.Context, p store.SessionTimersDueParams) ([]store.SessionTimer, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	after := p.After.At.UTC()
	args := []any{p.Now.UTC(), after, after, p.After.SessionID}
	const order = ` AND timeout_at <= ? AND timeout_at >= ? AND (timeout_at > ? OR id > ?)
		ORDER BY timeout_at, id LIMIT `
	limit := strconv.Itoa(min(p.Limit, 10000))
	if p.Sessions {
		// The same rows, through the same partial index, with what the
		// sprint reads (sessionWithFlow).
		rows, err := q.w.Query(ctx, `SELECT `+sessionFlowCols+` FROM flow_sessions s
			LEFT JOIN flows f ON f.project_id = s.project_id AND f.id = s.flow_id
			WHERE s.status = 'waiting' AND s.timeout_at IS NOT NULL AND NOT s.simulated
			AND s.timeout_at <= ? AND s.timeout_at >= ? AND (s.timeout_at > ? OR s.id > ?)
			ORDER BY s.timeout_at, s.id LIMIT `+limit, args...)
		due, err := collect(rows, err, func(r Rows) (store.SessionTimer, error) {
			sf, err := scanSessionFlow(r.Scan)
			if err != nil {
				return store.SessionTimer{}, err
			}
			s := sf.Session
			return store.SessionTimer{ProjectID: s.ProjectID, ContactID: s.ContactID, SessionID: s.ID, Seq: s.WaitSeq, At: s.TimeoutAt.UTC(), Session: &sf}, nil
		})
		return due, q.translate(err, "finding due session timeouts")
	}
	rows, err := q.w.Query(ctx, timersDue+order+limit, args...)
	due, err := collect(rows, err, scanTimer)
	return due, q.translate(err, "finding due session timeouts")
}

// SessionExpiriesTake implements store.Queries. The due rows are found
// through flow_sessions_expiry_idx (the same predicate), in expiry order;
// marking them expire_queued takes them out of that index, so a taken
// expiry is never found again.
func (q *Queries) SessionExpiriesTake(ctx context.Context, p store.SessionTimersTakeParams) ([]store.SessionTimer, error) {
	const due = `SELECT project_id, contact_id, id, expires_at FROM flow_sessions
		WHERE status IN ('active', 'waiting') AND NOT simulated AND NOT expire_queued`
	var sql string
	var args []any
	if p.SessionID != "" {
		sql, args = due+` AND id = ?`, []any{p.SessionID}
	} else {
		if p.Limit <= 0 {
			return nil, nil
		}
		sql, args = due+` AND expires_at <= ? ORDER BY expires_at LIMIT ?`, []any{p.Now.UTC(), p.Limit}
	}
	if q.d.Name == "postgres" {
		sql += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := q.w.Query(ctx, sql, args...)
	taken, err := collect(rows, err, func(r Rows) (store.SessionTimer, error) {
		var t store.SessionTimer
		err := r.Scan(&t.ProjectID, &t.ContactID, &t.SessionID, &t.At)
		t.At = t.At.UTC()
		return t, err
	})
	if err != nil {
		return nil, q.translate(err, "finding expired sessions")
	}
	if len(taken) == 0 {
		return nil, nil
	}
	ids := make([]any, len(taken))
	for i, t := range taken {
		ids[i] = t.SessionID
	}
	if _, err := q.w.Exec(ctx, `UPDATE flow_sessions SET expire_queued = TRUE WHERE id IN (`+placeholders(len(ids))+`)`, ids...); err != nil {
		return nil, q.translate(err, "taking expired sessions")
	}
	return taken, nil
}

// ContactEventsPurge implements store.Queries. It walks the inbox in seq
// order, its primary key: no index of its own is needed.
func (q *Queries) ContactEventsPurge(ctx context.Context, p store.ContactEventsPurgeParams) (store.ContactEventsPurged, error) {
	out := store.ContactEventsPurged{Next: p.After}
	if p.Limit <= 0 {
		return out, nil
	}
	rows, err := q.w.Query(ctx, `SELECT seq, created_at, handled_at FROM contact_events WHERE seq > ? ORDER BY seq LIMIT ?`, p.After, p.Limit)
	type seen struct {
		seq     int64
		created time.Time
		handled *time.Time
	}
	got, err := collect(rows, err, func(r Rows) (seen, error) {
		var s seen
		err := r.Scan(&s.seq, &s.created, &s.handled)
		return s, err
	})
	if err != nil {
		return out, q.translate(err, "finding handled inbox events")
	}
	var old []any
	out.More = len(got) == p.Limit
	for _, s := range got {
		if s.handled != nil && s.handled.Before(p.Before) {
			old = append(old, s.seq)
		} else if s.handled != nil || !s.created.Before(p.Before) {
			out.More = false
			break
		}
		out.Next = s.seq
	}
	for len(old) > 0 {
		n := min(len(old), renewChunk)
		affected, err := q.w.Exec(ctx, `DELETE FROM contact_events WHERE seq IN (`+placeholders(n)+`) AND handled_at IS NOT NULL`, old[:n]...)
		if err != nil {
			return out, q.translate(err, "deleting handled inbox events")
		}
		out.Deleted += int(affected)
		old = old[n:]
	}
	return out, nil
}
