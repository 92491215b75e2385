package expr

import (
	"errors"
	"fmt"
	"strings"
)

// Template is a parsed text with {{ expression }} holes. It is immutable and
// safe for concurrent use with distinct Envs.
type Template struct {
	src   string
	parts []part
	// whole is set when the template is exactly one hole (surrounding
	// spaces allowed); Value then keeps the expression's type.
	whole *Expression
	// maxBytes bounds the rendered text (Limits.MaxValueBytes).
	maxBytes int
}

type part struct {
	lit string
	x   *Expression // nil for a literal part
}

// ParseTemplate parses src once. Errors are *SyntaxError with the byte
// offset of the problem in src (an unclosed {{, an empty hole, or an
// expression error inside a hole).
func ParseTemplate(src string, opts ...Option) (*Template, error) {
	o := buildOptions(opts)
	t := &Template{src: src, maxBytes: o.limits.MaxValueBytes}
	i := 0
	for {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			if len(t.parts) > 0 && i < len(src) {
				t.parts = append(t.parts, part{lit: src[i:]})
			}
			break
		}
		open := i + j
		if open > i {
			t.parts = append(t.parts, part{lit: src[i:open]})
		}
		bodyStart := open + 2
		end := holeEnd(src, bodyStart)
		if end < 0 {
			return nil, templateError(src, open, "{{ is never closed with }}")
		}
		body := src[bodyStart:end]
		if strings.TrimSpace(body) == "" {
			return nil, templateError(src, open, "empty {{ }}")
		}
		x, err := compile(body, o.limits)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				return nil, templateError(src, bodyStart+se.Offset, se.Msg)
			}
			return nil, templateError(src, bodyStart, err.Error())
		}
		t.parts = append(t.parts, part{x: x})
		i = end + 2
	}
	if len(t.parts) > 0 {
		var holes []*Expression
		for _, p := range t.parts {
			if p.x != nil {
				holes = append(holes, p.x)
			} else if strings.TrimSpace(p.lit) != "" {
				holes = nil
				break
			}
		}
		if len(holes) == 1 {
			t.whole = holes[0]
		}
	}
	return t, nil
}

// MustParseTemplate is ParseTemplate for sources known to be valid (tests
// and built-in tables); it panics on error.
func MustParseTemplate(src string) *Template {
	t, err := ParseTemplate(src)
	if err != nil {
		panic(err)
	}
	return t
}

func templateError(src string, offset int, msg string) *SyntaxError {
	line, col := lineCol(src, offset)
	return &SyntaxError{Offset: offset, Line: line, Column: col, Msg: msg}
}

// holeEnd returns the index of the "}}" closing the hole whose body starts at
// i, skipping string literals and nested braces of map literals, or -1.
func holeEnd(src string, i int) int {
	depth := 0
	for i < len(src) {
		c := src[i]
		switch c {
		case '"', '\'', '`':
			i = skipString(src, i)
			continue
		case '{':
			depth++
		case '}':
			if depth == 0 {
				if i+1 < len(src) && src[i+1] == '}' {
					return i
				}
			} else {
				depth--
			}
		}
		i++
	}
	return -1
}

// skipString returns the index just past the string literal starting at i
// (or len(src) if it is unterminated, which the expression parser reports).
func skipString(src string, i int) int {
	q := src[i]
	i++
	for i < len(src) {
		switch src[i] {
		case '\\':
			if q != '`' {
				i += 2
				continue
			}
		case q:
			return i + 1
		}
		i++
	}
	return len(src)
}

// Source returns the template text.
func (t *Template) Source() string { return t.src }

// IsLiteral reports whether the template has no holes.
func (t *Template) IsLiteral() bool { return len(t.parts) == 0 }

// IsWhole reports whether the template is a single hole whose Value keeps
// the expression's type.
func (t *Template) IsWhole() bool { return t.whole != nil }

// Holes returns the compiled expressions of the holes in order.
func (t *Template) Holes() []*Expression {
	var out []*Expression
	for _, p := range t.parts {
		if p.x != nil {
			out = append(out, p.x)
		}
	}
	return out
}

// Refs returns the scope names the template reads.
func (t *Template) Refs() []Ref {
	var out []Ref
	for _, p := range t.parts {
		if p.x != nil {
			out = append(out, p.x.refs...)
		}
	}
	return out
}

// Render evaluates the holes and returns the text. A hole that fails renders
// as empty text; the first such error is returned alongside the text so the
// caller can record it without losing the message.
func (t *Template) Render(env *Env) (string, error) {
	if len(t.parts) == 0 {
		return t.src, nil
	}
	if len(t.parts) == 1 {
		v, err := t.parts[0].x.Eval(env)
		return ToString(v), err
	}
	var b strings.Builder
	b.Grow(len(t.src) + 16)
	var first error
	for _, p := range t.parts {
		if p.x == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.x.Eval(env)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			s = ToString(v)
		}
		if b.Len()+len(s) > t.maxBytes {
			// Holes of scope values are not checked one by one; their sum
			// is, so a text repeating a big variable stays bounded.
			if first == nil {
				first = fmt.Errorf("rendering %q: %w: the text would be over the %s limit", t.src, ErrBudget, sizeText(t.maxBytes))
			}
			continue
		}
		b.WriteString(s)
	}
	return b.String(), first
}

// Value evaluates the template keeping the type of a whole-template hole
// ("{{ guests * 12 }}" gives a number); any other template gives its text.
// On error the value is nil (for a whole hole) or the partial text.
func (t *Template) Value(env *Env) (any, error) {
	if t.whole != nil {
		return t.whole.Eval(env)
	}
	return t.Render(env)
}
