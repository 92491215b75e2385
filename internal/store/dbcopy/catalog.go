package dbcopy

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// column is one column as a database's catalog describes it.
type column struct {
	Name string
	// Type is the declared type: SQLite's as written in the migration
	// (lower case), PostgreSQL's format_type (e.g. "character varying(255)[]").
	Type string
	// PgType is PostgreSQL's type name (pg_type.typname); PgTypType its
	// typtype ('e' for enums); PgElem the element type of an array.
	PgType, PgTypType, PgElem string
	// Serial is set for PostgreSQL identity and serial columns, whose
	// sequence must follow the copied values.
	Serial bool
}

// table is one table of a catalog.
type table struct {
	Name    string
	Columns []column
	// Refs are the tables its foreign keys point at.
	Refs []string
}

// catalog is the tables of one database, read from the database itself so
// that every table the migrations made is seen, whatever its number.
type catalog struct {
	Dialect string
	Tables  map[string]*table
}

func (t *table) column(name string) (column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return column{}, false
}

// readCatalog reads the tables of the database behind db.
func readCatalog(ctx context.Context, db *sql.DB, dialect string) (*catalog, error) {
	switch dialect {
	case dialectSQLite:
		return readSQLiteCatalog(ctx, db)
	case dialectPostgres:
		return readPostgresCatalog(ctx, db)
	}
	return nil, fmt.Errorf("reading the catalog: unknown dialect %q", dialect)
}

func readSQLiteCatalog(ctx context.Context, db *sql.DB) (*catalog, error) {
	c := &catalog{Dialect: dialectSQLite, Tables: map[string]*table{}}
	names, err := strings1(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing SQLite tables: %w", err)
	}
	for _, n := range names {
		t := &table{Name: n}
		rows, err := db.QueryContext(ctx, `SELECT name, lower(type) FROM pragma_table_info(?) ORDER BY cid`, n)
		if err != nil {
			return nil, fmt.Errorf("reading the columns of %s: %w", n, err)
		}
		for rows.Next() {
			var col column
			if err := rows.Scan(&col.Name, &col.Type); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading the columns of %s: %w", n, err)
			}
			t.Columns = append(t.Columns, col)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if t.Refs, err = strings1(ctx, db, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n); err != nil {
			return nil, fmt.Errorf("reading the foreign keys of %s: %w", n, err)
		}
		c.Tables[n] = t
	}
	return c, nil
}

func readPostgresCatalog(ctx context.Context, db *sql.DB) (*catalog, error) {
	c := &catalog{Dialect: dialectPostgres, Tables: map[string]*table{}}
	rows, err := db.QueryContext(ctx, `
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typname, t.typtype::text, coalesce(et.typname, ''),
       pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname) IS NOT NULL
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("reading the PostgreSQL catalog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tn string
		var col column
		if err := rows.Scan(&tn, &col.Name, &col.Type, &col.PgType, &col.PgTypType, &col.PgElem, &col.Serial); err != nil {
			return nil, fmt.Errorf("reading the PostgreSQL catalog: %w", err)
		}
		t := c.Tables[tn]
		if t == nil {
			t = &table{Name: tn}
			c.Tables[tn] = t
		}
		t.Columns = append(t.Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the PostgreSQL catalog: %w", err)
	}
	fks, err := db.QueryContext(ctx, `
SELECT DISTINCT cl.relname, rf.relname
FROM pg_constraint co
JOIN pg_class cl ON cl.oid = co.conrelid
JOIN pg_class rf ON rf.oid = co.confrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE co.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("reading PostgreSQL foreign keys: %w", err)
	}
	defer fks.Close()
	for fks.Next() {
		var from, to string
		if err := fks.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("reading PostgreSQL foreign keys: %w", err)
		}
		if t := c.Tables[from]; t != nil {
			t.Refs = append(t.Refs, to)
		}
	}
	return c, fks.Err()
}

func strings1(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// kind is how a column's values travel between the dialects.
type kind int

const (
	kText kind = iota
	kInt
	kFloat
	kBool
	kTime
	kJSON
	kBytes
	// kArray is a PostgreSQL array (River's tags, errors, attempted_by),
	// a JSON array in SQLite.
	kArray
	// kBits is PostgreSQL's bit(n) (River's unique_states), an integer in SQLite.
	kBits
	// kEnum is a PostgreSQL enum (River's job state), text in SQLite.
	kEnum
)

var kindNames = [...]string{"text", "integer", "float", "boolean", "timestamp", "json", "bytes", "array", "bits", "enum"}

func (k kind) String() string { return kindNames[k] }

// colPlan is how one column is copied.
type colPlan struct {
	Name string
	Kind kind
	// PgCast is the PostgreSQL type written values are cast to.
	PgCast string
	// PgElem is an array's element type.
	PgElem string
	// BlobJSON marks SQLite columns that keep JSON in SQLite's binary JSONB
	// form (River's): read through json(), written through jsonb().
	BlobJSON bool
	Serial   bool
}

// tablePlan is how one table is copied.
type tablePlan struct {
	Name string
	Cols []colPlan
	// River tables keep SQLite timestamps the way River writes them
	// (milliseconds), so their values compare at that precision.
	River bool
}

// Skip is a table db copy leaves out on purpose, with why.
type Skip struct {
	Table, Reason string
}

// skipped are the tables that are not data: each database keeps its own.
// Any other table must be copied; one db copy cannot copy is an error.
var skipped = map[string]string{
	"goose_db_version":   "migration bookkeeping: the target's migrations write their own",
	"river_migration":    "job-queue migration bookkeeping: the target's migrations write their own",
	"river_leader":       "which process leads the job queue is decided again when the servers start",
	"river_client":       "job-queue clients register themselves when they start",
	"river_client_queue": "job-queue clients register themselves when they start",
	"river_notification": "SQLite's job-queue notification outbox: wake-ups for running processes, none after a stop",
	"sqlite_sequence":    "SQLite's own counter of IDs; it follows the copied rows",
}

func skipReason(name string) (string, bool) {
	if r, ok := skipped[name]; ok {
		return r, true
	}
	if strings.HasPrefix(name, "sqlite_") {
		return "SQLite's internal table", true
	}
	return "", false
}

// plan pairs the tables of a SQLite and a PostgreSQL catalog and says how
// each column is copied, in an order where every table comes after the
// tables its foreign keys point at. A table in one catalog only, a column
// in one table only, or a type it does not know how to carry is an error:
// a new migration must not be skipped silently.
func plan(lite, pg *catalog) ([]tablePlan, []Skip, error) {
	names := map[string]bool{}
	for n := range lite.Tables {
		names[n] = true
	}
	for n := range pg.Tables {
		names[n] = true
	}
	var skips []Skip
	plans := map[string]tablePlan{}
	var problems []string
	for n := range names {
		if r, ok := skipReason(n); ok {
			skips = append(skips, Skip{Table: n, Reason: r})
			continue
		}
		lt, pt := lite.Tables[n], pg.Tables[n]
		if lt == nil || pt == nil {
			where := "SQLite"
			if lt == nil {
				where = "PostgreSQL"
			}
			problems = append(problems, fmt.Sprintf("table %s exists only in %s: the two dialects' migrations differ, db copy cannot pair it", n, where))
			continue
		}
		tp, err := planTable(lt, pt)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		plans[n] = tp
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, nil, fmt.Errorf("db copy does not know how to copy this schema:\n  %s", strings.Join(problems, "\n  "))
	}
	sort.Slice(skips, func(i, j int) bool { return skips[i].Table < skips[j].Table })
	order, err := topoOrder(plans, lite, pg)
	if err != nil {
		return nil, nil, err
	}
	return order, skips, nil
}

func planTable(lt, pt *table) (tablePlan, error) {
	tp := tablePlan{Name: pt.Name, River: strings.HasPrefix(pt.Name, "river_")}
	for _, pc := range pt.Columns {
		lc, ok := lt.column(pc.Name)
		if !ok {
			return tp, fmt.Errorf("column %s.%s exists only in PostgreSQL", pt.Name, pc.Name)
		}
		cp := colPlan{Name: pc.Name, PgCast: pc.Type, PgElem: pc.PgElem, Serial: pc.Serial}
		switch {
		case pc.PgTypType == "e":
			cp.Kind = kEnum
		case pc.PgElem != "":
			switch pc.PgElem {
			case "text", "varchar", "json", "jsonb":
				cp.Kind = kArray
			default:
				return tp, fmt.Errorf("column %s.%s: arrays of %s are not supported", pt.Name, pc.Name, pc.PgElem)
			}
		default:
			switch pc.PgType {
			case "text", "varchar", "bpchar", "name", "uuid":
				cp.Kind = kText
			case "int2", "int4", "int8":
				cp.Kind = kInt
			case "float4", "float8":
				cp.Kind = kFloat
			case "bool":
				cp.Kind = kBool
			case "timestamptz", "timestamp":
				cp.Kind = kTime
			case "json", "jsonb":
				cp.Kind = kJSON
			case "bytea":
				cp.Kind = kBytes
			case "bit", "varbit":
				cp.Kind = kBits
			default:
				return tp, fmt.Errorf("column %s.%s has type %s, which db copy does not know how to carry", pt.Name, pc.Name, pc.Type)
			}
		}
		if (cp.Kind == kJSON || cp.Kind == kArray) && lc.Type == "blob" {
			cp.BlobJSON = true
		}
		if cp.Kind == kBytes && lc.Type != "blob" {
			return tp, fmt.Errorf("column %s.%s is bytea in PostgreSQL but %q in SQLite", pt.Name, pc.Name, lc.Type)
		}
		tp.Cols = append(tp.Cols, cp)
	}
	for _, lc := range lt.Columns {
		if _, ok := pt.column(lc.Name); !ok {
			return tp, fmt.Errorf("column %s.%s exists only in SQLite", lt.Name, lc.Name)
		}
	}
	return tp, nil
}

// topoOrder orders the tables so that referenced ones come first.
func topoOrder(plans map[string]tablePlan, cats ...*catalog) ([]tablePlan, error) {
	refs := map[string]map[string]bool{}
	for _, c := range cats {
		for n, t := range c.Tables {
			for _, r := range t.Refs {
				if r == n {
					continue
				}
				if refs[n] == nil {
					refs[n] = map[string]bool{}
				}
				refs[n][r] = true
			}
		}
	}
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []tablePlan
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("db copy: the foreign keys of %s form a cycle", n)
		case 2:
			return nil
		}
		state[n] = 1
		deps := make([]string, 0, len(refs[n]))
		for r := range refs[n] {
			deps = append(deps, r)
		}
		sort.Strings(deps)
		for _, r := range deps {
			if _, ok := plans[r]; !ok {
				continue
			}
			if err := visit(r); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, plans[n])
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}
