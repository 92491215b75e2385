package expr

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// Default limits on what one evaluation may produce and how long it may
// run. Every string, list or map an expression builds is checked against
// them before it is built, so a runaway expression stops with ErrBudget
// instead of taking the process's memory or CPU.
const (
	// DefaultMaxValueBytes bounds the size of any one value an expression
	// produces (a string's bytes; a list or map as it would print).
	DefaultMaxValueBytes = 1 << 20
	// DefaultMaxAllocBytes bounds the bytes of all values one evaluation
	// produces together, so a loop that rebuilds a growing string stops.
	DefaultMaxAllocBytes = 8 << 20
	// DefaultMaxDuration bounds the wall time of one evaluation; it is
	// checked at every 16th iteration of a predicate (map, filter, reduce…),
	// the only constructs whose running time is not bounded by the others,
	// and every 64 KiB of values built.
	DefaultMaxDuration = 500 * time.Millisecond
)

// DefaultBudget is the work allowance shared by all evaluations against one
// Env between two ResetBudget calls (the engine resets it every sprint).
var DefaultBudget = Budget{Steps: 1_000_000, Bytes: 64 << 20, Duration: 2 * time.Second}

// Budget is the work allowance shared by the evaluations against one Env.
// Zero fields take DefaultBudget's.
type Budget struct {
	// Steps is the total of predicate iterations.
	Steps int
	// Bytes is the total size of the values produced.
	Bytes int
	// Duration is the total wall time of the evaluations that ran
	// predicates (the others are too short to measure).
	Duration time.Duration
}

func (b Budget) withDefaults() Budget {
	if b.Steps <= 0 {
		b.Steps = DefaultBudget.Steps
	}
	if b.Bytes <= 0 {
		b.Bytes = DefaultBudget.Bytes
	}
	if b.Duration <= 0 {
		b.Duration = DefaultBudget.Duration
	}
	return b
}

// meter is the per-evaluation accounting. Eval sets lim; settle moves the
// counters to the shared budget and zeroes them, only when an evaluation
// used them, so the common evaluation pays one store and one test.
type meter struct {
	lim   *Limits
	steps int
	bytes int
	// unclocked is the bytes built since the clock was last read.
	unclocked int
	// start is zero until the first clock read of the evaluation, so an
	// evaluation without predicates never reads the clock.
	start time.Time
}

// shared is the accounting across evaluations (one engine sprint).
type shared struct {
	limits Budget // with defaults applied once set
	steps  int
	bytes  int
	spent  time.Duration
}

// ResetBudget starts a new shared budget for the evaluations against e;
// zero fields of b take DefaultBudget's.
func (e *Env) ResetBudget(b Budget) {
	e.shared = shared{limits: b.withDefaults()}
}

func (e *Env) sharedLimits() Budget {
	if e.shared.limits.Steps == 0 {
		e.shared.limits = e.shared.limits.withDefaults()
	}
	return e.shared.limits
}

// BudgetSpent reports the steps and bytes used since the last ResetBudget,
// for tests and traces.
func (e *Env) BudgetSpent() (steps, bytes int) { return e.shared.steps, e.shared.bytes }

func (e *Env) now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

// used reports whether the evaluation ticked, built or read the clock.
func (m *meter) used() bool { return m.steps|m.bytes|m.unclocked != 0 || !m.start.IsZero() }

// settle adds the evaluation's use to the shared budget and zeroes the
// counters for the next one.
func (e *Env) settle() {
	e.shared.steps += e.m.steps
	e.shared.bytes += e.m.bytes
	if !e.m.start.IsZero() {
		e.shared.spent += e.now().Sub(e.m.start)
	}
	e.m = meter{lim: e.m.lim}
}

func budgetError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBudget}, args...)...)
}

// tick pays one predicate iteration and, every 16th, checks the clock.
func (e *Env) tick() error {
	e.m.steps++
	if e.m.lim.MaxSteps > 0 && e.m.steps > e.m.lim.MaxSteps {
		return budgetError("more than %d iterations in one evaluation", e.m.lim.MaxSteps)
	}
	if lim := e.sharedLimits(); e.shared.steps+e.m.steps > lim.Steps {
		return budgetError("more than %d iterations in this run of the flow", lim.Steps)
	}
	if e.m.steps&15 != 1 {
		return nil
	}
	return e.checkTime()
}

// checkTime starts the stopwatch at its first call in an evaluation, then
// checks the duration limits.
func (e *Env) checkTime() error {
	now := e.now()
	if e.m.start.IsZero() {
		e.m.start = now
		return nil
	}
	d := now.Sub(e.m.start)
	if e.m.lim.MaxDuration > 0 && d > e.m.lim.MaxDuration {
		return budgetError("the evaluation ran longer than %v", e.m.lim.MaxDuration)
	}
	if lim := e.sharedLimits(); e.shared.spent+d > lim.Duration {
		return budgetError("expressions ran longer than %v in this run of the flow", lim.Duration)
	}
	return nil
}

// produce checks a value of n bytes about to be built and charges it.
func (e *Env) produce(n int) error {
	if n < 0 {
		return budgetError("a value would be over the %s limit", sizeText(e.m.lim.MaxValueBytes))
	}
	if e.m.lim.MaxValueBytes > 0 && n > e.m.lim.MaxValueBytes {
		return budgetError("a value of %s is over the %s limit", sizeText(n), sizeText(e.m.lim.MaxValueBytes))
	}
	e.m.bytes += n
	if e.m.lim.MaxAllocBytes > 0 && e.m.bytes > e.m.lim.MaxAllocBytes {
		return budgetError("the evaluation built more than %s of values", sizeText(e.m.lim.MaxAllocBytes))
	}
	if lim := e.sharedLimits(); e.shared.bytes+e.m.bytes > lim.Bytes {
		return budgetError("expressions built more than %s of values in this run of the flow", sizeText(lim.Bytes))
	}
	// Building is work too: the clock is read every 64 KiB built, so a
	// loop of costly calls is timed even with few iterations.
	if e.m.unclocked += n; e.m.unclocked >= 64<<10 {
		e.m.unclocked = 0
		return e.checkTime()
	}
	return nil
}

// checkValue rejects a value that is too big without charging it (values
// read from the scope were not built by the expression).
func (e *Env) checkValue(v any) error {
	if e.m.lim == nil || e.m.lim.MaxValueBytes <= 0 {
		return nil
	}
	switch x := v.(type) {
	case nil, bool, int, float64, time.Time:
		return nil
	case string:
		if len(x) > e.m.lim.MaxValueBytes {
			return budgetError("a value of %s is over the %s limit", sizeText(len(x)), sizeText(e.m.lim.MaxValueBytes))
		}
		return nil
	}
	if n := sizeOf(v, e.m.lim.MaxValueBytes); n > e.m.lim.MaxValueBytes {
		return budgetError("a value of more than %s is over the limit", sizeText(e.m.lim.MaxValueBytes))
	}
	return nil
}

func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// mulSize returns a*b, or -1 when it overflows or passes limit.
func mulSize(a, b, limit int) int {
	if a < 0 || b < 0 {
		return -1
	}
	if a != 0 && b > limit/a {
		return -1
	}
	return a * b
}

// sizeOf estimates the bytes v takes when printed (as text, with %v or as
// indented JSON), counting a shared part every time it appears. It stops as
// soon as the estimate passes limit, so it is cheap even for a deeply
// shared structure whose printed form would be huge.
func sizeOf(v any, limit int) int {
	n := 0
	measure(v, 0, limit, &n)
	return n
}

func measure(v any, depth, limit int, n *int) {
	if *n > limit {
		return
	}
	// Indentation and separators of nested lists and maps.
	per := 2 + 2*depth
	switch x := v.(type) {
	case nil, bool:
		*n += 5
	case string:
		*n += len(x) + 2
	case []byte:
		*n += len(x)*2 + 2
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		*n += 8
	case time.Time:
		*n += 32
	case []any:
		*n += 2
		for _, e := range x {
			*n += per
			measure(e, depth+1, limit, n)
			if *n > limit {
				return
			}
		}
	case []string:
		*n += 2
		for _, e := range x {
			*n += per + len(e) + 2
			if *n > limit {
				return
			}
		}
	case []int:
		*n += 2 + len(x)*(per+8)
	case map[string]any:
		*n += 2
		for k, e := range x {
			*n += per + len(k) + 4
			measure(e, depth+1, limit, n)
			if *n > limit {
				return
			}
		}
	default:
		measureReflect(reflect.ValueOf(v), depth, limit, n)
	}
}

func measureReflect(rv reflect.Value, depth, limit int, n *int) {
	if *n > limit {
		return
	}
	per := 2 + 2*depth
	switch rv.Kind() {
	case reflect.Invalid:
		*n += 5
	case reflect.String:
		*n += rv.Len() + 2
	case reflect.Slice, reflect.Array:
		*n += 2
		for i := 0; i < rv.Len() && *n <= limit; i++ {
			*n += per
			measure(rv.Index(i).Interface(), depth+1, limit, n)
		}
	case reflect.Map:
		*n += 2
		it := rv.MapRange()
		for it.Next() && *n <= limit {
			*n += per + 4
			measure(it.Key().Interface(), depth+1, limit, n)
			measure(it.Value().Interface(), depth+1, limit, n)
		}
	case reflect.Struct:
		*n += 2
		for i := 0; i < rv.NumField() && *n <= limit; i++ {
			if !rv.Type().Field(i).IsExported() {
				continue
			}
			*n += per + len(rv.Type().Field(i).Name) + 4
			measure(rv.Field(i).Interface(), depth+1, limit, n)
		}
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			*n += 5
			return
		}
		measureReflect(rv.Elem(), depth, limit, n)
	default:
		*n += 8
	}
}

// IsBudget reports whether err comes from an exhausted budget rather than
// an ordinary evaluation error.
func IsBudget(err error) bool { return errors.Is(err, ErrBudget) }
