package engine

import "github.com/parleyhq/parley/internal/flow"

// messageExec runs message nodes; with buttons or a list they wait for the
// choice.
var messageExec = executor{
	enter:   func(r *sprint, st *flow.Step) int { return r.message(st.Config.(*flow.MessageConfig)) },
	resume:  resumeChoice,
	timeout: choiceTimeout,
}

func (r *sprint) message(c *flow.MessageConfig) int {
	m := &Message{Type: MessageText, Text: r.render(c.Text, "text")}
	if c.Media != nil {
		m.Type = MessageMedia
		m.Media = &Media{Type: c.Media.Type, URL: r.render(c.Media.URL, "media.url"), Caption: r.render(c.Media.Caption, "media.caption")}
	}
	switch {
	case len(c.Buttons) > 0:
		m.Type, m.Buttons = MessageButtons, c.Buttons
	case c.List != nil:
		m.Type, m.List = MessageList, c.List
	}
	r.send(m)
	if c.Choices == nil {
		return r.take(0)
	}
	kind := WaitButton
	if c.List != nil && len(c.Buttons) == 0 {
		kind = WaitList
	}
	return r.wait(kind, c.Choices.Wait, 0)
}
