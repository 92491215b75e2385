package engine

import "github.com/parleyhq/parley/internal/flow"

// waitExec runs wait_for_response nodes: wait, then validate the reply.
var waitExec = executor{
	enter: func(r *sprint, st *flow.Step) int {
		return r.wait(WaitReply, st.Config.(*flow.WaitConfig).Timeout, 0)
	},
	resume:  func(r *sprint, st *flow.Step, in *Input) { r.reply(st.Config.(*flow.WaitConfig), in) },
	timeout: func(*sprint, *flow.Step) int { return flow.WaitExitTimeout },
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
