package engine

import (
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/flow"
)

// The choice hooks are shared by the node types that wait for a button or
// list reply (message, template).

// resumeChoice takes the exit of the chosen button or row.
func resumeChoice(r *sprint, st *flow.Step, in *Input) {
	r.accept(in)
	r.run(r.take(r.choose(st, in)))
}

// choiceTimeout is the timeout exit of a node waiting for a choice.
func choiceTimeout(r *sprint, st *flow.Step) int { return r.choices(st).Timeout }

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
// row by id (typed text may also name a row by title, and a typed number
// the nth choice: a channel that cannot show buttons or lists sends them
// as a numbered text list, see channel.Fit); else other.
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
	if k == ch.Other && in.Kind == InputText {
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(in.Text), ".")); err == nil && n >= 1 && n <= len(ch.Titles) {
			return n - 1
		}
	}
	return k
}
