package engine

import (
	"errors"

	"github.com/parleyhq/parley/internal/flow"
)

// aiAgentExec runs ai_agent nodes through the injected LLM service.
var aiAgentExec = executor{enter: func(r *sprint, st *flow.Step) int { return r.aiAgent(st.Config.(*flow.AIAgentConfig)) }}

func (r *sprint) aiAgent(c *flow.AIAgentConfig) int {
	const next, failed = 0, 1
	if r.e.svc.LLM == nil {
		r.errorf("system_prompt", errors.New("no LLM provider is configured"))
		return r.take(failed)
	}
	req := LLMRequest{ContactID: r.env.Contact.ID, Model: c.Model, System: r.render(c.SystemPrompt, "system_prompt"),
		Temperature: c.Temperature, MaxTokens: c.MaxTokens, HistoryTurns: c.HistoryTurns}
	if c.Prompt != nil {
		req.Prompt = r.render(c.Prompt, "prompt")
	} else {
		req.Prompt = r.env.Input.Text
	}
	answer, err := r.e.svc.LLM.Complete(r.ctx, req)
	ev := Event{Kind: EventLLMCalled, Node: r.nodeID(), Name: c.Model}
	if err != nil {
		ev.Text = err.Error()
	}
	r.emit(ev)
	if err != nil {
		return r.take(failed)
	}
	if c.Send {
		r.send(&Message{Type: MessageText, Text: answer})
	}
	r.setVar(c.Variable, answer)
	return r.take(next)
}
