package flow

import "github.com/parleyhq/parley/internal/expr"

// TypeEnd ends the session.
const TypeEnd = "end"

// EndData is the data of an end node.
type EndData struct {
	Text string `json:"text,omitempty" flow:"template" doc:"Optional closing message."`
}

// EndConfig configures an end node (no exits).
type EndConfig struct {
	// Text is the closing message, nil when none.
	Text *expr.Template
}

// KindEnd is the Kind of end nodes.
const KindEnd Kind = 2

var endNode = def[EndData]{
	kind: KindEnd,
	NodeType: NodeType{Type: TypeEnd, Group: GroupLogic, Label: "End", Description: "Ends the session, optionally with a closing message.",
		Palette: true, Available: true},
	aliases:  []string{"endflow", "stop", "finish"},
	freeForm: func(d *EndData) bool { return d.Text != "" },
	compile:  func(c *compiler, d *EndData) any { return &EndConfig{Text: c.tpl(d.Text)} },
}
