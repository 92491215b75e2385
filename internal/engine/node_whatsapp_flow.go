package engine

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/parleyhq/parley/internal/flow"
)

// whatsAppFlowExec runs whatsapp_flow nodes: send the form, wait for its
// completion and store the answers.
var whatsAppFlowExec = executor{
	enter: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.WhatsAppFlowConfig)
		r.send(&Message{Type: MessageWhatsAppFlow, Flow: &FlowMessage{ID: c.WhatsAppFlowID, Header: r.render(c.Header, "header"),
			Body: r.render(c.Body, "body"), CTA: c.CTA, Screen: c.Screen, Data: r.formData(c), Mode: c.Mode, Token: flowToken(r.s, r.s.Wait.Seq+1)}})
		return r.wait(WaitFlow, c.Timeout, 0)
	},
	resume: func(r *sprint, st *flow.Step, in *Input) {
		if in.Kind != InputFlow {
			r.ignore(*in, "waiting for the WhatsApp Flow to be completed")
			return
		}
		// Each send has its own token: a completion of an earlier send of
		// this form (or of another session's) does not answer this wait.
		if want := flowToken(r.s, r.s.Wait.Seq); in.Token != "" && in.Token != want {
			r.ignore(*in, "a WhatsApp Flow completion for token "+in.Token+"; this wait is for "+want)
			return
		}
		c := st.Config.(*flow.WhatsAppFlowConfig)
		answers := maps.Clone(in.Data)
		delete(answers, "flow_token") // the routing key, not an answer
		if f := r.e.svc.Forms; f != nil {
			answers = f.FormAnswers(r.ctx, r.rt[0].flow.Scope, c.WhatsAppFlowID, answers)
		}
		in.Data = answers
		r.accept(in)
		if c.Variable != "" {
			r.setVar(c.Variable, answers)
		} else {
			// No variable named: each answer becomes a variable of its own.
			for _, k := range slices.Sorted(maps.Keys(answers)) {
				r.setVar(k, answers[k])
			}
		}
		r.run(r.take(flow.WhatsAppFlowExitCompleted))
	},
	timeout: func(*sprint, *flow.Step) int { return flow.WhatsAppFlowExitTimeout },
}

// formData is the first screen's data with its templates rendered from the
// session's variables.
func (r *sprint) formData(c *flow.WhatsAppFlowConfig) []byte {
	if len(c.DataTemplates) == 0 {
		return c.Data
	}
	var fields map[string]any
	if json.Unmarshal(c.Data, &fields) != nil {
		return c.Data
	}
	for k, t := range c.DataTemplates {
		fields[k] = normalize(r.value(t, "data."+k))
	}
	b, err := json.Marshal(fields)
	if err != nil {
		r.errorf("data", err)
		return c.Data
	}
	return b
}
