package flow

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCodeNodeLint(t *testing.T) {
	t.Parallel()
	code := func(data map[string]any) string {
		b, _ := json.Marshal(data)
		return "c:code:" + string(b)
	}
	tests := []struct {
		name    string
		data    map[string]any
		code    string // expected problem code ("" = no error on the node)
		pointer string
		message string // substring of the message
	}{
		{"valid", map[string]any{"code": "return {variables: {a: 1}};"}, "", "", ""},
		{"syntax error line 1", map[string]any{"code": "x = = 2"}, CodeScriptSyntax, "/nodes/3/data/code", "line 1, column 5"},
		{"early error", map[string]any{"code": "let a; let a;"}, CodeScriptSyntax, "/nodes/3/data/code", "line 1, column 12"},
		{"syntax error line 3", map[string]any{"code": "let a = 1;\nlet b = 2;\n  a +* b;"}, CodeScriptSyntax, "/nodes/3/data/code", "line 3, column 6"},
		{"unterminated", map[string]any{"code": "let s = 'abc"}, CodeScriptSyntax, "/nodes/3/data/code", "line 1"},
		{"closing the wrapper", map[string]any{"code": "}); (function(){"}, CodeScriptSyntax, "/nodes/3/data/code", "closes its function early"},
		{"exit failed reserved", map[string]any{"code": "return {}", "exits": []string{"failed"}}, CodeInvalidValue, "/nodes/3/data/exits/0", "added by itself"},
		{"duplicate exit", map[string]any{"code": "return {}", "exits": []string{"a", "a"}}, CodeDuplicateExitName, "/nodes/3/data/exits/1", "twice"},
		{"bad output", map[string]any{"code": "return {}", "outputs": []string{"1x"}}, CodeInvalidValue, "/nodes/3/data/outputs/0", "variable name"},
		{"timeout", map[string]any{"code": "return {}", "timeout_ms": 9000}, CodeInvalidValue, "/nodes/3/data/timeout_ms", "5000"},
		{"too long", map[string]any{"code": strings.Repeat("x", MaxCodeLength+1)}, CodeInvalidValue, "/nodes/3/data/code", "at most"},
		{"missing", map[string]any{}, CodeMissingField, "", "needs code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			edges := []string{"s>m", "m>c", "c.failed>end"}
			if ex, ok := tc.data["exits"].([]string); ok {
				for _, e := range ex {
					edges = append(edges, "c."+e+">end")
				}
			} else {
				edges = append(edges, "c.next>end")
			}
			ps := Lint(g(t, with(code(tc.data)), edges...), fakeEnv{}).Errors()
			if tc.code == "" {
				if len(ps) > 0 {
					t.Fatalf("unexpected problems: %v", ps)
				}
				return
			}
			for _, p := range ps {
				if p.Code == tc.code && (tc.pointer == "" || p.Pointer == tc.pointer) && strings.Contains(p.Message, tc.message) && p.NodeID == "c" {
					return
				}
			}
			t.Fatalf("want %s at %s containing %q; got %v", tc.code, tc.pointer, tc.message, ps)
		})
	}
}

func TestCodeNodeCompile(t *testing.T) {
	t.Parallel()
	gr := g(t, with(`c:code:{"code":"return {exit: 'b'}","exits":["a","b"],"timeout_ms":250}`), "s>m", "m>c", "c.a>end", "c.b>end", "c.failed>end")
	prog, err := Compile(gr, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range prog.Steps {
		if st.Type != TypeCode {
			continue
		}
		c := st.Config.(*CodeConfig)
		if c.Script == nil || c.Script.Program() == nil || c.Timeout.Milliseconds() != 250 || c.Failed != 2 || st.Exits[c.Failed].Name != ExitFailed {
			t.Fatalf("config %+v exits %+v", c, st.Exits)
		}
		return
	}
	t.Fatal("no code step")
}

func TestCodeFieldIsCode(t *testing.T) {
	t.Parallel()
	nt, ok := LookupNodeType(TypeCode)
	if !ok {
		t.Fatal("code is not registered")
	}
	for _, f := range nt.Fields {
		if f.Name == "code" {
			if f.Format != "code" || f.SingleLine {
				t.Fatalf("code field %+v", f)
			}
			return
		}
	}
	t.Fatal("no code field")
}
