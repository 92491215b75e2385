package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/projectdb"
	"github.com/parleyhq/parley/internal/script"
)

// dataHarness is the harness with project databases (SQLite files in a
// temporary directory, whatever Parley's own database is) and code steps
// that reach them.
func dataHarness(t *testing.T) *harness {
	dir := t.TempDir()
	return newHarnessWith(t, func(d *httpapi.Deps) {
		pdb, err := projectdb.New(context.Background(), projectdb.Config{DataDir: dir}, d.Store, domain.SystemClock{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pdb.Close() })
		d.ProjectData = pdb
		d.Scripts = script.New(script.Limits{}, script.WithDB(pdb))
	})
}

// TestProjectDataAPIIsolation: through the API, project A reaches neither
// project B's tables nor Parley's own — by table routes, the console or a
// code step's db.query — and each attempt says why.
func TestProjectDataAPIIsolation(t *testing.T) {
	t.Parallel()
	h := dataHarness(t)
	a, b := h.bearer(h.tenant("Alpha").token), h.bearer(h.tenant("Beta").token)
	b.do("POST", "/data/tables/", map[string]any{"name": "secrets", "columns": []any{map[string]any{"name": "v", "type": "text"}}}).want(http.StatusCreated)
	b.do("POST", "/data/tables/secrets/rows/", map[string]any{"v": "only B"}).want(http.StatusCreated)
	a.do("POST", "/data/tables/", map[string]any{"name": "mine", "columns": []any{map[string]any{"name": "v", "type": "text"}}}).want(http.StatusCreated)

	if st := a.do("GET", "/data/", nil).want(http.StatusOK).json(); st["status"] != "ready" || st["dialect"] != "sqlite" {
		t.Fatalf("status = %v", st)
	}
	tables := a.do("GET", "/data/tables/", nil).want(http.StatusOK).json()["results"].([]any)
	if len(tables) != 1 || tables[0].(map[string]any)["name"] != "mine" {
		t.Fatalf("A's tables = %v", tables)
	}
	for _, path := range []string{"/data/tables/secrets/", "/data/tables/secrets/rows/", "/data/tables/secrets/export.csv", "/data/tables/projects/rows/"} {
		a.do("GET", path, nil).want(http.StatusNotFound)
	}
	a.do("POST", "/data/tables/secrets/rows/", map[string]any{"v": "x"}).want(http.StatusNotFound)
	a.do("DELETE", "/data/tables/secrets/", nil).want(http.StatusNotFound)
	for _, sql := range []string{"SELECT * FROM secrets", "SELECT * FROM projects", "SELECT * FROM api_tokens", "ATTACH DATABASE 'parley.db' AS p"} {
		r := a.do("POST", "/data/sql", map[string]any{"sql": sql})
		if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d %s", sql, r.status, r.body)
		}
	}
	out := a.do("POST", "/chat-flow/code-test/", map[string]any{"code": "return {variables: {rows: db.query('SELECT * FROM secrets')}}"}).want(http.StatusOK).json()
	if !strings.Contains(out["error"].(string), "no such table: secrets") {
		t.Fatalf("code step reached B: %v", out)
	}
	out = a.do("POST", "/chat-flow/code-test/", map[string]any{"code": "db.insert('mine', {v: 'hi'}); return {variables: {n: db.query('SELECT count(*) AS n FROM mine')[0].n}}"}).want(http.StatusOK).json()
	if out["variables"].(map[string]any)["n"] != float64(1) {
		t.Fatalf("code step on A's own table: %v", out)
	}
	// B's row is B's, and the project list says each database is ready.
	if res := b.do("POST", "/data/sql", map[string]any{"sql": "SELECT v FROM secrets"}).want(http.StatusOK).json(); res["rows"].([]any)[0].([]any)[0] != "only B" {
		t.Fatalf("B's rows = %v", res)
	}
	for _, p := range a.do("GET", "/projects/", nil).want(http.StatusOK).json()["results"].([]any) {
		if db := p.(map[string]any)["database"].(map[string]any); db["status"] != "ready" {
			t.Fatalf("project list = %v", p)
		}
	}
}
