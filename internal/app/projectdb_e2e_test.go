package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/sandbox"
)

// TestProjectDatabaseEndToEnd: the project's database is ready in the
// project list; a table is created and filled from a CSV; a flow looks up
// the contact's row by phone with a data node, computes a quote in a code
// step that queries the database, writes a row back; the console sees it.
func TestProjectDatabaseEndToEnd(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{})
	r.eventually("the project's database is ready", func() bool {
		out := r.must("GET", "/projects/", nil, http.StatusOK)
		for _, p := range out["results"].([]any) {
			if db, ok := p.(map[string]any)["database"].(map[string]any); ok && db["status"] == "ready" {
				return true
			}
		}
		return false
	})
	r.must("POST", "/data/tables/", map[string]any{"name": "customers", "columns": []any{
		map[string]any{"name": "phone", "type": "text", "primary_key": true},
		map[string]any{"name": "name", "type": "text"},
		map[string]any{"name": "discount", "type": "number"},
	}}, http.StatusCreated)
	r.must("POST", "/data/tables/", map[string]any{"name": "quotes", "columns": []any{
		map[string]any{"name": "phone", "type": "text", "index": true},
		map[string]any{"name": "total", "type": "number"},
	}}, http.StatusCreated)
	status, imp := r.Upload("/data/tables/customers/import", nil, "customers.csv", strings.NewReader("phone,name,discount\n+15550001,Ada,0.1\n+15550002,Bob,0\n"))
	if status != http.StatusOK || imp["inserted"] != float64(2) {
		t.Fatalf("import = %d %v", status, imp)
	}
	graph := `{"nodes":[
 {"id":"s","type":"start","data":{"trigger":{"type":"manual"}}},
 {"id":"find","type":"data","data":{"table":"customers","operation":"lookup_one","where":[{"column":"phone","value":"{{ contact.phone }}"}],"variable":"customer"}},
 {"id":"quote","type":"code","data":{"code":"const n = db.query('SELECT count(*) AS n FROM customers')[0].n;\nconst total = 100 * (1 - vars.customer.discount);\ndb.insert('quotes', {phone: contact.phone, total});\nreturn {variables: {total, customers: n}};"}},
 {"id":"ok","type":"end","data":{"text":"{{ customer.name }}: {{ total }} ({{ customers }} customers)"}},
 {"id":"new","type":"end","data":{"text":"Who are you?"}},
 {"id":"ko","type":"end","data":{"text":"Sorry"}}],
 "edges":[{"id":"e1","source":"s","target":"find"},
  {"id":"e2","source":"find","sourceHandle":"found","target":"quote"},
  {"id":"e3","source":"find","sourceHandle":"not_found","target":"new"},
  {"id":"e4","source":"find","sourceHandle":"failed","target":"ko"},
  {"id":"e5","source":"quote","sourceHandle":"next","target":"ok"},
  {"id":"e6","source":"quote","sourceHandle":"failed","target":"ko"}]}`
	f := r.Publish("quote", graph)
	last := func(sim map[string]any) string {
		msgs := sim["messages"].([]any)
		for i := len(msgs) - 1; i >= 0; i-- {
			if m := msgs[i].(map[string]any); m["direction"] == "out" {
				return m["text"].(string)
			}
		}
		return ""
	}
	sim := r.must("POST", "/simulator/sessions/", map[string]any{"flow_id": f["id"], "contact": map[string]any{"name": "Ada", "phone": "+15550001"}}, http.StatusCreated)
	if got := last(sim); got != "Ada: 90 (2 customers)" {
		t.Fatalf("found: %q in %v", got, sim)
	}
	sim = r.must("POST", "/simulator/sessions/", map[string]any{"flow_id": f["id"], "contact": map[string]any{"name": "Zed", "phone": "+15559999"}}, http.StatusCreated)
	if got := last(sim); got != "Who are you?" {
		t.Fatalf("not found: %q", got)
	}
	// Exactly one row: the simulator's own processing and the inbox's
	// dispatcher take turns on a contact (inbox.pass), so a sprint's side
	// effects — this insert, an http_request's call — happen once.
	res := r.must("POST", "/data/sql", map[string]any{"sql": "SELECT phone, total FROM quotes"}, http.StatusOK)
	rows := res["rows"].([]any)
	if len(rows) != 1 || rows[0].([]any)[0] != "+15550001" || rows[0].([]any)[1] != float64(90) {
		t.Fatalf("console = %v", res)
	}
	// Parley's own tables are not the project's.
	if status, out := r.call("POST", "/data/sql", map[string]any{"sql": "SELECT * FROM api_tokens"}); status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		t.Fatalf("console reached Parley's tables: %d %v", status, out)
	}
	out := r.must("GET", "/data/tables/quotes/rows/?filter=phone:eq:%2B15550001", nil, http.StatusOK)
	if out["total"].(float64) < 1 || out["rows"].([]any)[0].(map[string]any)["total"] != float64(90) {
		t.Fatalf("rows = %v", out)
	}
}
