package script

import (
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

// removed are the globals a chat-flow script has no use for and that
// allocate large buffers in one call (new ArrayBuffer(2**31)).
var removed = []string{"ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics", "Int8Array", "Uint8Array", "Uint8ClampedArray",
	"Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"}

// harden bounds the builtins that build a large string or array inside one
// Go call, where goja's Interrupt is not checked: each is wrapped with a
// size check that throws a RangeError before the work starts. Work paced by
// JavaScript (loops, callbacks) is stopped by the time limit and the heap
// watchdog instead.
func harden(vm *goja.Runtime, l Limits) error {
	g := vm.GlobalObject()
	for _, name := range removed {
		if err := g.Delete(name); err != nil {
			return err
		}
	}
	h := hardener{vm: vm, l: l}
	arrayProto := vm.Get("Array").ToObject(vm).Get("prototype").ToObject(vm)
	// Every array method: the array it works on is within MaxArrayLength.
	for _, k := range arrayProto.GetOwnPropertyNames() {
		if k == "constructor" || k == "length" {
			continue
		}
		h.wrap(arrayProto, k, func(c goja.FunctionCall) error { return h.lengthOf(c.This, "the array") })
	}
	// Spread ([...a], f(...a)) and for-of walk an array through its
	// iterator inside one goja operation: guard the iterator too.
	if orig, ok := goja.AssertFunction(arrayProto.GetSymbol(goja.SymIterator)); ok {
		fn := vm.ToValue(func(c goja.FunctionCall) goja.Value {
			if err := h.lengthOf(c.This, "the array"); err != nil {
				panic(h.rangeError(err.Error()))
			}
			v, err := orig(c.This, c.Arguments...)
			if err != nil {
				panic(err)
			}
			return v
		})
		if err := arrayProto.DefineDataPropertySymbol(goja.SymIterator, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	h.wrap(arrayProto, "join", func(c goja.FunctionCall) error {
		if err := h.lengthOf(c.This, "the array"); err != nil {
			return err
		}
		sep := 1
		if a := c.Argument(0); !goja.IsUndefined(a) {
			sep = len(a.String())
		}
		return h.within(h.textSize(c.This, sep, new(int), 0), "join")
	})
	h.wrap(arrayProto, "toString", func(c goja.FunctionCall) error {
		return h.within(h.textSize(c.This, 1, new(int), 0), "toString")
	})
	for _, k := range []string{"flat", "flatMap"} {
		h.wrap(arrayProto, k, func(c goja.FunctionCall) error {
			n := new(int)
			h.countLeaves(c.This, n, 0)
			if *n > l.MaxArrayLength {
				return fmt.Errorf("%s would build an array longer than %d elements", k, l.MaxArrayLength)
			}
			return nil
		})
	}
	h.wrap(arrayProto, "concat", func(c goja.FunctionCall) error {
		n := h.arrayLen(c.This)
		for _, a := range c.Arguments {
			n += max(1, h.arrayLen(a))
		}
		if n > int64(l.MaxArrayLength) {
			return fmt.Errorf("concat would build an array longer than %d elements", l.MaxArrayLength)
		}
		return nil
	})
	array := vm.Get("Array").ToObject(vm)
	h.wrap(array, "from", func(c goja.FunctionCall) error { return h.lengthOf(c.Argument(0), "Array.from's source") })
	// apply and Reflect copy an array-like into arguments in one go.
	fnProto := vm.Get("Function").ToObject(vm).Get("prototype").ToObject(vm)
	h.wrap(fnProto, "apply", func(c goja.FunctionCall) error { return h.lengthOf(c.Argument(1), "apply's arguments") })
	reflect := vm.Get("Reflect").ToObject(vm)
	h.wrap(reflect, "apply", func(c goja.FunctionCall) error { return h.lengthOf(c.Argument(2), "Reflect.apply's arguments") })
	h.wrap(reflect, "construct", func(c goja.FunctionCall) error { return h.lengthOf(c.Argument(1), "Reflect.construct's arguments") })

	strProto := vm.Get("String").ToObject(vm).Get("prototype").ToObject(vm)
	h.wrap(strProto, "repeat", func(c goja.FunctionCall) error {
		return h.within(int64(len(c.This.String()))*max(0, c.Argument(0).ToInteger()), "repeat")
	})
	for _, k := range []string{"padStart", "padEnd"} {
		h.wrap(strProto, k, func(c goja.FunctionCall) error { return h.within(c.Argument(0).ToInteger(), k) })
	}
	for _, k := range []string{"replace", "replaceAll"} {
		h.wrap(strProto, k, func(c goja.FunctionCall) error {
			repl := c.Argument(1)
			if _, fn := goja.AssertFunction(repl); fn {
				return nil // paced by the callback
			}
			n := int64(len(c.This.String()))
			r := repl.String()
			// Each replacement is at most r with every $ pattern expanded
			// to the whole text; a global one happens at most n+1 times.
			each := int64(len(r)) + int64(strings.Count(r, "$"))*n
			times := int64(1)
			if k == "replaceAll" || isGlobalRegExp(c.Argument(0)) {
				times = n + 1
			}
			return h.within(n+times*each, k)
		})
	}
	jsonObj := vm.Get("JSON").ToObject(vm)
	h.wrap(jsonObj, "stringify", func(c goja.FunctionCall) error {
		w := walker{vm: vm, budget: l.MaxValues, maxString: l.MaxStringLength}
		return w.measure(c.Argument(0), 0)
	})
	return nil
}

type hardener struct {
	vm *goja.Runtime
	l  Limits
}

// wrap replaces obj[name] by a function that runs check first and throws
// its error as a RangeError.
func (h hardener) wrap(obj *goja.Object, name string, check func(goja.FunctionCall) error) {
	orig, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		return
	}
	fn := h.vm.ToValue(func(c goja.FunctionCall) goja.Value {
		if err := check(c); err != nil {
			panic(h.rangeError(err.Error()))
		}
		v, err := orig(c.This, c.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	})
	// Builtins are non-enumerable; keep them so (for-in over an array
	// must not list them).
	_ = obj.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

func (h hardener) rangeError(msg string) goja.Value {
	ctor, _ := goja.AssertConstructor(h.vm.Get("RangeError"))
	o, err := ctor(nil, h.vm.ToValue(msg))
	if err != nil {
		return h.vm.ToValue(msg)
	}
	return o
}

func (h hardener) within(n int64, what string) error {
	if n > int64(h.l.MaxStringLength) {
		return fmt.Errorf("%s would build a string longer than %d characters", what, h.l.MaxStringLength)
	}
	return nil
}

// arrayLen is the length of an array-like, 0 for anything else.
func (h hardener) arrayLen(v goja.Value) int64 {
	o, ok := v.(*goja.Object)
	if !ok {
		return 0
	}
	lv := o.Get("length")
	if lv == nil || goja.IsUndefined(lv) {
		return 0
	}
	return lv.ToInteger()
}

func (h hardener) lengthOf(v goja.Value, what string) error {
	if n := h.arrayLen(v); n > int64(h.l.MaxArrayLength) {
		return fmt.Errorf("%s has %d elements; at most %d are allowed", what, n, h.l.MaxArrayLength)
	}
	return nil
}

// textSize estimates the length of an array's text (join/toString),
// following nested arrays; *visited bounds the work.
func (h hardener) textSize(v goja.Value, sep int, visited *int, depth int) int64 {
	*visited++
	if *visited > h.l.MaxValues || depth > maxDepth {
		return int64(h.l.MaxStringLength) + 1
	}
	o, ok := v.(*goja.Object)
	if !ok {
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			return 0
		}
		if s, ok := v.Export().(string); ok {
			return int64(len(s))
		}
		return 24
	}
	if o.ClassName() != "Array" {
		return 16 // a toString in JavaScript is paced by the interpreter
	}
	n := h.arrayLen(o)
	if n > int64(h.l.MaxArrayLength) {
		return int64(h.l.MaxStringLength) + 1
	}
	total := max(0, n-1) * int64(sep)
	for i := int64(0); i < n && total <= int64(h.l.MaxStringLength); i++ {
		total += h.textSize(o.Get(fmt.Sprint(i)), 1, visited, depth+1)
	}
	return total
}

// countLeaves counts the elements flat would produce (nested arrays
// expanded), stopping past MaxArrayLength.
func (h hardener) countLeaves(v goja.Value, n *int, depth int) {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" || depth > maxDepth {
		*n++
		return
	}
	l := h.arrayLen(o)
	if l > int64(h.l.MaxArrayLength) {
		*n += int(l)
		return
	}
	for i := int64(0); i < l && *n <= h.l.MaxArrayLength; i++ {
		h.countLeaves(o.Get(fmt.Sprint(i)), n, depth+1)
	}
}

func isGlobalRegExp(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "RegExp" {
		return false
	}
	return o.Get("global").ToBoolean()
}
