package waform

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// kind is the JSON type of a node.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNum
	kStr
	kArr
	kObj
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// node is a parsed JSON value that remembers where it sits in the source
// text, so every problem can name a line and column (Meta does the same in
// validation_errors) and not only a pointer.
type node struct {
	k    kind
	off  int // byte offset of the value's first character
	end  int // byte offset just after the value
	b    bool
	n    float64
	s    string // string value, or the raw text of a number
	keys []string
	kOff []int // byte offset of each key
	vals []*node
}

// get returns the member named key of an object, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.k != kObj {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// str returns the string value of member key, or "".
func (n *node) str(key string) string {
	if v := n.get(key); v != nil && v.k == kStr {
		return v.s
	}
	return ""
}

// isTrue reports whether member key is the boolean true.
func (n *node) isTrue(key string) bool {
	v := n.get(key)
	return v != nil && v.k == kBool && v.b
}

// raw returns the source text of the value.
func (n *node) raw(src []byte) []byte { return src[n.off:n.end] }

// iface converts the node into the value encoding/json would produce.
func (n *node) iface() any {
	switch n.k {
	case kBool:
		return n.b
	case kNum:
		return n.n
	case kStr:
		return n.s
	case kArr:
		out := make([]any, len(n.vals))
		for i, v := range n.vals {
			out[i] = v.iface()
		}
		return out
	case kObj:
		out := make(map[string]any, len(n.vals))
		for i, v := range n.vals {
			out[n.keys[i]] = v.iface()
		}
		return out
	}
	return nil
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

type parser struct {
	src   []byte
	pos   int
	depth int
}

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// parseTree parses src into a node tree.
func parseTree(src []byte) (*node, error) {
	p := &parser{src: src}
	p.ws()
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(p.src) {
		return nil, p.fail("unexpected text after the JSON value")
	}
	return n, nil
}

func (p *parser) fail(format string, args ...any) error {
	return &syntaxError{off: p.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (*node, error) {
	if p.pos >= len(p.src) {
		return nil, p.fail("unexpected end of JSON input")
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &node{k: kStr, off: start, end: p.pos, s: s}, nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(string(p.src[p.pos:min(len(p.src), p.pos+5)]), lit) {
				p.pos += len(lit)
				n := &node{off: start, end: p.pos}
				switch lit {
				case "true":
					n.k, n.b = kBool, true
				case "false":
					n.k = kBool
				}
				return n, nil
			}
		}
		return nil, p.fail("invalid character %q looking for a value", c)
	case c == '-' || (c >= '0' && c <= '9'):
		for p.pos < len(p.src) && strings.IndexByte("+-0123456789.eE", p.src[p.pos]) >= 0 {
			p.pos++
		}
		text := string(p.src[start:p.pos])
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || !json.Valid(p.src[start:p.pos]) {
			p.pos = start
			return nil, p.fail("invalid number %q", text)
		}
		return &node{k: kNum, off: start, end: p.pos, n: f, s: text}, nil
	default:
		return nil, p.fail("invalid character %q looking for a value", c)
	}
}

func (p *parser) str() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	escaped := false
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !escaped {
				s := p.src[start+1 : p.pos-1]
				if !utf8.Valid(s) {
					return strings.ToValidUTF8(string(s), "\uFFFD"), nil
				}
				return string(s), nil
			}
			var s string
			if err := json.Unmarshal(p.src[start:p.pos], &s); err != nil {
				p.pos = start
				return "", p.fail("invalid string escape")
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.pos += 2
		case c < 0x20:
			return "", p.fail("invalid control character in string")
		default:
			p.pos++
		}
	}
	p.pos = start
	return "", p.fail("unterminated string")
}

func (p *parser) object() (*node, error) {
	n := &node{k: kObj, off: p.pos}
	if p.depth++; p.depth > maxDepth {
		return nil, p.fail("JSON nested too deeply")
	}
	defer func() { p.depth-- }()
	p.pos++
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		n.end = p.pos
		return n, nil
	}
	for {
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, p.fail("expected a property name in double quotes")
		}
		kOff := p.pos
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.fail("expected ':' after property name")
		}
		p.pos++
		p.ws()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, k)
		n.kOff = append(n.kOff, kOff)
		n.vals = append(n.vals, v)
		p.ws()
		if p.pos >= len(p.src) {
			return nil, p.fail("unexpected end of JSON input")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			n.end = p.pos
			return n, nil
		default:
			return nil, p.fail("expected ',' or '}' after object value")
		}
	}
}

func (p *parser) array() (*node, error) {
	n := &node{k: kArr, off: p.pos}
	if p.depth++; p.depth > maxDepth {
		return nil, p.fail("JSON nested too deeply")
	}
	defer func() { p.depth-- }()
	p.pos++
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		n.end = p.pos
		return n, nil
	}
	for {
		p.ws()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.vals = append(n.vals, v)
		p.ws()
		if p.pos >= len(p.src) {
			return nil, p.fail("unexpected end of JSON input")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			n.end = p.pos
			return n, nil
		default:
			return nil, p.fail("expected ',' or ']' after array element")
		}
	}
}

// lineIndex maps byte offsets to 1-based line and column numbers (columns
// count characters, not bytes, as an editor does).
type lineIndex struct {
	src    []byte
	starts []int
}

func newLineIndex(src []byte) *lineIndex {
	li := &lineIndex{src: src, starts: []int{0}}
	for i, c := range src {
		if c == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	return li
}

func (li *lineIndex) pos(off int) (line, col int) {
	off = max(0, min(off, len(li.src)))
	i := sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > off }) - 1
	return i + 1, utf8.RuneCount(li.src[li.starts[i]:off]) + 1
}

// ptr builds JSON pointers (RFC 6901).
type ptr string

func (p ptr) key(k string) ptr {
	k = strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
	return p + "/" + ptr(k)
}

func (p ptr) idx(i int) ptr { return p + "/" + ptr(strconv.Itoa(i)) }

var errEmpty = errors.New("empty document")
