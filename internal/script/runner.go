package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
)

// Limits bound one script run. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	// MaxTimeout caps a node's own time limit (5 s).
	MaxTimeout time.Duration
	// MaxCallDepth is the deepest JavaScript call stack (256 frames).
	MaxCallDepth int
	// MaxStringLength is the longest string repeat, padStart, padEnd,
	// join and replace may build (1 Mi characters).
	MaxStringLength int
	// MaxArrayLength is the longest array a builtin (Array(n), fill,
	// join, slice, Array.from, …) may work on (1 Mi elements).
	MaxArrayLength int
	// MaxValues bounds the values walked when the result or a
	// JSON.stringify argument is converted (100 000): shared references
	// count each time they are reached, so a value that doubles itself
	// cannot expand exponentially.
	MaxValues int
	// MaxHeapGrowth is how much the process heap may grow while a script
	// runs before it is stopped (256 MiB). The heap is the process's, so
	// this is a safety net against runaway allocation, not an exact
	// per-script quota.
	MaxHeapGrowth uint64
	// WatchEvery is how often the heap is sampled (5 ms).
	WatchEvery time.Duration
}

// DefaultLimits are the limits of production runs.
var DefaultLimits = Limits{MaxTimeout: 5 * time.Second, MaxCallDepth: 256, MaxStringLength: 1 << 20, MaxArrayLength: 1 << 20,
	MaxValues: 100_000, MaxHeapGrowth: 256 << 20, WatchEvery: 5 * time.Millisecond}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxTimeout > 0 {
		d.MaxTimeout = l.MaxTimeout
	}
	if l.MaxCallDepth > 0 {
		d.MaxCallDepth = l.MaxCallDepth
	}
	if l.MaxStringLength > 0 {
		d.MaxStringLength = l.MaxStringLength
	}
	if l.MaxArrayLength > 0 {
		d.MaxArrayLength = l.MaxArrayLength
	}
	if l.MaxValues > 0 {
		d.MaxValues = l.MaxValues
	}
	if l.MaxHeapGrowth > 0 {
		d.MaxHeapGrowth = l.MaxHeapGrowth
	}
	if l.WatchEvery > 0 {
		d.WatchEvery = l.WatchEvery
	}
	return d
}

// Runner runs code-node scripts; it is safe for concurrent use (each run
// has its own runtime).
type Runner struct {
	limits Limits
	db     DB
	http   engine.HTTPDoer
}

// New returns a Runner with the given limits (zero fields: defaults).
func New(l Limits, opts ...Option) *Runner {
	regexpTimeout.Do(func() {
		// goja runs regular expressions with backreferences or lookaround
		// on regexp2, a backtracking engine whose match loop does not see
		// Interrupt. regexp2 reads its match timeout from this package
		// variable when a pattern is compiled; goja is its only user here.
		// A match that times out finds nothing, and the script's own time
		// limit has passed by then, so the run fails with ErrTimeout.
		regexp2.DefaultMatchTimeout = regexpMatchTimeout
	})
	r := &Runner{limits: l.withDefaults()}
	for _, o := range opts {
		o(r)
	}
	return r
}

var regexpTimeout sync.Once

// regexpMatchTimeout bounds one backtracking match (see New).
const regexpMatchTimeout = time.Second

// Errors a run can end with (wrapped with what happened).
var (
	// ErrTimeout: the script ran past its time limit.
	ErrTimeout = errors.New("the script ran past its time limit")
	// ErrMemory: the script allocated past the heap-growth limit.
	ErrMemory = errors.New("the script used too much memory")
	// ErrResult: the script returned something other than {variables, exit}.
	ErrResult = errors.New("the script's result is not {variables: {...}, exit: \"name\"}")
)

var _ engine.Scripts = (*Runner)(nil)

// Run runs req's script in a fresh runtime and returns its result.
func (r *Runner) Run(ctx context.Context, req engine.ScriptRequest) (res engine.ScriptResult, err error) {
	if req.Script == nil || req.Script.Program() == nil {
		return res, errors.New("the node has no compiled script")
	}
	l := r.limits
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = flow.DefaultCodeTimeout
	}
	timeout = min(timeout, l.MaxTimeout)
	input, err := inputJSON(req)
	if err != nil {
		return res, err
	}

	vm := goja.New()
	vm.SetMaxCallStackSize(l.MaxCallDepth)
	jsonParse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	if err := harden(vm, l); err != nil {
		return res, fmt.Errorf("preparing the script runtime: %w", err)
	}

	// db and http calls end with the script's time limit too.
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := r.bindServices(callCtx, vm, req.Scope, jsonParse, l); err != nil {
		return res, fmt.Errorf("preparing the script runtime: %w", err)
	}
	stop := watch(ctx, vm, timeout, l)
	defer stop()
	defer func() {
		// goja turns script errors into errors; a panic here is a bug in
		// goja or in harden, and must not take the host down.
		if p := recover(); p != nil {
			err = fmt.Errorf("the script runtime failed: %v", p)
		}
	}()

	fnv, err := vm.RunProgram(req.Script.Program())
	if err != nil {
		return res, runError(err)
	}
	fn, ok := goja.AssertFunction(fnv)
	if !ok {
		return res, errors.New("the script is not a function")
	}
	args, err := jsonParse(goja.Undefined(), vm.ToValue(string(input)))
	if err != nil {
		return res, runError(err)
	}
	ao := args.ToObject(vm)
	out, err := fn(goja.Undefined(), ao.Get("vars"), ao.Get("contact"), ao.Get("trigger"))
	if err != nil {
		return res, runError(err)
	}
	return result(vm, out, l)
}

// inputJSON copies the inputs as JSON, so the script works on its own
// copies and the engine's maps are never shared with the runtime.
func inputJSON(req engine.ScriptRequest) ([]byte, error) {
	c := req.Contact
	in := req.Trigger.Input
	vars := req.Vars
	if vars == nil {
		vars = map[string]any{}
	}
	b, err := json.Marshal(map[string]any{
		"vars":    vars,
		"contact": map[string]any{"id": c.ID, "name": c.Name, "phone": c.Phone, "language": c.Language, "fields": orEmpty(c.Fields), "tags": orNone(c.Tags)},
		"trigger": map[string]any{
			"input": map[string]any{"text": in.Text, "button": in.Button, "list_id": in.ListID, "type": in.Type, "media_url": in.MediaURL, "data": orEmpty(in.Data)},
			"row":   orEmpty(req.Trigger.Row),
			"flow":  flowJSON(req.Trigger.Flow),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the script's input: %w", err)
	}
	return b, nil
}

func flowJSON(f expr.Flow) map[string]any {
	return map[string]any{"id": f.ID, "name": f.Name, "revision": f.Revision}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// runError turns goja's errors into the run's error.
func runError(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if e, ok := ie.Value().(error); ok {
			return e
		}
		return fmt.Errorf("the script was stopped: %v", ie.Value())
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return fmt.Errorf("the script recursed too deeply (the call stack is limited): %s", strings.TrimSpace(so.Error()))
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return fmt.Errorf("the script threw: %s", ex.Value().String())
	}
	return fmt.Errorf("the script failed: %w", err)
}

// watch stops vm when the time limit passes, ctx ends or the heap grows
// past the limit; the returned func ends the watch and waits for it.
func watch(ctx context.Context, vm *goja.Runtime, timeout time.Duration, l Limits) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	base := heapBytes()
	go func() {
		defer wg.Done()
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		tick := time.NewTicker(l.WatchEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				vm.Interrupt(fmt.Errorf("the script was stopped: %w", ctx.Err()))
				return
			case <-timer.C:
				vm.Interrupt(fmt.Errorf("%w (%s)", ErrTimeout, timeout))
				return
			case <-tick.C:
				if h := heapBytes(); h > base && h-base > l.MaxHeapGrowth {
					vm.Interrupt(fmt.Errorf("%w (the heap grew by more than %d MiB)", ErrMemory, l.MaxHeapGrowth>>20))
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// heapBytes reads the bytes of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// result converts the script's return value, within MaxValues.
func result(vm *goja.Runtime, out goja.Value, l Limits) (engine.ScriptResult, error) {
	var res engine.ScriptResult
	if out == nil || goja.IsUndefined(out) || goja.IsNull(out) {
		return res, nil // nothing set, first exit
	}
	o, ok := out.(*goja.Object)
	if !ok || o.ClassName() != "Object" {
		return res, fmt.Errorf("%w: it returned %s", ErrResult, describe(out))
	}
	for _, k := range o.Keys() {
		if k != "variables" && k != "exit" {
			return res, fmt.Errorf("%w: unknown member %q", ErrResult, k)
		}
	}
	if ex := o.Get("exit"); ex != nil && !goja.IsUndefined(ex) && !goja.IsNull(ex) {
		s, ok := ex.Export().(string)
		if !ok {
			return res, fmt.Errorf("%w: exit is %s, not a string", ErrResult, describe(ex))
		}
		res.Exit = s
	}
	vv := o.Get("variables")
	if vv == nil || goja.IsUndefined(vv) || goja.IsNull(vv) {
		return res, nil
	}
	vo, ok := vv.(*goja.Object)
	if !ok || vo.ClassName() != "Object" {
		return res, fmt.Errorf("%w: variables is %s, not an object", ErrResult, describe(vv))
	}
	w := walker{vm: vm, budget: l.MaxValues, maxString: l.MaxStringLength}
	res.Vars = make(map[string]any, len(vo.Keys()))
	for _, k := range vo.Keys() {
		v, err := w.toGo(vo.Get(k), 0)
		if err != nil {
			return res, fmt.Errorf("variable %q: %w", k, err)
		}
		res.Vars[k] = v
	}
	return res, nil
}

func describe(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		if _, fn := goja.AssertFunction(o); fn {
			return "a function"
		}
		return "an object of class " + o.ClassName()
	}
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	return fmt.Sprintf("a %s", v.ExportType())
}

// walker converts JavaScript values to JSON-like Go values, counting every
// value reached against budget.
type walker struct {
	vm        *goja.Runtime
	budget    int
	maxString int
	strings   int
}

const maxDepth = 32

func (w *walker) toGo(v goja.Value, depth int) (any, error) {
	w.budget--
	if w.budget < 0 {
		return nil, errors.New("the value is too large (too many members)")
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("the value nests deeper than %d levels", maxDepth)
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	o, isObj := v.(*goja.Object)
	if !isObj {
		switch x := v.Export().(type) {
		case string:
			w.strings += len(x)
			if w.strings > w.maxString {
				return nil, fmt.Errorf("the value's strings are longer than %d characters", w.maxString)
			}
			return x, nil
		case int64, bool:
			return x, nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, nil // as JSON.stringify does
			}
			return x, nil
		default:
			return nil, fmt.Errorf("%s cannot be stored in a variable", describe(v))
		}
	}
	if _, fn := goja.AssertFunction(o); fn {
		return nil, errors.New("a function cannot be stored in a variable")
	}
	switch o.ClassName() {
	case "Array":
		n := o.Get("length").ToInteger()
		if n > int64(w.budget) {
			return nil, errors.New("the value is too large (too many members)")
		}
		out := make([]any, n)
		for i := range out {
			x, err := w.toGo(o.Get(fmt.Sprint(i)), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case "Date":
		return o.Export().(time.Time).UTC().Format(time.RFC3339Nano), nil
	case "Object":
		keys := o.Keys()
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			x, err := w.toGo(o.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s cannot be stored in a variable", describe(v))
}

// measure checks that JSON.stringify(v) stays within the budget: every
// value reached counts, strings add their length; functions and undefined
// are skipped as JSON.stringify skips them.
func (w *walker) measure(v goja.Value, depth int) error {
	w.budget--
	if w.budget < 0 {
		return errors.New("JSON.stringify: the value is too large (too many members)")
	}
	if depth > maxDepth {
		return fmt.Errorf("JSON.stringify: the value nests deeper than %d levels", maxDepth)
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		if s, ok := v.Export().(string); ok {
			w.strings += len(s)
			if w.strings > w.maxString {
				return fmt.Errorf("JSON.stringify: the text would be longer than %d characters", w.maxString)
			}
		}
		return nil
	}
	if _, fn := goja.AssertFunction(o); fn {
		return nil
	}
	if o.ClassName() == "Array" {
		n := o.Get("length").ToInteger()
		if n > int64(w.budget) {
			return errors.New("JSON.stringify: the value is too large (too many members)")
		}
		for i := int64(0); i < n; i++ {
			if err := w.measure(o.Get(fmt.Sprint(i)), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, k := range o.Keys() {
		w.strings += len(k)
		if err := w.measure(o.Get(k), depth+1); err != nil {
			return err
		}
	}
	return nil
}
