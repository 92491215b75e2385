package projectdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
)

// Filter is one condition on a column.
type Filter struct {
	Column string
	// Op is eq, ne, lt, le, gt, ge, contains, null or not_null.
	Op    string
	Value any
}

// ParseFilter reads "column:op:value" (value may hold colons; null and
// not_null take none).
func ParseFilter(s string) (Filter, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 {
		return Filter{}, fmt.Errorf("filter %q must be column:op:value (op: eq, ne, lt, le, gt, ge, contains, null, not_null)", s)
	}
	f := Filter{Column: parts[0], Op: parts[1]}
	if len(parts) == 3 {
		f.Value = parts[2]
	}
	return f, nil
}

var filterOps = map[string]string{"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

// RowsQuery asks for a page of a table's rows.
type RowsQuery struct {
	Filters []Filter
	// Sort is a column, "-column" for descending; the key when empty.
	Sort   string
	Limit  int
	Offset int
}

// RowsPage is a page of rows and the count of all that match.
type RowsPage struct {
	Columns []Column         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
	Total   int64            `json:"total" doc:"Rows matching the filters"`
	Limit   int              `json:"limit"`
	Offset  int              `json:"offset"`
}

// where builds a WHERE clause with bound values, numbering parameters from
// len(*args)+1.
func (s *Service) where(t Table, filters []Filter, args *[]any, pointer string) (string, error) {
	var conds []string
	for i, f := range filters {
		p := fmt.Sprintf("%s/%d", pointer, i)
		c, err := t.columnErr(f.Column, p+"/column")
		if err != nil {
			return "", err
		}
		col := q(c.Name)
		switch f.Op {
		case "null":
			conds = append(conds, col+" IS NULL")
			continue
		case "not_null":
			conds = append(conds, col+" IS NOT NULL")
			continue
		case "contains":
			*args = append(*args, fmt.Sprint(f.Value))
			conds = append(conds, "lower(CAST("+col+" AS TEXT)) LIKE '%' || lower("+s.b.ph(len(*args))+") || '%'")
			continue
		}
		op, ok := filterOps[f.Op]
		if !ok {
			return "", domain.Invalid(p+"/op", "filter operator %q must be eq, ne, lt, le, gt, ge, contains, null or not_null", f.Op)
		}
		v, err := convert(c, f.Value)
		if err != nil {
			return "", domain.Invalid(p+"/value", "%v", err)
		}
		if v == nil {
			return "", domain.Invalid(p+"/value", "filter on %q has no value; use null or not_null to find empty cells", c.Name)
		}
		*args = append(*args, s.b.bindValue(c.Type, v))
		conds = append(conds, col+" "+op+" "+s.b.ph(len(*args)))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}

// MaxPage bounds a page of rows.
const MaxPage = 500

// Rows returns a page of a table's rows.
func (s *Service) Rows(ctx context.Context, projectID, table string, rq RowsQuery) (RowsPage, error) {
	var out RowsPage
	err := s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		t, err := s.table(ctx, tx, table)
		if err != nil {
			return err
		}
		var args []any
		where, err := s.where(t, rq.Filters, &args, "/filter")
		if err != nil {
			return err
		}
		order := ""
		if rq.Sort != "" {
			name, desc := strings.CutPrefix(rq.Sort, "-")
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
		out = RowsPage{Columns: t.Columns, Limit: min(max(rq.Limit, 1), MaxPage), Offset: max(rq.Offset, 0)}
		if rq.Limit <= 0 {
			out.Limit = 50
		}
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+q(t.Name)+where, args...).Scan(&out.Total); err != nil {
			return err
		}
		out.Rows, err = s.selectRows(ctx, tx, t, "SELECT "+colList(t)+" FROM "+q(t.Name)+where+order+fmt.Sprintf(" LIMIT %d OFFSET %d", out.Limit, out.Offset), args)
		return err
	})
	return out, err
}

func colList(t Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = q(c.Name)
	}
	return strings.Join(names, ", ")
}

// selectRows runs a SELECT of colList(t) and reads its rows as JSON-ready
// maps.
func (s *Service) selectRows(ctx context.Context, tx *sql.Tx, t Table, query string, args []any) ([]map[string]any, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []map[string]any{}
	vals := make([]any, len(t.Columns))
	ptrs := make([]any, len(t.Columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(t.Columns))
		for i, c := range t.Columns {
			m[c.Name] = output(c.Type, vals[i])
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// values converts a row given as column → value into the columns' types,
// in the table's column order.
func (s *Service) values(t Table, row map[string]any, pointer string) ([]Column, []any, error) {
	for k := range row {
		if _, err := t.columnErr(k, pointer+"/"+k); err != nil {
			return nil, nil, err
		}
	}
	var cols []Column
	var args []any
	for _, c := range t.Columns {
		v, ok := row[c.Name]
		if !ok {
			continue
		}
		x, err := convert(c, v)
		if err != nil {
			return nil, nil, domain.Invalid(pointer+"/"+c.Name, "%v", err)
		}
		cols = append(cols, c)
		args = append(args, s.b.bindValue(c.Type, x))
	}
	return cols, args, nil
}

func (s *Service) insert(ctx context.Context, tx *sql.Tx, t Table, row map[string]any) (map[string]any, error) {
	cols, args, err := s.values(t, row, "/row")
	if err != nil {
		return nil, err
	}
	query := "INSERT INTO " + q(t.Name)
	if len(cols) == 0 {
		query += " DEFAULT VALUES"
	} else {
		names, marks := make([]string, len(cols)), make([]string, len(cols))
		for i, c := range cols {
			names[i], marks[i] = q(c.Name), s.b.ph(i+1)
		}
		query += " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	}
	rows, err := s.selectRows(ctx, tx, t, query+" RETURNING "+colList(t), args)
	if err != nil {
		return nil, constraintError(err)
	}
	if len(rows) != 1 {
		return nil, errors.New("the insert returned no row")
	}
	return rows[0], nil
}

// constraintError says a unique or check violation as the owner's error.
func constraintError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, k := range []string{"UNIQUE", "unique", "duplicate key", "CHECK", "check constraint", "NOT NULL", "not-null"} {
		if strings.Contains(msg, k) {
			return &domain.Error{Code: domain.CodeConflict, Message: "the row breaks a rule of the table: " + msg, Err: err}
		}
	}
	return err
}

// InsertRow adds a row and returns it as stored.
func (s *Service) InsertRow(ctx context.Context, projectID, table string, row map[string]any) (map[string]any, error) {
	var out map[string]any
	err := s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		t, err := s.table(ctx, tx, table)
		if err != nil {
			return err
		}
		out, err = s.insert(ctx, tx, t, row)
		return err
	})
	return out, err
}

// UpdateRow changes the given columns of the row whose key is key.
func (s *Service) UpdateRow(ctx context.Context, projectID, table, key string, row map[string]any) (map[string]any, error) {
	var out map[string]any
	err := s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		t, err := s.table(ctx, tx, table)
		if err != nil {
			return err
		}
		k, err := t.key()
		if err != nil {
			return err
		}
		cols, args, err := s.values(t, row, "")
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			return domain.Invalid("", "nothing to change: give the columns to set")
		}
		sets := make([]string, len(cols))
		for i, c := range cols {
			sets[i] = q(c.Name) + " = " + s.b.ph(i+1)
		}
		where, err := s.where(t, []Filter{{Column: k.Name, Op: "eq", Value: key}}, &args, "/key")
		if err != nil {
			return err
		}
		rows, err := s.selectRows(ctx, tx, t, "UPDATE "+q(t.Name)+" SET "+strings.Join(sets, ", ")+where+" RETURNING "+colList(t), args)
		if err != nil {
			return constraintError(err)
		}
		if len(rows) == 0 {
			return domain.NotFound("row", key)
		}
		out = rows[0]
		return nil
	})
	return out, err
}

// DeleteRow deletes the row whose key is key.
func (s *Service) DeleteRow(ctx context.Context, projectID, table, key string) error {
	return s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		t, err := s.table(ctx, tx, table)
		if err != nil {
			return err
		}
		k, err := t.key()
		if err != nil {
			return err
		}
		var args []any
		where, err := s.where(t, []Filter{{Column: k.Name, Op: "eq", Value: key}}, &args, "/key")
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM "+q(t.Name)+where, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.NotFound("row", key)
		}
		return nil
	})
}
