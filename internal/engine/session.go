package engine

import (
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// Status is a session's lifecycle state (DESIGN §3).
type Status uint8

// Session statuses. Active only exists during a sprint; a stored session is
// waiting or has ended.
const (
	StatusActive Status = iota + 1
	StatusWaiting
	StatusCompleted
	StatusFailed
	StatusExpired
	StatusInterrupted
)

var statusNames = [...]string{"", "active", "waiting", "completed", "failed", "expired", "interrupted"}

// String returns the status name used in the API and the events.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Ended reports whether the status is final.
func (s Status) Ended() bool { return s >= StatusCompleted }

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if i > 0 && n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return errUnknownName("status", string(b))
}

// WaitKind says what a waiting session waits for.
type WaitKind uint8

// Wait kinds.
const (
	WaitNone WaitKind = iota
	// WaitButton waits for a reply button (message or template quick reply).
	WaitButton
	// WaitList waits for a list row.
	WaitList
	// WaitReply waits for a validated reply (wait_for_response).
	WaitReply
	// WaitFlow waits for a WhatsApp Flow completion (nfm_reply).
	WaitFlow
	// WaitDelay waits for a delay timer only.
	WaitDelay
	// WaitHandoff waits for a release by an agent.
	WaitHandoff
	// WaitCall waits for a voice call's result.
	WaitCall
	// WaitAIReply waits for the contact's next message in an ai_agent
	// conversation (Retries counts the answers given).
	WaitAIReply
)

var waitNames = [...]string{"", "button", "list", "reply", "whatsapp_flow", "delay", "handoff", "call", "ai_reply"}

// String returns the wait kind's name as shown in waiting events.
func (k WaitKind) String() string {
	if int(k) < len(waitNames) {
		return waitNames[k]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (k WaitKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *WaitKind) UnmarshalText(b []byte) error {
	for i, n := range waitNames {
		if n == string(b) {
			*k = WaitKind(i)
			return nil
		}
	}
	return errUnknownName("wait kind", string(b))
}

// Wait is the wait state of a waiting session.
type Wait struct {
	Kind WaitKind `json:"kind"`
	// Seq numbers the session's waits; a timer carries the Seq of the wait
	// it was set for and is ignored when the session has moved on.
	Seq uint32 `json:"seq"`
	// Retries counts the invalid replies already re-prompted.
	Retries int `json:"retries,omitempty"`
	// TimeoutAt is when the wait times out (zero: no timeout).
	TimeoutAt time.Time `json:"timeout_at,omitzero"`
}

// Frame is a parent flow suspended while a subflow runs.
type Frame struct {
	// FlowID and Revision are the subflow running above this frame.
	FlowID   string `json:"flow_id"`
	Revision int    `json:"revision"`
	// Return is the index of the parent's subflow node, whose completed or
	// failed exit is taken when the subflow ends.
	Return int `json:"return"`
}

// Session is one run of a flow revision for a contact: the whole state the
// host stores between sprints. Encode it with MarshalBinary (compact,
// versioned); JSON tags exist for the API and traces.
type Session struct {
	ID string `json:"id"`
	// FlowID and Revision pin the root flow: the host must resume the
	// session with that revision even after later publishes.
	FlowID   string `json:"flow_id"`
	Revision int    `json:"revision"`
	Status   Status `json:"status"`
	// Node is the index of the current node in the running flow's program
	// (the innermost subflow when Frames is not empty).
	Node int `json:"node"`
	// Frames are the subflow frames, innermost last; empty in the root flow.
	Frames []Frame `json:"frames,omitempty"`
	Wait   Wait    `json:"wait"`
	// Steps counts the nodes entered in the whole session (loop protection).
	Steps     int       `json:"steps"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Contact is the session's copy of the contact; actions update it so
	// later expressions see their effect.
	Contact expr.Contact `json:"contact"`
	// Vars are the session variables, shared with subflows.
	Vars map[string]any `json:"vars,omitempty"`
	// Row is the campaign dataset row, if any.
	Row map[string]any `json:"row,omitempty"`
	// Input is the last accepted inbound message.
	Input expr.Input `json:"input"`
	// EndReason says why an ended session ended.
	EndReason string `json:"end_reason,omitempty"`

	// contactMissing: decoded by UnmarshalState, the session has its
	// contact's ID only, until a Resume brings the contact.
	contactMissing bool
}

// Waiting reports whether the session waits for a resume.
func (s *Session) Waiting() bool { return s.Status == StatusWaiting }

// CurrentFlow returns the flow ID and revision of the running frame: the
// root flow or the innermost subflow.
func (s *Session) CurrentFlow() (string, int) {
	if n := len(s.Frames); n > 0 {
		return s.Frames[n-1].FlowID, s.Frames[n-1].Revision
	}
	return s.FlowID, s.Revision
}
