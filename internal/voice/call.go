// Package voice owns AI voice calls: the telephony seam (Provider, Leg,
// Conversation) beside the chat channels rather than inside
// channel.Adapter, the agent that talks to a caller through a chat model
// (Agent), the outcome classification after a call (Classify), and the
// voices each speech engine can speak (CheckVoice). Providers live in
// subpackages: voice/sim is the simulated caller used by tests, the sandbox
// and the simulator; voice/twilio is Twilio. The audio mode's speech engine
// (Speech) is voice/realtime.
//
// A call's media comes in one of two modes. In text relay the provider
// turns speech into text and text into speech (Twilio ConversationRelay)
// and a Conversation exchanges text; in audio mode the provider streams
// μ-law frames that a speech model turns into the same Conversation. The
// agent only ever sees a Conversation, so it works with any chat model,
// local ones included.
package voice

import (
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/flow"
)

// Status is a call's state, Parley's own vocabulary; providers map theirs
// onto it and keep their raw value in Event.Raw.
type Status string

// The call statuses. Completed, Busy, NoAnswer, Failed and Canceled are
// terminal.
const (
	StatusQueued     Status = "queued"
	StatusRinging    Status = "ringing"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusBusy       Status = "busy"
	StatusNoAnswer   Status = "no_answer"
	StatusFailed     Status = "failed"
	StatusCanceled   Status = "canceled"
)

// Terminal reports whether no further status can follow s.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusBusy, StatusNoAnswer, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// AnsweredBy says who picked up, when answering-machine detection ran.
type AnsweredBy string

// Who answered. Unknown is also what a call without detection reports.
const (
	AnsweredHuman   AnsweredBy = "human"
	AnsweredMachine AnsweredBy = "machine"
	AnsweredUnknown AnsweredBy = "unknown"
)

// EndReason says why an answered call ended.
type EndReason string

// Why a call ended. Interrupted is set by the host, not a provider: the
// process that ran the call died before it ended.
const (
	EndCallerHangup EndReason = "caller_hangup"
	EndAgentHangup  EndReason = "agent_hangup"
	EndMaxDuration  EndReason = "max_duration"
	EndTransferred  EndReason = "transferred"
	EndMachine      EndReason = "machine"
	EndSilence      EndReason = "silence"
	EndError        EndReason = "error"
	EndInterrupted  EndReason = "interrupted"
)

// Direction says who placed the call.
type Direction string

// Call directions.
const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
	// Transferring is not a call but a voice_transfer step's request on
	// the call a voice_call held for it; its result says how it went.
	Transferring Direction = "transfer"
)

// Speaker names who said a line of a transcript.
type Speaker string

// The two speakers of a call.
const (
	SpeakerAgent  Speaker = "agent"
	SpeakerCaller Speaker = "caller"
)

// Line is one turn of a transcript. Interrupted marks an agent line the
// caller talked over: Text then holds only what was heard.
type Line struct {
	Speaker     Speaker       `json:"speaker"`
	Text        string        `json:"text"`
	At          time.Duration `json:"at_ms"`
	Interrupted bool          `json:"interrupted,omitempty"`
}

// TargetKind says what a transfer reaches.
type TargetKind string

// Transfer target kinds.
const (
	TargetNumber TargetKind = "number"
	TargetAgent  TargetKind = "agent"
)

// TransferMode is blind (hand the caller over and leave) or warm (a
// conference in which the agent is briefed before the AI leaves).
type TransferMode string

// Transfer modes.
const (
	TransferBlind TransferMode = "blind"
	TransferWarm  TransferMode = "warm"
)

// Target is where a transfer goes.
type Target struct {
	Kind TargetKind   `json:"kind"`
	To   string       `json:"to"`
	Mode TransferMode `json:"mode"`
	// Summary is what a warm transfer tells the agent first.
	Summary string `json:"summary,omitempty"`
}

// Validate says what is wrong with a transfer target.
func (t Target) Validate() error {
	switch t.Kind {
	case TargetNumber, TargetAgent:
	default:
		return fmt.Errorf("transfer target kind %q: want %q or %q", t.Kind, TargetNumber, TargetAgent)
	}
	if t.To == "" {
		return fmt.Errorf("transfer target has no %s to reach", t.Kind)
	}
	switch t.Mode {
	case TransferBlind, TransferWarm:
	default:
		return fmt.Errorf("transfer mode %q: want %q or %q", t.Mode, TransferBlind, TransferWarm)
	}
	return nil
}

// AgentPrefix marks a transfer target that is an agent (a Twilio Client
// identity) rather than a phone number: "agent:alice".
const AgentPrefix = flow.TransferAgentPrefix

// ParseTarget reads a transfer destination as a flow writes it (see
// flow.CheckTransferTarget): an E.164 number or agent:NAME; mode "" is
// blind.
func ParseTarget(to string, mode TransferMode) (Target, error) {
	to = strings.TrimSpace(to)
	if err := flow.CheckTransferTarget(to); err != nil {
		return Target{}, err
	}
	if mode == "" {
		mode = TransferBlind
	}
	t := Target{Kind: TargetNumber, To: to, Mode: mode}
	if id, ok := strings.CutPrefix(to, AgentPrefix); ok {
		t.Kind, t.To = TargetAgent, id
	}
	return t, t.Validate()
}

// String is the target as a flow writes it.
func (t Target) String() string {
	if t.Kind == TargetAgent {
		return AgentPrefix + t.To
	}
	return t.To
}

// TransferError says the transfer's target did not take the call:
// Status is how its leg ended (busy, no_answer, failed), as Twilio's
// DialCallStatus.
type TransferError struct {
	Target Target
	Status Status
}

func (e *TransferError) Error() string {
	return fmt.Sprintf("%s did not take the call (%s)", e.Target.String(), e.Status)
}

// Transfer records a transfer that happened: where, why, who asked, and how
// the transferred leg ended (DialStatus, as Twilio's DialCallStatus).
// Pending marks a transfer the AI asked for with no target of its own:
// the call is held for the flow's voice_transfer step to say where.
type Transfer struct {
	Target      Target        `json:"target"`
	Reason      string        `json:"reason,omitempty"`
	RequestedBy string        `json:"requested_by"` // "agent" (the model's tool) or "flow"
	DialStatus  Status        `json:"dial_status,omitempty"`
	Duration    time.Duration `json:"duration_ms,omitempty"`
	Pending     bool          `json:"pending,omitempty"`
}

// Result is what a call came to: the facts a flow's variables, the
// conversation view and the campaign report read.
type Result struct {
	CallID       string        `json:"call_id"`
	ProviderID   string        `json:"provider_id,omitempty"`
	Direction    Direction     `json:"direction"`
	From         string        `json:"from"`
	To           string        `json:"to"`
	Status       Status        `json:"status"`
	AnsweredBy   AnsweredBy    `json:"answered_by,omitempty"`
	EndReason    EndReason     `json:"end_reason,omitempty"`
	Duration     time.Duration `json:"duration_ms"`
	RingTime     time.Duration `json:"ring_ms,omitempty"`
	RecordingURL string        `json:"recording_url,omitempty"`
	Transcript   []Line        `json:"transcript,omitempty"`
	Transfer     *Transfer     `json:"transfer,omitempty"`
	Outcome      string        `json:"outcome,omitempty"`
	Summary      string        `json:"summary,omitempty"`
	Error        string        `json:"error,omitempty"`
}

// Exit is the voice_call node's exit for this result: completed (a human
// talked with the agent), transferred, no_answer (busy, no answer, an
// answering machine, canceled) or failed.
func (r Result) Exit() string {
	switch {
	case r.Transfer != nil && r.EndReason == EndTransferred:
		return "transferred"
	case r.Status == StatusCompleted && r.AnsweredBy == AnsweredMachine:
		return "no_answer"
	case r.Status == StatusCompleted && r.EndReason != EndInterrupted && r.EndReason != EndError:
		return "completed"
	case r.Status == StatusBusy, r.Status == StatusNoAnswer, r.Status == StatusCanceled:
		return "no_answer"
	}
	return "failed"
}
