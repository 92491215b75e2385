package flow

// TypeWaitInboundCall waits for the contact to call in.
const TypeWaitInboundCall = "wait_inbound_call"

// WaitInboundCallData is the data of a wait_inbound_call node.
type WaitInboundCallData struct {
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// KindWaitInboundCall is the Kind of wait_inbound_call nodes.
const KindWaitInboundCall Kind = 17

var waitInboundCallNode = def[WaitInboundCallData]{
	kind: KindWaitInboundCall,
	NodeType: NodeType{Type: TypeWaitInboundCall, Group: GroupVoice, Label: "Wait for call", Description: "Waits for the contact to call in.",
		Palette: true, Reason: voiceReason, Exits: staticExits(ExitAnswered, ExitTimeout), Limits: []Limit{timeoutLimit}},
	aliases: []string{"waitforcall"},
	waits:   func(*WaitInboundCallData) bool { return true },
	timeout: func(d *WaitInboundCallData) int { return d.TimeoutSeconds },
	check:   func(a *analysis, i int, d *WaitInboundCallData) { a.checkTimeout(i, d.TimeoutSeconds) },
}
