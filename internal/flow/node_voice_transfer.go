package flow

// TypeVoiceTransfer transfers the running call.
const TypeVoiceTransfer = "voice_transfer"

// VoiceTransferData is the data of a voice_transfer node.
type VoiceTransferData struct {
	To      string `json:"to" flow:"required,template" doc:"Phone number or SIP address to transfer to."`
	Message string `json:"message,omitempty" flow:"template"`
}

// KindVoiceTransfer is the Kind of voice_transfer nodes.
const KindVoiceTransfer Kind = 18

var voiceTransferNode = def[VoiceTransferData]{
	kind: KindVoiceTransfer,
	NodeType: NodeType{Type: TypeVoiceTransfer, Group: GroupVoice, Label: "Transfer call", Description: "Transfers the running call to a number.",
		Palette: true, Reason: voiceReason, Exits: staticExits(ExitCompleted, ExitFailed)},
	aliases: []string{"transfercall"},
}
