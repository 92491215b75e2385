package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/flow"
)

// EventKind is the type of an event.
type EventKind uint8

// Event kinds. docs/engine.md says what the host does with each.
const (
	// EventNodeEntered: a node was entered (Node). Trace and per-node
	// analytics.
	EventNodeEntered EventKind = iota + 1
	// EventEdgeTaken: the session left Node by Exit through Edge. Trace and
	// per-edge analytics.
	EventEdgeTaken
	// EventMessageOut: Message must be sent to the contact.
	EventMessageOut
	// EventVariableSet: variable Name was set to Value.
	EventVariableSet
	// EventContactChanged: the contact changed (Change, Name, Value); the
	// host applies it to the stored contact.
	EventContactChanged
	// EventHTTPCalled: an http_request node made a call (HTTP).
	EventHTTPCalled
	// EventLLMCalled: an ai_agent node asked the LLM (LLM; Text = error,
	// if any). Trace and per-node analytics (tokens, latency).
	EventLLMCalled
	// EventWaiting: the session waits for Wait (Name), until At when set;
	// Seq is the wait sequence.
	EventWaiting
	// EventTimerSet: the host must fire an InputTimer with Seq at At.
	EventTimerSet
	// EventSubflowStarted: the subflow Name (revision Value) starts.
	EventSubflowStarted
	// EventSubflowEnded: the subflow Name ended with Status (Text = reason).
	EventSubflowEnded
	// EventInputIgnored: a resume the session did not accept (Name = input
	// kind, Text = why). The session is unchanged.
	EventInputIgnored
	// EventInputRecorded: an inbound message received during a handoff: the
	// bot does not answer it, the host keeps it for the agent.
	EventInputRecorded
	// EventSessionEnded: the session ended with Status; Text is the reason.
	EventSessionEnded
	// EventError: a template, expression or service failed at Node (Name is
	// the field); the session went on with an empty value or a failure exit.
	EventError
)

var eventNames = [...]string{"", "node_entered", "edge_taken", "message_out", "variable_set", "contact_changed", "http_called",
	"llm_called", "waiting", "timer_set", "subflow_started", "subflow_ended", "input_ignored", "input_recorded", "session_ended", "error"}

// String returns the event kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", k)
}

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EventKind) UnmarshalText(b []byte) error {
	for i, n := range eventNames {
		if i > 0 && n == string(b) {
			*k = EventKind(i)
			return nil
		}
	}
	return errUnknownName("event kind", string(b))
}

// Event is one output of a sprint. It is a flat value (no interface per
// kind) so producing one costs no allocation; which fields are set depends
// on Kind (see the constants).
type Event struct {
	Kind EventKind `json:"kind"`
	// Flow and Revision name the subflow the event comes from; empty in the
	// root flow (whose ID and revision are the session's).
	Flow     string `json:"flow,omitempty"`
	Revision int    `json:"revision,omitempty"`
	// Node is the ID of the node the event concerns.
	Node string `json:"node,omitempty"`
	// Exit and Edge: the exit taken and its edge (edge_taken).
	Exit string `json:"exit,omitempty"`
	Edge string `json:"edge,omitempty"`
	// Change is the contact change of contact_changed: add_tag,
	// remove_tag, set_field, opt_out, opt_in, assign, close or handoff.
	Change string `json:"change,omitempty"`
	// Name: variable, tag, field, assignee, wait kind, input kind or subflow.
	Name  string `json:"name,omitempty"`
	Value any    `json:"value,omitempty"`
	// Text: an error message or a reason.
	Text   string    `json:"text,omitempty"`
	Status Status    `json:"status,omitempty"`
	Seq    uint32    `json:"seq,omitempty"`
	At     time.Time `json:"at,omitzero"`
	// Message is the outbound message of message_out.
	Message *Message `json:"message,omitempty"`
	// HTTP is the call of http_called.
	HTTP *HTTPCall `json:"http,omitempty"`
	// LLM is the call of llm_called.
	LLM *LLMCall `json:"llm,omitempty"`
}

// MessageType is the shape of an outbound message.
type MessageType string

// Outbound message types.
const (
	MessageText         MessageType = "text"
	MessageMedia        MessageType = "media"
	MessageButtons      MessageType = "buttons"
	MessageList         MessageType = "list"
	MessageTemplate     MessageType = "template"
	MessageWhatsAppFlow MessageType = "whatsapp_flow"
	// MessageVoiceCall asks the host to place a voice call (Call); it is
	// not a chat message.
	MessageVoiceCall MessageType = "voice_call"
	// MessageVoiceTransfer asks the host to transfer the contact's held
	// call (Transfer); it is not a chat message.
	MessageVoiceTransfer MessageType = "voice_transfer"
)

// Message is a fully rendered outbound message. Buttons and List share the
// compiled program's (immutable) slices: do not modify them.
type Message struct {
	Type MessageType `json:"type"`
	Text string      `json:"text,omitempty"`
	// Media is an attachment (with buttons: the header).
	Media    *Media           `json:"media,omitempty"`
	Buttons  []string         `json:"buttons,omitempty"`
	List     *flow.ListData   `json:"list,omitempty"`
	Template *Template        `json:"template,omitempty"`
	Flow     *FlowMessage     `json:"flow,omitempty"`
	Call     *CallMessage     `json:"call,omitempty"`
	Transfer *TransferMessage `json:"transfer,omitempty"`
	// Agent marks a message a person typed in the inbox rather than one a
	// flow sent (channels treat them differently outside their windows).
	Agent bool `json:"agent,omitempty"`
}

// Media is a rendered media attachment.
type Media struct {
	Type    string `json:"type"`
	URL     string `json:"url"`
	Caption string `json:"caption,omitempty"`
}

// Template is a rendered template message.
type Template struct {
	ID       string   `json:"id,omitempty"`
	Name     string   `json:"name,omitempty"`
	Language string   `json:"language,omitempty"`
	Header   []string `json:"header,omitempty"`
	Body     []string `json:"body,omitempty"`
	// ButtonParams are the rendered button parameters (e.g. URL suffixes).
	ButtonParams []string `json:"button_params,omitempty"`
	// QuickReplies are the quick-reply titles the session waits for.
	QuickReplies []string `json:"quick_replies,omitempty"`
}

// FlowMessage is a WhatsApp Flow (form) message.
type FlowMessage struct {
	ID     string `json:"id"`
	Header string `json:"header,omitempty"`
	Body   string `json:"body"`
	CTA    string `json:"cta"`
	Screen string `json:"screen,omitempty"`
	// Data is the raw JSON of the first screen's data.
	Data json.RawMessage `json:"data,omitempty"`
	Mode string          `json:"mode,omitempty"`
	// Token is the flow_token to send; the nfm_reply carries it back so
	// the host can route the completion to this session and wait.
	Token string `json:"token"`
}

// CallInbound is the Direction of a CallMessage that awaits the contact's
// call (wait_inbound_call).
const CallInbound = "inbound"

// CallMessage is a voice call to place, fully rendered.
type CallMessage struct {
	// ChannelID is the voice number that places the call (or, inbound,
	// that the contact calls).
	ChannelID string `json:"channel_id"`
	// Direction is "" (outbound: place the call) or CallInbound: await the
	// contact's call from To and answer it.
	Direction string `json:"direction,omitempty"`
	// AwaitSeconds bounds how long an inbound call is awaited (0: as long
	// as the session waits).
	AwaitSeconds int `json:"await_seconds,omitempty"`
	// To is the number to call (E.164); inbound, the number the contact
	// calls from.
	To        string `json:"to"`
	Prompt    string `json:"prompt"`
	Greeting  string `json:"greeting,omitempty"`
	Voice     string `json:"voice,omitempty"`
	Engine    string `json:"engine,omitempty"`
	Language  string `json:"language,omitempty"`
	Recording bool   `json:"recording,omitempty"`
	// MaxDurationSeconds and RingTimeoutSeconds bound the call.
	MaxDurationSeconds int  `json:"max_duration_seconds"`
	RingTimeoutSeconds int  `json:"ring_timeout_seconds"`
	DetectMachine      bool `json:"detect_machine,omitempty"`
	// TransferTo is where the AI may transfer the caller ("": nowhere,
	// unless HoldForTransfer), TransferMode how (blind or warm).
	TransferTo   string `json:"transfer_to,omitempty"`
	TransferMode string `json:"transfer_mode,omitempty"`
	// HoldForTransfer lets the AI transfer without TransferTo: the call is
	// held for the flow's voice_transfer step.
	HoldForTransfer bool     `json:"hold_for_transfer,omitempty"`
	Outcomes        []string `json:"outcomes,omitempty"`
	// Context is what the agent knows of the contact: the session's
	// variables, rendered.
	Context map[string]any `json:"context,omitempty"`
	// Token names the wait the result answers.
	Token string `json:"token"`
}

// TransferMessage is a voice_transfer step's request, fully rendered: hand
// the call a voice_call step held for this session to To.
type TransferMessage struct {
	// To is an E.164 number or agent:NAME (flow.CheckTransferTarget).
	To string `json:"to"`
	// Mode is blind or warm; Message is what a warm transfer's agent
	// hears first ("": the reason and the caller's last words).
	Mode    string `json:"mode"`
	Message string `json:"message,omitempty"`
	// Token names the wait the result answers.
	Token string `json:"token"`
}

// HTTPCall describes an http_request node's call.
type HTTPCall struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Status is the response status (0 when there was no response).
	Status int `json:"status,omitempty"`
	// Bytes is the response body size.
	Bytes int    `json:"bytes,omitempty"`
	Error string `json:"error,omitempty"`
}

func errUnknownName(what, name string) error {
	return fmt.Errorf("unknown %s %q", what, name)
}

// LLMCall describes an ai_agent node's call.
type LLMCall struct {
	Mode             string `json:"mode,omitempty"`
	Model            string `json:"model,omitempty"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
	LatencyMS        int64  `json:"latency_ms"`
	// Turn is the answer's number in a reply conversation (from 1).
	Turn int `json:"turn,omitempty"`
	// Outcome is the exit chosen (classify: the label), or why the call
	// failed.
	Outcome string `json:"outcome,omitempty"`
	Error   string `json:"error,omitempty"`
}
