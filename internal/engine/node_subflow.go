package engine

import (
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/flow"
)

// subflowExec runs subflow nodes: the child flow runs in a new frame and
// returns through completed or failed (see finish and fail).
var subflowExec = executor{enter: func(r *sprint, st *flow.Step) int { return r.subflow(st.Config.(*flow.SubflowConfig)) }}

func (r *sprint) subflow(c *flow.SubflowConfig) int {
	s := r.s
	var child Flow
	var err error
	switch {
	case len(s.Frames) >= r.e.lim.MaxDepth:
		err = fmt.Errorf("subflows nested deeper than %d", r.e.lim.MaxDepth)
	case r.e.svc.Flows == nil:
		err = errors.New("subflows are not available here")
	default:
		child, err = r.e.svc.Flows.Load(r.ctx, r.rt[0].flow.Scope, c.FlowID, 0)
		if err == nil && child.Program == nil {
			err = ErrNoProgram
		}
	}
	if err != nil {
		r.errorf("flow_id", fmt.Errorf("loading subflow %q: %w", c.FlowID, err))
		return r.take(flow.SubflowExitFailed)
	}
	r.emit(Event{Kind: EventSubflowStarted, Node: r.nodeID(), Name: child.ID, Value: child.Revision})
	s.Frames = append(s.Frames, Frame{FlowID: child.ID, Revision: child.Revision, Return: s.Node})
	r.rt = append(r.rt, frameRT{prog: child.Program, flow: child})
	r.enterFrame()
	return child.Program.Start
}

// leaveSubflow pops the innermost frame and continues in the parent through
// the subflow node's exit.
func (r *sprint) leaveSubflow(st Status, reason string, exit int) int {
	s := r.s
	f := s.Frames[len(s.Frames)-1]
	r.emit(Event{Kind: EventSubflowEnded, Node: r.nodeID(), Name: f.FlowID, Status: st, Text: reason})
	s.Frames = s.Frames[:len(s.Frames)-1]
	if len(s.Frames) == 0 {
		s.Frames = nil
	}
	r.rt[len(r.rt)-1] = frameRT{}
	r.rt = r.rt[:len(r.rt)-1]
	r.enterFrame()
	s.Node = f.Return
	return r.take(exit)
}
