package engine

import "github.com/parleyhq/parley/internal/flow"

// setVariableExec runs set_variable nodes.
var setVariableExec = executor{enter: func(r *sprint, st *flow.Step) int {
	c := st.Config.(*flow.SetVariableConfig)
	for i := range c.Assignments {
		a := &c.Assignments[i]
		r.setVar(a.Variable, r.value(a.Value, "assignments"))
	}
	return r.take(0)
}}
