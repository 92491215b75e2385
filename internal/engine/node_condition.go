package engine

import "github.com/parleyhq/parley/internal/flow"

// conditionExec runs condition nodes: the first matching rule's exit, else
// else; an evaluation error is recorded and the rule does not match.
var conditionExec = executor{enter: func(r *sprint, st *flow.Step) int {
	k, err := st.Config.(*flow.ConditionConfig).Choose(&r.env)
	if err != nil {
		r.errorf("rules", err)
	}
	return r.take(k)
}}
