package flow

import (
	"strings"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeAction changes the contact or the conversation.
const TypeAction = "action"

// ActionData is the data of an action node.
type ActionData struct {
	Action   string `json:"action" flow:"required,enum=add_tag|remove_tag|set_field|opt_out|opt_in|assign|close"`
	Tag      string `json:"tag,omitempty" flow:"template,line" doc:"Tag of add_tag/remove_tag."`
	Field    string `json:"field,omitempty" doc:"Contact field of set_field."`
	Value    string `json:"value,omitempty" flow:"template,line" doc:"Value of set_field."`
	Assignee string `json:"assignee,omitempty" doc:"Agent or team of assign."`
}

// ActionConfig configures an action node (exit: next).
type ActionConfig struct {
	// Action is add_tag, remove_tag, set_field, opt_out, opt_in, assign or
	// close.
	Action   string
	Tag      *expr.Template // nil when none
	Field    string
	Value    *expr.Template // nil when none
	Assignee string
}

// KindAction is the Kind of action nodes.
const KindAction Kind = 9

var actionNode = def[ActionData]{
	kind: KindAction,
	NodeType: NodeType{Type: TypeAction, Group: GroupData, Label: "Action", Description: "Tags, contact fields, opt-out/in, assignment, closing the conversation.",
		Palette: true, Available: true, Exits: staticExits(ExitNext), Defaults: map[string]any{"action": "add_tag", "tag": ""}},
	aliases: []string{"addtag", "removetag", "setfield", "setcontactfield"},
	check: func(a *analysis, i int, d *ActionData) {
		need := map[string]string{"add_tag": "tag", "remove_tag": "tag", "set_field": "field", "assign": "assignee"}
		if f, ok := need[d.Action]; ok {
			v := map[string]string{"tag": d.Tag, "field": d.Field, "assignee": d.Assignee}[f]
			if strings.TrimSpace(v) == "" {
				a.nodeErr(i, CodeMissingField, "/data/"+f, "%s: action %s needs %s", a.label(i), d.Action, f)
			}
		}
	},
	compile: func(c *compiler, d *ActionData) any {
		return &ActionConfig{Action: d.Action, Tag: c.tpl(d.Tag), Field: d.Field, Value: c.tpl(d.Value), Assignee: d.Assignee}
	},
}
