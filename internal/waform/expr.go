package waform

import (
	"errors"
	"fmt"
	"strings"
)

// The syntax of If conditions and 6.0+ nested expressions (spec §1.6):
// operands ${…} references, 'text' literals, numbers, true/false;
// operators ( ) == != < <= > >= && || ! + - * / %; operands side by side
// concatenate. checkExpr parses one and reports what Meta would reject.

type exprTok struct {
	kind byte // 'r' reference, 'l' literal, 'o' operator
	text string
}

func tokenizeExpr(src string) ([]exprTok, error) {
	var out []exprTok
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "${"):
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return nil, errors.New("a ${ is not closed")
			}
			out = append(out, exprTok{'r', src[i+2 : i+end]})
			i += end + 1
		case c == '\'':
			j := i + 1
			for j < len(src) && src[j] != '\'' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, errors.New("a 'text' literal is not closed")
			}
			out = append(out, exprTok{'l', src[i : j+1]})
			i = j + 1
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			out = append(out, exprTok{'l', src[i:j]})
			i = j
		case strings.HasPrefix(src[i:], "true"):
			out = append(out, exprTok{'l', "true"})
			i += 4
		case strings.HasPrefix(src[i:], "false"):
			out = append(out, exprTok{'l', "false"})
			i += 5
		default:
			op := ""
			for _, o := range []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "+", "-", "*", "/", "%"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected %q", string(c))
			}
			out = append(out, exprTok{'o', op})
			i += len(op)
		}
	}
	return out, nil
}

// exprNode is what a parsed sub-expression is: whether it is built of
// literals only (Meta rejects operators with literals on both sides).
type exprNode struct{ literal bool }

type exprParser struct {
	toks []exprTok
	pos  int
	refs []string
}

// checkExpr parses src; it returns the references found, or the reason
// the expression is invalid.
func checkExpr(src string, needDynamic bool) ([]string, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("the expression is empty")
	}
	toks, err := tokenizeExpr(src)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	if needDynamic && n.literal {
		return nil, errors.New("the expression has no dynamic operand: use ${data.…}, ${form.…} or ${screen.…}")
	}
	return p.refs, nil
}

func (p *exprParser) peekOp(ops ...string) string {
	if p.pos < len(p.toks) && p.toks[p.pos].kind == 'o' {
		for _, o := range ops {
			if p.toks[p.pos].text == o {
				return o
			}
		}
	}
	return ""
}

func (p *exprParser) binary(next func() (exprNode, error), ops ...string) func() (exprNode, error) {
	return func() (exprNode, error) {
		left, err := next()
		if err != nil {
			return left, err
		}
		for {
			op := p.peekOp(ops...)
			if op == "" {
				return left, nil
			}
			p.pos++
			right, err := next()
			if err != nil {
				return right, err
			}
			if left.literal && right.literal {
				return left, fmt.Errorf("an operator cannot have literals on both sides (%s)", op)
			}
			left = exprNode{literal: false}
		}
	}
}

func (p *exprParser) or() (exprNode, error) {
	mul := p.binary(p.unary, "*", "/", "%")
	add := p.binary(mul, "+", "-")
	rel := p.binary(add, "<=", ">=", "<", ">")
	eq := p.binary(rel, "==", "!=")
	and := p.binary(eq, "&&")
	return p.binary(and, "||")()
}

func (p *exprParser) unary() (exprNode, error) {
	if p.peekOp("!", "-") != "" {
		p.pos++
		return p.unary()
	}
	// Operands side by side concatenate.
	n, err := p.primary()
	for err == nil && p.pos < len(p.toks) && (p.toks[p.pos].kind != 'o' || p.toks[p.pos].text == "(") {
		var m exprNode
		m, err = p.primary()
		n.literal = n.literal && m.literal
	}
	return n, err
}

func (p *exprParser) primary() (exprNode, error) {
	if p.pos >= len(p.toks) {
		return exprNode{}, errors.New("the expression ends too early")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.kind {
	case 'r':
		p.refs = append(p.refs, strings.TrimSpace(t.text))
		return exprNode{}, nil
	case 'l':
		return exprNode{literal: true}, nil
	}
	if t.text != "(" {
		return exprNode{}, fmt.Errorf("unexpected %q", t.text)
	}
	n, err := p.or()
	if err != nil {
		return n, err
	}
	if p.peekOp(")") == "" {
		return n, errors.New("a ( is not closed")
	}
	p.pos++
	return n, nil
}
