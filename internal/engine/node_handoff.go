package engine

import "github.com/parleyhq/parley/internal/flow"

// handoffExec runs handoff nodes: the bot is silent (messages are only
// recorded) until an agent releases the session or the timeout fires.
var handoffExec = executor{
	enter: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.HandoffConfig)
		if c.Message != nil {
			r.send(&Message{Type: MessageText, Text: r.render(c.Message, "message")})
		}
		r.emit(Event{Kind: EventContactChanged, Node: st.ID, Change: ChangeHandoff, Name: c.Assignee})
		return r.wait(WaitHandoff, c.Timeout, 0)
	},
	resume: func(r *sprint, st *flow.Step, in *Input) {
		r.emit(Event{Kind: EventInputRecorded, Node: st.ID, Name: string(in.Kind), Text: in.Text})
	},
	timeout: func(*sprint, *flow.Step) int { return flow.HandoffExitTimeout },
	release: func(r *sprint, _ *flow.Step, in Input) {
		if r.s.Wait.Kind != WaitHandoff {
			r.ignore(in, releaseOnlyHandoff)
			return
		}
		r.resumed()
		r.run(r.take(flow.HandoffExitReleased))
	},
}
