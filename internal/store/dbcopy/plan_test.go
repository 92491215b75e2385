package dbcopy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestEveryTableCovered: in the schema the migrations make today, every
// table of either dialect is copied or deliberately skipped, and each
// copied table pairs column for column with known types. A new migration
// with a table or type db copy cannot carry fails here.
func TestEveryTableCovered(t *testing.T) {
	ctx := context.Background()
	lite := testdb.OpenSQLite(t, store.OpenOptions{})
	pgs, err := postgres.Open(ctx, testdb.PostgresURL(t), store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pgs.Close()
	if err := pgs.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pdb := stdlib.OpenDBFromPool(pgs.Pool())
	defer pdb.Close()
	lc, err := readCatalog(ctx, lite.DB(), dialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := readCatalog(ctx, pdb, dialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	plans, skips, err := plan(lc, pc)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, p := range plans {
		covered[p.Name] = true
	}
	for _, s := range skips {
		covered[s.Table] = true
	}
	for _, c := range []*catalog{lc, pc} {
		for n := range c.Tables {
			if !covered[n] {
				t.Errorf("%s table %s is neither copied nor skipped", c.Dialect, n)
			}
		}
	}
	for _, must := range []string{"projects", "channels", "flow_sessions", "river_job", "parley_settings"} {
		if !covered[must] || strings.Contains(skipped[must], must) {
			t.Errorf("%s is not copied", must)
		}
	}
	// Referenced tables come first.
	pos := map[string]int{}
	for i, p := range plans {
		pos[p.Name] = i
	}
	for _, p := range plans {
		for _, r := range lc.Tables[p.Name].Refs {
			if _, ok := pos[r]; ok && pos[r] > pos[p.Name] {
				t.Errorf("%s is copied before %s, which it references", p.Name, r)
			}
		}
	}
}

func cat(dialect string, tables ...*table) *catalog {
	c := &catalog{Dialect: dialect, Tables: map[string]*table{}}
	for _, t := range tables {
		c.Tables[t.Name] = t
	}
	return c
}

// TestPlanRefusesWhatItCannotCopy: a table in one dialect only, a column in
// one only, or a type without a carrier is an error naming it.
func TestPlanRefusesWhatItCannotCopy(t *testing.T) {
	t.Parallel()
	text := column{Name: "id", Type: "text", PgType: "text", PgTypType: "b"}
	for _, tc := range []struct {
		name     string
		lite, pg *catalog
		want     string
	}{
		{"table only in PostgreSQL", cat("sqlite"), cat("postgres", &table{Name: "widgets", Columns: []column{text}}), "table widgets exists only in PostgreSQL"},
		{"table only in SQLite", cat("sqlite", &table{Name: "widgets", Columns: []column{{Name: "id", Type: "text"}}}), cat("postgres"), "table widgets exists only in SQLite"},
		{"unknown River table", cat("sqlite", &table{Name: "river_new", Columns: []column{{Name: "id", Type: "text"}}}), cat("postgres"), "river_new"},
		{"column only in SQLite",
			cat("sqlite", &table{Name: "w", Columns: []column{{Name: "id", Type: "text"}, {Name: "x", Type: "text"}}}),
			cat("postgres", &table{Name: "w", Columns: []column{text}}), "column w.x exists only in SQLite"},
		{"unknown type",
			cat("sqlite", &table{Name: "w", Columns: []column{{Name: "id", Type: "text"}}}),
			cat("postgres", &table{Name: "w", Columns: []column{{Name: "id", Type: "point", PgType: "point", PgTypType: "b"}}}), "w.id has type point"},
		{"bytea not a blob",
			cat("sqlite", &table{Name: "w", Columns: []column{{Name: "id", Type: "text"}}}),
			cat("postgres", &table{Name: "w", Columns: []column{{Name: "id", Type: "bytea", PgType: "bytea", PgTypType: "b"}}}), "bytea in PostgreSQL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := plan(tc.lite, tc.pg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("plan = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestNormalize: values read by either driver arrive in one form, at the
// precision the target keeps, and bad ones are errors naming the column.
func TestNormalize(t *testing.T) {
	t.Parallel()
	parley := &tablePlan{Name: "flows"}
	river := &tablePlan{Name: "river_job", River: true}
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		tp   *tablePlan
		kind kind
		in   any
		want any
		err  string
	}{
		{"SQLite boolean", parley, kBool, int64(1), true, ""},
		{"PostgreSQL boolean", parley, kBool, false, false, ""},
		{"time to microseconds", parley, kTime, at, at.Truncate(time.Microsecond), ""},
		{"River time to milliseconds", river, kTime, at, at.Round(time.Millisecond), ""},
		{"River's SQLite text time", river, kTime, "2026-01-02 03:04:05.123", time.Date(2026, 1, 2, 3, 4, 5, 123000000, time.UTC), ""},
		{"Parley's SQLite text time", parley, kTime, "2026-01-02 03:04:05.5+01:00", time.Date(2026, 1, 2, 2, 4, 5, 500000000, time.UTC), ""},
		{"JSON bytes", parley, kJSON, []byte(`{"a":1}`), `{"a":1}`, ""},
		{"bad JSON", parley, kJSON, "{", nil, "flows.c: not valid JSON"},
		{"bad time", parley, kTime, "yesterday", nil, "flows.c: \"yesterday\" is not a timestamp"},
		{"integer for text", parley, kText, 3.5, nil, "flows.c: a float64 value"},
		{"null", parley, kInt, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := normalize(tc.tp, colPlan{Name: "c", Kind: tc.kind}, tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("normalize = %v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if gt, ok := got.(time.Time); ok {
				if !gt.Equal(tc.want.(time.Time)) {
					t.Fatalf("normalize = %v, want %v", gt, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("normalize = %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestChecksumComparesJSONByMeaning: jsonb's reordered, respaced form sums
// like the text SQLite kept; a changed value does not.
func TestChecksumComparesJSONByMeaning(t *testing.T) {
	t.Parallel()
	tp := &tablePlan{Name: "t", Cols: []colPlan{{Name: "id", Kind: kText}, {Name: "data", Kind: kJSON}}}
	sum := func(rows ...[]any) checksum {
		var c checksum
		for _, r := range rows {
			if err := c.add(tp, r); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	a := sum([]any{"1", `{"b":1,"a":[true,null]}`}, []any{"2", `{}`})
	b := sum([]any{"2", `{}`}, []any{"1", `{"a": [true, null], "b": 1}`})
	if !a.equal(&b) {
		t.Fatal("the same rows in another order and JSON spelling sum differently")
	}
	c := sum([]any{"2", `{}`}, []any{"1", `{"a": [true, null], "b": 2}`})
	if a.equal(&c) {
		t.Fatal("a changed value sums the same")
	}
	d := sum([]any{"1", `{"b":1,"a":[true,null]}`})
	if a.equal(&d) {
		t.Fatal("a missing row sums the same")
	}
}

// TestRefusals: a non-empty target, an existing SQLite file, a source a
// server holds, and two databases of one dialect are refused with a reason.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	src := testdb.OpenSQLite(t, store.OpenOptions{})
	var path string
	if err := src.DB().QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	from := Location{Dialect: dialectSQLite, DSN: path}
	if _, err := Copy(ctx, Options{From: from, To: Location{Dialect: dialectSQLite, DSN: filepath.Join(t.TempDir(), "x.db")}}); err == nil || !strings.Contains(err.Error(), "db backup") {
		t.Errorf("SQLite to SQLite: %v", err)
	}
	if _, err := src.DB().ExecContext(ctx, `INSERT INTO projects (id, name, status, created_at, updated_at) VALUES ('p1', 'Default', 'active', ?, ?)`, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	// A live leader lease: a server holds the source.
	if _, err := src.DB().ExecContext(ctx, `INSERT INTO river_leader (elected_at, expires_at, leader_id, name) VALUES (?, ?, 'p1', 'default')`,
		time.Now().UTC().Format(riverTimeLayout), time.Now().Add(time.Minute).UTC().Format(riverTimeLayout)); err != nil {
		t.Fatal(err)
	}
	pg := Location{Dialect: dialectPostgres, DSN: testdb.PostgresURL(t)}
	if _, err := Copy(ctx, Options{From: from, To: pg}); err == nil || !strings.Contains(err.Error(), "stop every `parley serve`") {
		t.Errorf("source in use: %v", err)
	}
	// Once the lease lapsed, the copy runs; a second one finds the target full.
	later := func() time.Time { return time.Now().Add(2 * time.Minute) }
	if _, err := Copy(ctx, Options{From: from, To: pg, Now: later}); err != nil {
		t.Fatalf("first copy: %v", err)
	}
	if _, err := Copy(ctx, Options{From: from, To: pg, Now: later}); err == nil || !strings.Contains(err.Error(), "is not empty: projects (1 rows)") {
		t.Errorf("second copy into the same database: %v", err)
	}
	// Back into an existing file: refused, and the file is left alone.
	if _, err := Copy(ctx, Options{From: pg, To: from}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("into an existing file: %v", err)
	}
}

func TestParseLocation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Location{
		"postgres://u:pw@h/db": {Dialect: dialectPostgres, DSN: "postgres://u:pw@h/db"},
		"postgresql://h/db":    {Dialect: dialectPostgres, DSN: "postgresql://h/db"},
		"./data/parley.db":     {Dialect: dialectSQLite, DSN: "./data/parley.db"},
		"sqlite:/tmp/p.db":     {Dialect: dialectSQLite, DSN: "/tmp/p.db"},
	} {
		got, err := ParseLocation(in)
		if err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLocation("mysql://h/db"); err == nil {
		t.Error("mysql:// accepted")
	}
	if got := (Location{Dialect: dialectPostgres, DSN: "postgres://u:pw@h/db"}).String(); got != "postgres://u:***@h/db" {
		t.Errorf("String = %q, want the password hidden", got)
	}
}
