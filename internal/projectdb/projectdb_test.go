package projectdb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/store/testdb"
)

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC) }

// env is a Parley store with two projects and the project database
// service: on SQLite by default, on PostgreSQL when TEST_DATABASE_URL is
// set (each test gets a database of its own).
type env struct {
	svc        *Service
	st         store.Store
	a, b       string
	parleyPath string // SQLite: Parley's own database file
	dir        string
}

const (
	projA = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	projB = "0193a1b2-c3d4-7e5f-8a9b-ffffffffffff"
)

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{a: projA, b: projB, dir: t.TempDir()}
	cfg.DataDir = e.dir
	if os.Getenv(testdb.EnvVar) != "" {
		// A pool setting in the URL, as deployments write it (testdb
		// adds one too): the service must take it out rather than send
		// it to the server.
		u, err := neturl.Parse(testdb.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("pool_max_conns", "8")
		u.RawQuery = q.Encode()
		url := u.String()
		s, err := postgres.Open(ctx, url, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		e.st = s
		cfg.PostgresURL, cfg.Secret = url, []byte("0123456789abcdef0123456789abcdef")
	} else {
		e.parleyPath = filepath.Join(e.dir, "parley.db")
		s, err := sqlite.Open(ctx, e.parleyPath, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		e.st = s
	}
	for _, id := range []string{e.a, e.b} {
		if _, err := e.st.ProjectCreate(ctx, store.ProjectCreateParams{ID: id, Name: id, Now: fixedClock{}.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := New(ctx, cfg, e.st, fixedClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	t.Cleanup(func() {
		if pg, ok := svc.b.(*postgresBackend); ok {
			// Roles are the server's, not the test database's.
			for _, id := range []string{e.a, e.b} {
				if err := pg.drop(context.Background(), id); err != nil {
					t.Errorf("dropping project role: %v", err)
				}
			}
		}
		_ = svc.Close()
	})
	return e
}

func mustDo[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if err == nil || domain.CodeOf(err) != code {
		t.Fatalf("error = %v (code %s), want code %s", err, domain.CodeOf(err), code)
	}
}

var customers = TableCreate{Name: "customers", Columns: []Column{
	{Name: "phone", Type: TypeText, Unique: true, Required: true},
	{Name: "name", Type: TypeText, Index: true},
	{Name: "credit", Type: TypeNumber},
	{Name: "vip", Type: TypeBoolean},
	{Name: "since", Type: TypeDateTime},
	{Name: "meta", Type: TypeJSON},
}}

func TestProvisionStatusAndRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	ctx := context.Background()
	st := mustDo[Status](t)(e.svc.Status(ctx, e.a))
	if st.Status != StatusNone {
		t.Fatalf("before = %+v", st)
	}
	if e.svc.Dialect() == "sqlite" {
		// A directory where the file should be makes provisioning fail.
		loc := e.svc.b.location(e.a)
		if err := os.Mkdir(loc, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Provision(ctx, e.a)
		wantCode(t, err, domain.CodeUnavailable)
		st = mustDo[Status](t)(e.svc.Status(ctx, e.a))
		if st.Status != StatusFailed || st.Reason == "" || st.Attempts != 1 {
			t.Fatalf("failed = %+v", st)
		}
		// A failed database is said as such to its users, not retried.
		_, err = e.svc.Tables(ctx, e.a)
		wantCode(t, err, domain.CodeConflict)
		if err := os.Remove(loc); err != nil {
			t.Fatal(err)
		}
	}
	st = mustDo[Status](t)(e.svc.Provision(ctx, e.a))
	if st.Status != StatusReady || st.Reason != "" || st.Location == "" {
		t.Fatalf("ready = %+v", st)
	}
	again := mustDo[Status](t)(e.svc.Provision(ctx, e.a))
	if again.Attempts != st.Attempts {
		t.Fatalf("a ready database was provisioned again: %+v", again)
	}
	all := mustDo[map[string]Status](t)(e.svc.Statuses(ctx, []string{e.a, e.b}))
	if all[e.a].Status != StatusReady || all[e.b].Status != StatusNone {
		t.Fatalf("statuses = %+v", all)
	}
	// A project never provisioned gets its database on first use.
	if _, err := e.svc.Tables(ctx, e.b); err != nil {
		t.Fatal(err)
	}
	if st := mustDo[Status](t)(e.svc.Status(ctx, e.b)); st.Status != StatusReady {
		t.Fatalf("on demand = %+v", st)
	}
	if e.svc.Dialect() == "sqlite" {
		if _, err := os.Stat(filepath.Join(e.dir, "projects", safeID(e.b)+".db")); err != nil {
			t.Fatalf("project B's file: %v", err)
		}
	}
}

func TestTablesAndRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	ctx := context.Background()
	tb := mustDo[Table](t)(e.svc.CreateTable(ctx, e.a, customers))
	if len(tb.Columns) != 7 || tb.Columns[0].Name != "id" || !tb.Columns[0].PrimaryKey || tb.Columns[0].Type != TypeNumber {
		t.Fatalf("created = %+v", tb)
	}
	byName := map[string]Column{}
	for _, c := range tb.Columns {
		byName[c.Name] = c
	}
	if !byName["phone"].Unique || !byName["phone"].Required || !byName["name"].Index || byName["meta"].Type != TypeJSON ||
		byName["since"].Type != TypeDateTime || byName["vip"].Type != TypeBoolean || byName["credit"].Type != TypeNumber {
		t.Fatalf("columns = %+v", tb.Columns)
	}
	_, err := e.svc.CreateTable(ctx, e.a, customers)
	wantCode(t, err, domain.CodeConflict)
	for _, bad := range []TableCreate{
		{Name: "Bad Name", Columns: customers.Columns},
		{Name: `x"; DROP TABLE customers; --`, Columns: customers.Columns},
		{Name: "sqlite_x", Columns: customers.Columns},
		{Name: "t", Columns: []Column{{Name: "a", Type: "blob"}}},
		{Name: "t", Columns: []Column{{Name: "a", Type: TypeText}, {Name: "a", Type: TypeText}}},
		{Name: "t", Columns: []Column{{Name: "a", Type: TypeText, PrimaryKey: true}, {Name: "b", Type: TypeText, PrimaryKey: true}}},
		{Name: "t"},
	} {
		_, err := e.svc.CreateTable(ctx, e.a, bad)
		wantCode(t, err, domain.CodeInvalid)
	}

	r1 := mustDo[map[string]any](t)(e.svc.InsertRow(ctx, e.a, "customers", map[string]any{
		"phone": "+15550001", "name": "Ada", "credit": 12.5, "vip": true, "since": "2026-01-31", "meta": map[string]any{"tier": "gold"}}))
	if r1["id"] != int64(1) || r1["vip"] != true || r1["credit"] != 12.5 || r1["since"] != "2026-01-31T00:00:00Z" ||
		r1["meta"].(map[string]any)["tier"] != "gold" {
		t.Fatalf("inserted = %#v", r1)
	}
	for i, n := range []string{"Bob", "Cy", "Dee"} {
		mustDo[map[string]any](t)(e.svc.InsertRow(ctx, e.a, "customers", map[string]any{"phone": "+1555000" + string(rune('2'+i)), "name": n, "credit": float64(i)}))
	}
	_, err = e.svc.InsertRow(ctx, e.a, "customers", map[string]any{"phone": "+15550001"})
	wantCode(t, err, domain.CodeConflict)
	_, err = e.svc.InsertRow(ctx, e.a, "customers", map[string]any{"phone": "+1", "credit": "lots"})
	wantCode(t, err, domain.CodeInvalid)
	_, err = e.svc.InsertRow(ctx, e.a, "customers", map[string]any{"phone": "+1", "nope": 1})
	wantCode(t, err, domain.CodeInvalid)

	page := mustDo[RowsPage](t)(e.svc.Rows(ctx, e.a, "customers", RowsQuery{Sort: "-name", Limit: 2}))
	if page.Total != 4 || len(page.Rows) != 2 || page.Rows[0]["name"] != "Dee" || page.Rows[1]["name"] != "Cy" {
		t.Fatalf("page = %+v", page)
	}
	page = mustDo[RowsPage](t)(e.svc.Rows(ctx, e.a, "customers", RowsQuery{Sort: "-name", Limit: 2, Offset: 2}))
	if len(page.Rows) != 2 || page.Rows[0]["name"] != "Bob" {
		t.Fatalf("page 2 = %+v", page)
	}
	page = mustDo[RowsPage](t)(e.svc.Rows(ctx, e.a, "customers", RowsQuery{Filters: []Filter{{Column: "credit", Op: "ge", Value: "1"}, {Column: "name", Op: "contains", Value: "E"}}}))
	if page.Total != 1 || page.Rows[0]["name"] != "Dee" {
		t.Fatalf("filtered = %+v", page)
	}
	// A value that looks like SQL is only ever a value.
	page = mustDo[RowsPage](t)(e.svc.Rows(ctx, e.a, "customers", RowsQuery{Filters: []Filter{{Column: "name", Op: "eq", Value: "x' OR '1'='1"}}}))
	if page.Total != 0 {
		t.Fatalf("injection matched rows: %+v", page)
	}
	_, err = e.svc.Rows(ctx, e.a, "customers", RowsQuery{Filters: []Filter{{Column: "name", Op: "like", Value: "x"}}})
	wantCode(t, err, domain.CodeInvalid)
	_, err = e.svc.Rows(ctx, e.a, "customers", RowsQuery{Sort: "name; DROP TABLE customers"})
	wantCode(t, err, domain.CodeInvalid)

	up := mustDo[map[string]any](t)(e.svc.UpdateRow(ctx, e.a, "customers", "1", map[string]any{"name": "Ada L.", "vip": "no"}))
	if up["name"] != "Ada L." || up["vip"] != false || up["phone"] != "+15550001" {
		t.Fatalf("updated = %+v", up)
	}
	_, err = e.svc.UpdateRow(ctx, e.a, "customers", "99", map[string]any{"name": "x"})
	wantCode(t, err, domain.CodeNotFound)
	if err := e.svc.DeleteRow(ctx, e.a, "customers", "2"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.DeleteRow(ctx, e.a, "customers", "2"), domain.CodeNotFound)
	tables := mustDo[[]Table](t)(e.svc.Tables(ctx, e.a))
	if len(tables) != 1 || tables[0].Rows != 3 {
		t.Fatalf("tables = %+v", tables)
	}
	if err := e.svc.DropTable(ctx, e.a, "customers"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.DropTable(ctx, e.a, "customers"), domain.CodeNotFound)
}

func TestCSVImportExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	ctx := context.Background()
	mustDo[Table](t)(e.svc.CreateTable(ctx, e.a, customers))
	csv := "phone;name;credit;vip\n+15550001;Ada;10;yes\n+15550002;\"Bob\nsecond line\";x;no\n+15550001;Dup;1;no\n+15550003;=HYPERLINK(\"http://evil\");3;true\n"
	var steps []int64
	res := mustDo[ImportResult](t)(e.svc.ImportCSV(ctx, e.a, "customers", strings.NewReader(csv), func(n int64) { steps = append(steps, n) }))
	if res.Inserted != 2 || res.Failed != 2 || len(res.Errors) != 2 || res.Errors[0].Line != 3 || !strings.Contains(res.Errors[0].Message, "not a number") {
		t.Fatalf("import = %+v", res)
	}
	if len(steps) == 0 || steps[len(steps)-1] != 4 {
		t.Fatalf("progress = %v", steps)
	}
	_, err := e.svc.ImportCSV(ctx, e.a, "customers", strings.NewReader("phone,secret\n1,2\n"), nil)
	wantCode(t, err, domain.CodeInvalid)

	var out bytes.Buffer
	if err := e.svc.ExportCSV(ctx, e.a, "customers", &out); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL's identity skips the numbers of failed inserts: the id
	// column is left out of the comparison.
	var got strings.Builder
	for _, l := range strings.SplitAfter(out.String(), "\n") {
		_, rest, _ := strings.Cut(l, ",")
		got.WriteString(rest)
	}
	want := "phone,name,credit,vip,since,meta\n'+15550001,Ada,10,true,,\n'+15550003,\"'=HYPERLINK(\"\"http://evil\"\")\",3,true,,\n"
	if got.String() != want {
		t.Fatalf("export =\n%s\nwant\n%s", out.String(), want)
	}
	// The export imports back as it was: the escaping quote is removed.
	mustDo[SQLResult](t)(e.svc.SQL(ctx, e.a, "DELETE FROM customers", nil))
	res = mustDo[ImportResult](t)(e.svc.ImportCSV(ctx, e.a, "customers", bytes.NewReader(out.Bytes()), nil))
	page := mustDo[RowsPage](t)(e.svc.Rows(ctx, e.a, "customers", RowsQuery{}))
	if res.Inserted != 2 || page.Rows[0]["phone"] != "+15550001" || page.Rows[1]["name"] != `=HYPERLINK("http://evil")` {
		t.Fatalf("round trip = %+v %+v", res, page.Rows)
	}
}

func TestConsole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Timeout: time.Second, MaxRows: 3})
	ctx := context.Background()
	res := mustDo[SQLResult](t)(e.svc.SQL(ctx, e.a, "CREATE TABLE nums (n integer); INSERT INTO nums VALUES (1), (2), (3), (4), (5); SELECT n FROM nums ORDER BY n", nil))
	if res.Statements != 3 || len(res.Rows) != 3 || !res.Truncated || res.Columns[0] != "n" {
		t.Fatalf("result = %+v", res)
	}
	res = mustDo[SQLResult](t)(e.svc.SQL(ctx, e.a, "UPDATE nums SET n = n + 10 WHERE n > 3", nil))
	if res.Affected != 2 {
		t.Fatalf("affected = %+v", res)
	}
	ph := "?"
	if e.svc.Dialect() == "postgres" {
		ph = "$1"
	}
	rows := mustDo[[]map[string]any](t)(e.svc.Query(ctx, e.a, "SELECT count(*) AS c FROM nums WHERE n > "+ph, []any{10}))
	if len(rows) != 1 || rows[0]["c"] != int64(2) {
		t.Fatalf("query = %+v", rows)
	}
	// A failing statement rolls the whole request back.
	_, err := e.svc.SQL(ctx, e.a, "DELETE FROM nums; SELECT * FROM missing", nil)
	wantCode(t, err, domain.CodeInvalid)
	if !strings.Contains(err.Error(), "statement 2") {
		t.Fatalf("error = %v", err)
	}
	res = mustDo[SQLResult](t)(e.svc.SQL(ctx, e.a, "SELECT count(*) FROM nums", nil))
	if res.Rows[0][0] != int64(5) {
		t.Fatalf("rolled back? %+v", res)
	}
	// The time limit stops a runaway statement.
	slow := "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"
	if e.svc.Dialect() == "postgres" {
		slow = "SELECT pg_sleep(10)"
	}
	start := time.Now()
	_, err = e.svc.SQL(ctx, e.a, slow, nil)
	wantCode(t, err, domain.CodeInvalid)
	if !strings.Contains(err.Error(), "time limit") || time.Since(start) > 5*time.Second {
		t.Fatalf("slow = %v after %s", err, time.Since(start))
	}
	for _, bad := range []string{"", "BEGIN", "COMMIT", "SET search_path = public", "RESET ROLE", "COPY nums TO '/tmp/x'", "SELECT 'unterminated"} {
		_, err := e.svc.SQL(ctx, e.a, bad, nil)
		wantCode(t, err, domain.CodeInvalid)
	}
}

func TestDataOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	ctx := context.Background()
	mustDo[Table](t)(e.svc.CreateTable(ctx, e.a, customers))
	run := func(req engine.DataRequest) engine.DataResult {
		t.Helper()
		req.Scope = e.a
		req.Table = "customers"
		return mustDo[engine.DataResult](t)(e.svc.Data(ctx, req))
	}
	phone := []engine.DataCondition{{Column: "phone", Op: "eq", Value: "+15550001"}}
	if r := run(engine.DataRequest{Operation: flow.DataLookupOne, Where: phone}); len(r.Rows) != 0 {
		t.Fatalf("found before insert: %+v", r)
	}
	r := run(engine.DataRequest{Operation: flow.DataUpsert, Where: phone, Values: []engine.DataValue{{Column: "name", Value: "Ada"}, {Column: "credit", Value: float64(3)}}})
	if len(r.Rows) != 1 || r.Rows[0]["phone"] != "+15550001" || r.Rows[0]["name"] != "Ada" {
		t.Fatalf("upsert insert = %+v", r)
	}
	r = run(engine.DataRequest{Operation: flow.DataUpsert, Where: phone, Values: []engine.DataValue{{Column: "credit", Value: "7"}}})
	if len(r.Rows) != 1 || r.Rows[0]["credit"] != int64(7) || r.Rows[0]["name"] != "Ada" {
		t.Fatalf("upsert update = %+v", r)
	}
	run(engine.DataRequest{Operation: flow.DataInsert, Values: []engine.DataValue{{Column: "phone", Value: "+15550002"}, {Column: "credit", Value: int64(1)}}})
	r = run(engine.DataRequest{Operation: flow.DataLookupMany, Sort: "-credit", Limit: 10})
	if len(r.Rows) != 2 || r.Rows[0]["credit"] != int64(7) {
		t.Fatalf("many = %+v", r)
	}
	r = run(engine.DataRequest{Operation: flow.DataUpdate, Where: []engine.DataCondition{{Column: "credit", Op: "lt", Value: 5}}, Values: []engine.DataValue{{Column: "vip", Value: true}}})
	if r.Affected != 1 || r.Rows[0]["phone"] != "+15550002" || r.Rows[0]["vip"] != true {
		t.Fatalf("update = %+v", r)
	}
	r = run(engine.DataRequest{Operation: flow.DataDelete, Where: phone})
	if r.Affected != 1 {
		t.Fatalf("delete = %+v", r)
	}
	_, err := e.svc.Data(ctx, engine.DataRequest{Scope: e.a, Table: "customers", Operation: flow.DataDelete})
	wantCode(t, err, domain.CodeInvalid)
}

// TestIsolation tries, from project A's console, API and data node, to
// reach project B's tables and Parley's own, every way we know; each
// attempt fails with a clear error. It runs on SQLite, and on PostgreSQL
// when TEST_DATABASE_URL is set.
func TestIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Timeout: 2 * time.Second})
	ctx := context.Background()
	mustDo[SQLResult](t)(e.svc.SQL(ctx, e.b, "CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('project B only')", nil))
	mustDo[SQLResult](t)(e.svc.SQL(ctx, e.a, "CREATE TABLE mine (v text)", nil))
	pg := e.svc.Dialect() == "postgres"
	var bSchema, bFile string
	if pg {
		bSchema = e.svc.b.(*postgresBackend).schema(e.b)
	} else {
		bFile = e.svc.b.location(e.b)
	}

	// API and data node: names that are not A's tables.
	for _, name := range []string{"secrets", "projects", "users", "api_tokens", "public.projects", "main.projects", bSchema + ".secrets", "sqlite_schema", "pg_authid", "../x"} {
		if name == ".secrets" {
			continue
		}
		if _, err := e.svc.Table(ctx, e.a, name); err == nil {
			t.Errorf("API: table %q of project A found", name)
		}
		if _, err := e.svc.Rows(ctx, e.a, name, RowsQuery{}); err == nil {
			t.Errorf("API: rows of %q read from project A", name)
		}
		if _, err := e.svc.InsertRow(ctx, e.a, name, map[string]any{"v": "x"}); err == nil {
			t.Errorf("API: insert into %q from project A", name)
		}
		if _, err := e.svc.Data(ctx, engine.DataRequest{Scope: e.a, Table: name, Operation: flow.DataLookupMany}); err == nil {
			t.Errorf("data node: %q read from project A", name)
		}
	}
	// Column names are checked too: no expression hides in one.
	if _, err := e.svc.Data(ctx, engine.DataRequest{Scope: e.a, Table: "mine", Operation: flow.DataLookupMany,
		Where: []engine.DataCondition{{Column: "v) UNION SELECT v FROM secrets --", Op: "eq", Value: "x"}}}); err == nil {
		t.Error("data node: a column expression was accepted")
	}

	// Console: every way in we know.
	attempts := []string{
		"SELECT * FROM secrets",
		"SELECT * FROM projects",
		"SELECT * FROM users",
		"SELECT * FROM main.projects",
		"SELECT * FROM temp.projects",
		"SELECT * FROM main.secrets",
	}
	if pg {
		attempts = append(attempts,
			"SELECT * FROM public.projects",
			"SELECT * FROM public.api_tokens",
			`SELECT * FROM "`+bSchema+`".secrets`,
			"SELECT set_config('search_path', 'public', true); SELECT * FROM projects",
			"SELECT set_config('search_path', '"+bSchema+"', true); SELECT * FROM secrets",
			"SET search_path = public",
			"SET ROLE postgres",
			"RESET ROLE",
			"SELECT set_config('role', 'postgres', true)",
			"SELECT pg_read_file('/etc/passwd')",
			"SELECT pg_read_binary_file('postgresql.conf')",
			"SELECT * FROM pg_ls_dir('.')",
			"SELECT lo_import('/etc/passwd')",
			"CREATE EXTENSION dblink",
			"SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(x int)",
			"COPY secrets FROM '/etc/passwd'",
			"CREATE TABLE x AS SELECT * FROM pg_authid",
			"SELECT rolpassword FROM pg_authid",
			"ALTER ROLE CURRENT_USER SUPERUSER",
			"CREATE SCHEMA other",
			"GRANT USAGE ON SCHEMA \""+bSchema+"\" TO CURRENT_USER",
			"DO $$ BEGIN PERFORM 1; END $$",
		)
	} else {
		attempts = append(attempts,
			"ATTACH DATABASE '"+e.parleyPath+"' AS p",
			"ATTACH DATABASE '"+bFile+"' AS b; SELECT * FROM b.secrets",
			"attach '"+bFile+"' as b",
			"SELECT * FROM \""+bFile+"\".secrets",
			"DETACH DATABASE main",
			"SELECT load_extension('/tmp/x.so')",
			"SELECT readfile('/etc/passwd')",
			"VACUUM INTO '/tmp/copy.db'",
			"PRAGMA writable_schema = 1",
			"PRAGMA main.journal_mode = DELETE",
			"PRAGMA database_list",
			"PRAGMA temp_store_directory = '/tmp'",
			"CREATE VIRTUAL TABLE v USING fts5(x)",
			"SELECT * FROM sqlite_dbpage",
			"/* ATTACH */ SELECT 1; ATTACH '"+bFile+"' AS b",
		)
	}
	for _, sql := range attempts {
		res, err := e.svc.SQL(ctx, e.a, sql, nil)
		if err == nil {
			t.Errorf("console: %q ran: %+v", sql, res)
			continue
		}
		t.Logf("%s → %v", sql, err)
		if domain.CodeOf(err) != domain.CodeInvalid || err.Error() == "" {
			t.Errorf("console: %q failed unclearly: %v (%s)", sql, err, domain.CodeOf(err))
		}
	}
	// The code step's db.query is the console's path.
	if _, err := e.svc.Query(ctx, e.a, "SELECT * FROM secrets", nil); err == nil {
		t.Error("db.query read project B's table")
	}

	if !pg {
		// Beneath the statement check, SQLite itself refuses ATTACH on
		// every connection to a project database.
		db := mustDo[*sql.DB](t)(e.svc.db(ctx, e.a))
		tx, done, err := e.svc.b.begin(ctx, db, e.a)
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "ATTACH DATABASE '"+bFile+"' AS b"); err == nil || !strings.Contains(err.Error(), "too many attached") {
			t.Fatalf("raw ATTACH = %v", err)
		}
	}
	// B's data is still there, and only B sees it.
	res := mustDo[SQLResult](t)(e.svc.SQL(ctx, e.b, "SELECT v FROM secrets", nil))
	if len(res.Rows) != 1 || res.Rows[0][0] != "project B only" {
		t.Fatalf("B's rows = %+v", res)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("context ended")
	}
}
