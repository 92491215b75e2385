package engine

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/parleyhq/parley/internal/flow"
)

// resume applies an input to the waiting session.
func (r *sprint) resume(in Input) {
	s := r.s
	if in.Contact != nil {
		c := *in.Contact
		c.Fields, c.Tags = maps.Clone(c.Fields), cloneStrings(c.Tags)
		r.env.Contact = c
	}
	// Load the pinned subflow revisions first so every event, including an
	// expiry, names the right node.
	var loadErr error
	for _, f := range s.Frames {
		if r.e.svc.Flows == nil {
			loadErr = errors.New("the session waits in a subflow but no flow loader is available")
			break
		}
		child, err := r.e.svc.Flows.Load(r.ctx, r.rt[0].flow.Scope, f.FlowID, f.Revision)
		if err == nil && child.Program == nil {
			err = ErrNoProgram
		}
		if err != nil {
			loadErr = fmt.Errorf("loading subflow %q revision %d: %w", f.FlowID, f.Revision, err)
			break
		}
		r.rt = append(r.rt, frameRT{prog: child.Program, flow: child})
	}
	if loadErr == nil {
		r.enterFrame()
	}
	if !r.now.Before(s.ExpiresAt) {
		r.end(StatusExpired, "the session expired at "+s.ExpiresAt.Format(time.RFC3339))
		return
	}
	if loadErr != nil {
		r.end(StatusFailed, loadErr.Error())
		return
	}
	if s.Node < 0 || s.Node >= len(r.prog.Steps) {
		r.end(StatusFailed, fmt.Sprintf("stored node index %d is outside the flow (%d nodes)", s.Node, len(r.prog.Steps)))
		return
	}
	st := &r.prog.Steps[s.Node]
	x := executorOf(st)
	switch in.Kind {
	case InputTimer:
		r.timer(st, x, in.Seq)
		return
	case InputRelease:
		if x.release == nil {
			r.ignore(in, releaseOnlyHandoff)
			return
		}
		x.release(r, st, in)
		return
	}
	if !in.Kind.inbound() {
		r.ignore(in, fmt.Sprintf("unknown input kind %q", in.Kind))
		return
	}
	if (in.Kind == InputCall) != (s.Wait.Kind == WaitCall) {
		// A call's result answers only a call's wait, and a call's wait
		// only its result (the contact writing meanwhile changes nothing).
		r.ignore(in, "waiting for a "+s.Wait.Kind.String()+", not for a "+string(in.Kind))
		return
	}
	if x.resume == nil || s.Wait.Kind == WaitNone || s.Wait.Kind == WaitDelay {
		r.ignore(in, "waiting for a "+s.Wait.Kind.String()+" timer, not for a message")
		return
	}
	x.resume(r, st, &in)
}

// releaseOnlyHandoff is why a release of a session not in a handoff is
// ignored.
const releaseOnlyHandoff = "only a handoff can be released"

// resumed marks the session running again.
func (r *sprint) resumed() { r.s.Status = StatusActive }

// accept makes an inbound message the session's last input.
func (r *sprint) accept(in *Input) {
	r.resumed()
	r.s.Input = toExprInput(in)
	r.env.Input = r.s.Input
}

func (r *sprint) ignore(in Input, why string) {
	r.emit(Event{Kind: EventInputIgnored, Node: r.nodeID(), Name: string(in.Kind), Seq: in.Seq, Text: why})
}

// timer handles a fired timer: stale ones (for an earlier wait) are
// ignored, the current one takes the timeout exit or ends the delay.
func (r *sprint) timer(st *flow.Step, x executor, seq uint32) {
	w := r.s.Wait
	if seq != w.Seq {
		r.ignore(Input{Kind: InputTimer, Seq: seq}, fmt.Sprintf("stale timer: set for wait %d, the session is at wait %d", seq, w.Seq))
		return
	}
	if w.TimeoutAt.IsZero() {
		r.ignore(Input{Kind: InputTimer, Seq: seq}, "the current wait has no timer")
		return
	}
	r.resumed()
	k := 0 // delay: its single exit is next
	if x.timeout != nil {
		k = x.timeout(r, st)
	}
	r.run(r.take(k))
}
