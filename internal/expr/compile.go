package expr

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Default limits of one expression. They are generous for flow authoring yet
// keep the worst case of a single evaluation in the low milliseconds.
const (
	// DefaultMaxNodes bounds the size of the parsed expression.
	DefaultMaxNodes = 500
	// DefaultMaxMemory is the expr-lang VM memory budget (roughly: elements
	// of arrays, maps and ranges created during one evaluation).
	DefaultMaxMemory = 100_000
	// DefaultMaxSteps bounds predicate iterations (map, filter, all, …) of
	// one evaluation, which the memory budget alone does not catch when the
	// collection comes from the scope.
	DefaultMaxSteps = 100_000
)

// ErrBudget is wrapped by evaluation errors caused by a cost limit.
var ErrBudget = errors.New("expression cost budget exceeded")

// Limits are the cost limits of compiled expressions.
type Limits struct {
	MaxNodes  uint
	MaxMemory uint
	MaxSteps  int
	// MaxValueBytes bounds any one value an evaluation builds.
	MaxValueBytes int
	// MaxAllocBytes bounds all values one evaluation builds together.
	MaxAllocBytes int
	// MaxDuration bounds the wall time of one evaluation.
	MaxDuration time.Duration
}

// Option configures Compile and ParseTemplate.
type Option func(*options)

type options struct {
	limits Limits
}

// WithLimits overrides the default cost limits; zero fields keep defaults.
func WithLimits(l Limits) Option {
	return func(o *options) {
		if l.MaxNodes > 0 {
			o.limits.MaxNodes = l.MaxNodes
		}
		if l.MaxMemory > 0 {
			o.limits.MaxMemory = l.MaxMemory
		}
		if l.MaxSteps > 0 {
			o.limits.MaxSteps = l.MaxSteps
		}
		if l.MaxValueBytes > 0 {
			o.limits.MaxValueBytes = l.MaxValueBytes
		}
		if l.MaxAllocBytes > 0 {
			o.limits.MaxAllocBytes = l.MaxAllocBytes
		}
		if l.MaxDuration > 0 {
			o.limits.MaxDuration = l.MaxDuration
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{limits: Limits{MaxNodes: DefaultMaxNodes, MaxMemory: DefaultMaxMemory, MaxSteps: DefaultMaxSteps,
		MaxValueBytes: DefaultMaxValueBytes, MaxAllocBytes: DefaultMaxAllocBytes, MaxDuration: DefaultMaxDuration}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Expression is a compiled expression. It is immutable and safe for
// concurrent use with distinct Envs.
type Expression struct {
	src  string
	prog *vm.Program
	lim  Limits
	refs []Ref
	// fast is set when the whole expression is one scope lookup such as
	// `first_name` or `contact.name`; Eval then skips the VM, which makes
	// the most common template hole allocation-free.
	fast *lookup
}

// lookup is a direct scope read: fn is one of the rewriter's __ functions.
type lookup struct {
	fn  func(args ...any) (any, error)
	arg string
}

// Ref is a name an expression reads from the scope, recorded at compile time
// so the linter can check that variables are set before use.
type Ref struct {
	// Scope is "vars", "row", "contact", "fields", "input", "flow" or "" for
	// a bare name (variable, row column or contact field).
	Scope string
	Name  string
}

// SyntaxError reports an expression or template that does not compile.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the source given to
	// Compile or ParseTemplate.
	Offset int
	// Line and Column are 1-based (column counted in characters).
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Compile parses and compiles an expression such as `guests * 12`.
func Compile(src string, opts ...Option) (*Expression, error) {
	o := buildOptions(opts)
	x, err := compile(src, o.limits)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Line, se.Column = lineCol(src, se.Offset)
		}
		return nil, err
	}
	return x, nil
}

// compile returns SyntaxErrors with Offset relative to src and no line info.
func compile(src string, l Limits) (*Expression, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &SyntaxError{Offset: 0, Msg: "empty expression"}
	}
	config := conf.CreateNew()
	config.MaxNodes = l.MaxNodes
	// An empty struct env turns on strict mode: every identifier left after
	// the rewrite must be a known function, so typos fail here.
	config.WithEnv(struct{}{})
	// now() reads the wall clock; the rewrite maps it to Env.Now instead.
	config.Disabled["now"] = true
	delete(config.Builtins, "now")
	for _, f := range functions {
		config.Functions[f.name] = f.def()
	}
	for _, f := range guardFns {
		config.Functions[f.Name] = f
	}

	tree, err := parser.ParseWithConfig(src, config)
	if err != nil {
		return nil, syntaxError(src, err)
	}
	rw := rewriter{config: config}
	rw.walk(&tree.Node)
	if rw.err != nil {
		return nil, rw.err
	}
	if _, err := checker.Check(tree, config); err != nil {
		return nil, syntaxError(src, err)
	}
	// With the types known, every operation that can build a big value is
	// replaced by its budget-checked version; the tree is checked again so
	// the compiler sees the new calls' types.
	if guard(&tree.Node, false) {
		if _, err := checker.Check(tree, config); err != nil {
			return nil, syntaxError(src, err)
		}
	}
	if err := optimizer.Optimize(&tree.Node, config); err != nil {
		return nil, syntaxError(src, err)
	}
	prog, err := compiler.Compile(tree, config)
	if err != nil {
		return nil, syntaxError(src, err)
	}
	return &Expression{src: src, prog: prog, lim: l, refs: rw.refs, fast: fastLookup(tree.Node)}, nil
}

// fastLookup recognises a tree that is a single lookup call made by the
// rewriter.
func fastLookup(n ast.Node) *lookup {
	c, ok := n.(*ast.CallNode)
	if !ok {
		return nil
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || !strings.HasPrefix(id.Value, "__") || id.Value == "__tick" || strings.HasPrefix(id.Value, "__b_") || id.Value == "__add" {
		return nil
	}
	var arg string
	switch len(c.Arguments) {
	case 1:
	case 2:
		s, ok := c.Arguments[1].(*ast.StringNode)
		if !ok {
			return nil
		}
		arg = s.Value
	default:
		return nil
	}
	for _, f := range functions {
		if f.name == id.Value {
			return &lookup{fn: f.fn, arg: arg}
		}
	}
	return nil
}

// syntaxError converts an expr-lang error, whose location counts runes, into
// a SyntaxError with a byte offset.
func syntaxError(src string, err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &SyntaxError{Offset: runeToByte(src, fe.From), Msg: fe.Message}
	}
	return &SyntaxError{Offset: 0, Msg: err.Error()}
}

func runeToByte(src string, runeIdx int) int {
	n := 0
	for i := range src {
		if n == runeIdx {
			return i
		}
		n++
	}
	return len(src)
}

// lineCol converts a byte offset into a 1-based line and character column.
func lineCol(src string, offset int) (int, int) {
	line, col := 1, 1
	for i, r := range src {
		if i >= offset {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// Source returns the expression text.
func (x *Expression) Source() string { return x.src }

// Refs returns the scope names the expression reads.
func (x *Expression) Refs() []Ref { return x.refs }

// Eval runs the expression. A nil env evaluates against an empty scope.
// Failures, including exceeded budgets and panics, come back as errors.
func (x *Expression) Eval(env *Env) (out any, err error) {
	if env == nil {
		env = &Env{}
	}
	defer func() {
		if r := recover(); r != nil {
			env.settle()
			out, err = nil, fmt.Errorf("evaluating %q: %v", x.src, r)
		}
	}()
	if x.fast != nil {
		env.args[0], env.args[1] = env, x.fast.arg
		return x.fast.fn(env.args[:]...)
	}
	env.m.lim = &x.lim
	env.machine.MemoryBudget = x.lim.MaxMemory
	out, err = env.machine.Run(x.prog, env)
	if err == nil {
		switch out.(type) {
		case bool, int, float64, nil:
		default:
			err = env.checkValue(out)
		}
	}
	if env.m.used() {
		env.settle()
	}
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) && strings.Contains(fe.Message, "memory budget exceeded") && !errors.Is(err, ErrBudget) {
			return nil, fmt.Errorf("evaluating %q: %w: memory", x.src, ErrBudget)
		}
		return nil, fmt.Errorf("evaluating %q: %w", x.src, err)
	}
	return out, nil
}

// EvalBool runs the expression and reports whether its value is truthy
// (see Truthy).
func (x *Expression) EvalBool(env *Env) (bool, error) {
	v, err := x.Eval(env)
	if err != nil {
		return false, err
	}
	return Truthy(v), nil
}
