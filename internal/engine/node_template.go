package engine

import "github.com/parleyhq/parley/internal/flow"

// templateExec runs template nodes; with quick replies they wait for the
// click.
var templateExec = executor{
	enter:   func(r *sprint, st *flow.Step) int { return r.template(st.Config.(*flow.TemplateConfig)) },
	resume:  resumeChoice,
	timeout: choiceTimeout,
}

func (r *sprint) template(c *flow.TemplateConfig) int {
	t := &Template{ID: c.TemplateID, Name: c.TemplateName, Language: c.Language,
		Header: r.renderAll(c.Header, "params.header"), Body: r.renderAll(c.Body, "params.body"), ButtonParams: r.renderAll(c.ButtonParams, "params.buttons")}
	if c.Choices != nil {
		t.QuickReplies = c.Choices.Titles
	}
	r.send(&Message{Type: MessageTemplate, Template: t})
	if c.Choices == nil {
		return r.take(0)
	}
	return r.wait(WaitButton, c.Choices.Wait, 0)
}
