package flow

import (
	"sort"
	"strings"
)

// Lint checks a graph and returns every problem at once, in a deterministic
// order (per node and edge in document order, then graph-wide rules). A nil
// env skips the checks of references into the project (templates,
// subflows, WhatsApp Flows). A graph over MaxNodes gets only that problem.
func Lint(g Graph, env LintEnv) Problems {
	a := analyze(g, env)
	if len(g.Nodes) > MaxNodes {
		return a.out
	}
	a.graphRules()
	return a.out
}

func (a *analysis) graphRules() {
	a.checkStarts()
	a.checkUnconnected()
	reach := a.reachable()
	a.checkReachability(reach)
	a.checkLoops()
	a.checkWaitTimeouts()
	a.checkCampaign()
	a.checkVariables()
}

func (a *analysis) checkStarts() {
	for i, n := range a.g.Nodes {
		if n.Type != TypeStart {
			continue
		}
		if a.start < 0 {
			a.start = i
			continue
		}
		a.nodeErr(i, CodeMultipleStarts, "/type", "the flow already starts at %q; a flow has exactly one start node — delete %q or make it another type", a.g.Nodes[a.start].ID, n.ID)
	}
	if a.start < 0 {
		a.add(SeverityError, CodeMissingStart, -1, -1, "/nodes", "the flow has no start node; add one and connect it to the first step")
	}
}

// exitCanFire reports whether an exit of a node can be taken at all; exits
// that cannot need no edge (a timeout without timeout_seconds, invalid
// without validation).
func exitCanFire(info *nodeInfo, name string) bool {
	if info.spec == nil || info.data == nil {
		return true
	}
	if name == ExitTimeout {
		secs, ok := info.spec.timeout(info.data)
		return !ok || secs > 0
	}
	return info.spec.canFire(info.data, name)
}

func (a *analysis) checkUnconnected() {
	for i := range a.nodes {
		info := &a.nodes[i]
		for k, x := range info.exits {
			if info.out[k] >= 0 || !exitCanFire(info, x.name) {
				continue
			}
			if x.optional {
				a.nodeWarn(i, CodeUnconnectedOptional, "", "exit %q of %s is not connected; when it is taken the session just ends — connect it to handle that case", x.name, a.label(i))
			} else {
				a.nodeErr(i, CodeUnconnectedExit, "", "exit %q of %s is not connected; connect it to the next step or to an end node", x.name, a.label(i))
			}
		}
	}
}

// successors calls fn for every resolved edge leaving node i.
func (a *analysis) successors(i int, fn func(dst, exit int)) {
	for _, e := range a.nodes[i].out {
		if e >= 0 && a.edges[e].dst >= 0 {
			fn(a.edges[e].dst, a.edges[e].exit)
		}
	}
}

func (a *analysis) reachable() []bool {
	seen := make([]bool, len(a.g.Nodes))
	if a.start < 0 {
		return seen
	}
	stack := []int{a.start}
	seen[a.start] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		a.successors(i, func(dst, _ int) {
			if !seen[dst] {
				seen[dst] = true
				stack = append(stack, dst)
			}
		})
	}
	return seen
}

func (a *analysis) checkReachability(reach []bool) {
	hasEnd, endReached := false, false
	for i, n := range a.g.Nodes {
		if n.Type == TypeEnd {
			hasEnd = true
			endReached = endReached || reach[i]
		}
		if a.start >= 0 && !reach[i] && n.Type != TypeStart {
			a.nodeWarn(i, CodeUnreachableNode, "", "%s cannot be reached from the start node; connect an exit to it or delete it", a.label(i))
		}
	}
	switch {
	case !hasEnd:
		a.add(SeverityError, CodeMissingEnd, -1, -1, "/nodes", "the flow has no end node; add one and connect the last steps to it")
	case a.start >= 0 && !endReached:
		a.nodeErr(a.start, CodeNoPathToEnd, "", "no path leads from the start node to an end node; connect the steps through to an end node")
	}
}

// checkLoops finds cycles made only of nodes that do not wait: such a loop
// would spin until the engine's loop protection fails the session.
func (a *analysis) checkLoops() {
	n := len(a.g.Nodes)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next := 0
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		self := false
		a.successors(v, func(w, _ int) {
			if a.nodes[w].waits {
				return
			}
			if w == v {
				self = true
			}
			if index[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		})
		if low[v] != index[v] {
			return
		}
		var comp []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) == 1 && !self {
			return
		}
		sort.Ints(comp)
		ids := make([]string, len(comp))
		for k, c := range comp {
			ids[k] = "\"" + a.g.Nodes[c].ID + "\""
		}
		a.nodeErr(comp[0], CodeLoopWithoutWait, "", "nodes %s form a loop with no waiting step, which would spin until the session fails; add a wait_for_response, a message with buttons or a delay to the loop", strings.Join(ids, ", "))
	}
	for v := 0; v < n; v++ {
		if index[v] < 0 && a.nodes[v].spec != nil && !a.nodes[v].waits {
			strong(v)
		}
	}
}

func (a *analysis) checkWaitTimeouts() {
	for i, info := range a.nodes {
		if !info.waits {
			continue
		}
		if secs, ok := info.spec.timeout(info.data); ok && secs == 0 {
			a.nodeWarn(i, CodeWaitWithoutTimeout, "/data", "%s waits without a timeout; set timeout_seconds and connect the timeout exit so sessions do not wait until they expire", a.label(i))
		}
	}
}

// checkCampaign enforces WhatsApp's 24-hour rule for campaign flows: the
// contact has not written to us, so until they reply (a button click, a
// reply to a wait) only templates may be sent.
func (a *analysis) checkCampaign() {
	if a.start < 0 {
		return
	}
	sd, ok := a.nodes[a.start].data.(*StartData)
	if !ok || sd.Trigger == nil || sd.Trigger.Type != "campaign" {
		return
	}
	// State per node: reached with the window still closed.
	closed := make([]bool, len(a.g.Nodes))
	stack := []int{a.start}
	closed[a.start] = true
	reported := make([]bool, len(a.g.Nodes))
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		info := a.nodes[i]
		if info.spec != nil && info.data != nil && info.spec.freeForm(info.data) && !reported[i] {
			reported[i] = true
			a.nodeErr(i, CodeCampaignNeedsTemplate, "", "%s sends a free-form message in a campaign flow before the contact has replied; WhatsApp only delivers templates outside the 24-hour window — send a template (with quick replies) first", a.label(i))
		}
		for k, e := range info.out {
			if e < 0 || a.edges[e].dst < 0 || info.exits[k].inbound {
				continue
			}
			if dst := a.edges[e].dst; !closed[dst] {
				closed[dst] = true
				stack = append(stack, dst)
			}
		}
	}
}

// checkVariables warns about vars.x references to variables no node sets.
// Bare names are not checked: they may be dataset columns or contact fields.
func (a *analysis) checkVariables() {
	set := map[string]bool{}
	for _, info := range a.nodes {
		if info.spec != nil && info.data != nil {
			setVariables(info.spec.Fields, info.json, func(v string) { set[v] = true })
		}
	}
	for i, info := range a.nodes {
		for _, r := range info.refs {
			if r.ref.Scope == "vars" && !set[r.ref.Name] {
				a.add(SeverityWarning, CodeUndefinedVariable, i, -1, r.ptr, "%s reads vars.%s, which no node of this flow sets; it is empty unless the flow is started with it", a.label(i), r.ref.Name)
			}
		}
	}
}
