package script

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
)

func request(t *testing.T, src string) engine.ScriptRequest {
	t.Helper()
	s, err := flow.CompileScript(src)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return engine.ScriptRequest{Script: s,
		Vars:    map[string]any{"qty": 3, "price": 2.5, "items": []any{"a", "b"}},
		Contact: expr.Contact{ID: "c1", Name: "Ana", Phone: "+4915112345678", Fields: map[string]any{"city": "Berlin"}, Tags: []string{"vip"}},
		Trigger: engine.ScriptTrigger{Input: expr.Input{Text: "quote please", Type: "text"}, Flow: expr.Flow{ID: "f1", Name: "Quotes", Revision: 2}},
	}
}

func TestRunOutputs(t *testing.T) {
	t.Parallel()
	r := New(Limits{})
	tests := []struct {
		name string
		src  string
		vars map[string]any
		exit string
	}{
		{"nothing", "", nil, ""},
		{"compute", "return {variables: {total: vars.qty * vars.price}}", map[string]any{"total": 7.5}, ""},
		{"integer", "return {variables: {n: vars.qty + 1}}", map[string]any{"n": int64(4)}, ""},
		{"exit", "return {exit: vars.qty > 2 ? 'big' : 'small'}", nil, "big"},
		{"contact", "return {variables: {who: contact.name + '/' + contact.fields.city + '/' + contact.tags[0] + '/' + contact.phone}}", map[string]any{"who": "Ana/Berlin/vip/+4915112345678"}, ""},
		{"trigger", "return {variables: {t: trigger.input.text, f: trigger.flow.name, rev: trigger.flow.revision}}", map[string]any{"t": "quote please", "f": "Quotes", "rev": int64(2)}, ""},
		{"structures", "return {variables: {o: {a: [1, 'x', true, null]}, d: new Date(0)}}", map[string]any{"o": map[string]any{"a": []any{int64(1), "x", true, nil}}, "d": "1970-01-01T00:00:00Z"}, ""},
		{"array input", "return {variables: {n: vars.items.length}}", map[string]any{"n": int64(2)}, ""},
		{"null result", "return null", nil, ""},
		{"spread and for-of", "const a = [1, 2, 3]; let s = 0; for (const x of a) s += x; return {variables: {m: Math.max(...a, 0), c: [...a, 4].length, s}}", map[string]any{"m": int64(3), "c": int64(4), "s": int64(6)}, ""},
		{"helpers", "function sq(x) { return x * x }\nconst xs = [1,2,3].map(sq);\nreturn {variables: {s: xs.join('+'), j: JSON.stringify({a: xs})}}", map[string]any{"s": "1+4+9", "j": `{"a":[1,4,9]}`}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := r.Run(context.Background(), request(t, tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if res.Exit != tc.exit || len(res.Vars) != len(tc.vars) {
				t.Fatalf("got %+v", res)
			}
			for k, want := range tc.vars {
				if got := res.Vars[k]; !equal(got, want) {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equal(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// TestRunErrors covers every limit and error path: each run must fail with
// an error naming the cause, promptly.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		limits  Limits
		timeout time.Duration
		want    string
		is      error
	}{
		{"throws", "throw new Error('no stock')", Limits{}, 0, "the script threw: Error: no stock", nil},
		{"reference error", "return {variables: {a: nope}}", Limits{}, 0, "nope is not defined", nil},
		{"infinite loop", "for (;;) {}", Limits{}, 50 * time.Millisecond, "time limit", ErrTimeout},
		{"infinite loop caught", "for (;;) { try { for (;;) {} } catch (e) {} }", Limits{}, 50 * time.Millisecond, "time limit", ErrTimeout},
		{"default timeout 500ms", "while (true) {}", Limits{}, 0, "500ms", ErrTimeout},
		{"timeout capped", "while (true) {}", Limits{MaxTimeout: 30 * time.Millisecond}, time.Hour, "30ms", ErrTimeout},
		{"deep recursion", "function f(n) { return f(n + 1) + 1 }\nreturn {variables: {a: f(0)}}", Limits{}, 0, "recursed too deeply", nil},
		{"deep recursion caught", "function f(n) { try { return f(n + 1) } catch (e) { return f(n + 1) } }\nf(0)", Limits{}, 100 * time.Millisecond, "", nil},
		{"string doubling", "let s = 'x'; for (;;) s += s;", Limits{MaxHeapGrowth: 32 << 20, MaxStringLength: 1 << 40}, 5 * time.Second, "too much memory", ErrMemory},
		{"array growth", "const a = []; for (;;) a.push({x: a.length});", Limits{MaxHeapGrowth: 32 << 20}, 5 * time.Second, "too much memory", ErrMemory},
		{"catastrophic backtracking", "return {variables: {r: /(a+)+\\1b/.test('a'.repeat(40))}}", Limits{}, 100 * time.Millisecond, "time limit", ErrTimeout},
		{"spread of a huge array", "const a = []; a.length = 2 ** 31; const b = [...a]; return {}", Limits{}, 0, "the array has 2147483648 elements", nil},
		{"call spread of a huge array", "const a = new Array(2 ** 31); return {variables: {m: Math.max(...a)}}", Limits{}, 0, "the array has 2147483648 elements", nil},
		{"repeat", "return {variables: {s: 'x'.repeat(2 ** 30)}}", Limits{}, 0, "repeat would build a string longer than", nil},
		{"padEnd", "return {variables: {s: ''.padEnd(2 ** 30)}}", Limits{}, 0, "padEnd would build", nil},
		{"replaceAll", "const s = 'x'.repeat(1 << 19); return {variables: {s: s.replaceAll('x', '$&$&$&')}}", Limits{}, 0, "replaceAll would build", nil},
		{"huge array fill", "return {variables: {a: new Array(2 ** 31).fill(0)}}", Limits{}, 0, "the array has 2147483648 elements", nil},
		{"array-like join", "return {variables: {s: Array.prototype.join.call({length: 2 ** 40}, 'x')}}", Limits{}, 0, "elements; at most", nil},
		{"join of shared big strings", "const s = 'x'.repeat(1 << 20); const a = new Array(1000).fill(s); return {variables: {s: a.join()}}", Limits{}, 0, "join would build", nil},
		{"Array.from", "return {variables: {a: Array.from({length: 2 ** 31})}}", Limits{}, 0, "Array.from's source", nil},
		{"apply", "return {variables: {a: Math.max.apply(null, {length: 2 ** 31})}}", Limits{}, 0, "apply's arguments", nil},
		{"flat of doubling", "let a = [1]; for (let i = 0; i < 40; i++) a = [a, a]; return {variables: {n: a.flat(Infinity).length}}", Limits{}, 0, "flat would build", nil},
		{"stringify of doubling", "let a = [1]; for (let i = 0; i < 20; i++) a = [a, a]; return {variables: {s: JSON.stringify(a)}}", Limits{}, 0, "JSON.stringify: the value is too large", nil},
		{"result of doubling", "let a = [1]; for (let i = 0; i < 20; i++) a = [a, a]; return {variables: {a}}", Limits{}, 0, "too many members", nil},
		{"ArrayBuffer removed", "return {variables: {b: new ArrayBuffer(2 ** 31).byteLength}}", Limits{}, 0, "ArrayBuffer is not defined", nil},
		{"no require", "const fs = require('fs'); return {}", Limits{}, 0, "require is not defined", nil},
		{"no setTimeout", "setTimeout(() => {}, 10); return {}", Limits{}, 0, "setTimeout is not defined", nil},
		{"no process", "return {variables: {e: process.env.HOME}}", Limits{}, 0, "process is not defined", nil},
		{"not an object", "return 42", Limits{}, 0, "it returned a int64", ErrResult},
		{"unknown member", "return {vars: {}}", Limits{}, 0, `unknown member "vars"`, ErrResult},
		{"exit not a string", "return {exit: 3}", Limits{}, 0, "exit is a int64", ErrResult},
		{"function variable", "return {variables: {f: () => 1}}", Limits{}, 0, "a function cannot be stored", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := request(t, tc.src)
			req.Timeout = tc.timeout
			start := time.Now()
			_, err := New(tc.limits).Run(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v is not %v", err, tc.is)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}

// TestRunIsolation: whatever a script leaves in its runtime (globals,
// patched prototypes, changed inputs) is gone at the next call.
func TestRunIsolation(t *testing.T) {
	t.Parallel()
	r := New(Limits{})
	req := request(t, "globalThis.leak = contact.id; Object.prototype.polluted = 1; Array.prototype.join = () => 'hacked'; Math.max = () => -1; vars.qty = 99; contact.tags.push('x'); return {}")
	if _, err := r.Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if req.Vars["qty"] != 3 || len(req.Contact.Tags) != 1 {
		t.Fatalf("the script changed the engine's inputs: %v %v", req.Vars, req.Contact.Tags)
	}
	probe := request(t, "return {variables: {leak: typeof leak, polluted: ({}).polluted === undefined, join: [1, 2].join('-'), max: Math.max(1, 2)}}")
	probe.Contact.ID = "other-project-contact"
	res, err := r.Run(context.Background(), probe)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"leak": "undefined", "polluted": true, "join": "1-2", "max": int64(2)}
	if !equal(res.Vars, want) {
		t.Fatalf("state leaked between calls: %v", res.Vars)
	}
}

func TestRunContextCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	req := request(t, "for (;;) {}")
	req.Timeout = 5 * time.Second
	_, err := New(Limits{}).Run(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkRun(b *testing.B) {
	s, err := flow.CompileScript("return {variables: {total: vars.qty * vars.price}, exit: 'next'}")
	if err != nil {
		b.Fatal(err)
	}
	r := New(Limits{})
	req := engine.ScriptRequest{Script: s, Vars: map[string]any{"qty": 3, "price": 2.5}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
