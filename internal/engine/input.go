package engine

import (
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// InputKind is the kind of a resume. The inbound kinds double as the value
// of input.type in expressions.
type InputKind string

// Input kinds.
const (
	// InputText is an inbound text message.
	InputText InputKind = "text"
	// InputButton is a tapped reply button (Button holds its title).
	InputButton InputKind = "button"
	// InputList is a chosen list row (ListID holds the row id).
	InputList InputKind = "list"
	// InputMedia is an inbound media message (MediaURL, Text = caption).
	InputMedia InputKind = "media"
	// InputLocation is an inbound location.
	InputLocation InputKind = "location"
	// InputFlow is a WhatsApp Flow completion (nfm_reply); Data holds the
	// answers.
	InputFlow InputKind = "flow"
	// InputTimer is a fired timer (a wait timeout or a delay's end); Seq
	// must be the Seq of the timer_set event that scheduled it.
	InputTimer InputKind = "timer"
	// InputRelease is a handoff released by an agent.
	InputRelease InputKind = "release"
	// InputCall is a voice call's result: Token names the call's wait and
	// Data holds the result (status, exit, outcome, transcript…).
	InputCall InputKind = "call"
)

// inbound reports whether the input is a message from the contact.
func (k InputKind) inbound() bool {
	switch k {
	case InputText, InputButton, InputList, InputMedia, InputLocation, InputFlow, InputCall:
		return true
	}
	return false
}

// Input is what resumes a waiting session. In JSON its fields keep their
// Go names (the inbox's stored events have always used them) and are left
// out when zero: a message's event carries its text and little else.
type Input struct {
	Kind InputKind `json:",omitzero"`
	// Text is the message text (for a button or list reply: its title).
	Text string `json:",omitzero"`
	// Button is the tapped button's title.
	Button string `json:",omitzero"`
	// ListID is the chosen list row's id.
	ListID   string `json:",omitzero"`
	MediaURL string `json:",omitzero"`
	// Data is a structured payload (WhatsApp Flow answers).
	Data map[string]any `json:",omitzero"`
	// Token is the flow_token a WhatsApp Flow completion carries back: it
	// names the send (and so the wait) it answers.
	Token string `json:",omitzero"`
	// Seq is the wait sequence a timer was set for.
	Seq uint32 `json:",omitzero"`
	// Contact, when set, refreshes the session's copy of the contact (the
	// host's current state, e.g. after an agent edited it).
	Contact *expr.Contact `json:",omitzero"`
}

// Trigger is what starts a session.
type Trigger struct {
	// Input is the inbound message that triggered the flow (keyword or
	// inbound triggers); it becomes `input` in expressions.
	Input *Input
	// Vars are initial session variables (API start, simulator).
	Vars map[string]any
	// Row is the campaign dataset row.
	Row map[string]any
	// SessionID is used when set (e.g. idempotent API starts); otherwise
	// IDs makes one.
	SessionID string
}

// Limits bound a session's work.
type Limits struct {
	// SprintSteps is the most nodes one sprint may enter (default 100).
	SprintSteps int
	// SessionSteps is the most nodes a session may enter (default 1,000).
	SessionSteps int
	// MaxDepth is the deepest subflow nesting (default 8).
	MaxDepth int
	// DefaultExpiry applies when a flow has no ExpireAfter (default 24 h).
	DefaultExpiry time.Duration
}

// Default limits (DESIGN §5).
const (
	DefaultSprintSteps  = 100
	DefaultSessionSteps = 1000
	DefaultMaxDepth     = 8
	DefaultExpiry       = 24 * time.Hour
)

func (l Limits) withDefaults() Limits {
	if l.SprintSteps <= 0 {
		l.SprintSteps = DefaultSprintSteps
	}
	if l.SessionSteps <= 0 {
		l.SessionSteps = DefaultSessionSteps
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.DefaultExpiry <= 0 {
		l.DefaultExpiry = DefaultExpiry
	}
	return l
}
