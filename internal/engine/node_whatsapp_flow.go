package engine

import "github.com/parleyhq/parley/internal/flow"

// whatsAppFlowExec runs whatsapp_flow nodes: send the form, wait for its
// completion and store the answers.
var whatsAppFlowExec = executor{
	enter: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.WhatsAppFlowConfig)
		r.send(&Message{Type: MessageWhatsAppFlow, Flow: &FlowMessage{ID: c.WhatsAppFlowID, Header: r.render(c.Header, "header"),
			Body: r.render(c.Body, "body"), CTA: c.CTA, Screen: c.Screen, Data: c.Data, Mode: c.Mode, Token: flowToken(r.s, r.s.Wait.Seq+1)}})
		return r.wait(WaitFlow, c.Timeout, 0)
	},
	resume: func(r *sprint, st *flow.Step, in *Input) {
		if in.Kind != InputFlow {
			r.ignore(*in, "waiting for the WhatsApp Flow to be completed")
			return
		}
		r.accept(in)
		r.setVar(st.Config.(*flow.WhatsAppFlowConfig).Variable, r.env.Input.Data)
		r.run(r.take(flow.WhatsAppFlowExitCompleted))
	},
	timeout: func(*sprint, *flow.Step) int { return flow.WhatsAppFlowExitTimeout },
}
