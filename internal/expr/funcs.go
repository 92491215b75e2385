package expr

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/builtin"
)

// FunctionDoc describes a helper function available to flow authors, for
// documentation and editor autocompletion.
type FunctionDoc struct {
	Name      string `json:"name"`
	Signature string `json:"signature"`
	Doc       string `json:"doc"`
}

type fnDef struct {
	name  string
	sig   string
	doc   string
	types []any // function types for arity/type checking; nil = variadic any
	fn    func(args ...any) (any, error)
}

func (f fnDef) def() *builtin.Function {
	ts := make([]reflect.Type, len(f.types))
	for i, t := range f.types {
		ts[i] = reflect.TypeOf(t).Elem()
	}
	return &builtin.Function{Name: f.name, Func: f.fn, Types: ts}
}

// Functions lists the helper functions flow authors may call, in addition to
// expr-lang's builtins (upper, lower, trim, len, split, join, replace, round,
// int, float, string, date, duration, …).
func Functions() []FunctionDoc {
	out := make([]FunctionDoc, 0, len(functions))
	for _, f := range functions {
		if f.doc == "" {
			continue
		}
		out = append(out, FunctionDoc{Name: f.name, Signature: f.sig, Doc: f.doc})
	}
	return out
}

func envArg(args []any) *Env {
	// The rewriter always passes $env first; anything else is a direct call
	// by an author and fails cleanly in the caller's type check.
	e, _ := args[0].(*Env)
	if e == nil {
		return &Env{}
	}
	return e
}

func strArg(args []any, i int) string {
	if i >= len(args) {
		return ""
	}
	s, _ := args[i].(string)
	return s
}

// functions is the immutable table of functions compiled into every
// expression. Names starting with __ are targets of the rewriter.
var functions = []fnDef{
	{name: "__get", fn: func(args ...any) (any, error) {
		v, _ := envArg(args).Lookup(strArg(args, 1))
		return v, nil
	}},
	{name: "__var", fn: func(args ...any) (any, error) {
		return envArg(args).Vars[strArg(args, 1)], nil
	}},
	{name: "__row", fn: func(args ...any) (any, error) {
		return envArg(args).Row[strArg(args, 1)], nil
	}},
	{name: "__field", fn: func(args ...any) (any, error) {
		return envArg(args).Contact.Fields[strArg(args, 1)], nil
	}},
	{name: "__contact", fn: func(args ...any) (any, error) {
		v, _ := envArg(args).contactProp(strArg(args, 1))
		return v, nil
	}},
	{name: "__input", fn: func(args ...any) (any, error) {
		return envArg(args).inputProp(strArg(args, 1)), nil
	}},
	{name: "__flow", fn: func(args ...any) (any, error) {
		return envArg(args).flowProp(strArg(args, 1)), nil
	}},
	{name: "__scope", fn: func(args ...any) (any, error) {
		return envArg(args).scope(strArg(args, 1)), nil
	}},
	{name: "__now", fn: func(args ...any) (any, error) {
		return envArg(args).Now, nil
	}},
	{name: "__tick", fn: func(args ...any) (any, error) {
		if err := envArg(args).tick(); err != nil {
			return nil, err
		}
		if len(args) < 2 {
			return nil, nil
		}
		return args[1], nil
	}},

	{name: "default", sig: "default(value, fallback)", doc: "value, or fallback when value is empty (nil, \"\", empty list or map).",
		types: []any{new(func(any, any) any)},
		fn: func(args ...any) (any, error) {
			if IsEmpty(args[0]) {
				return args[1], nil
			}
			return args[0], nil
		}},
	{name: "num", sig: "num(value)", doc: "value as a number (\"12\" → 12, \"2.5\" → 2.5); an error when it is not numeric.",
		types: []any{new(func(any) any)},
		fn: func(args ...any) (any, error) {
			n, ok := ToNumber(args[0])
			if !ok {
				return nil, fmt.Errorf("num: %q is not a number", ToString(args[0]))
			}
			return n, nil
		}},
	{name: "text", sig: "text(value)", doc: "value as text, formatted the way templates print it.",
		types: []any{new(func(any) string)},
		fn:    func(args ...any) (any, error) { return ToString(args[0]), nil }},
	{name: "title", sig: "title(text)", doc: "text with the first letter of every word in upper case.",
		types: []any{new(func(any) string)},
		fn:    func(args ...any) (any, error) { return titleCase(ToString(args[0])), nil }},
	{name: "is_email", sig: "is_email(text)", doc: "whether text looks like an e-mail address.",
		types: []any{new(func(any) bool)},
		fn:    func(args ...any) (any, error) { return IsEmail(ToString(args[0])), nil }},
	{name: "is_number", sig: "is_number(value)", doc: "whether value is a number or numeric text.",
		types: []any{new(func(any) bool)},
		fn: func(args ...any) (any, error) {
			_, ok := ToNumber(args[0])
			return ok, nil
		}},
	{name: "format_number", sig: "format_number(number, decimals)", doc: "number with exactly decimals digits after the point.",
		types: []any{new(func(any, any) string)},
		fn: func(args ...any) (any, error) {
			n, ok := ToNumber(args[0])
			if !ok {
				return nil, fmt.Errorf("format_number: %q is not a number", ToString(args[0]))
			}
			d, ok := ToNumber(args[1])
			if !ok {
				return nil, errors.New("format_number: decimals must be a number")
			}
			di := int(toFloat(d))
			if di < 0 || di > 10 {
				return nil, errors.New("format_number: decimals must be between 0 and 10")
			}
			return fmt.Sprintf("%.*f", di, toFloat(n)), nil
		}},
	{name: "parse_date", sig: "parse_date(text)", doc: "a date/time from text in RFC 3339, 2006-01-02, 2006-01-02 15:04 or 02/01/2006 form.",
		types: []any{new(func(any) any)},
		fn: func(args ...any) (any, error) {
			t, ok := ToTime(args[0])
			if !ok {
				return nil, fmt.Errorf("parse_date: %q is not a date", ToString(args[0]))
			}
			return t, nil
		}},
	{name: "format_date", sig: "format_date(date, layout)", doc: "date formatted with a Go layout (\"02 Jan 2006\") or one of date, time, datetime, rfc3339.",
		types: []any{new(func(any, any) string)},
		fn: func(args ...any) (any, error) {
			t, ok := ToTime(args[0])
			if !ok {
				return nil, fmt.Errorf("format_date: %q is not a date", ToString(args[0]))
			}
			return t.Format(namedLayout(ToString(args[1]))), nil
		}},
	{name: "add_days", sig: "add_days(date, days)", doc: "date moved by a number of days (negative goes back).",
		types: []any{new(func(any, any) any)},
		fn: func(args ...any) (any, error) {
			t, ok := ToTime(args[0])
			if !ok {
				return nil, fmt.Errorf("add_days: %q is not a date", ToString(args[0]))
			}
			n, ok := ToNumber(args[1])
			if !ok {
				return nil, errors.New("add_days: days must be a number")
			}
			return t.AddDate(0, 0, int(toFloat(n))), nil
		}},
	{name: "word", sig: "word(text, n)", doc: "the n-th word of text, counting from 0 (\"\" when there is none).",
		types: []any{new(func(any, any) string)},
		fn: func(args ...any) (any, error) {
			n, ok := ToNumber(args[1])
			if !ok {
				return nil, errors.New("word: n must be a number")
			}
			words := strings.Fields(ToString(args[0]))
			i := int(toFloat(n))
			if i < 0 || i >= len(words) {
				return "", nil
			}
			return words[i], nil
		}},
}

func namedLayout(l string) string {
	switch l {
	case "date", "":
		return "2006-01-02"
	case "time":
		return "15:04"
	case "datetime":
		return "2006-01-02 15:04"
	case "rfc3339":
		return time.RFC3339
	}
	return l
}

func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		if unicode.IsSpace(r) {
			start = true
			b.WriteRune(r)
			continue
		}
		if start {
			b.WriteRune(unicode.ToUpper(r))
			start = false
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// IsEmail reports whether s has the shape local@domain.tld, without spaces.
func IsEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || !utf8.ValidString(s) {
		return false
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	domain := s[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1
}
