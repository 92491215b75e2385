package expr

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nest builds `let a0 = leaf; let a1 = [a0, a0, …]; …; last(aN)` source: a
// structure that is small in memory (every level shares the one below)
// but prints width^depth times the leaf.
func nest(leaf string, width, depth int, last string) string {
	var b strings.Builder
	b.WriteString("let a0 = " + leaf + "; ")
	for d := 1; d <= depth; d++ {
		prev := "a" + itoa(d-1)
		b.WriteString("let a" + itoa(d) + " = [" + strings.TrimSuffix(strings.Repeat(prev+", ", width), ", ") + "]; ")
	}
	b.WriteString(strings.ReplaceAll(last, "X", "a"+itoa(depth)))
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestBudgetAttacks runs every known way to make one expression exhaust
// memory or CPU; each must stop with ErrBudget, quickly and without
// allocating anywhere near what it asks for.
func TestBudgetAttacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
	}{
		{"doubling reduce (issue #12)", `len(reduce(1..34, #acc + #acc, "x"))`},
		{"quadratic reduce (issue #12)", `reduce(1..99999, #acc + "xxxxxxxxxx", "")`},
		{"doubling lets", `let a = "xxxxxxxxxxxxxxxx"; let b = a + a + a + a; let c = b + b + b + b; let d = c + c + c + c; let e = d + d + d + d; let f = e + e + e + e; let g = f + f + f + f; let h = g + g + g + g; let i = h + h + h + h; len(i + i)`},
		{"nested repeat", `repeat(repeat("x", 100000), 100000)`},
		{"repeat over the limit", `repeat("x", 2000000)`},
		{"repeat in a loop", `count(1..100000, len(repeat("x", 100000)) > 0)`},
		{"replace amplification", `replace(repeat("a", 100000), "a", repeat("b", 100000))`},
		{"replace of empty", `replace(repeat("a", 100000), "", repeat("b", 100))`},
		{"join of a big list", `let s = repeat("x", 100000); join(map(1..10000, s), "")`},
		{"join with a big glue", `join(map(1..10000, "a"), repeat("x", 1000))`},
		{"map over 1..1e9", `map(1..1000000000, #)`},
		{"len of a huge range", `len(1..1000000000)`},
		{"split into runes in a loop", `let s = repeat("x", 100000); map(1..1000, split(s, ""))`},
		{"split into too many parts", `split(repeat("x", 500000), "")`},
		{"upper in a loop", `let s = repeat("x", 100000); map(1..100000, upper(s))`},
		{"concat of big lists", `let a = map(1..90000, #); concat(a, a, a, a, a, a, a, a, a, a)`},
		{"concat in reduce", `reduce(1..20000, concat(#acc, [#]), [])`},
		{"flatten of a shared tree", nest("1..1000", 10, 6, "len(flatten(X))")},
		{"toJSON of a shared tree", nest(`"xxxxxxxxxx"`, 10, 8, "len(toJSON(X))")},
		{"string of a shared tree", nest(`"xxxxxxxxxx"`, 10, 8, "len(string(X))")},
		{"text of a shared tree", nest(`"xxxxxxxxxx"`, 10, 8, "len(text(X))")},
		{"shared tree as the result", nest(`"xxxxxxxxxx"`, 10, 8, "X")},
		{"toJSON compounding", `let a = repeat("\"", 10000); let b = toJSON(toJSON(toJSON(a))); len(toJSON(toJSON(toJSON(toJSON(toJSON(toJSON(b)))))))`},
		{"base64 compounding", `let a = repeat("x", 300000); len(toBase64(toBase64(toBase64(toBase64(toBase64(a))))))`},
		{"format_date layout", `format_date(now, repeat("Monday ", 200000))`},
		{"fromJSON in a loop", `let s = toJSON(map(1..20000, #)); map(1..1000, fromJSON(s))`},
		{"keys in a loop", `let m = fromPairs(map(1..50000, [string(#), #])); map(1..10000, keys(m))`},
		{"scope text concatenated", `vars.big + "x"`},
		{"scope text through a function", `default(vars.big, "")`},
		{"nested loops over scope data", `count(vars.list, any(vars.list, any(vars.list, # == -1)))`},
	}
	bigList := make([]any, 2000)
	for i := range bigList {
		bigList[i] = i
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, err := Compile(tt.src, WithLimits(Limits{MaxNodes: 2000}))
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			env := testEnv()
			env.Vars["big"] = strings.Repeat("y", DefaultMaxValueBytes+1)
			env.Vars["list"] = bigList
			start := time.Now()
			v, err := x.Eval(env)
			if !errors.Is(err, ErrBudget) {
				t.Fatalf("want ErrBudget, got %v (value of %d bytes)", err, sizeOf(v, 1<<30))
			}
			// Far above the 500 ms limit: CI machines are shared; an
			// unbudgeted attack takes tens of seconds or all memory.
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d)
			}
			if !strings.Contains(err.Error(), "expression cost budget exceeded: ") {
				t.Fatalf("error does not say why: %v", err)
			}
		})
	}
}

// TestBudgetAttacksAllocate measures that the worst attacks stop before
// allocating much: the budget is enforced while evaluating, not after.
func TestBudgetAttacksAllocate(t *testing.T) {
	for _, src := range []string{
		`len(reduce(1..34, #acc + #acc, "x"))`,
		`reduce(1..99999, #acc + "xxxxxxxxxx", "")`,
		`repeat(repeat("x", 100000), 100000)`,
		`replace(repeat("a", 100000), "a", repeat("b", 100000))`,
		`let s = repeat("x", 100000); join(map(1..10000, s), "")`,
		nest(`"xxxxxxxxxx"`, 10, 8, "len(toJSON(X))"),
	} {
		x, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err = x.Eval(testEnv())
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBudget) {
			t.Fatalf("%s: want ErrBudget, got %v", src, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
			t.Errorf("%s: allocated %d MiB before stopping", src, n>>20)
		}
	}
}

// TestBudgetAllowsOrdinaryWork keeps the limits out of the way of real
// flows: big but reasonable values and loops pass.
func TestBudgetAllowsOrdinaryWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want any
	}{
		{`len(repeat("ab", 100000))`, 200000},
		{`len(reduce(1..1000, #acc + "x", ""))`, 1000},
		{`len(join(map(1..10000, "abc"), ","))`, 39999},
		{`len(replace(repeat("a", 1000), "a", "bb"))`, 2000},
		{`len(split(repeat("a,", 1000), ","))`, 1001},
		{`sum(map(1..50000, # % 7))`, 150003},
		{`len(toJSON(map(1..1000, [#])))`, 16895},
		{`upper(first_name) + " " + lower(contact.name)`, "ANN bob"},
		{`len(text(map(1..100, repeat("x", 100))))`, 10198},
		{`contact.name + " " + contact.phone`, "Bob +4915112345678"},
		{`guests + 1.5`, 4.5},
		{`format_date(now + duration("24h"), "date")`, "2024-03-06"},
		{`len(flatten([[1, 2], [3, [4]]]))`, 4},
		{`len(concat([1], [2, 3]))`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			x, err := Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			env := testEnv()
			// A clock that stands still: a loaded test machine must not
			// trip the duration limit (TestBudgetDuration covers it).
			env.Clock = func() time.Time { return env.Now }
			got, err := x.Eval(env)
			if err != nil || got != tt.want {
				t.Fatalf("got %#v %v, want %#v", got, err, tt.want)
			}
		})
	}
}

func TestBudgetTypeErrorsStayErrors(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`"ab" * 3`, `first_name * 1000000000`, `first_name + 1`, `repeat("x", -1)`, `join([1, 2])`} {
		x, err := Compile(src)
		if err != nil {
			continue // refused at compile time is fine too
		}
		if _, err := x.Eval(testEnv()); err == nil || errors.Is(err, ErrBudget) {
			t.Errorf("%s: want an ordinary error, got %v", src, err)
		}
	}
}

func TestBudgetGuardNamesNotCallable(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`__b_repeat("x", 1000000000)`, `__add("a", "b")`, `__tick(1)`} {
		if _, err := Compile(src); err == nil {
			t.Errorf("%s compiled", src)
		}
	}
}

func TestBudgetDuration(t *testing.T) {
	t.Parallel()
	x, err := Compile(`count(1..50000, # > 0)`)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	now := time.Unix(0, 0)
	env.Clock = func() time.Time {
		now = now.Add(10 * time.Millisecond)
		return now
	}
	_, err = x.Eval(env)
	if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "ran longer than "+DefaultMaxDuration.String()) {
		t.Fatalf("want a duration budget error, got %v", err)
	}
}

func TestBudgetShared(t *testing.T) {
	t.Parallel()
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		x, err := Compile(`len(repeat("x", 600))`)
		if err != nil {
			t.Fatal(err)
		}
		env := testEnv()
		env.ResetBudget(Budget{Bytes: 1000})
		if _, err := x.Eval(env); err != nil {
			t.Fatal(err)
		}
		if _, err := x.Eval(env); !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "in this run") {
			t.Fatalf("second evaluation: want a shared budget error, got %v", err)
		}
		if _, b := env.BudgetSpent(); b != 1200 {
			t.Fatalf("spent %d bytes, want 1200", b)
		}
		env.ResetBudget(Budget{Bytes: 1000})
		if _, err := x.Eval(env); err != nil {
			t.Fatalf("after reset: %v", err)
		}
	})
	t.Run("steps", func(t *testing.T) {
		t.Parallel()
		x, err := Compile(`count(1..600, # > 0)`)
		if err != nil {
			t.Fatal(err)
		}
		env := testEnv()
		env.ResetBudget(Budget{Steps: 1000})
		if _, err := x.Eval(env); err != nil {
			t.Fatal(err)
		}
		if _, err := x.Eval(env); !errors.Is(err, ErrBudget) {
			t.Fatalf("second evaluation: want a shared budget error, got %v", err)
		}
	})
	t.Run("time", func(t *testing.T) {
		t.Parallel()
		x, err := Compile(`count(1..200, # > 0)`)
		if err != nil {
			t.Fatal(err)
		}
		env := testEnv()
		now := time.Unix(0, 0)
		env.Clock = func() time.Time {
			now = now.Add(10 * time.Millisecond)
			return now
		}
		env.ResetBudget(Budget{Duration: 100 * time.Millisecond})
		var err2 error
		for i := 0; i < 20 && err2 == nil; i++ {
			_, err2 = x.Eval(env)
		}
		if !errors.Is(err2, ErrBudget) || !strings.Contains(err2.Error(), "in this run") {
			t.Fatalf("want a shared duration error, got %v", err2)
		}
	})
}

func TestTemplateRenderBudget(t *testing.T) {
	t.Parallel()
	tp, err := ParseTemplate("{{ vars.half }}-{{ vars.half }}-{{ vars.half }}!")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	env.Vars["half"] = strings.Repeat("h", DefaultMaxValueBytes/2)
	out, err := tp.Render(env)
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("want ErrBudget, got %v", err)
	}
	if len(out) > DefaultMaxValueBytes {
		t.Fatalf("rendered %d bytes", len(out))
	}
}
