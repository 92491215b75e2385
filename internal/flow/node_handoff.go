package flow

import (
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeHandoff hands the conversation to a human.
const TypeHandoff = "handoff"

// HandoffData is the data of a handoff node.
type HandoffData struct {
	Message        string `json:"message,omitempty" flow:"template" doc:"Sent to the contact when handed over."`
	Assignee       string `json:"assignee,omitempty"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" doc:"Leave by the timeout exit after this long without a release: the team did not reply (say so to the contact there, not that they went quiet)."`
}

// Exit indices of a handoff node.
const (
	HandoffExitReleased = 0
	HandoffExitTimeout  = 1
)

// HandoffConfig configures a handoff node.
type HandoffConfig struct {
	Message  *expr.Template // nil when none
	Assignee string
	Timeout  time.Duration
}

// KindHandoff is the Kind of handoff nodes.
const KindHandoff Kind = 14

var handoffNode = def[HandoffData]{
	kind: KindHandoff,
	NodeType: NodeType{Type: TypeHandoff, Group: GroupMessages, Label: "Handoff", Description: "Hands the conversation to a human; the bot stays silent until released.",
		Palette: true, Available: true, Exits: staticExits(ExitReleased, ExitTimeout), Limits: []Limit{timeoutLimit},
		Defaults: map[string]any{"message": "Connecting you with our team.", "timeout_seconds": 3600}},
	aliases:  []string{"transfertoagent", "humanhandoff", "livechat", "assigntoagent", "transfertohuman"},
	waits:    func(*HandoffData) bool { return true },
	freeForm: func(d *HandoffData) bool { return d.Message != "" },
	timeout:  func(d *HandoffData) int { return d.TimeoutSeconds },
	check:    func(a *analysis, i int, d *HandoffData) { a.checkTimeout(i, d.TimeoutSeconds) },
	compile: func(c *compiler, d *HandoffData) any {
		return &HandoffConfig{Message: c.tpl(d.Message), Assignee: d.Assignee, Timeout: seconds(d.TimeoutSeconds)}
	},
}
