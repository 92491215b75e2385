package domain

import (
	"encoding/json"
	"time"
)

// Channel types.
const (
	ChannelWhatsApp = "whatsapp"
	ChannelWebchat  = "webchat"
)

// Channel is a connected account of one type (a WhatsApp number, the web
// chat). Secrets are sealed with the master key and never leave the server.
type Channel struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	Type      string `json:"type"`
	Name      string `json:"name"`
	// Address routes inbound traffic to the channel (WhatsApp: the phone
	// number ID); unique per type across the instance.
	Address   string          `json:"address"`
	Config    json.RawMessage `json:"config"`
	Secrets   string          `json:"-"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Contact is a person a project talks to.
type Contact struct {
	ID            string         `json:"id"`
	ProjectID     string         `json:"project_id"`
	Name          string         `json:"name"`
	Phone         string         `json:"phone"`
	Language      string         `json:"language"`
	Fields        map[string]any `json:"fields"`
	Tags          []string       `json:"tags"`
	OptedOut      bool           `json:"opted_out"`
	OptedOutAt    *time.Time     `json:"opted_out_at"`
	Assignee      string         `json:"assignee"`
	LastInboundAt *time.Time     `json:"last_inbound_at"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	// WaitingForHuman is set by lists: the contact's live session waits at
	// a handoff for a person to reply and release it.
	WaitingForHuman bool `json:"waiting_for_human" doc:"The conversation is handed to a human and waits for one (a handoff node); set by the contact list"`
}

// SchemeTel is the scheme of a contact's verified phone number (path:
// E.164). It is an address no channel sends to; it is how a second
// channel's first message from the same number finds the contact.
const SchemeTel = "tel"

// URN is one address of a contact on a channel type ("whatsapp" + wa_id).
type URN struct {
	ProjectID     string     `json:"-"`
	Scheme        string     `json:"scheme"`
	Path          string     `json:"path"`
	ContactID     string     `json:"contact_id"`
	ChannelID     string     `json:"channel_id"`
	LastInboundAt *time.Time `json:"last_inbound_at"`
}

// Message directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Message statuses. Outbound ones only move forward (see StatusRank).
const (
	MessageReceived  = "received"
	MessageQueued    = "queued"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
	MessageFailed    = "failed"
)

// StatusRank orders outbound statuses so that updates are monotonic: a
// late "delivered" never overwrites "read". failed outranks everything but
// read: a read message has reached the person whatever came after.
func StatusRank(status string) int {
	switch status {
	case MessageQueued:
		return 1
	case MessageSent:
		return 2
	case MessageDelivered:
		return 3
	case MessageFailed:
		return 4
	case MessageRead:
		return 5
	case MessageReceived:
		return 1
	}
	return 0
}

// Message is one inbound or outbound message; a contact's messages are the
// conversation.
type Message struct {
	ID          string          `json:"id"`
	ProjectID   string          `json:"project_id"`
	ContactID   string          `json:"contact_id"`
	ChannelID   string          `json:"channel_id"`
	SessionID   string          `json:"session_id"`
	Direction   string          `json:"direction"`
	Type        string          `json:"type"`
	Content     json.RawMessage `json:"content"`
	Status      string          `json:"status"`
	ProviderID  string          `json:"provider_id"`
	ErrorCode   string          `json:"error_code"`
	ErrorReason string          `json:"error_reason"`
	// Priority is "reply" (answers a contact) or "bulk" (campaigns).
	Priority  string     `json:"priority"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	SentAt    *time.Time `json:"sent_at"`
	// DueAt is when a queued outbound message may next be picked up by a
	// sender that did not queue it (the queuing process holds it until
	// then); Attempts counts failed sends.
	DueAt    *time.Time `json:"-"`
	Attempts int        `json:"-"`
}

// Session statuses.
const (
	SessionActive      = "active"
	SessionWaiting     = "waiting"
	SessionCompleted   = "completed"
	SessionExpired     = "expired"
	SessionInterrupted = "interrupted"
	SessionFailed      = "failed"
)

// SessionLive reports whether a session with this status can still resume.
func SessionLive(status string) bool { return status == SessionActive || status == SessionWaiting }

// FlowSession is the stored record of one run of a flow revision for a
// contact. State is the engine's serialised session.
type FlowSession struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	ContactID string `json:"contact_id"`
	FlowID    string `json:"flow_id"`
	// FlowName is the flow's name, set by the API for people.
	FlowName   string     `json:"flow_name,omitempty" doc:"The flow's name (set by the API)"`
	Revision   int        `json:"revision"`
	ChannelID  string     `json:"channel_id"`
	Status     string     `json:"status"`
	State      []byte     `json:"-"`
	WaitSeq    int        `json:"wait_seq"`
	WaitingFor string     `json:"waiting_for"`
	NodeID     string     `json:"node_id"`
	TimeoutAt  *time.Time `json:"timeout_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Version    int        `json:"version"`
	Simulated  bool       `json:"simulated"`
	Draft      bool       `json:"draft"`
	EndReason  string     `json:"end_reason"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	EndedAt    *time.Time `json:"ended_at"`
}

// ContactEvent is one entry of a contact's inbox: everything that may move
// the contact's session (a message, a timer, a release, an API start) is
// queued here and handled one at a time in Seq order.
type ContactEvent struct {
	Seq       int64           `json:"seq"`
	ProjectID string          `json:"project_id"`
	ContactID string          `json:"contact_id"`
	Kind      string          `json:"kind"`
	MessageID string          `json:"message_id"`
	Payload   json.RawMessage `json:"payload"`
	DedupeKey string          `json:"dedupe_key"`
	CreatedAt time.Time       `json:"created_at"`
	HandledAt *time.Time      `json:"handled_at"`
	Result    string          `json:"result"`
	// DueAt is when the event may next be picked up by a process that did
	// not queue it (the queuing process holds it until then); Attempts
	// counts failed handlings.
	DueAt    time.Time `json:"-"`
	Attempts int       `json:"-"`
}

// Contact event kinds.
const (
	EventMessage   = "message"
	EventTimer     = "timer"
	EventRelease   = "release"
	EventStart     = "start"
	EventInterrupt = "interrupt"
)

// TraceEvent is one step of a session's trace.
type TraceEvent struct {
	// ID is the event's place in the session's trace, from 1.
	ID        int64           `json:"id"`
	ProjectID string          `json:"-"`
	SessionID string          `json:"session_id"`
	Kind      string          `json:"kind"`
	NodeID    string          `json:"node_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// Receipt is a delivery, read or failure receipt that arrived before the
// send it is about had its answer stored: kept until the message's
// provider ID is recorded, then applied in that transaction. A watermark
// receipt (Messenger: read up to a time) has no ProviderID and names its
// Recipient and UpTo instead.
type Receipt struct {
	ID          int64
	ProjectID   string
	ChannelID   string
	ProviderID  string
	Recipient   string
	Status      string
	UpTo        *time.Time
	ErrorCode   string
	ErrorReason string
	ReceivedAt  time.Time
}
