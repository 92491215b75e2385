package script

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
)

// fakeDB records what scripts asked of which project.
type fakeDB struct {
	mu    sync.Mutex
	calls []string
	block bool
}

func (f *fakeDB) Query(ctx context.Context, projectID, sql string, params []any) ([]map[string]any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, projectID+": "+sql)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if strings.Contains(sql, "missing") {
		return nil, domain.Errorf(domain.CodeInvalid, "the project database refused it: no such table: missing")
	}
	return []map[string]any{{"n": params[0], "project": projectID}}, nil
}

func (f *fakeDB) InsertRow(_ context.Context, projectID, table string, row map[string]any) (map[string]any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, projectID+": insert "+table)
	f.mu.Unlock()
	out := map[string]any{"id": int64(1)}
	for k, v := range row {
		out[k] = v
	}
	return out, nil
}

type fakeHTTP struct{ got engine.HTTPRequest }

func (f *fakeHTTP) Do(_ context.Context, req engine.HTTPRequest) (engine.HTTPResponse, error) {
	f.got = req
	if strings.Contains(req.URL, "127.0.0.1") {
		return engine.HTTPResponse{}, errors.New("the address 127.0.0.1 is not allowed (private network)")
	}
	return engine.HTTPResponse{Status: 200, ContentType: "application/json", Body: []byte(`{"price": 42}`)}, nil
}

func TestScriptServices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		scope     string
		want      map[string]any
		err       string
	}{
		{"query", "const r = db.query('SELECT ? AS n', [vars.qty]); return {variables: {n: r[0].n, p: r[0].project}}", "projA",
			map[string]any{"n": int64(3), "p": "projA"}, ""},
		{"insert", "const r = db.insert('quotes', {phone: contact.phone, total: 9.5}); return {variables: {id: r.id, total: r.total}}", "projA",
			map[string]any{"id": int64(1), "total": 9.5}, ""},
		{"db error is catchable", "try { db.query('SELECT * FROM missing') } catch (e) { return {variables: {e: String(e)}} }", "projA",
			map[string]any{"e": "GoError: db.query: the project database refused it: no such table: missing"}, ""},
		{"db error fails the node", "db.query('SELECT * FROM missing')", "projA", nil, "no such table: missing"},
		{"no project, no db", "db.query('SELECT 1')", "", nil, "not available here"},
		{"bad params", "db.query('SELECT 1', 'x')", "projA", nil, "params must be an array"},
		{"http", "const r = http.request({url: 'https://api.example.com/p', method: 'post', body: {q: 1}}); return {variables: {s: r.status, p: r.json.price}}", "projA",
			map[string]any{"s": int64(200), "p": int64(42)}, ""},
		{"http guarded", "http.request({url: 'http://127.0.0.1:9/'})", "projA", nil, "not allowed"},
		{"http bad option", "http.request({url: 'https://x.example', file: '/etc/passwd'})", "projA", nil, "unknown option"},
		{"too many calls", "for (let i = 0; i < 25; i++) db.query('SELECT ?', [i])", "projA", nil, "at most 20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, h := &fakeDB{}, &fakeHTTP{}
			r := New(Limits{}, WithDB(db), WithHTTP(h))
			req := request(t, tc.src)
			req.Scope = tc.scope
			res, err := r.Run(context.Background(), req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if got := res.Vars[k]; !equal(got, want) {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
			if tc.name == "http" && (h.got.Method != "POST" || h.got.Body != `{"q":1}`) {
				t.Errorf("request = %+v", h.got)
			}
		})
	}
}

// A db call that does not answer ends with the script's time limit.
func TestScriptServicesTimeLimit(t *testing.T) {
	t.Parallel()
	db := &fakeDB{block: true}
	r := New(Limits{}, WithDB(db))
	req := request(t, "db.query('SELECT 1'); return {variables: {x: 1}}")
	req.Scope, req.Timeout = "projA", 100*time.Millisecond
	start := time.Now()
	_, err := r.Run(context.Background(), req)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}
