package engine

import "github.com/parleyhq/parley/internal/flow"

// delayExec runs delay nodes: wait for a timer only; the timer takes next.
var delayExec = executor{enter: func(r *sprint, st *flow.Step) int {
	d := st.Config.(*flow.DelayConfig).Duration
	if d <= 0 {
		return r.take(0)
	}
	return r.wait(WaitDelay, d, 0)
}}
