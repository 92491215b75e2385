package store

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// RuntimeQueries are the repository methods of the conversation runtime:
// channels, contacts, messages, the per-contact inbox, sessions and traces.
type RuntimeQueries interface {
	ChannelCreate(ctx context.Context, c domain.Channel) (domain.Channel, error)
	ChannelGet(ctx context.Context, projectID, id string) (domain.Channel, error)
	// ChannelGetByAddress finds the channel a webhook is for, across projects.
	ChannelGetByAddress(ctx context.Context, typ, address string) (domain.Channel, error)
	// ChannelGetAny finds a channel by ID alone, for webhooks that name it.
	ChannelGetAny(ctx context.Context, id string) (domain.Channel, error)
	ChannelList(ctx context.Context, projectID string) ([]domain.Channel, error)
	// ChannelListByType lists every channel of a type, across projects,
	// for webhooks shared by many channels.
	ChannelListByType(ctx context.Context, typ string) ([]domain.Channel, error)
	ChannelUpdate(ctx context.Context, c domain.Channel) (domain.Channel, error)
	ChannelDelete(ctx context.Context, projectID, id string) error

	// ContactEnsure finds the contact with the URN or creates it, and
	// records an inbound time on the URN and contact when Inbound is set.
	// Call it inside InTx: concurrent calls for one URN are serialised for
	// the length of the transaction.
	ContactEnsure(ctx context.Context, p ContactEnsureParams) (domain.Contact, bool, error)
	ContactGet(ctx context.Context, projectID, id string) (domain.Contact, error)
	ContactList(ctx context.Context, p ContactListParams) (List[domain.Contact], error)
	ContactUpdate(ctx context.Context, c domain.Contact) (domain.Contact, error)
	ContactURNs(ctx context.Context, projectID, contactID string) ([]domain.URN, error)
	// ContactLock serialises work on one contact until the transaction ends
	// (PostgreSQL: a row lock; SQLite's single writer already serialises).
	ContactLock(ctx context.Context, projectID, contactID string) error

	// MessageCreate stores a message. An inbound message whose provider ID
	// the channel already delivered is ErrConflict: Meta re-delivers.
	MessageCreate(ctx context.Context, m domain.Message) (domain.Message, error)
	MessageGet(ctx context.Context, projectID, id string) (domain.Message, error)
	MessageGetByProviderID(ctx context.Context, channelID, direction, providerID string) (domain.Message, error)
	MessageList(ctx context.Context, p MessageListParams) (List[domain.Message], error)
	// MessageSetStatus moves an outbound message forward only (see
	// domain.StatusRank); it reports whether anything changed.
	MessageSetStatus(ctx context.Context, p MessageStatusParams) (bool, error)

	// ContactEventAppend queues an event for the contact. A DedupeKey seen
	// before is ErrConflict.
	ContactEventAppend(ctx context.Context, e domain.ContactEvent) (domain.ContactEvent, error)
	// ContactEventNext is the contact's oldest unhandled event.
	ContactEventNext(ctx context.Context, contactID string) (domain.ContactEvent, error)
	// ContactEventsNext are the contact's oldest unhandled events, at most
	// limit, in order.
	ContactEventsNext(ctx context.Context, contactID string, limit int) ([]domain.ContactEvent, error)
	ContactEventDone(ctx context.Context, seq int64, result string, now time.Time) error
	ContactEventGet(ctx context.Context, projectID string, seq int64) (domain.ContactEvent, error)
	// ContactEventsDue lists contacts with an unhandled event due at now
	// (ID is the contact's), the longest due first.
	ContactEventsDue(ctx context.Context, now time.Time, limit int) ([]DueRef, error)
	// ContactEventsClaim holds the contact's due events until until; false
	// means another process claimed them first.
	ContactEventsClaim(ctx context.Context, contactID string, now, until time.Time) (bool, error)
	// ContactEventRetry records a failed handling of an event and makes it
	// due again at dueAt; it returns the attempts so far. An event handled
	// meanwhile is ErrConflict.
	ContactEventRetry(ctx context.Context, seq int64, dueAt time.Time) (int, error)
	// ContactEventsRelease makes every unhandled event due now, for a
	// database only this process works (SQLite after a restart).
	ContactEventsRelease(ctx context.Context, now time.Time) (int, error)

	// MessagesDue lists queued outbound messages due at now, the longest
	// due first.
	MessagesDue(ctx context.Context, now time.Time, limit int) ([]DueRef, error)
	// MessageClaim holds a due queued message until until; false means it
	// is not due or no longer queued (another sender has it).
	MessageClaim(ctx context.Context, id string, now, until time.Time) (bool, error)
	// MessageRetry makes a queued message due again at dueAt, counting an
	// attempt when failed; it returns the attempts so far. A message no
	// longer queued is ErrConflict.
	MessageRetry(ctx context.Context, id string, dueAt time.Time, failed bool) (int, error)
	// MessagesRelease makes every queued message due now, for a database
	// only this process works (SQLite after a restart).
	MessagesRelease(ctx context.Context, now time.Time) (int, error)

	SessionCreate(ctx context.Context, s domain.FlowSession) error
	SessionGet(ctx context.Context, projectID, id string) (domain.FlowSession, error)
	// SessionLive is the contact's active or waiting (non-simulated) session.
	SessionLive(ctx context.Context, contactID string) (domain.FlowSession, error)
	// SessionUpdate saves s when its stored Version is s.Version-1, else
	// ErrConflict: someone else moved the session first.
	SessionUpdate(ctx context.Context, s domain.FlowSession) error
	SessionList(ctx context.Context, p SessionListParams) (List[domain.FlowSession], error)
	// SessionExpiring lists live sessions whose expiry has passed.
	SessionExpiring(ctx context.Context, now time.Time, limit int) ([]domain.FlowSession, error)

	TraceAppend(ctx context.Context, events []domain.TraceEvent) error
	TraceList(ctx context.Context, projectID, sessionID string) ([]domain.TraceEvent, error)

	// IdempotencyGet returns the stored response for a key, or ErrNotFound.
	IdempotencyGet(ctx context.Context, projectID, key string) ([]byte, error)
	// IdempotencyPut stores a response for a key; an existing key is ErrConflict.
	IdempotencyPut(ctx context.Context, projectID, key string, response []byte, now time.Time) error
}

// DueRef names a row a dispatcher should work: a contact with events due,
// or a message to send.
type DueRef struct {
	ProjectID string
	ID        string
	// Reply marks messages that answer a contact (sent before bulk).
	Reply bool
}

// ContactEnsureParams find or create a contact by URN.
type ContactEnsureParams struct {
	ProjectID string
	Scheme    string
	Path      string
	ChannelID string
	// NewID is used when the contact is created.
	NewID string
	Name  string
	Phone string
	// Inbound records that the contact just wrote (the 24-hour window).
	Inbound bool
	// Simulated contacts belong to the simulator and are never listed.
	Simulated bool
	Now       time.Time
}

// ContactListParams search a project's contacts by name or phone.
type ContactListParams struct {
	ProjectID string
	Search    string
	Tag       string
	Page      Page
}

// MessageListParams list a contact's conversation, newest first.
type MessageListParams struct {
	ProjectID string
	ContactID string
	Page      Page
}

// MessageStatusParams move a message's status.
type MessageStatusParams struct {
	ID string
	// ProjectID, when set, must be the message's project (a webhook names
	// our ID, which must not reach another project's message).
	ProjectID   string
	Status      string
	ProviderID  string
	ErrorCode   string
	ErrorReason string
	Now         time.Time
}

// SessionListParams filter a project's sessions.
type SessionListParams struct {
	ProjectID string
	ContactID string
	FlowID    string
	Status    string
	Simulated bool
	Page      Page
}
