package engine

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/parleyhq/parley/internal/flow"
)

// codeExec runs code nodes through the injected script runner.
var codeExec = executor{enter: func(r *sprint, st *flow.Step) int { return r.code(st, st.Config.(*flow.CodeConfig)) }}

// code runs a code node's script and applies its result: every variable
// is checked before any is set, so a failed node changes nothing.
func (r *sprint) code(st *flow.Step, c *flow.CodeConfig) int {
	if r.e.svc.Scripts == nil {
		r.errorf("code", errors.New("code steps are not available here (no script runner)"))
		return r.take(c.Failed)
	}
	req := ScriptRequest{Script: c.Script, Scope: r.rt[0].flow.Scope, Vars: r.s.Vars, Contact: r.env.Contact,
		Trigger: ScriptTrigger{Input: r.env.Input, Row: r.env.Row, Flow: r.env.Flow}, Timeout: c.Timeout}
	res, err := r.e.svc.Scripts.Run(r.ctx, req)
	if err == nil {
		err = checkScriptResult(st, c, res)
	}
	if err != nil {
		r.errorf("code", err)
		return r.take(c.Failed)
	}
	exit := 0
	if res.Exit != "" {
		exit = st.ExitIndex(res.Exit)
	}
	names := make([]string, 0, len(res.Vars))
	for k := range res.Vars {
		names = append(names, k)
	}
	sort.Strings(names) // events in a reproducible order
	for _, k := range names {
		r.setVar(k, res.Vars[k])
	}
	return r.take(exit)
}

// checkScriptResult refuses an unknown exit, an invalid variable name and,
// when the node declares its outputs, any other variable.
func checkScriptResult(st *flow.Step, c *flow.CodeConfig, res ScriptResult) error {
	if res.Exit != "" && st.ExitIndex(res.Exit) < 0 {
		names := make([]string, len(st.Exits))
		for i, e := range st.Exits {
			names[i] = e.Name
		}
		return fmt.Errorf("the script chose exit %q; this node's exits are %s", res.Exit, strings.Join(names, ", "))
	}
	for k := range res.Vars {
		if !flow.IsVariableName(k) {
			return fmt.Errorf("the script set variable %q: a variable name starts with a letter or _ and has only letters, digits and _ (and is not contact, vars, input, row, flow or now)", k)
		}
		if c.Outputs != nil && !contains(c.Outputs, k) {
			return fmt.Errorf("the script set variable %q, which is not in the node's outputs (%s)", k, strings.Join(c.Outputs, ", "))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
