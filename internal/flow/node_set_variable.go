package flow

import (
	"strconv"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeSetVariable assigns session variables.
const TypeSetVariable = "set_variable"

// SetVariableData is the data of a set_variable node.
type SetVariableData struct {
	Assignments []AssignmentData `json:"assignments" flow:"required"`
}

// AssignmentData sets one variable; a value that is exactly {{ expr }}
// keeps the expression's type.
type AssignmentData struct {
	Variable string `json:"variable" flow:"required,variable"`
	Value    string `json:"value" flow:"template,line"`
}

// SetVariableConfig configures a set_variable node (exit: next).
type SetVariableConfig struct{ Assignments []Assignment }

// Assignment sets Variable to Value.Value(env) (typed when the value is a
// single {{ expr }}).
type Assignment struct {
	Variable string
	Value    *expr.Template
}

// KindSetVariable is the Kind of set_variable nodes.
const KindSetVariable Kind = 8

var setVariableNode = def[SetVariableData]{
	kind: KindSetVariable,
	NodeType: NodeType{Type: TypeSetVariable, Group: GroupData, Label: "Set variable", Description: "Assigns session variables from templates or expressions.",
		Palette: true, Available: true, Exits: staticExits(ExitNext),
		Defaults: map[string]any{"assignments": []any{map[string]any{"variable": "name", "value": ""}}}},
	aliases: []string{"setvar", "setvariables", "setrunresult"},
	check: func(a *analysis, i int, d *SetVariableData) {
		if len(d.Assignments) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/assignments", "%s needs at least one assignment", a.label(i))
		}
		for k, as := range d.Assignments {
			a.checkVariable(i, "/data/assignments/"+strconv.Itoa(k)+"/variable", as.Variable)
		}
	},
	compile: func(c *compiler, d *SetVariableData) any {
		s := &SetVariableConfig{Assignments: make([]Assignment, len(d.Assignments))}
		for i, as := range d.Assignments {
			s.Assignments[i] = Assignment{Variable: as.Variable, Value: c.tplMust(as.Value)}
		}
		return s
	},
}
