package waflow

import (
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/waform"
)

// Validate is waform's validator with its problems in the provider's shape
// (the shape Meta's validation_errors have), so ours and Meta's are shown
// side by side.
func Validate(raw []byte) []channel.FormProblem {
	res := waform.Validate(raw)
	var out []channel.FormProblem
	for _, p := range res.Problems {
		out = append(out, channel.FormProblem{Error: p.Code, Message: p.Message, Pointer: p.Pointer, LineStart: p.Line, LineEnd: p.Line,
			ColumnStart: p.Column, ColumnEnd: p.Column, Severity: string(p.Severity)})
	}
	return out
}

// BuiltinTemplates are waform's built-in forms.
func BuiltinTemplates() []Template {
	var out []Template
	for _, t := range waform.Templates() {
		out = append(out, Template{ID: t.ID, Name: t.Name, Description: t.Description, Categories: []string{t.Category}, JSON: string(t.JSON)})
	}
	return out
}
