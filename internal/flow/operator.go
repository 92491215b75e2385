package flow

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/parleyhq/parley/internal/expr"
)

// Operator is a condition operator.
type Operator uint8

// Condition operators (DESIGN §4).
const (
	OpInvalid Operator = iota
	OpEquals
	OpNotEquals
	OpContains
	OpNotContains
	OpStartsWith
	OpEndsWith
	OpMatches
	OpGT
	OpGTE
	OpLT
	OpLTE
	OpBefore
	OpAfter
	OpIsEmpty
	OpIsNotEmpty
	OpHasAnyWord
	OpHasAllWords
	OpIsNumber
	OpIsEmail
)

var operatorNames = [...]string{"", "equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "matches",
	"gt", "gte", "lt", "lte", "before", "after", "is_empty", "is_not_empty", "has_any_word", "has_all_words", "is_number", "is_email"}

// ParseOperator returns the operator with the given data name.
func ParseOperator(s string) (Operator, bool) {
	for i, n := range operatorNames {
		if i > 0 && n == s {
			return Operator(i), true
		}
	}
	return OpInvalid, false
}

// String returns the operator's data name.
func (o Operator) String() string {
	if int(o) < len(operatorNames) {
		return operatorNames[o]
	}
	return fmt.Sprintf("operator(%d)", o)
}

// Compare applies the operator. Text comparisons are case-insensitive and
// ignore surrounding spaces; gt/gte/lt/lte compare numbers and are false
// when either side is not numeric; before/after compare dates likewise.
// re, when non-nil, is the precompiled pattern of a matches operator.
func (o Operator) Compare(left, right any, re *regexp.Regexp) (bool, error) {
	switch o {
	case OpIsEmpty:
		return expr.IsEmpty(left), nil
	case OpIsNotEmpty:
		return !expr.IsEmpty(left), nil
	case OpIsNumber:
		_, ok := expr.ToNumber(left)
		return ok, nil
	case OpIsEmail:
		return expr.IsEmail(strings.TrimSpace(expr.ToString(left))), nil
	case OpGT, OpGTE, OpLT, OpLTE:
		l, ok1 := expr.ToFloat(left)
		r, ok2 := expr.ToFloat(right)
		if !ok1 || !ok2 {
			return false, nil
		}
		switch o {
		case OpGT:
			return l > r, nil
		case OpGTE:
			return l >= r, nil
		case OpLT:
			return l < r, nil
		}
		return l <= r, nil
	case OpBefore, OpAfter:
		l, ok1 := expr.ToTime(left)
		r, ok2 := expr.ToTime(right)
		if !ok1 || !ok2 {
			return false, nil
		}
		if o == OpBefore {
			return l.Before(r), nil
		}
		return l.After(r), nil
	case OpMatches:
		if re == nil {
			var err error
			if re, err = regexp.Compile(expr.ToString(right)); err != nil {
				return false, fmt.Errorf("matches: invalid regular expression: %w", err)
			}
		}
		return re.MatchString(expr.ToString(left)), nil
	}
	l := strings.ToLower(strings.TrimSpace(expr.ToString(left)))
	r := strings.ToLower(strings.TrimSpace(expr.ToString(right)))
	switch o {
	case OpEquals:
		if ln, ok := expr.ToFloat(left); ok {
			if rn, ok := expr.ToFloat(right); ok {
				return ln == rn, nil
			}
		}
		return l == r, nil
	case OpNotEquals:
		eq, err := OpEquals.Compare(left, right, nil)
		return !eq, err
	case OpContains:
		return strings.Contains(l, r), nil
	case OpNotContains:
		return !strings.Contains(l, r), nil
	case OpStartsWith:
		return strings.HasPrefix(l, r), nil
	case OpEndsWith:
		return strings.HasSuffix(l, r), nil
	case OpHasAnyWord, OpHasAllWords:
		words := strings.FieldsFunc(l, notWordRune)
		want := strings.FieldsFunc(r, notWordRune)
		found := 0
		for _, w := range want {
			for _, x := range words {
				if x == w {
					found++
					break
				}
			}
		}
		if o == OpHasAnyWord {
			return found > 0, nil
		}
		return len(want) > 0 && found == len(want), nil
	}
	return false, fmt.Errorf("unknown operator %v", o)
}

func notWordRune(r rune) bool {
	return !(r == '_' || r == '\'' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && !isSpaceOrPunct(r))
}

func isSpaceOrPunct(r rune) bool {
	return strings.ContainsRune(" \t\n\r\u00a0.,;:!?¿¡\"()[]{}«»“”", r)
}

// Eval renders both sides and compares them.
func (c *Condition) Eval(env *expr.Env) (bool, error) {
	left, err := c.Left.Value(env)
	if err != nil {
		return false, err
	}
	var right any
	if c.Right != nil {
		if right, err = c.Right.Value(env); err != nil {
			return false, err
		}
	}
	return c.Operator.Compare(left, right, c.Regex)
}

// Match reports whether the rule matches (all or any of its conditions).
func (r *Rule) Match(env *expr.Env) (bool, error) {
	for i := range r.Conditions {
		ok, err := r.Conditions[i].Eval(env)
		if err != nil {
			return false, err
		}
		if ok != r.All {
			return ok, nil
		}
	}
	return r.All, nil
}

// Choose returns the exit index of the first matching rule, or Else. An
// evaluation error makes that rule not match and is returned with the
// chosen exit so the engine can record it; an exhausted expression budget
// stops at once with Else.
func (c *ConditionConfig) Choose(env *expr.Env) (int, error) {
	var first error
	for i := range c.Rules {
		ok, err := c.Rules[i].Match(env)
		if expr.IsBudget(err) {
			return c.Else, err
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if ok {
			return i, first
		}
	}
	return c.Else, first
}
