package expr

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
)

// rewriter turns free identifiers into calls of the internal lookup
// functions with $env as first argument. This is what makes evaluation
// allocation-free: the VM calls a Go function with the *Env instead of
// reflecting over a struct or building a map per evaluation.
type rewriter struct {
	config *conf.Config
	lets   []string // names declared by enclosing `let`s
	refs   []Ref
	err    error
}

func (r *rewriter) fail(n ast.Node, format string, args ...any) {
	if r.err == nil {
		r.err = &SyntaxError{Offset: n.Location().From, Msg: fmt.Sprintf(format, args...)}
	}
}

func (r *rewriter) isLet(name string) bool {
	for i := len(r.lets) - 1; i >= 0; i-- {
		if r.lets[i] == name {
			return true
		}
	}
	return false
}

func (r *rewriter) addRef(scope, name string) {
	for _, ref := range r.refs {
		if ref.Scope == scope && ref.Name == name {
			return
		}
	}
	r.refs = append(r.refs, Ref{Scope: scope, Name: name})
}

// call builds fn($env, args...) at the location of old.
func call(old ast.Node, fn string, args ...string) ast.Node {
	loc := old.Location()
	callee := &ast.IdentifierNode{Value: fn}
	callee.SetLocation(loc)
	envNode := &ast.IdentifierNode{Value: "$env"}
	envNode.SetLocation(loc)
	nodes := []ast.Node{envNode}
	for _, a := range args {
		s := &ast.StringNode{Value: a}
		s.SetLocation(loc)
		nodes = append(nodes, s)
	}
	c := &ast.CallNode{Callee: callee, Arguments: nodes}
	c.SetLocation(loc)
	return c
}

// topIdent returns the name of n when it is a free top-level scope name.
func (r *rewriter) topIdent(n ast.Node) (string, bool) {
	id, ok := n.(*ast.IdentifierNode)
	if !ok || r.isLet(id.Value) || !topLevel[id.Value] {
		return "", false
	}
	return id.Value, true
}

func (r *rewriter) walk(np *ast.Node) {
	if r.err != nil || *np == nil {
		return
	}
	switch n := (*np).(type) {
	case *ast.IdentifierNode:
		r.ident(np, n)
	case *ast.MemberNode:
		if r.member(np, n) {
			return
		}
		r.walk(&n.Node)
		r.walk(&n.Property)
	case *ast.CallNode:
		r.callNode(np, n)
	case *ast.BuiltinNode:
		for i := range n.Arguments {
			if p, ok := n.Arguments[i].(*ast.PredicateNode); ok {
				r.walk(&p.Node)
				// Every predicate iteration pays one step of the budget.
				tick := call(p.Node, "__tick")
				tick.(*ast.CallNode).Arguments = append(tick.(*ast.CallNode).Arguments, p.Node)
				p.Node = tick
				continue
			}
			r.walk(&n.Arguments[i])
		}
	case *ast.VariableDeclaratorNode:
		r.walk(&n.Value)
		r.lets = append(r.lets, n.Name)
		r.walk(&n.Expr)
		r.lets = r.lets[:len(r.lets)-1]
	case *ast.UnaryNode:
		r.walk(&n.Node)
	case *ast.BinaryNode:
		r.walk(&n.Left)
		r.walk(&n.Right)
	case *ast.ChainNode:
		r.walk(&n.Node)
	case *ast.SliceNode:
		r.walk(&n.Node)
		r.walk(&n.From)
		r.walk(&n.To)
	case *ast.PredicateNode:
		r.walk(&n.Node)
	case *ast.SequenceNode:
		for i := range n.Nodes {
			r.walk(&n.Nodes[i])
		}
	case *ast.ConditionalNode:
		r.walk(&n.Cond)
		r.walk(&n.Exp1)
		r.walk(&n.Exp2)
	case *ast.ArrayNode:
		for i := range n.Nodes {
			r.walk(&n.Nodes[i])
		}
	case *ast.MapNode:
		for i := range n.Pairs {
			r.walk(&n.Pairs[i])
		}
	case *ast.PairNode:
		// Keys of map literals are plain strings or expressions in parens.
		if _, ok := n.Key.(*ast.IdentifierNode); !ok {
			r.walk(&n.Key)
		}
		r.walk(&n.Value)
	}
}

func (r *rewriter) ident(np *ast.Node, n *ast.IdentifierNode) {
	name := n.Value
	switch {
	case r.isLet(name):
	case name == "$env":
		r.fail(n, "$env is not available in flow expressions")
	case name == "now":
		*np = call(n, "__now")
	case topLevel[name]:
		*np = call(n, "__scope", name)
	default:
		if _, ok := r.config.Functions[name]; ok {
			r.fail(n, "%s is a function; call it as %s(…)", name, name)
			return
		}
		r.addRef("", name)
		*np = call(n, "__get", name)
	}
}

// member rewrites `vars.x`, `row.x`, `contact.name`, `contact.fields.x`,
// `input.text` and `flow.id` (also with ["x"]) into direct lookups. It
// returns false when the node is not such an access.
func (r *rewriter) member(np *ast.Node, n *ast.MemberNode) bool {
	if n.Method {
		return false
	}
	prop, ok := n.Property.(*ast.StringNode)
	if !ok {
		return false
	}
	if inner, ok := n.Node.(*ast.MemberNode); ok && !inner.Method {
		if top, ok := r.topIdent(inner.Node); ok && top == "contact" {
			if p, ok := inner.Property.(*ast.StringNode); ok && p.Value == "fields" {
				r.addRef("fields", prop.Value)
				*np = call(n, "__field", prop.Value)
				return true
			}
		}
		return false
	}
	top, ok := r.topIdent(n.Node)
	if !ok {
		return false
	}
	switch top {
	case "vars":
		r.addRef("vars", prop.Value)
		*np = call(n, "__var", prop.Value)
	case "row":
		r.addRef("row", prop.Value)
		*np = call(n, "__row", prop.Value)
	case "contact":
		if contactProps[prop.Value] {
			r.addRef("contact", prop.Value)
			*np = call(n, "__contact", prop.Value)
		} else {
			// contact.email is shorthand for contact.fields.email.
			r.addRef("fields", prop.Value)
			*np = call(n, "__field", prop.Value)
		}
	case "input":
		if !inputProps[prop.Value] {
			r.fail(n.Property, "input has no property %q (have: text, button, list_id, type, media_url, data)", prop.Value)
			return true
		}
		r.addRef("input", prop.Value)
		*np = call(n, "__input", prop.Value)
	case "flow":
		if !flowProps[prop.Value] {
			r.fail(n.Property, "flow has no property %q (have: id, name, revision)", prop.Value)
			return true
		}
		r.addRef("flow", prop.Value)
		*np = call(n, "__flow", prop.Value)
	default:
		return false
	}
	return true
}

func (r *rewriter) callNode(np *ast.Node, n *ast.CallNode) {
	if id, ok := n.Callee.(*ast.IdentifierNode); ok && !r.isLet(id.Value) {
		if id.Value == "now" {
			if len(n.Arguments) != 0 {
				r.fail(n, "now takes no arguments")
				return
			}
			*np = call(n, "__now")
			return
		}
		if _, ok := r.config.Functions[id.Value]; !ok || strings.HasPrefix(id.Value, "__") {
			r.fail(n, "unknown function %s", id.Value)
			return
		}
	} else {
		r.walk(&n.Callee)
	}
	for i := range n.Arguments {
		r.walk(&n.Arguments[i])
	}
}
