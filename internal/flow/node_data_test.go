package flow

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDataNodeLint(t *testing.T) {
	t.Parallel()
	node := func(data map[string]any) string {
		b, _ := json.Marshal(data)
		return "c:data:" + string(b)
	}
	phone := []map[string]any{{"column": "phone", "value": "{{ contact.phone }}"}}
	tests := []struct {
		name    string
		data    map[string]any
		code    string
		pointer string
		message string
	}{
		{"lookup", map[string]any{"table": "customers", "operation": "lookup_one", "where": phone, "variable": "customer"}, "", "", ""},
		{"insert", map[string]any{"table": "quotes", "operation": "insert", "values": map[string]any{"total": "{{ total }}"}}, "", "", ""},
		{"bad table", map[string]any{"table": "public.users", "operation": "lookup_one"}, CodeInvalidValue, "/nodes/3/data/table", "lower-case"},
		{"bad column", map[string]any{"table": "t", "operation": "lookup_one", "where": []map[string]any{{"column": "a) OR (1=1", "value": "x"}}}, CodeInvalidValue, "/nodes/3/data/where/0/column", "lower-case"},
		{"bad op", map[string]any{"table": "t", "operation": "lookup_one", "where": []map[string]any{{"column": "a", "op": "like", "value": "x"}}}, "", "/nodes/3/data/where/0/op", "like"},
		{"update without where", map[string]any{"table": "t", "operation": "update", "values": map[string]any{"a": "1"}}, CodeInvalidValue, "/nodes/3/data/where", "every row"},
		{"delete without where", map[string]any{"table": "t", "operation": "delete"}, CodeInvalidValue, "/nodes/3/data/where", "every row"},
		{"insert without values", map[string]any{"table": "t", "operation": "insert"}, CodeInvalidValue, "/nodes/3/data/values", "column value"},
		{"upsert not equality", map[string]any{"table": "t", "operation": "upsert", "values": map[string]any{"a": "1"},
			"where": []map[string]any{{"column": "a", "op": "gt", "value": "1"}}}, CodeInvalidValue, "/nodes/3/data/where/0/op", "equalities"},
		{"bad variable", map[string]any{"table": "t", "operation": "lookup_one", "variable": "1x"}, CodeInvalidValue, "/nodes/3/data/variable", "variable name"},
		{"limit", map[string]any{"table": "t", "operation": "lookup_many", "limit": 500}, CodeInvalidValue, "/nodes/3/data/limit", "100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps := Lint(g(t, with(node(tc.data)), "s>m", "m>c", "c.found>end", "c.not_found>end", "c.failed>end"), fakeEnv{}).Errors()
			if tc.pointer == "" {
				if len(ps) > 0 {
					t.Fatalf("unexpected problems: %v", ps)
				}
				return
			}
			for _, p := range ps {
				if (tc.code == "" || p.Code == tc.code) && p.Pointer == tc.pointer && strings.Contains(p.Message, tc.message) {
					return
				}
			}
			t.Fatalf("want %s at %s containing %q; got %v", tc.code, tc.pointer, tc.message, ps)
		})
	}
}
