package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
)

// fakeData answers data nodes and records what they asked.
type fakeData struct {
	got  engine.DataRequest
	res  engine.DataResult
	fail error
}

func (f *fakeData) Data(_ context.Context, req engine.DataRequest) (engine.DataResult, error) {
	f.got = req
	return f.res, f.fail
}

// TestDataNode: the data node hands its rendered values to the service
// (a whole hole keeps its type; the flow's scope names the project),
// sets its variable and takes found, not_found or failed.
func TestDataNode(t *testing.T) {
	t.Parallel()
	graph := func(op string) json.RawMessage {
		return json.RawMessage(`{"nodes":[{"id":"s","type":"start","data":{"trigger":{"type":"manual"}}},
 {"id":"d","type":"data","data":{"table":"customers","operation":"` + op + `","where":[{"column":"phone","value":"{{ contact.phone }}"},{"column":"credit","op":"ge","value":"{{ n * 2 }}"}],
   "values":{"name":"Hi {{ contact.name }}"},"variable":"out"}},
 {"id":"found","type":"end","data":{"text":"found"}},{"id":"nf","type":"end","data":{"text":"not_found"}},{"id":"ko","type":"end","data":{"text":"failed"}}],
 "edges":[{"id":"e1","source":"s","target":"d"},{"id":"e2","source":"d","sourceHandle":"found","target":"found"},
  {"id":"e3","source":"d","sourceHandle":"not_found","target":"nf"},{"id":"e4","source":"d","sourceHandle":"failed","target":"ko"}]}`)
	}
	row := map[string]any{"phone": "+1555", "name": "Ada"}
	tests := []struct {
		name, op string
		data     *fakeData
		exit     string
		out      any
	}{
		{"lookup found", "lookup_one", &fakeData{res: engine.DataResult{Rows: []map[string]any{row}}}, "found", row},
		{"lookup not found", "lookup_one", &fakeData{}, "not_found", nil},
		{"many", "lookup_many", &fakeData{res: engine.DataResult{Rows: []map[string]any{row, row}}}, "found", []any{row, row}},
		{"many none", "lookup_many", &fakeData{}, "not_found", []any{}},
		{"delete", "delete", &fakeData{res: engine.DataResult{Affected: 2}}, "found", int64(2)},
		{"delete none", "delete", &fakeData{}, "not_found", int64(0)},
		{"failure", "update", &fakeData{fail: errors.New("no such table")}, "failed", nil},
		{"no service", "lookup_one", nil, "failed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := engine.Services{}
			if tc.data != nil {
				svc.Data = tc.data
			}
			f := compile(t, "main", graph(tc.op))
			f.Scope = "proj-a"
			s, evs, err := newEngine(t, svc).Start(context.Background(), f, expr.Contact{ID: "c1", Name: "Ada", Phone: "+1555"}, engine.Trigger{Vars: map[string]any{"n": 3}})
			if err != nil {
				t.Fatal(err)
			}
			text := ""
			for _, ev := range evs {
				if ev.Kind == engine.EventMessageOut && ev.Message != nil {
					text = ev.Message.Text
				}
			}
			if text != tc.exit {
				t.Fatalf("exit = %q, want %q (events %+v)", text, tc.exit, evs)
			}
			if got, _ := json.Marshal(s.Vars["out"]); string(got) != mustJSON(tc.out) {
				t.Errorf("out = %s, want %s", got, mustJSON(tc.out))
			}
			if tc.data == nil {
				return
			}
			g := tc.data.got
			if g.Scope != "proj-a" || g.Table != "customers" || g.Operation != tc.op || len(g.Where) != 2 ||
				g.Where[0].Value != "+1555" || g.Where[0].Op != "eq" || g.Where[1].Op != "ge" || g.Values[0].Value != "Hi Ada" {
				t.Fatalf("request = %+v", g)
			}
			if n, ok := g.Where[1].Value.(int); !ok || n != 6 {
				if f, ok := g.Where[1].Value.(float64); !ok || f != 6 {
					if i, ok := g.Where[1].Value.(int64); !ok || i != 6 {
						t.Fatalf("a whole hole lost its type: %#v", g.Where[1].Value)
					}
				}
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
