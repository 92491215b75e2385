package projectdb

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
)

// ColumnType is a column's type as the dashboard and flows see it.
type ColumnType string

// The column types.
const (
	TypeText     ColumnType = "text"
	TypeNumber   ColumnType = "number"
	TypeBoolean  ColumnType = "boolean"
	TypeDateTime ColumnType = "datetime"
	TypeJSON     ColumnType = "json"
)

func (t ColumnType) valid() bool {
	switch t {
	case TypeText, TypeNumber, TypeBoolean, TypeDateTime, TypeJSON:
		return true
	}
	return false
}

// Column describes one column of a table.
type Column struct {
	Name       string     `json:"name" maxLength:"63" doc:"Lower-case letters, digits and _, starting with a letter or _"`
	Type       ColumnType `json:"type" enum:"text,number,boolean,datetime,json"`
	PrimaryKey bool       `json:"primary_key,omitempty" doc:"The row's key (at most one column; an id number column is added when none is)"`
	Unique     bool       `json:"unique,omitempty"`
	Index      bool       `json:"index,omitempty" doc:"Index the column for lookups"`
	Required   bool       `json:"required,omitempty" doc:"NOT NULL"`
}

// Table describes a table of the project's database.
type Table struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	Rows    int64    `json:"rows" doc:"How many rows it holds"`
}

// key returns the table's single primary-key column.
func (t Table) key() (Column, error) {
	var out []Column
	for _, c := range t.Columns {
		if c.PrimaryKey {
			out = append(out, c)
		}
	}
	if len(out) != 1 {
		return Column{}, domain.Errorf(domain.CodeConflict, "table %q has no single-column primary key, so its rows cannot be addressed one by one; use the SQL console", t.Name)
	}
	return out[0], nil
}

func (t Table) column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

func (t Table) columnErr(name, pointer string) (Column, error) {
	c, ok := t.column(name)
	if !ok {
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
		}
		return c, domain.Invalid(pointer, "table %q has no column %q (its columns: %s)", t.Name, name, strings.Join(names, ", "))
	}
	return c, nil
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// reserved prefixes belong to the databases' own catalogs.
var reservedPrefixes = []string{"sqlite_", "pg_", "_parley"}

// ident validates a table or column name; names are always quoted as
// well, never put into SQL unchecked.
func ident(name, what, pointer string) (string, error) {
	if !identRE.MatchString(name) {
		return "", domain.Invalid(pointer, "%s %q must be 1 to 63 lower-case letters, digits and _, starting with a letter or _", what, name)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return "", domain.Invalid(pointer, "%s %q: names starting with %s are reserved", what, name, p)
		}
	}
	return name, nil
}

// q quotes a validated identifier.
func q(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// TableCreate is a table to create.
type TableCreate struct {
	Name    string   `json:"name" maxLength:"63"`
	Columns []Column `json:"columns" maxItems:"100"`
}

// maxColumns bounds a table's columns.
const maxColumns = 100

// CreateTable creates a table with its columns and indexes.
func (s *Service) CreateTable(ctx context.Context, projectID string, in TableCreate) (Table, error) {
	name, err := ident(in.Name, "the table name", "/name")
	if err != nil {
		return Table{}, err
	}
	if len(in.Columns) == 0 {
		return Table{}, domain.Invalid("/columns", "a table needs at least one column")
	}
	if len(in.Columns) > maxColumns {
		return Table{}, domain.Invalid("/columns", "a table has at most %d columns", maxColumns)
	}
	seen := map[string]bool{}
	keys := 0
	var defs []string
	for i, c := range in.Columns {
		p := fmt.Sprintf("/columns/%d", i)
		if _, err := ident(c.Name, "the column name", p+"/name"); err != nil {
			return Table{}, err
		}
		if seen[c.Name] {
			return Table{}, domain.Invalid(p+"/name", "column %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		if !c.Type.valid() {
			return Table{}, domain.Invalid(p+"/type", "column %q: type %q must be text, number, boolean, datetime or json", c.Name, c.Type)
		}
		if c.PrimaryKey {
			keys++
			if c.Type == TypeJSON || c.Type == TypeBoolean {
				return Table{}, domain.Invalid(p+"/primary_key", "column %q: a %s column cannot be the primary key", c.Name, c.Type)
			}
		}
		def := q(c.Name) + " " + s.b.sqlType(c.Type)
		switch {
		case c.PrimaryKey:
			def += " PRIMARY KEY NOT NULL"
		case c.Required:
			def += " NOT NULL"
		}
		if c.Unique && !c.PrimaryKey {
			def += " UNIQUE"
		}
		if s.b.dialect() == "sqlite" {
			// SQLite keeps any value in any column; these keep a
			// column's values of its type.
			switch c.Type {
			case TypeBoolean:
				def += " CHECK (" + q(c.Name) + " IN (0, 1))"
			case TypeJSON:
				def += " CHECK (json_valid(" + q(c.Name) + "))"
			case TypeNumber:
				def += " CHECK (typeof(" + q(c.Name) + ") IN ('integer', 'real', 'null'))"
			}
		}
		defs = append(defs, def)
	}
	if keys > 1 {
		return Table{}, domain.Invalid("/columns", "at most one column is the primary key (%d are)", keys)
	}
	if keys == 0 {
		if seen["id"] {
			return Table{}, domain.Invalid("/columns", "no column is the primary key and an id column exists: mark one as the primary key")
		}
		defs = append([]string{s.b.autoID()}, defs...)
	}
	stmts := []string{"CREATE TABLE " + q(name) + " (" + strings.Join(defs, ", ") + ")"}
	for _, c := range in.Columns {
		if c.Index && !c.Unique && !c.PrimaryKey {
			stmts = append(stmts, "CREATE INDEX "+q(name+"_"+c.Name+"_idx")+" ON "+q(name)+" ("+q(c.Name)+")")
		}
	}
	var out Table
	err = s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				if strings.Contains(err.Error(), "already exists") {
					return domain.Errorf(domain.CodeConflict, "a table named %q already exists", name)
				}
				return err
			}
		}
		var err error
		out, err = s.describe(ctx, tx, name)
		return err
	})
	return out, err
}

// Tables lists the project database's tables.
func (s *Service) Tables(ctx context.Context, projectID string) ([]Table, error) {
	var out []Table
	err := s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		names, err := s.b.tables(ctx, tx)
		if err != nil {
			return err
		}
		out = make([]Table, 0, len(names))
		for _, n := range names {
			t, err := s.describe(ctx, tx, n)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// Table describes one table.
func (s *Service) Table(ctx context.Context, projectID, name string) (Table, error) {
	var out Table
	err := s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = s.table(ctx, tx, name)
		return err
	})
	return out, err
}

// table finds a table by its validated name.
func (s *Service) table(ctx context.Context, tx *sql.Tx, name string) (Table, error) {
	if _, err := ident(name, "the table name", "/table"); err != nil {
		return Table{}, err
	}
	names, err := s.b.tables(ctx, tx)
	if err != nil {
		return Table{}, err
	}
	if !slices.Contains(names, name) {
		return Table{}, domain.NotFound("table", name)
	}
	return s.describe(ctx, tx, name)
}

func (s *Service) describe(ctx context.Context, tx *sql.Tx, name string) (Table, error) {
	cols, err := s.b.columns(ctx, tx, name)
	if err != nil {
		return Table{}, fmt.Errorf("reading table %q's columns: %w", name, err)
	}
	t := Table{Name: name, Columns: cols}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+q(name)).Scan(&t.Rows); err != nil {
		return Table{}, fmt.Errorf("counting table %q's rows: %w", name, err)
	}
	return t, nil
}

// DropTable deletes a table and its rows.
func (s *Service) DropTable(ctx context.Context, projectID, name string) error {
	return s.tx(ctx, projectID, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.table(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DROP TABLE "+q(name))
		return err
	})
}
