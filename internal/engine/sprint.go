package engine

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
)

// stop is returned by steps when the sprint ends (the session waits or
// ended).
const stop = -1

// frameRT is the runtime side of a frame: its program, loaded once per
// sprint.
type frameRT struct {
	prog *flow.Program
	flow Flow
}

// sprint is the scratch state of one Start or Resume. It is pooled: the
// expr.Env (with its reusable VM) and the frame slice survive between
// sprints so a step allocates only what it outputs.
type sprint struct {
	e     *Engine
	ctx   context.Context
	s     *Session
	ev    []Event
	now   time.Time
	steps int
	env   expr.Env
	rt    []frameRT
	// prog is the running frame's program; sub and rev tag events of
	// subflow frames.
	prog *flow.Program
	sub  string
	rev  int
}

// guard runs fn and turns a panic into a failed session, so no input,
// however malformed, crashes the host.
func (r *sprint) guard(fn func()) {
	defer func() {
		if p := recover(); p != nil {
			if b, ok := p.(budgetStop); ok {
				// Outside a node's execution (a wait's retry message).
				r.end(StatusFailed, b.err.Error())
				return
			}
			r.end(StatusFailed, fmt.Sprintf("internal error: %v", p))
		}
	}()
	fn()
	r.s.Contact = r.env.Contact
}

// enterFrame makes the innermost frame the running one.
func (r *sprint) enterFrame() {
	f := &r.rt[len(r.rt)-1]
	r.prog = f.prog
	r.env.Flow = expr.Flow{ID: f.flow.ID, Name: f.flow.Name, Revision: f.flow.Revision}
	if len(r.rt) > 1 {
		r.sub, r.rev = f.flow.ID, f.flow.Revision
	} else {
		r.sub, r.rev = "", 0
	}
}

func (r *sprint) emit(ev Event) {
	ev.Flow, ev.Revision = r.sub, r.rev
	r.ev = append(r.ev, ev)
}

func (r *sprint) nodeID() string { return r.prog.Steps[r.s.Node].ID }

// errorf records a failed field. An ordinary expression error leaves the
// field empty and the node goes on; an exhausted expression budget stops
// the node at once (see budgetStop).
func (r *sprint) errorf(field string, err error) {
	r.emit(Event{Kind: EventError, Node: r.nodeID(), Name: field, Text: err.Error()})
	if expr.IsBudget(err) {
		panic(budgetStop{err})
	}
}

// budgetStop unwinds a node whose expression exhausted its budget, so the
// node does nothing more (no message with an empty hole, no second costly
// field); execNode turns it into the node's failure path.
type budgetStop struct{ err error }

// execNode runs exec, sending a node stopped by budgetStop through its
// connected failed, failure or else exit, or failing the frame when it has
// none.
func (r *sprint) execNode(st *flow.Step) (next int) {
	defer func() {
		if p := recover(); p != nil {
			b, ok := p.(budgetStop)
			if !ok {
				panic(p)
			}
			for _, name := range [...]string{flow.ExitFailed, flow.ExitFailure, flow.ExitElse} {
				if k := st.ExitIndex(name); k >= 0 && st.Exits[k].Target != flow.NoTarget {
					next = r.take(k)
					return
				}
			}
			next = r.fail(fmt.Sprintf("node %q: %v", st.ID, b.err))
		}
	}()
	return r.exec(st)
}

// run enters nodes from i until the sprint stops.
func (r *sprint) run(i int) {
	for i != stop {
		i = r.step(i)
	}
}

// step enters node i, executes it and returns the next node or stop.
func (r *sprint) step(i int) int {
	s := r.s
	if i < 0 || i >= len(r.prog.Steps) {
		r.end(StatusFailed, fmt.Sprintf("node index %d is outside the flow (%d nodes)", i, len(r.prog.Steps)))
		return stop
	}
	if r.steps >= r.e.lim.SprintSteps {
		r.end(StatusFailed, fmt.Sprintf("loop protection: more than %d nodes in one sprint (at node %q); put a waiting node in the loop", r.e.lim.SprintSteps, r.prog.Steps[i].ID))
		return stop
	}
	if s.Steps >= r.e.lim.SessionSteps {
		r.end(StatusFailed, fmt.Sprintf("loop protection: more than %d nodes in one session (at node %q)", r.e.lim.SessionSteps, r.prog.Steps[i].ID))
		return stop
	}
	r.steps++
	s.Steps++
	s.Node = i
	st := &r.prog.Steps[i]
	r.emit(Event{Kind: EventNodeEntered, Node: st.ID})
	return r.execNode(st)
}

// take leaves the current node by exit k and returns the next node, ending
// the frame when the exit is unconnected.
func (r *sprint) take(k int) int {
	st := &r.prog.Steps[r.s.Node]
	if k < 0 || k >= len(st.Exits) {
		return r.fail(fmt.Sprintf("node %q has no exit %d", st.ID, k))
	}
	x := &st.Exits[k]
	if x.EdgeID != "" {
		r.emit(Event{Kind: EventEdgeTaken, Node: st.ID, Exit: x.Name, Edge: x.EdgeID})
	}
	if x.Target != flow.NoTarget {
		return x.Target
	}
	return r.finish(fmt.Sprintf("exit %q of node %q is not connected", x.Name, st.ID))
}

// finish ends the running frame successfully: a subflow returns through its
// parent's completed exit, the root flow completes the session.
func (r *sprint) finish(reason string) int {
	if len(r.s.Frames) > 0 {
		return r.leaveSubflow(StatusCompleted, reason, flow.SubflowExitCompleted)
	}
	r.end(StatusCompleted, reason)
	return stop
}

// fail ends the running frame with a failure: a subflow returns through its
// parent's failed exit, the root flow fails the session.
func (r *sprint) fail(reason string) int {
	if len(r.s.Frames) > 0 {
		return r.leaveSubflow(StatusFailed, reason, flow.SubflowExitFailed)
	}
	r.end(StatusFailed, reason)
	return stop
}

// end ends the session (all frames).
func (r *sprint) end(st Status, reason string) {
	s := r.s
	s.Status, s.EndReason = st, reason
	s.Wait = Wait{Seq: s.Wait.Seq}
	r.sub, r.rev = "", 0
	node := ""
	if r.prog != nil && len(r.rt) == len(s.Frames)+1 && s.Node >= 0 && s.Node < len(r.prog.Steps) {
		node = r.prog.Steps[s.Node].ID
	}
	r.ev = append(r.ev, Event{Kind: EventSessionEnded, Node: node, Status: st, Text: reason})
}

// wait makes the session wait at the current node.
func (r *sprint) wait(kind WaitKind, timeout time.Duration, retries int) int {
	s := r.s
	s.Status = StatusWaiting
	s.Wait = Wait{Kind: kind, Seq: s.Wait.Seq + 1, Retries: retries}
	if timeout > 0 {
		s.Wait.TimeoutAt = r.now.Add(timeout)
	}
	id := r.nodeID()
	r.emit(Event{Kind: EventWaiting, Node: id, Name: kind.String(), Seq: s.Wait.Seq, At: s.Wait.TimeoutAt})
	if timeout > 0 {
		r.emit(Event{Kind: EventTimerSet, Node: id, Name: kind.String(), Seq: s.Wait.Seq, At: s.Wait.TimeoutAt})
	}
	return stop
}

// setVar stores a variable and records it.
func (r *sprint) setVar(name string, v any) {
	if name == "" {
		return
	}
	v = normalize(v)
	if r.s.Vars == nil {
		r.s.Vars = make(map[string]any, 8)
		r.env.Vars = r.s.Vars
	}
	r.s.Vars[name] = v
	r.emit(Event{Kind: EventVariableSet, Node: r.nodeID(), Name: name, Value: v})
}

// render renders an optional template, recording a failure as an error
// event (the text keeps what rendered).
func (r *sprint) render(t *expr.Template, field string) string {
	if t == nil {
		return ""
	}
	out, err := t.Render(&r.env)
	if err != nil {
		r.errorf(field, err)
	}
	return out
}

func (r *sprint) renderAll(ts []*expr.Template, field string) []string {
	if len(ts) == 0 {
		return nil
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = r.render(t, field)
	}
	return out
}

// value evaluates a template keeping a whole hole's type.
func (r *sprint) value(t *expr.Template, field string) any {
	if t == nil {
		return nil
	}
	v, err := t.Value(&r.env)
	if err != nil {
		r.errorf(field, err)
	}
	return v
}

// random returns the split draw: the injected source, else a hash of the
// session ID and step count (deterministic per session).
func (r *sprint) random() float64 {
	if r.e.svc.Random != nil {
		return r.e.svc.Random.Float64()
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(r.s.ID); i++ {
		h = (h ^ uint64(r.s.ID[i])) * 1099511628211
	}
	h ^= uint64(r.s.Steps) * 0x9e3779b97f4a7c15
	// splitmix64 finaliser: spreads the bits before taking 53 of them.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / (1 << 53)
}

// flowToken identifies a WhatsApp Flow message's wait: the nfm_reply
// carries it back.
func flowToken(s *Session, seq uint32) string {
	return s.ID + "." + strconv.FormatUint(uint64(seq), 10)
}
