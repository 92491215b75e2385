package flow

import "regexp"

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var reservedNames = map[string]bool{"contact": true, "vars": true, "input": true, "row": true, "flow": true, "now": true}

// checkVariable checks a variable name that templates must be able to use.
func (a *analysis) checkVariable(i int, ptr, name string) {
	if name == "" {
		return // reported as missing_field by the schema when required
	}
	if !identRe.MatchString(name) {
		a.nodeErr(i, CodeInvalidValue, ptr, "%s: variable name %q must start with a letter or _ and contain only letters, digits and _ so {{%s}} can read it", a.label(i), name, name)
		return
	}
	if reservedNames[name] {
		a.nodeErr(i, CodeInvalidValue, ptr, "%s: %q is a reserved name (contact, vars, input, row, flow, now); choose another variable name", a.label(i), name)
	}
}

// setVariables calls add with every variable name a node's data sets: the
// values of the fields its schema marks as variable (decoded JSON in).
func setVariables(fields []Field, v any, add func(string)) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, f := range fields {
		fieldVariables(f, m[f.Name], add)
	}
}

func fieldVariables(f Field, v any, add func(string)) {
	switch f.Kind {
	case KindObject:
		setVariables(f.Fields, v, add)
	case KindArray:
		if arr, ok := v.([]any); ok && f.Items != nil {
			for _, it := range arr {
				fieldVariables(*f.Items, it, add)
			}
		}
	default:
		if s, ok := v.(string); ok && f.Variable {
			add(s)
		}
	}
}

// IsVariableName reports whether name can name a session variable: an
// identifier that is not one of the reserved scope names.
func IsVariableName(name string) bool {
	return identRe.MatchString(name) && !reservedNames[name]
}
