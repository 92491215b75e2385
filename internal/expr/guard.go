package expr

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
)

// expr-lang's own memory budget counts the elements of ranges, arrays and
// maps, but not the bytes of strings, and it is charged after a builtin
// has built its result: `reduce(1..34, #acc + #acc, "x")` or
// `repeat(repeat("x", 1e5), 1e5)` exhaust memory before it notices.
//
// guard closes that gap after type checking: every operation that can build
// a value bigger than its inputs (string `+`, repeat, replace, join, split,
// string, toJSON, text, concat, flatten, …) becomes a call of a __b_ function
// that computes the size of the result first, refuses it when it is over the
// per-value limit and charges it to the evaluation's and the sprint's
// budgets. Operations whose result is at most about the size of their input
// (upper, lower, keys, sort, …) are only replaced inside predicates, where an
// iteration could repeat them; elsewhere the number of AST nodes bounds them.

// checked is a budget-checked replacement of a builtin or helper.
type checked struct {
	// always: replaced everywhere; else only inside predicates.
	always bool
	// types are the signatures for the checker, $env first; nil accepts
	// any arguments and returns any.
	types []any
	fn    func(e *Env, args []any) (any, error)
}

// guarder walks a checked tree; changed reports a replacement.
type guarder struct{ changed bool }

// guard patches the tree at np and reports whether it changed.
func guard(np *ast.Node, inPred bool) bool {
	g := guarder{}
	g.walk(np, inPred)
	return g.changed
}

func (g *guarder) walk(np *ast.Node, inPred bool) {
	if *np == nil {
		return
	}
	switch n := (*np).(type) {
	case *ast.UnaryNode:
		g.walk(&n.Node, inPred)
	case *ast.BinaryNode:
		g.walk(&n.Left, inPred)
		g.walk(&n.Right, inPred)
		if n.Operator == "+" && !plainAdd(n) {
			g.replace(np, "__add", n.Left, n.Right)
		}
	case *ast.ChainNode:
		g.walk(&n.Node, inPred)
	case *ast.MemberNode:
		g.walk(&n.Node, inPred)
		g.walk(&n.Property, inPred)
	case *ast.SliceNode:
		g.walk(&n.Node, inPred)
		g.walk(&n.From, inPred)
		g.walk(&n.To, inPred)
	case *ast.CallNode:
		for i := range n.Arguments {
			g.walk(&n.Arguments[i], inPred)
		}
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			if c, ok := checkedFuncs[id.Value]; ok && (c.always || inPred) {
				g.replace(np, "__b_"+id.Value, n.Arguments...)
			}
		}
	case *ast.BuiltinNode:
		for i := range n.Arguments {
			if p, ok := n.Arguments[i].(*ast.PredicateNode); ok {
				g.walk(&p.Node, true)
				continue
			}
			g.walk(&n.Arguments[i], inPred)
		}
		if c, ok := checkedFuncs[n.Name]; ok && (c.always || inPred) {
			g.replace(np, "__b_"+n.Name, n.Arguments...)
		}
	case *ast.PredicateNode:
		g.walk(&n.Node, true)
	case *ast.VariableDeclaratorNode:
		g.walk(&n.Value, inPred)
		g.walk(&n.Expr, inPred)
	case *ast.SequenceNode:
		for i := range n.Nodes {
			g.walk(&n.Nodes[i], inPred)
		}
	case *ast.ConditionalNode:
		g.walk(&n.Cond, inPred)
		g.walk(&n.Exp1, inPred)
		g.walk(&n.Exp2, inPred)
	case *ast.ArrayNode:
		for i := range n.Nodes {
			g.walk(&n.Nodes[i], inPred)
		}
	case *ast.MapNode:
		for i := range n.Pairs {
			g.walk(&n.Pairs[i], inPred)
		}
	case *ast.PairNode:
		g.walk(&n.Key, inPred)
		g.walk(&n.Value, inPred)
	}
}

// replace puts fn($env, args...) at np.
func (g *guarder) replace(np *ast.Node, fn string, args ...ast.Node) {
	loc := (*np).Location()
	callee := &ast.IdentifierNode{Value: fn}
	callee.SetLocation(loc)
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetLocation(loc)
	c := &ast.CallNode{Callee: callee, Arguments: append([]ast.Node{env}, args...)}
	c.SetLocation(loc)
	*np = c
	g.changed = true
}

var timeType = reflect.TypeOf(time.Time{})

// plainAdd reports whether a + keeps expr-lang's own addition: numbers,
// durations and times, whose results have a fixed size.
func plainAdd(n *ast.BinaryNode) bool {
	l, r := n.Left.Type(), n.Right.Type()
	if l == nil || r == nil {
		return false
	}
	if l == timeType || r == timeType {
		return true
	}
	return isNumberKind(l.Kind()) && isNumberKind(r.Kind())
}

func isNumberKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}

// guardFunctions are the __add and __b_ functions registered in every
// compile config.
func guardFunctions() []*builtin.Function {
	out := []*builtin.Function{{Name: "__add", Func: func(args ...any) (any, error) {
		e, ok := args[0].(*Env)
		if !ok || len(args) != 3 {
			return nil, errors.New("+ needs two operands")
		}
		return add(e, args[1], args[2])
	}}}
	for name, c := range checkedFuncs {
		f := &builtin.Function{Name: "__b_" + name, Func: func(args ...any) (any, error) {
			// Only the guard's rewrite passes the Env; the rewriter refuses
			// authors' calls of __ names.
			e, ok := args[0].(*Env)
			if !ok {
				return nil, fmt.Errorf("%s: not callable directly", name)
			}
			return c.fn(e, args[1:])
		}}
		for _, t := range c.types {
			f.Types = append(f.Types, reflect.TypeOf(t).Elem())
		}
		out = append(out, f)
	}
	return out
}

// add is expr-lang's + with string concatenation checked first.
func add(e *Env, a, b any) (any, error) {
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			if err := e.produce(len(as) + len(bs)); err != nil {
				return nil, err
			}
			return as + bs, nil
		}
	}
	return runtime.Add(a, b), nil
}

// original returns expr-lang's implementation of a builtin.
func original(name string) func(args []any) (any, error) {
	f := builtin.Builtins[builtin.Index[name]]
	switch {
	case f.Func != nil:
		return func(args []any) (any, error) { return f.Func(args...) }
	case f.Safe != nil:
		return func(args []any) (any, error) {
			out, _, err := f.Safe(args...)
			return out, err
		}
	case f.Fast != nil:
		return func(args []any) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("%s takes one argument", name)
			}
			return f.Fast(args[0]), nil
		}
	}
	panic("expr: builtin " + name + " has no implementation")
}

// helper returns the implementation of one of this package's functions.
func helper(name string) func(args []any) (any, error) {
	for _, f := range functions {
		if f.name == name {
			return func(args []any) (any, error) { return f.fn(args...) }
		}
	}
	panic("expr: no helper " + name)
}

func textArg(name string, args []any, i int) (string, error) {
	if i >= len(args) {
		return "", fmt.Errorf("%s: missing argument %d", name, i+1)
	}
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("%s: argument %d is %T, not text", name, i+1, args[i])
	}
	return s, nil
}

// shallowSize is the memory a freshly built result takes when its
// elements are shared with the input (a list of n items: n interface
// words).
func shallowSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []any:
		return 16 * len(x)
	case []string:
		return 16 * len(x)
	case map[string]any:
		return 48 * len(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		return 16 * rv.Len()
	case reflect.Map:
		return 48 * rv.Len()
	}
	return 16
}

// afterwards runs fn and charges the size of what it built: for results at
// most a small multiple of an input's size.
func afterwards(fn func([]any) (any, error)) func(e *Env, args []any) (any, error) {
	return func(e *Env, args []any) (any, error) {
		out, err := fn(args)
		if err != nil {
			return nil, err
		}
		if err := e.produce(shallowSize(out)); err != nil {
			return nil, err
		}
		return out, nil
	}
}

// printed checks the printed size of the argument before fn prints it (a
// shared structure can print exponentially larger than it is), then
// charges the text.
func printed(fn func([]any) (any, error)) func(e *Env, args []any) (any, error) {
	return func(e *Env, args []any) (any, error) {
		if len(args) > 0 {
			if n := sizeOf(args[0], e.m.lim.MaxValueBytes); n > e.m.lim.MaxValueBytes {
				return nil, budgetError("a value of more than %s is over the limit", sizeText(e.m.lim.MaxValueBytes))
			}
		}
		return afterwards(fn)(e, args)
	}
}

// guardFns are registered in every compile config.
var guardFns = guardFunctions()

var checkedFuncs = map[string]checked{
	"repeat": {always: true, types: []any{new(func(any, string, int) string)}, fn: repeatChecked},
	"replace": {always: true, types: []any{new(func(any, string, string, string) string), new(func(any, string, string, string, int) string)},
		fn: replaceChecked},
	"join": {always: true, types: []any{new(func(any, any) string), new(func(any, any, string) string)}, fn: joinChecked},
	"split": {always: true, types: []any{new(func(any, string, string) []string), new(func(any, string, string, int) []string)},
		fn: splitChecked(original("split"))},
	"splitAfter": {always: true, types: []any{new(func(any, string, string) []string), new(func(any, string, string, int) []string)},
		fn: splitChecked(original("splitAfter"))},
	"toBase64": {always: true, types: []any{new(func(any, string) string)}, fn: afterwards(original("toBase64"))},
	"fromJSON": {always: true, types: []any{new(func(any, string) any)}, fn: fromJSONChecked},
	"string":   {always: true, types: []any{new(func(any, any) string)}, fn: printed(original("string"))},
	"toJSON":   {always: true, types: []any{new(func(any, any) string)}, fn: printed(original("toJSON"))},
	"concat":   {always: true, fn: concatChecked},
	"flatten":  {always: true, fn: flattenChecked},
	// This package's helpers that build text.
	"text":        {always: true, types: []any{new(func(any, any) string)}, fn: printed(helper("text"))},
	"format_date": {always: true, types: []any{new(func(any, any, any) string)}, fn: afterwards(helper("format_date"))},
	"title":       {types: []any{new(func(any, any) string)}, fn: afterwards(helper("title"))},
	// At most about the input's size: checked inside predicates only.
	"upper":      {types: []any{new(func(any, string) string)}, fn: afterwards(original("upper"))},
	"lower":      {types: []any{new(func(any, string) string)}, fn: afterwards(original("lower"))},
	"fromBase64": {types: []any{new(func(any, string) string)}, fn: afterwards(original("fromBase64"))},
	"keys":       {fn: afterwards(original("keys"))},
	"values":     {fn: afterwards(original("values"))},
	"toPairs":    {fn: afterwards(original("toPairs"))},
	"fromPairs":  {fn: afterwards(original("fromPairs"))},
	"uniq":       {fn: afterwards(original("uniq"))},
	"reverse":    {fn: afterwards(original("reverse"))},
	"sort":       {fn: afterwards(original("sort"))},
	"take":       {fn: afterwards(original("take"))},
}

func repeatChecked(e *Env, args []any) (any, error) {
	s, err := textArg("repeat", args, 0)
	if err != nil {
		return nil, err
	}
	if len(args) != 2 {
		return nil, errors.New("repeat takes a text and a count")
	}
	n := runtime.ToInt(args[1])
	if n < 0 {
		return nil, fmt.Errorf("repeat: the count %d is negative", n)
	}
	if err := e.produce(mulSize(len(s), n, e.m.lim.MaxValueBytes)); err != nil {
		return nil, err
	}
	return strings.Repeat(s, n), nil
}

func replaceChecked(e *Env, args []any) (any, error) {
	if len(args) != 3 && len(args) != 4 {
		return nil, errors.New("replace takes a text, the old and the new text, and optionally a count")
	}
	var s [3]string
	for i := range s {
		var err error
		if s[i], err = textArg("replace", args, i); err != nil {
			return nil, err
		}
	}
	limit := -1
	if len(args) == 4 {
		limit = runtime.ToInt(args[3])
	}
	size := len(s[0])
	if grow := len(s[2]) - len(s[1]); grow > 0 {
		count := strings.Count(s[0], s[1])
		if limit >= 0 && limit < count {
			count = limit
		}
		extra := mulSize(count, grow, e.m.lim.MaxValueBytes)
		if extra < 0 {
			size = -1
		} else {
			size += extra
		}
	}
	if err := e.produce(size); err != nil {
		return nil, err
	}
	return strings.Replace(s[0], s[1], s[2], limit), nil
}

func joinChecked(e *Env, args []any) (any, error) {
	if len(args) != 1 && len(args) != 2 {
		return nil, errors.New("join takes a list and optionally a separator")
	}
	glue := ""
	if len(args) == 2 {
		var err error
		if glue, err = textArg("join", args, 1); err != nil {
			return nil, err
		}
	}
	var parts []string
	switch l := args[0].(type) {
	case []string:
		parts = l
	case []any:
		parts = make([]string, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("join: item %d is %T, not text", i, x)
			}
			parts[i] = s
		}
	default:
		return nil, fmt.Errorf("join: %T is not a list", args[0])
	}
	size := 0
	for _, p := range parts {
		size += len(p) + len(glue)
		if size > e.m.lim.MaxValueBytes {
			break
		}
	}
	if err := e.produce(size); err != nil {
		return nil, err
	}
	return strings.Join(parts, glue), nil
}

func splitChecked(fn func([]any) (any, error)) func(e *Env, args []any) (any, error) {
	return func(e *Env, args []any) (any, error) {
		s, err := textArg("split", args, 0)
		if err != nil {
			return nil, err
		}
		sep, err := textArg("split", args, 1)
		if err != nil {
			return nil, err
		}
		count := strings.Count(s, sep) + 1
		if len(args) == 3 {
			if n := runtime.ToInt(args[2]); n >= 0 && n < count {
				count = n
			}
		}
		if err := e.produce(mulSize(count, 16, e.m.lim.MaxValueBytes)); err != nil {
			return nil, err
		}
		return fn(args)
	}
}

func fromJSONChecked(e *Env, args []any) (any, error) {
	out, err := original("fromJSON")(args)
	if err != nil {
		return nil, err
	}
	if err := e.produce(sizeOf(out, e.m.lim.MaxValueBytes)); err != nil {
		return nil, err
	}
	return out, nil
}

func concatChecked(e *Env, args []any) (any, error) {
	total := 0
	for _, a := range args {
		rv := reflect.ValueOf(a)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, fmt.Errorf("concat: %T is not a list", a)
		}
		total += rv.Len()
	}
	if err := e.produce(mulSize(total, 16, e.m.lim.MaxValueBytes)); err != nil {
		return nil, err
	}
	return original("concat")(args)
}

func flattenChecked(e *Env, args []any) (any, error) {
	if len(args) != 1 {
		return nil, errors.New("flatten takes one list")
	}
	limit := e.m.lim.MaxValueBytes / 16
	n := leaves(reflect.ValueOf(args[0]), limit)
	if err := e.produce(mulSize(n, 16, e.m.lim.MaxValueBytes)); err != nil {
		return nil, err
	}
	return original("flatten")(args)
}

// leaves counts the non-list items of nested lists, stopping past limit.
func leaves(rv reflect.Value, limit int) int {
	for rv.Kind() == reflect.Interface && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return 1
	}
	n := 0
	for i := 0; i < rv.Len() && n <= limit; i++ {
		n += leaves(rv.Index(i), limit-n)
	}
	return n
}
