package flow

import (
	"regexp"
	"strings"

	"github.com/parleyhq/parley/internal/expr"
)

// Validation is a compiled reply validation of a wait_for_response node.
type Validation struct {
	// Type is text, number, email, phone, date, choice or regex.
	Type    string
	Pattern *regexp.Regexp
	Choices []string
}

// Check validates a reply and returns the value to store: a number for
// number, the canonical choice for choice, the trimmed text otherwise.
// Text accepts any non-empty reply.
func (v *Validation) Check(reply string) (any, bool) {
	s := strings.TrimSpace(reply)
	switch v.Type {
	case "number":
		return expr.ToNumber(s)
	case "email":
		return s, expr.IsEmail(s)
	case "phone":
		return s, isPhone(s)
	case "date":
		t, ok := expr.ToTime(s)
		if !ok {
			return nil, false
		}
		return t.Format("2006-01-02"), true
	case "choice":
		for _, c := range v.Choices {
			if strings.EqualFold(strings.TrimSpace(c), s) {
				return c, true
			}
		}
		return nil, false
	case "regex":
		return s, v.Pattern != nil && v.Pattern.MatchString(s)
	}
	return s, s != ""
}

// isPhone accepts 7 to 15 digits with an optional leading + and common
// separators.
func isPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}
