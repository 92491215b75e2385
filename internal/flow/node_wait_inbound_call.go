package flow

import (
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeWaitInboundCall waits for the contact to call in.
const TypeWaitInboundCall = "wait_inbound_call"

// WaitInboundCallData is the data of a wait_inbound_call node: the voice
// number the contact is to call and how the AI agent answers.
type WaitInboundCallData struct {
	ChannelID          string   `json:"channel_id,omitempty" doc:"The voice number (a channel of type voice) the contact is to call."`
	TimeoutSeconds     int      `json:"timeout_seconds,omitempty" doc:"How long to wait for the call before the timeout exit (0: until the session expires)."`
	Prompt             string   `json:"prompt,omitempty" flow:"template" doc:"Instructions of the AI voice agent that answers."`
	Greeting           string   `json:"greeting,omitempty" flow:"template" doc:"What the agent says when it answers."`
	Voice              string   `json:"voice,omitempty"`
	Engine             string   `json:"engine,omitempty" flow:"enum=relay|realtime" doc:"relay (default) or realtime, as for voice_call."`
	Language           string   `json:"language,omitempty"`
	Recording          bool     `json:"recording,omitempty"`
	MaxDurationSeconds int      `json:"max_duration_seconds,omitempty" doc:"The call ends after this long (default 600)."`
	TransferTo         string   `json:"transfer_to,omitempty" flow:"template" doc:"Where the AI may transfer the caller: a number (E.164) or agent:NAME; empty: the AI cannot transfer (unless hold_for_transfer)."`
	TransferMode       string   `json:"transfer_mode,omitempty" flow:"enum=blind|warm" doc:"How the AI transfers to transfer_to: blind (default) or warm."`
	HoldForTransfer    bool     `json:"hold_for_transfer,omitempty" doc:"The AI may transfer without transfer_to: the caller holds and a voice_transfer step after answered says where."`
	Outcomes           []string `json:"outcomes,omitempty" doc:"Labels the call's outcome is classified into after it ends."`
	Variable           string   `json:"variable,omitempty" flow:"variable" doc:"Variable that receives the call: status, outcome, summary, duration_seconds, transcript, recording_url."`
}

// Exit indices of a wait_inbound_call node.
const (
	WaitInboundCallExitAnswered = iota
	WaitInboundCallExitTimeout
	WaitInboundCallExitFailed
)

// WaitInboundCallConfig configures a wait_inbound_call node.
type WaitInboundCallConfig struct {
	ChannelID                    string
	Timeout                      time.Duration
	Prompt, Greeting, TransferTo *expr.Template
	Voice, Engine, Language      string
	Recording                    bool
	TransferMode                 string
	HoldForTransfer              bool
	MaxDuration                  time.Duration
	Outcomes                     []string
	Variable                     string
}

// KindWaitInboundCall is the Kind of wait_inbound_call nodes.
const KindWaitInboundCall Kind = 17

var waitInboundCallNode = def[WaitInboundCallData]{
	kind: KindWaitInboundCall,
	NodeType: NodeType{Type: TypeWaitInboundCall, Group: GroupVoice, Label: "Wait for call", Description: "Waits for the contact to call a voice number; the AI agent answers.",
		Palette: true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitAnswered}, {Name: ExitTimeout}, {Name: ExitFailed, Optional: true}}},
		Limits: []Limit{timeoutLimit,
			rangeLimit("max_duration_seconds", 0, maxCallDuration, "max_duration_seconds must be between 0 (default 600) and 14400")}},
	aliases: []string{"waitforcall"},
	waits:   func(*WaitInboundCallData) bool { return true },
	timeout: func(d *WaitInboundCallData) int { return d.TimeoutSeconds },
	check: func(a *analysis, i int, d *WaitInboundCallData) {
		a.checkTimeout(i, d.TimeoutSeconds)
		if d.ChannelID == "" {
			a.nodeErr(i, CodeMissingField, "/data/channel_id", "%s needs the voice number the contact calls (channel_id)", a.label(i))
		}
		if strings.TrimSpace(d.Prompt) == "" {
			a.nodeErr(i, CodeMissingField, "/data/prompt", "%s needs a prompt: the instructions of the AI voice agent that answers", a.label(i))
		}
		if err := CheckVoice(d.Engine, d.Voice); err != nil {
			a.nodeErr(i, CodeInvalidValue, "/data/voice", "%s: %v", a.label(i), err)
		}
		if d.MaxDurationSeconds < 0 || d.MaxDurationSeconds > maxCallDuration {
			a.nodeErr(i, CodeInvalidValue, "/data/max_duration_seconds", "%s: max_duration_seconds must be between 0 (default 600) and 14400", a.label(i))
		}
		checkCallTransfer(a, i, d.TransferTo, d.HoldForTransfer)
		if len(d.Outcomes) > maxCallOutcomes {
			a.nodeErr(i, CodeInvalidValue, "/data/outcomes", "%s has %d outcome labels; at most %d", a.label(i), len(d.Outcomes), maxCallOutcomes)
		}
		a.checkVariable(i, "/data/variable", d.Variable)
	},
	compile: func(c *compiler, d *WaitInboundCallData) any {
		cfg := &WaitInboundCallConfig{ChannelID: d.ChannelID, Timeout: seconds(d.TimeoutSeconds), Prompt: c.tpl(d.Prompt), Greeting: c.tpl(d.Greeting),
			TransferTo: c.tpl(d.TransferTo), Voice: d.Voice, Engine: d.Engine, Language: d.Language, Recording: d.Recording,
			TransferMode: d.TransferMode, HoldForTransfer: d.HoldForTransfer, MaxDuration: seconds(d.MaxDurationSeconds), Outcomes: d.Outcomes, Variable: d.Variable}
		if cfg.Engine == "" {
			cfg.Engine = VoiceEngineRelay
		}
		if cfg.MaxDuration == 0 {
			cfg.MaxDuration = DefaultCallMaxDuration * time.Second
		}
		return cfg
	},
}
