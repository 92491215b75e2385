package engine

import "github.com/parleyhq/parley/internal/flow"

// splitExec runs split nodes: a random branch by weight.
var splitExec = executor{enter: func(r *sprint, st *flow.Step) int {
	return r.take(st.Config.(*flow.SplitConfig).Pick(r.random()))
}}
