package projectdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// MaxSQLLength bounds a console request's text.
const MaxSQLLength = 100_000

// maxStatements bounds the statements of one console request.
const maxStatements = 50

// SQLResult is what the console's last statement gave.
type SQLResult struct {
	Columns    []string `json:"columns"`
	Rows       [][]any  `json:"rows"`
	Truncated  bool     `json:"truncated" doc:"More rows matched than the row limit; only the first are here"`
	Affected   int64    `json:"affected" doc:"Rows changed by the last statement when it is not a query"`
	Statements int      `json:"statements" doc:"How many statements ran"`
	DurationMS int64    `json:"duration_ms"`
}

// SQL runs the owner's SQL on the project's database only, in one
// transaction, within the time and row limits; params bind $1… (or ?) in
// each statement. The result is the last statement's.
func (s *Service) SQL(ctx context.Context, projectID, text string, params []any) (SQLResult, error) {
	if len(text) > MaxSQLLength {
		return SQLResult{}, domain.Invalid("/sql", "the SQL is %d characters; at most %d are allowed", len(text), MaxSQLLength)
	}
	stmts, err := splitSQL(text)
	if err != nil {
		return SQLResult{}, domain.Invalid("/sql", "%v", err)
	}
	if len(stmts) == 0 {
		return SQLResult{}, domain.Invalid("/sql", "there is no SQL statement to run")
	}
	if len(stmts) > maxStatements {
		return SQLResult{}, domain.Invalid("/sql", "at most %d statements run at once", maxStatements)
	}
	for i, st := range stmts {
		if err := s.check(st); err != nil {
			return SQLResult{}, domain.Invalid("/sql", "statement %d: %v", i+1, err)
		}
	}
	start := time.Now()
	var res SQLResult
	err = s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		for i, st := range stmts {
			var err error
			var args []any
			if len(params) > 0 && i == len(stmts)-1 {
				args = params
			}
			res, err = s.run(ctx, tx, st, args)
			if err != nil {
				if len(stmts) > 1 {
					return fmt.Errorf("statement %d: %w", i+1, err)
				}
				return err
			}
		}
		return nil
	})
	res.Statements = len(stmts)
	res.DurationMS = time.Since(start).Milliseconds()
	return res, err
}

// check refuses what neither database may be asked by a project, then
// what the backend's own guards do not stop.
func (s *Service) check(st statement) error {
	switch st.first() {
	case "SET", "RESET":
		return fmt.Errorf("%s is not allowed: the project database's settings are fixed", st.first())
	case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE":
		return fmt.Errorf("%s is not allowed: each request runs in a transaction of its own", st.first())
	case "COPY":
		return fmt.Errorf("COPY is not allowed: use CSV import and export")
	case "LISTEN", "NOTIFY", "DO", "CALL", "LOCK", "VACUUM":
		return fmt.Errorf("%s is not allowed in the project database's console", st.first())
	}
	return s.b.check(st)
}

func (s *Service) run(ctx context.Context, tx *sql.Tx, st statement, args []any) (SQLResult, error) {
	var res SQLResult
	if !st.returnsRows() {
		r, err := tx.ExecContext(ctx, st.Text, args...)
		if err != nil {
			return res, err
		}
		res.Affected, _ = r.RowsAffected()
		res.Columns, res.Rows = []string{}, [][]any{}
		return res, nil
	}
	rows, err := tx.QueryContext(ctx, st.Text, args...)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return res, err
	}
	res.Columns, res.Rows = cols, [][]any{}
	for rows.Next() {
		if len(res.Rows) == s.cfg.MaxRows {
			res.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return res, err
		}
		for i := range vals {
			vals[i] = plain(vals[i])
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// Query runs one statement for a code step (db.query) and returns its
// rows as objects, within the same guards and limits as the console.
func (s *Service) Query(ctx context.Context, projectID, text string, params []any) ([]map[string]any, error) {
	stmts, err := splitSQL(text)
	if err != nil {
		return nil, domain.Invalid("/sql", "%v", err)
	}
	if len(stmts) != 1 {
		return nil, domain.Invalid("/sql", "db.query runs exactly one statement (%d given)", len(stmts))
	}
	res, err := s.SQL(ctx, projectID, text, params)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(res.Rows))
	for i, r := range res.Rows {
		m := make(map[string]any, len(res.Columns))
		for j, c := range res.Columns {
			m[c] = r[j]
		}
		out[i] = m
	}
	return out, nil
}
