package engine

import (
	"errors"
	"slices"
	"strings"

	"github.com/parleyhq/parley/internal/flow"
)

// Contact changes of contact_changed events.
const (
	ChangeAddTag    = "add_tag"
	ChangeRemoveTag = "remove_tag"
	ChangeSetField  = "set_field"
	ChangeOptOut    = "opt_out"
	ChangeOptIn     = "opt_in"
	ChangeAssign    = "assign"
	ChangeClose     = "close"
	// ChangeHandoff: the conversation is handed to a human (Name is the
	// assignee, possibly empty); the bot is silent until released.
	ChangeHandoff = "handoff"
)

// actionExec runs action nodes.
var actionExec = executor{enter: func(r *sprint, st *flow.Step) int {
	r.action(st.Config.(*flow.ActionConfig))
	return r.take(0)
}}

func (r *sprint) action(c *flow.ActionConfig) {
	ct := &r.env.Contact
	ev := Event{Kind: EventContactChanged, Node: r.nodeID(), Change: c.Action}
	switch c.Action {
	case ChangeAddTag, ChangeRemoveTag:
		tag := strings.TrimSpace(r.render(c.Tag, "tag"))
		if tag == "" {
			r.errorf("tag", errors.New("the tag is empty"))
			return
		}
		ev.Name = tag
		i := slices.Index(ct.Tags, tag)
		if c.Action == ChangeAddTag && i < 0 {
			ct.Tags = append(ct.Tags, tag)
		} else if c.Action == ChangeRemoveTag && i >= 0 {
			ct.Tags = slices.Delete(slices.Clone(ct.Tags), i, i+1)
		}
	case ChangeSetField:
		v := normalize(r.value(c.Value, "value"))
		if ct.Fields == nil {
			ct.Fields = make(map[string]any, 4)
		}
		ct.Fields[c.Field] = v
		ev.Name, ev.Value = c.Field, v
	case ChangeAssign:
		ev.Name = c.Assignee
	}
	r.emit(ev)
}
