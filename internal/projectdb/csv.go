package projectdb

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parleyhq/parley/internal/dataset"
	"github.com/parleyhq/parley/internal/domain"
)

// ImportResult counts an import's rows.
type ImportResult struct {
	Inserted int64         `json:"inserted"`
	Failed   int64         `json:"failed"`
	Errors   []ImportError `json:"errors" doc:"The first rows that were not inserted, with why"`
	Warnings []string      `json:"warnings"`
}

// ImportError is one row that was not inserted.
type ImportError struct {
	Line    int64  `json:"line"`
	Message string `json:"message"`
}

const (
	maxImportErrors = 100
	importBatch     = 500
)

// ImportCSV streams a CSV file (read by the campaigns' reader: encoding,
// delimiter and quoted newlines detected) into a table: header cells name
// columns, each row is inserted on its own savepoint so a bad row is
// reported and skipped, batches commit as they fill. progress, when not
// nil, is told the rows done so far.
func (s *Service) ImportCSV(ctx context.Context, projectID, table string, r io.Reader, progress func(done int64)) (ImportResult, error) {
	res := ImportResult{Errors: []ImportError{}, Warnings: []string{}}
	rd, err := dataset.Open(r)
	if err != nil {
		return res, domain.Invalid("/file", "%v", err)
	}
	res.Warnings = append(res.Warnings, rd.Warnings...)
	var t Table
	if t, err = s.Table(ctx, projectID, table); err != nil {
		return res, err
	}
	cols := make([]Column, len(rd.Header))
	for i, h := range rd.Header {
		c, ok := t.column(strings.ToLower(strings.TrimSpace(h)))
		if !ok {
			return res, domain.Invalid("/file", "the header's column %d (%q) is not a column of table %q", i+1, h, table)
		}
		cols[i] = c
	}
	eof := false
	for !eof {
		err := s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
			for n := 0; n < importBatch; n++ {
				rec, err := rd.Next()
				if errors.Is(err, io.EOF) {
					eof = true
					return nil
				}
				if err != nil {
					return domain.Invalid("/file", "reading the file: %v", err)
				}
				row, rerr := csvRow(cols, rec)
				if rerr == nil {
					rerr = s.insertSavepoint(ctx, tx, t, row)
				}
				if rerr != nil {
					res.Failed++
					if len(res.Errors) < maxImportErrors {
						res.Errors = append(res.Errors, ImportError{Line: rec.Line, Message: rerr.Error()})
					}
					continue
				}
				res.Inserted++
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		if progress != nil {
			progress(res.Inserted + res.Failed)
		}
	}
	if rd.InvalidUTF8() {
		res.Warnings = append(res.Warnings, "some bytes were not UTF-8 and were replaced")
	}
	if rd.RemovedNUL() {
		res.Warnings = append(res.Warnings, "NUL characters were removed from cells")
	}
	return res, nil
}

func csvRow(cols []Column, rec dataset.Record) (map[string]any, error) {
	if rec.Err != nil {
		return nil, fmt.Errorf("the row is not valid CSV: %v", rec.Err)
	}
	if len(rec.Cells) != len(cols) {
		return nil, fmt.Errorf("the row has %d cells; the header has %d", len(rec.Cells), len(cols))
	}
	row := make(map[string]any, len(cols))
	for i, c := range cols {
		row[c.Name] = unescape(rec.Cells[i])
	}
	return row, nil
}

func (s *Service) insertSavepoint(ctx context.Context, tx *sql.Tx, t Table, row map[string]any) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT import_row"); err != nil {
		return err
	}
	if _, err := s.insert(ctx, tx, t, row); err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT import_row"); rerr != nil {
			return rerr
		}
		var de *domain.Error
		if errors.As(err, &de) {
			return errors.New(de.Message)
		}
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT import_row")
	return err
}

// ExportCSV writes a table as CSV, every cell escaped against formula
// injection as the campaigns' report is.
func (s *Service) ExportCSV(ctx context.Context, projectID, table string, w io.Writer) error {
	return s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		t, err := s.table(ctx, tx, table)
		if err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		head := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			head[i] = dataset.Escape(c.Name)
		}
		if err := cw.Write(head); err != nil {
			return err
		}
		order := ""
		if k, err := t.key(); err == nil {
			order = " ORDER BY " + q(k.Name)
		}
		// Rows are written as they are read, never held whole.
		rows, err := tx.QueryContext(ctx, "SELECT "+colList(t)+" FROM "+q(t.Name)+order)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]any, len(t.Columns))
		ptrs := make([]any, len(t.Columns))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rec := make([]string, len(t.Columns))
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, c := range t.Columns {
				rec[i] = dataset.Escape(cell(output(c.Type, vals[i])))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
}

// unescape undoes dataset.Escape, so an exported file imports as it was.
func unescape(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && dataset.Escape(cell[1:]) == cell {
		return cell[1:]
	}
	return cell
}
