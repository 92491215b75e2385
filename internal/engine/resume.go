package engine

import (
	"errors"
	"fmt"
	"maps"
	"strings"
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
		child, err := r.e.svc.Flows.Load(r.ctx, f.FlowID, f.Revision)
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
	switch in.Kind {
	case InputTimer:
		r.timer(st, in.Seq)
		return
	case InputRelease:
		if s.Wait.Kind != WaitHandoff {
			r.ignore(in, "only a handoff can be released")
			return
		}
		r.resumed()
		r.run(r.take(flow.HandoffExitReleased))
		return
	}
	if !in.Kind.inbound() {
		r.ignore(in, fmt.Sprintf("unknown input kind %q", in.Kind))
		return
	}
	switch s.Wait.Kind {
	case WaitButton, WaitList:
		r.accept(&in)
		r.run(r.take(r.choose(st, &in)))
	case WaitReply:
		r.reply(st.Config.(*flow.WaitConfig), &in)
	case WaitFlow:
		if in.Kind != InputFlow {
			r.ignore(in, "waiting for the WhatsApp Flow to be completed")
			return
		}
		r.accept(&in)
		r.setVar(st.Config.(*flow.WhatsAppFlowConfig).Variable, r.env.Input.Data)
		r.run(r.take(flow.WhatsAppFlowExitCompleted))
	case WaitHandoff:
		r.emit(Event{Kind: EventInputRecorded, Node: st.ID, Name: string(in.Kind), Text: in.Text})
	default:
		r.ignore(in, "waiting for a "+s.Wait.Kind.String()+" timer, not for a message")
	}
}

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
func (r *sprint) timer(st *flow.Step, seq uint32) {
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
	var k int
	switch w.Kind {
	case WaitButton, WaitList:
		k = r.choices(st).Timeout
	case WaitReply:
		k = flow.WaitExitTimeout
	case WaitFlow:
		k = flow.WhatsAppFlowExitTimeout
	case WaitHandoff:
		k = flow.HandoffExitTimeout
	default: // delay: its single exit is next
		k = 0
	}
	r.run(r.take(k))
}

func (r *sprint) choices(st *flow.Step) *flow.Choices {
	switch c := st.Config.(type) {
	case *flow.MessageConfig:
		return c.Choices
	case *flow.TemplateConfig:
		return c.Choices
	}
	return nil
}

// choose picks the exit of a button or list reply: a button by title, a list
// row by id (typed text may also name a row by title); else other.
func (r *sprint) choose(st *flow.Step, in *Input) int {
	ch := r.choices(st)
	if ch == nil {
		return 0
	}
	switch {
	case in.Kind == InputList && in.ListID != "":
		return ch.Match(in.ListID)
	case in.Kind == InputButton && in.Button != "":
		return ch.Match(in.Button)
	}
	k := ch.Match(in.Text)
	if mc, ok := st.Config.(*flow.MessageConfig); ok && k == ch.Other && mc.List != nil {
		// A typed row title selects the row too.
		text := strings.TrimSpace(in.Text)
		for _, sec := range mc.List.Sections {
			for _, row := range sec.Rows {
				if strings.EqualFold(row.Title, text) {
					return ch.Match(row.ID)
				}
			}
		}
	}
	return k
}

// reply validates a wait_for_response answer, re-prompting on invalid
// replies up to MaxRetries times.
func (r *sprint) reply(c *flow.WaitConfig, in *Input) {
	text := in.Text
	if text == "" && in.Kind == InputButton {
		text = in.Button
	}
	r.accept(in)
	if v, ok := c.Validation.Check(text); ok {
		r.setVar(c.Variable, v)
		r.run(r.take(flow.WaitExitReply))
		return
	}
	if retries := r.s.Wait.Retries; retries < c.MaxRetries {
		if c.RetryMessage != nil {
			r.send(&Message{Type: MessageText, Text: r.render(c.RetryMessage, "retry_message")})
		}
		r.wait(WaitReply, c.Timeout, retries+1)
		return
	}
	r.run(r.take(flow.WaitExitInvalid))
}
