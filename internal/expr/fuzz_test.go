package expr

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// Bounds FuzzEvaluate holds every evaluation to. They are far above what
// the budget lets an expression build (8 MiB charged, a few transient
// copies of a 1 MiB value) and far below what an unbounded one takes.
const (
	fuzzMaxAlloc    = 256 << 20
	fuzzMaxDuration = 5 * time.Second
)

// FuzzEvaluate compiles and evaluates arbitrary expressions and templates:
// none may panic, return a value over the size limit, allocate more than
// fuzzMaxAlloc or run longer than fuzzMaxDuration. The seed corpus in
// testdata/fuzz/FuzzEvaluate holds the known attacks.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{
		`guests * 12`,
		`contact.name + " " + contact.phone`,
		`len(reduce(1..34, #acc + #acc, "x"))`,
		`reduce(1..99999, #acc + "xxxxxxxxxx", "")`,
		`repeat(repeat("x", 100000), 100000)`,
		`replace(repeat("a", 100000), "a", repeat("b", 100000))`,
		`let s = repeat("x", 100000); join(map(1..10000, s), "")`,
		`map(1..1000000000, #)`,
		`"ab" * 3`,
		nest(`"xxxxxxxxxx"`, 10, 8, "toJSON(X)"),
		`Hi {{ upper(first_name) }}, {{ join(split(input.text, ""), "-") }}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		env := testEnv()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		// An evaluation that never returns would stall the fuzzer until
		// its deadline with nothing saved; crashing the worker instead
		// makes the fuzzer keep the input as a failing case.
		watchdog := time.AfterFunc(2*fuzzMaxDuration, func() {
			panic(fmt.Sprintf("%q still running after %v", src, 2*fuzzMaxDuration))
		})
		defer watchdog.Stop()
		var out any
		var evalErr error
		if x, err := Compile(src); err == nil {
			out, evalErr = x.Eval(env)
		} else if tp, err := ParseTemplate(src); err == nil {
			out, evalErr = tp.Render(env)
		} else {
			return
		}
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		if d > fuzzMaxDuration {
			t.Fatalf("%q took %v", src, d)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > fuzzMaxAlloc {
			t.Fatalf("%q allocated %d MiB", src, n>>20)
		}
		if evalErr == nil && env.checkValue(out) != nil {
			t.Fatalf("%q returned a value over the limit", src)
		}
	})
}
