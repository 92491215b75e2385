package flow

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dop251/goja"
	js "github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// TypeCode runs a short JavaScript function.
const TypeCode = "code"

const (
	// DefaultCodeTimeout is a code node's time limit when it sets none.
	DefaultCodeTimeout = 500 * time.Millisecond
	maxCodeTimeoutMS   = 5000
	// MaxCodeLength is the longest script a code node may hold.
	MaxCodeLength = 20000
	maxCodeExits  = 10
)

// scriptHeader wraps a code node's script into a function of the three
// inputs. It has no newline, so only the first line's columns shift (by
// len(scriptHeader)), which scriptPosition undoes.
const scriptHeader = "(function (vars, contact, trigger) {"

// CodeData is the data of a code node.
type CodeData struct {
	Code      string   `json:"code" flow:"required,format=code" doc:"The body of a JavaScript function of vars, contact and trigger; it returns {variables: {...}, exit: \"name\"}."`
	Exits     []string `json:"exits,omitempty" doc:"Exit names the script may choose; next when empty. failed is always added."`
	Outputs   []string `json:"outputs,omitempty" flow:"variable" doc:"Variables the script sets; when given, the script may set only these."`
	TimeoutMS int      `json:"timeout_ms,omitempty" doc:"Time limit; 500 by default, at most 5000."`
}

// CodeConfig configures a code node: its exits are Exits in order (or next)
// then failed, at CodeExitFailed = len(exits).
type CodeConfig struct {
	Script  *Script
	Outputs []string // nil: any variable
	Timeout time.Duration
	// Failed is the index of the failed exit.
	Failed int
}

// Script is a compiled code-node script: a function expression of (vars,
// contact, trigger). A goja Program is not tied to a runtime and may run in
// many runtimes at once, so a compiled flow shares it.
type Script struct {
	Source  string
	program *goja.Program
}

// Program returns the compiled function expression.
func (s *Script) Program() *goja.Program { return s.program }

// CompileScript parses and compiles a code node's script. A syntax error is
// a *ScriptError with the position in the script as the user wrote it.
func CompileScript(src string) (*Script, error) {
	ast, err := parser.ParseFile(nil, "code", scriptHeader+src+"\n})", 0)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			line, col := scriptPosition(list[0].Position.Line, list[0].Position.Column)
			return nil, &ScriptError{Line: line, Column: col, Message: list[0].Message}
		}
		return nil, &ScriptError{Line: 1, Column: 1, Message: err.Error()}
	}
	// The script must stay inside its function: "}); …; (function(){"
	// would parse but run outside it.
	if len(ast.Body) != 1 || !isFunctionStatement(ast.Body[0]) {
		return nil, &ScriptError{Line: 1, Column: 1, Message: "unbalanced braces: the script closes its function early"}
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		// Early errors found by the compiler (e.g. a duplicate let).
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			p := ce.File.Position(ce.Offset)
			line, col := scriptPosition(p.Line, p.Column)
			return nil, &ScriptError{Line: line, Column: col, Message: ce.Message}
		}
		return nil, &ScriptError{Line: 1, Column: 1, Message: err.Error()}
	}
	return &Script{Source: src, program: prog}, nil
}

func isFunctionStatement(st js.Statement) bool {
	es, ok := st.(*js.ExpressionStatement)
	if !ok {
		return false
	}
	_, ok = es.Expression.(*js.FunctionLiteral)
	return ok
}

// scriptPosition maps a position in the wrapped source to the script's.
func scriptPosition(line, col int) (int, int) {
	if line == 1 {
		col = max(1, col-len(scriptHeader))
	}
	return line, col
}

// ScriptError is a syntax error in a code node's script.
type ScriptError struct {
	Line, Column int
	Message      string
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// KindCode is the Kind of code nodes.
const KindCode Kind = 19

var codeNode = def[CodeData]{
	kind: KindCode,
	NodeType: NodeType{Type: TypeCode, Group: GroupData, Label: "Code", Description: "Runs a short JavaScript function of vars, contact and trigger that sets variables and chooses an exit.",
		Palette: true, Available: true,
		Exits: Exits{Static: staticExits(ExitNext, ExitFailed).Static,
			Dynamic: []DynamicExits{{From: "exits[*]", Plus: []ExitDef{{Name: ExitFailed, Optional: true}}}}},
		DynamicExits: "one exit per name in exits (next when none), then failed",
		Limits: []Limit{rangeLimit("timeout_ms", 0, maxCodeTimeoutMS, "timeout_ms must be between 0 (default 500) and 5000"),
			{Path: "code", MaxLength: MaxCodeLength, Doc: "a script has at most 20000 characters"},
			{Path: "exits", MaxItems: maxCodeExits, Doc: "at most 10 exits"}},
		Defaults: map[string]any{"code": "// vars, contact and trigger are the inputs.\nreturn { variables: { greeting: \"Hello \" + contact.name }, exit: \"next\" };\n"},
		Widgets:  []string{"code_test"}},
	aliases: []string{"script", "javascript", "runjavascript", "function", "code"},
	check:   checkCode,
	compile: func(c *compiler, d *CodeData) any {
		cc := &CodeConfig{Timeout: DefaultCodeTimeout, Outputs: d.Outputs, Failed: max(1, len(d.Exits))}
		if d.TimeoutMS > 0 {
			cc.Timeout = time.Duration(d.TimeoutMS) * time.Millisecond
		}
		s, err := CompileScript(d.Code)
		if err != nil && c.err == nil {
			c.err = fmt.Errorf("code: %w", err)
		}
		cc.Script = s
		return cc
	},
}

func checkCode(a *analysis, i int, d *CodeData) {
	if n := len([]rune(d.Code)); n > MaxCodeLength {
		a.nodeErr(i, CodeInvalidValue, "/data/code", "%s: the script has %d characters; at most %d are allowed", a.label(i), n, MaxCodeLength)
	} else if d.Code != "" {
		if _, err := CompileScript(d.Code); err != nil {
			var se *ScriptError
			if errors.As(err, &se) {
				a.nodeErr(i, CodeScriptSyntax, "/data/code", "%s: syntax error at line %d, column %d: %s", a.label(i), se.Line, se.Column, se.Message)
			} else {
				a.nodeErr(i, CodeScriptSyntax, "/data/code", "%s: %v", a.label(i), err)
			}
		}
	}
	if d.TimeoutMS < 0 || d.TimeoutMS > maxCodeTimeoutMS {
		a.nodeErr(i, CodeInvalidValue, "/data/timeout_ms", "%s: timeout_ms must be between 0 (default 500) and %d", a.label(i), maxCodeTimeoutMS)
	}
	if len(d.Exits) > maxCodeExits {
		a.nodeErr(i, CodeInvalidValue, "/data/exits", "%s has %d exits; at most %d are allowed", a.label(i), len(d.Exits), maxCodeExits)
	}
	seen := map[string]bool{}
	for k, e := range d.Exits {
		p := "/data/exits/" + strconv.Itoa(k)
		switch {
		case e == "":
			a.nodeErr(i, CodeInvalidValue, p, "%s: exit names must not be empty", a.label(i))
		case e == ExitFailed:
			a.nodeErr(i, CodeInvalidValue, p, "%s: %q is added by itself; name the script's exits otherwise", a.label(i), e)
		case seen[e]:
			a.nodeErr(i, CodeDuplicateExitName, p, "%s: exit %q is listed twice", a.label(i), e)
		}
		seen[e] = true
	}
	for k, v := range d.Outputs {
		a.checkVariable(i, "/data/outputs/"+strconv.Itoa(k), v)
	}
}
