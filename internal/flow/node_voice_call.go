package flow

// TypeVoiceCall places an AI voice call.
const TypeVoiceCall = "voice_call"

// voiceReason is why the voice types are not available.
const voiceReason = "voice calls are not supported by this build yet; a session reaching the node fails"

// VoiceCallData is the data of a voice_call node.
type VoiceCallData struct {
	Prompt             string `json:"prompt,omitempty" flow:"template" doc:"Instructions of the AI voice agent."`
	Voice              string `json:"voice,omitempty"`
	Language           string `json:"language,omitempty"`
	Greeting           string `json:"greeting,omitempty" flow:"template"`
	Recording          bool   `json:"recording,omitempty"`
	MaxDurationSeconds int    `json:"max_duration_seconds,omitempty"`
	Variable           string `json:"variable,omitempty" flow:"variable" doc:"Variable that receives the call summary."`
}

// VoiceConfig configures the voice node types, which are not executed yet;
// Data is the decoded data struct of the node (e.g. *VoiceCallData).
type VoiceConfig struct{ Data any }

// KindVoiceCall is the Kind of voice_call nodes.
const KindVoiceCall Kind = 16

var voiceCallNode = def[VoiceCallData]{
	kind: KindVoiceCall,
	NodeType: NodeType{Type: TypeVoiceCall, Group: GroupVoice, Label: "Voice call", Description: "Places an AI voice call.",
		Palette: true, Reason: voiceReason, Exits: staticExits(ExitCompleted, ExitNoAnswer, ExitFailed)},
	aliases: []string{"call", "aicall"},
	waits:   func(*VoiceCallData) bool { return true },
	check:   func(a *analysis, i int, d *VoiceCallData) { a.checkVariable(i, "/data/variable", d.Variable) },
}
