package projectdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/flow"
)

var _ engine.Data = (*Service)(nil)

// Data runs a data node's operation on the flow's project's database.
func (s *Service) Data(ctx context.Context, req engine.DataRequest) (engine.DataResult, error) {
	var res engine.DataResult
	if req.Scope == "" {
		return res, domain.Errorf(domain.CodeInvalid, "the flow has no project, so it has no database")
	}
	filters := make([]Filter, len(req.Where))
	for i, w := range req.Where {
		filters[i] = Filter{Column: w.Column, Op: w.Op, Value: w.Value}
		if filters[i].Op == "" {
			filters[i].Op = "eq"
		}
	}
	row := make(map[string]any, len(req.Values))
	for _, v := range req.Values {
		row[v.Column] = v.Value
	}
	err := s.tx(ctx, req.Scope, func(ctx context.Context, tx *sql.Tx) error {
		t, err := s.table(ctx, tx, req.Table)
		if err != nil {
			return err
		}
		var args []any
		where, err := s.where(t, filters, &args, "/where")
		if err != nil {
			return err
		}
		switch req.Operation {
		case flow.DataLookupOne, flow.DataLookupMany:
			limit := 1
			if req.Operation == flow.DataLookupMany {
				limit = min(max(req.Limit, 1), MaxPage)
			}
			order := ""
			if req.Sort != "" {
				name, desc := strings.CutPrefix(req.Sort, "-")
				c, err := t.columnErr(name, "/sort")
				if err != nil {
					return err
				}
				order = " ORDER BY " + q(c.Name)
				if desc {
					order += " DESC"
				}
			} else if k, err := t.key(); err == nil {
				order = " ORDER BY " + q(k.Name)
			}
			res.Rows, err = s.selectRows(ctx, tx, t, "SELECT "+colList(t)+" FROM "+q(t.Name)+where+order+fmt.Sprintf(" LIMIT %d", limit), args)
			return err
		case flow.DataInsert:
			r, err := s.insert(ctx, tx, t, row)
			if err != nil {
				return err
			}
			res.Rows, res.Affected = []map[string]any{r}, 1
			return nil
		case flow.DataUpdate, flow.DataUpsert:
			if len(filters) == 0 {
				return domain.Invalid("/where", "%s needs at least one condition", req.Operation)
			}
			res.Rows, err = s.update(ctx, tx, t, row, where, args)
			if err != nil {
				return err
			}
			res.Affected = int64(len(res.Rows))
			if len(res.Rows) > 0 || req.Operation == flow.DataUpdate {
				return nil
			}
			// Nothing matched: insert the row the conditions describe.
			for _, f := range filters {
				if f.Op != "eq" {
					return domain.Invalid("/where", "upsert's conditions must be equalities (%s is %s)", f.Column, f.Op)
				}
				if _, set := row[f.Column]; !set {
					row[f.Column] = f.Value
				}
			}
			r, err := s.insert(ctx, tx, t, row)
			if err != nil {
				return err
			}
			res.Rows, res.Affected = []map[string]any{r}, 1
			return nil
		case flow.DataDelete:
			if len(filters) == 0 {
				return domain.Invalid("/where", "delete needs at least one condition")
			}
			r, err := tx.ExecContext(ctx, "DELETE FROM "+q(t.Name)+where, args...)
			if err != nil {
				return err
			}
			res.Affected, _ = r.RowsAffected()
			return nil
		}
		return domain.Invalid("/operation", "operation %q must be lookup_one, lookup_many, insert, update, upsert or delete", req.Operation)
	})
	return res, err
}

// update sets row's columns on the rows where (with its args) selects.
func (s *Service) update(ctx context.Context, tx *sql.Tx, t Table, row map[string]any, where string, whereArgs []any) ([]map[string]any, error) {
	cols, vals, err := s.values(t, row, "/values")
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, domain.Invalid("/values", "nothing to change: give the columns to set")
	}
	// The where clause's parameters come first ($1…); the values follow.
	args := append(append([]any{}, whereArgs...), vals...)
	sets := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = q(c.Name) + " = " + s.b.ph(len(whereArgs)+i+1)
	}
	if s.b.dialect() == "sqlite" {
		// SQLite numbers ? in the order they appear: SET comes first.
		args = append(append([]any{}, vals...), whereArgs...)
	}
	rows, err := s.selectRows(ctx, tx, t, "UPDATE "+q(t.Name)+" SET "+strings.Join(sets, ", ")+where+" RETURNING "+colList(t), args)
	return rows, constraintError(err)
}
