package flow

import (
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeVoiceTransfer transfers the call a voice_call step held for it.
const TypeVoiceTransfer = "voice_transfer"

// Transfer modes of voice_transfer (and voice_call's transfer_mode):
// blind hands the caller over and leaves; warm calls the agent into a
// conference first, tells them the summary while the caller holds, then
// joins the caller.
const (
	TransferBlind = "blind"
	TransferWarm  = "warm"
)

// TransferAgentPrefix marks a transfer target that is an agent (a Twilio
// Client identity) rather than a phone number: "agent:alice".
const TransferAgentPrefix = "agent:"

// CheckTransferTarget says what is wrong with a transfer destination: it
// must be a phone number in E.164 form or agent:NAME.
func CheckTransferTarget(to string) error {
	if id, ok := strings.CutPrefix(to, TransferAgentPrefix); ok {
		if !validAgentName(id) {
			return fmt.Errorf("transfer target %q: an agent's name is 1 to 100 letters, digits, '.', '_', '-' or '@'", to)
		}
		return nil
	}
	if !IsE164(to) {
		return fmt.Errorf("transfer target %q: want a phone number in E.164 form (+ then 8 to 15 digits) or agent:NAME", to)
	}
	return nil
}

// IsE164 reports whether s is a phone number in E.164 form.
func IsE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func validAgentName(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == '@':
		default:
			return false
		}
	}
	return true
}

// checkTransferField lints a transfer destination field: a literal must
// be a valid target; one with {{ }} holes is checked when rendered.
func (a *analysis) checkTransferField(i int, ptr, to string) {
	if strings.Contains(to, "{{") {
		return
	}
	if err := CheckTransferTarget(strings.TrimSpace(to)); err != nil {
		a.nodeErr(i, CodeInvalidValue, ptr, "%s: %v", a.label(i), err)
	}
}

// VoiceTransferData is the data of a voice_transfer node.
type VoiceTransferData struct {
	To       string `json:"to" flow:"required,template" doc:"Where the call goes: a phone number in E.164 form (+14155550123) or an agent (agent:NAME, a Twilio Client identity)."`
	Mode     string `json:"mode,omitempty" flow:"enum=blind|warm" doc:"blind (default): hand the caller over; warm: call the agent into a conference, tell them the summary while the caller holds, then join the caller."`
	Message  string `json:"message,omitempty" flow:"template" doc:"Warm transfers: what the agent hears first (default: the reason for the transfer and the caller's last words)."`
	Variable string `json:"variable,omitempty" flow:"variable" doc:"Variable that receives the transfer: status, to, mode, reason, dial_status, error."`
}

// Exit indices of a voice_transfer node.
const (
	VoiceTransferExitCompleted = iota
	VoiceTransferExitFailed
)

// VoiceTransferConfig configures a voice_transfer node.
type VoiceTransferConfig struct {
	To, Message *expr.Template
	Mode        string
	Variable    string
}

// KindVoiceTransfer is the Kind of voice_transfer nodes.
const KindVoiceTransfer Kind = 18

var voiceTransferNode = def[VoiceTransferData]{
	kind: KindVoiceTransfer,
	NodeType: NodeType{Type: TypeVoiceTransfer, Group: GroupVoice, Label: "Transfer call",
		Description: "Transfers the call a voice call step held (its AI chose to transfer) to a number or an agent; failed when the contact has no call on hold.",
		Palette:     true, Available: true, Exits: staticExits(ExitCompleted, ExitFailed)},
	aliases: []string{"transfercall"},
	waits:   func(*VoiceTransferData) bool { return true },
	check: func(a *analysis, i int, d *VoiceTransferData) {
		a.checkTransferField(i, "/data/to", d.To)
		a.checkVariable(i, "/data/variable", d.Variable)
	},
	compile: func(c *compiler, d *VoiceTransferData) any {
		mode := d.Mode
		if mode == "" {
			mode = TransferBlind
		}
		return &VoiceTransferConfig{To: c.tpl(d.To), Message: c.tpl(d.Message), Mode: mode, Variable: d.Variable}
	},
}
