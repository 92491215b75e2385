package store

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store/tracepack"
)

// Channels are the repository methods of a project's channels, and of
// finding the channel a webhook is for.
type Channels interface {
	ChannelCreate(ctx context.Context, c domain.Channel) (domain.Channel, error)
	ChannelGet(ctx context.Context, r Ref) (domain.Channel, error)
	// ChannelGetByAddress finds the channel a webhook is for, across projects.
	ChannelGetByAddress(ctx context.Context, p ChannelGetByAddressParams) (domain.Channel, error)
	// ChannelGetAny finds a channel by ID alone, for webhooks that name it.
	ChannelGetAny(ctx context.Context, id string) (domain.Channel, error)
	ChannelList(ctx context.Context, projectID string) ([]domain.Channel, error)
	// ChannelListByType lists every channel of a type, across projects,
	// for webhooks shared by many channels.
	ChannelListByType(ctx context.Context, typ string) ([]domain.Channel, error)
	ChannelUpdate(ctx context.Context, c domain.Channel) (domain.Channel, error)
	ChannelDelete(ctx context.Context, r Ref) error
}

// Runtime are the repository methods of conversations: contacts and their
// URNs, messages, the events that feed a contact's inbox, flow sessions and
// their traces. Working the inbox and the outbox is Queue's.
type Runtime interface {
	// ContactEnsure finds the contact with the URN or creates it, and
	// records an inbound time on the URN and contact when Inbound is set.
	// Call it inside InTx: concurrent calls for one URN are serialised for
	// the length of the transaction.
	ContactEnsure(ctx context.Context, p ContactEnsureParams) (domain.Contact, bool, error)
	ContactGet(ctx context.Context, r Ref) (domain.Contact, error)
	// ContactGetByURN finds the contact of an address without creating
	// one (a web chat visitor reading a conversation it has not started).
	ContactGetByURN(ctx context.Context, p ContactGetByURNParams) (domain.Contact, error)
	// ContactMerge moves everything of contact p.FromID (addresses,
	// messages, events, sessions) to p.IntoID and deletes p.FromID: one
	// person reached on several channels becomes one contact. Empty name,
	// phone and language are filled from the merged contact, fields and
	// tags united. Both having a session in progress is ErrConflict. Call
	// it inside InTx.
	ContactMerge(ctx context.Context, p ContactMergeParams) (domain.Contact, error)
	ContactList(ctx context.Context, p ContactListParams) (List[domain.Contact], error)
	ContactUpdate(ctx context.Context, c domain.Contact) (domain.Contact, error)
	// ContactURNs lists the URNs of the contact r names.
	ContactURNs(ctx context.Context, r Ref) ([]domain.URN, error)
	// ContactLock serialises work on the contact r names until the
	// transaction ends (PostgreSQL: a row lock; SQLite's single writer
	// already serialises).
	ContactLock(ctx context.Context, r Ref) error

	// MessageCreate stores a message. An inbound message whose provider ID
	// the channel already delivered is ErrConflict: Meta re-delivers.
	MessageCreate(ctx context.Context, m domain.Message) (domain.Message, error)
	// MessageReceive stores an inbound message and queues its inbox event
	// (whose MessageID it sets) in one round trip where the database is
	// across a network. A message the channel delivered before stores and
	// queues nothing: ErrConflict. With ReadInbox it also reads the
	// contact's inbox as ContactEventsNextWithContact would, in the same
	// round trip, where that saves one (PostgreSQL).
	MessageReceive(ctx context.Context, p MessageReceiveParams) (Received, error)
	MessageGet(ctx context.Context, r Ref) (domain.Message, error)
	MessageGetByProviderID(ctx context.Context, p MessageGetByProviderIDParams) (domain.Message, error)
	MessageList(ctx context.Context, p MessageListParams) (List[domain.Message], error)
	// MessageSetStatus moves an outbound message forward only (see
	// domain.StatusRank); a message that failed before the provider took
	// it (no provider ID) is final: a later status, for a message the
	// provider never accepted, does not move it. It reports whether
	// anything changed.
	MessageSetStatus(ctx context.Context, p MessageStatusParams) (bool, error)
	// MessageStatusMove is MessageSetStatus that also reports, when it
	// moved nothing, whether the message is there at all (p.ProjectID, if
	// set, must be its project): one statement where the database allows.
	MessageStatusMove(ctx context.Context, p MessageStatusParams) (StatusMove, error)
	// MessageRecordStatus is MessageSetStatus for a caller that does not
	// need to know whether anything changed: inside a transaction the
	// store may send it with the next statement (one round trip less on
	// PostgreSQL).
	MessageRecordStatus(ctx context.Context, p MessageStatusParams) error
	// MessagesSetStatusUpTo moves forward every outbound message of the
	// contact on the channel sent at or before p.UpTo (a watermark
	// receipt: Messenger's read and delivery); it reports how many moved
	// and how many of the contact's messages on the channel are still
	// queued (a send whose answer is not stored yet).
	MessagesSetStatusUpTo(ctx context.Context, p MessagesStatusUpToParams) (UpToResult, error)

	// ReceiptLock serialises, until the transaction ends, the storing of
	// a receipt that found no message with the recording of a send's
	// answer, for one key (a provider ID or a recipient on a channel):
	// without it, each could miss the other and the receipt be lost.
	// SQLite's single writer already serialises.
	ReceiptLock(ctx context.Context, p ReceiptLockParams) error
	// ReceiptHold keeps a receipt whose message is not known yet.
	ReceiptHold(ctx context.Context, r domain.Receipt) error
	// ReceiptsTake removes and returns the kept receipts for the
	// provider ID p.ProviderID and the watermark receipts for
	// p.Recipient on the channel, after recording p.Answer when set.
	ReceiptsTake(ctx context.Context, p ReceiptsTakeParams) ([]domain.Receipt, error)
	// ReceiptsExpire deletes kept receipts received before p.Before (their
	// message never got the provider ID) and returns how many.
	ReceiptsExpire(ctx context.Context, p ReceiptsExpireParams) (int, error)

	// ContactEventAppend queues an event for the contact. A DedupeKey seen
	// before is ErrConflict.
	ContactEventAppend(ctx context.Context, e domain.ContactEvent) (domain.ContactEvent, error)
	// ContactEventsAppendNew queues those of events whose DedupeKey was
	// not seen before, in one statement, and returns them as queued, in
	// the order given; the others are not an error (on PostgreSQL they do
	// not fail the transaction). Every event needs a DedupeKey of its own.
	ContactEventsAppendNew(ctx context.Context, events []domain.ContactEvent) ([]domain.ContactEvent, error)
	ContactEventGet(ctx context.Context, p ContactEventGetParams) (domain.ContactEvent, error)

	// SessionCreate stores a new session, with the packed trace of the
	// sprint that created it, if any, in its row (TraceList lists it
	// first).
	SessionCreate(ctx context.Context, p SessionCreateParams) error
	SessionGet(ctx context.Context, r Ref) (domain.FlowSession, error)
	// SessionLive is the contact's active or waiting (non-simulated) session.
	SessionLive(ctx context.Context, contactID string) (domain.FlowSession, error)
	// SessionWithFlow is SessionGet and the head of the session's flow
	// (FlowHeadGet) in one statement; Flow is the zero value when the flow
	// is gone and the session is not.
	SessionWithFlow(ctx context.Context, r Ref) (SessionFlow, error)
	// SessionLiveWithFlow is SessionLive and the head of its flow, the same
	// way.
	SessionLiveWithFlow(ctx context.Context, contactID string) (SessionFlow, error)
	// SessionUpdate saves s when its stored Version is s.Version-1, else
	// ErrConflict: someone else moved the session first.
	SessionUpdate(ctx context.Context, s domain.FlowSession) error
	SessionList(ctx context.Context, p SessionListParams) (List[domain.FlowSession], error)
	// SessionExpiring lists live sessions whose expiry has passed at p.Now,
	// at most p.Limit.
	SessionExpiring(ctx context.Context, p DueParams) ([]domain.FlowSession, error)

	// TraceAppend appends events to their sessions' traces. A trace
	// belongs to its session: the session must exist (in the same
	// transaction, written first), and its trace is deleted with it.
	TraceAppend(ctx context.Context, events []domain.TraceEvent) error
	// TraceAppendPacked appends traces packed already (PackTrace), so
	// that the packing is done before the transaction.
	TraceAppendPacked(ctx context.Context, rows []PackedTrace) error
	// TraceList lists the trace of the session r names, in order.
	TraceList(ctx context.Context, r Ref) ([]domain.TraceEvent, error)
}

// Queue are the repository methods that work the runtime's rows: a
// contact's unhandled events (the inbox) and queued outbound messages (the
// outbox) are found when due, claimed for a while by one process, retried
// or released; durable jobs (timers, provisioning) are enqueued with
// JobInsert.
type Queue interface {
	// ContactEventsNext are the contact's oldest unhandled events, at most
	// p.Limit, in order.
	ContactEventsNext(ctx context.Context, p ContactEventsNextParams) ([]domain.ContactEvent, error)
	// ContactEventsNextWithContact is ContactEventsNext and the contact
	// (ContactGet) in one statement; Contact is the zero value when there
	// are no events.
	ContactEventsNextWithContact(ctx context.Context, p ContactEventsNextParams) (ContactInbox, error)
	// ContactEventDone records the result of handling an event; an event
	// handled already is ErrConflict.
	ContactEventDone(ctx context.Context, p ContactEventDoneParams) error
	// ContactEventsDue lists contacts with an unhandled event due at p.Now
	// (ID is the contact's), the longest due first.
	ContactEventsDue(ctx context.Context, p DueParams) ([]DueRef, error)
	// ContactEventsClaim holds the contact's due events until p.Until;
	// false means another process claimed them first.
	ContactEventsClaim(ctx context.Context, p ClaimParams) (bool, error)
	// ContactEventRetry records a failed handling of an event and makes it
	// due again at p.DueAt; it returns the attempts so far. An event
	// handled meanwhile is ErrConflict.
	ContactEventRetry(ctx context.Context, p ContactEventRetryParams) (int, error)
	// ContactEventsRelease makes every unhandled event due now, for a
	// database only this process works (SQLite after a restart).
	ContactEventsRelease(ctx context.Context, now time.Time) (int, error)

	// MessagesDue lists queued outbound messages due at p.Now, the longest
	// due first.
	MessagesDue(ctx context.Context, p DueParams) ([]DueRef, error)
	// MessageClaim holds a due queued message until p.Until; false means
	// it is not due or no longer queued (another sender has it).
	MessageClaim(ctx context.Context, p ClaimParams) (bool, error)
	// MessageRetry makes a queued message due again at p.DueAt, counting
	// an attempt when p.Failed; it returns the attempts so far. A message
	// no longer queued is ErrConflict.
	MessageRetry(ctx context.Context, p MessageRetryParams) (int, error)
	// MessagesSettle clears the send lease (due_at) of messages no longer
	// queued, which a process of an earlier version leaves behind when it
	// sends (this version clears it in the update that takes a message
	// out of the queue): on PostgreSQL the outbox index holds every
	// message with a lease. It returns how many it cleared; on SQLite,
	// whose outbox index is on status, it does nothing.
	MessagesSettle(ctx context.Context) (int, error)
	// MessagesRelease makes every queued message due now, for a database
	// only this process works (SQLite after a restart).
	MessagesRelease(ctx context.Context, now time.Time) (int, error)

	// ContactEventsRenew extends to p.Until the lease on the unhandled
	// events of the contacts p.IDs names, but only where the lease is still
	// running at p.Now and ends before p.Until: a lease that ran out may be
	// another process's now, and a retry set later is left as it is. It
	// returns the events renewed.
	ContactEventsRenew(ctx context.Context, p RenewParams) (int, error)
	// MessagesRenew is ContactEventsRenew for queued messages, by message
	// ID.
	MessagesRenew(ctx context.Context, p RenewParams) (int, error)
	// SessionTimersDue lists the timeouts of waiting sessions due at
	// p.Now that come after p.After in (timeout, session ID) order, in
	// that order, at most p.Limit. It changes nothing: the timer loop
	// reads on from the last one it queued, and the timer event's dedupe
	// key (one per wait) keeps a timeout read twice from firing twice, so
	// a firing timeout writes its inbox event and nothing else; the
	// sprint that handles the event rewrites the session row anyway.
	// With p.Sessions each timeout comes with its session as
	// SessionWithFlow reads it.
	SessionTimersDue(ctx context.Context, p SessionTimersDueParams) ([]SessionTimer, error)
	// SessionTimersTake takes session p.SessionID's timeout, due or not,
	// while it waits at p.Seq: it clears its timeout_at, so that the
	// timer loop does not read it again, and returns it (none when the
	// session waits no more, or not at p.Seq). Call it inside InTx and
	// queue the timer's inbox event in the same transaction.
	SessionTimersTake(ctx context.Context, p SessionTimersTakeParams) ([]SessionTimer, error)
	// SessionExpiriesTake is SessionTimersTake for the sessions' expiries:
	// it takes the live sessions (not simulated) whose expires_at is at or
	// before p.Now, earliest first, at most p.Limit (only session
	// p.SessionID, whenever it expires, when it is set), whose expiry is
	// not queued yet, marks them queued and returns them (Seq 0, At the
	// expiry). Queue each one's expire event in the same transaction.
	SessionExpiriesTake(ctx context.Context, p SessionTimersTakeParams) ([]SessionTimer, error)
	// ContactEventsPurge deletes handled inbox events handled before
	// p.Before, walking at most p.Limit events after seq p.After in seq
	// order, and stopping at the first one handled since p.Before or
	// queued since then and unhandled (unhandled events queued before are
	// passed over). It reports how many it deleted and where the next
	// walk goes on from.
	ContactEventsPurge(ctx context.Context, p ContactEventsPurgeParams) (ContactEventsPurged, error)

	// JobInsert enqueues a durable job. Inside InTx it commits with the
	// transaction (transactional enqueue); outside it commits on its own.
	JobInsert(ctx context.Context, p JobInsertParams) error
}

// ChannelGetByAddressParams find a channel by its type and address (the
// phone number ID of a WhatsApp channel).
type ChannelGetByAddressParams struct {
	Type    string
	Address string
}

// MessageGetByProviderIDParams find a message by the ID its channel's
// provider gave it.
type MessageGetByProviderIDParams struct {
	ChannelID  string
	Direction  string
	ProviderID string
}

// ContactEventGetParams find a contact event by its sequence number.
type ContactEventGetParams struct {
	ProjectID string
	Seq       int64
}

// ContactEventsNextParams ask for a contact's oldest unhandled events.
type ContactEventsNextParams struct {
	ContactID string
	Limit     int
}

// ContactEventDoneParams record how an event was handled.
type ContactEventDoneParams struct {
	Seq    int64
	Result string
	Now    time.Time
}

// ContactEventRetryParams make a failed event due again.
type ContactEventRetryParams struct {
	Seq   int64
	DueAt time.Time
}

// MessageRetryParams make a queued message due again.
type MessageRetryParams struct {
	ID     string
	DueAt  time.Time
	Failed bool
}

// DueParams ask for at most Limit rows due at Now.
type DueParams struct {
	Now   time.Time
	Limit int
}

// SessionTimersTakeParams name the timeout SessionTimersTake takes: session
// SessionID's, if it still waits at Seq.
type SessionTimersTakeParams struct {
	SessionID string
	Seq       int
	// Now and Limit are SessionExpiriesTake's: the expiries due at Now,
	// at most Limit, when SessionID is empty.
	Now   time.Time
	Limit int
}

// SessionTimersDueParams choose the timeouts SessionTimersDue lists.
type SessionTimersDueParams struct {
	Now   time.Time
	After TimerCursor
	Limit int
	// Sessions reads each timeout's session with its flow's head
	// (SessionTimer.Session) in the same statement.
	Sessions bool
}

// TimerCursor is a place in the due timeouts' order: a timeout and the
// session it is of. The zero cursor is before every timeout.
type TimerCursor struct {
	At        time.Time
	SessionID string
}

// PackedTrace is one trace row: a sprint's events of one session, packed
// (internal/store/tracepack). ProjectID groups the events; the row does not
// store it (its session's is the trace's).
type PackedTrace struct {
	ProjectID, SessionID string
	CreatedAt            time.Time
	Packed               []byte
}

// PackTrace packs events as TraceAppendPacked stores them: a row for each
// run of events of one session at one time.
func PackTrace(events []domain.TraceEvent) []PackedTrace {
	var out []PackedTrace
	for len(events) > 0 {
		first := events[0]
		n := 1
		for n < len(events) && events[n].ProjectID == first.ProjectID && events[n].SessionID == first.SessionID && events[n].CreatedAt.Equal(first.CreatedAt) {
			n++
		}
		out = append(out, PackedTrace{ProjectID: first.ProjectID, SessionID: first.SessionID, CreatedAt: first.CreatedAt, Packed: tracepack.Pack(events[:n])})
		events = events[n:]
	}
	return out
}

// ContactEventsPurgeParams choose the handled inbox events
// ContactEventsPurge deletes.
type ContactEventsPurgeParams struct {
	After  int64
	Limit  int
	Before time.Time
}

// ContactEventsPurged is what ContactEventsPurge did.
type ContactEventsPurged struct {
	Deleted int
	// Next is the seq the next walk starts after: every event up to it
	// was deleted or passed over.
	Next int64
	// More is true when the walk went through a whole p.Limit without
	// stopping: there may be more to delete at once.
	More bool
}

// SessionTimer is a waiting session's timeout, taken to be fired.
type SessionTimer struct {
	ProjectID, ContactID, SessionID string
	// Seq is the wait the timeout belongs to (the session's wait_seq).
	Seq int
	// At is when it was due.
	At time.Time
	// Session is the waiting session with its flow's head, when
	// SessionTimersDueParams.Sessions asked for it.
	Session *SessionFlow
}

// ClaimParams hold the row ID names (a contact's events, or a message) from
// Now until Until.
type ClaimParams struct {
	ID    string
	Now   time.Time
	Until time.Time
}

// RenewParams extend the leases a live process holds (IDs: contacts or
// messages) from Now until Until.
type RenewParams struct {
	IDs   []string
	Now   time.Time
	Until time.Time
	// Fresh, when set, leaves out the leases that already run to it or
	// past it: rows claimed or renewed so lately that they outlive the
	// beats a lease must survive without this renewal. They are the rows
	// the dispatcher is about to work, and a renewal that locked them
	// would hold their handled marks until it committed (zero: Until).
	Fresh time.Time
}

// JobInsertParams enqueue a durable job; Opts may be nil.
type JobInsertParams struct {
	Args river.JobArgs
	Opts *river.InsertOpts
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
	// PhoneVerified says the channel vouches for Phone (WhatsApp: the
	// number the person writes from). A new address with a verified phone
	// joins the contact that already has that verified phone (its "tel"
	// URN, see domain.SchemeTel) instead of making another contact: one
	// person on two channels is one contact.
	PhoneVerified bool
	// Inbound records that the contact just wrote (the 24-hour window).
	Inbound bool
	// Simulated contacts belong to the simulator and are never listed.
	Simulated bool
	Now       time.Time
}

// ContactGetByURNParams name a contact by one of its addresses.
type ContactGetByURNParams struct {
	ProjectID string
	Scheme    string
	Path      string
}

// ContactMergeParams merge contact FromID into IntoID.
type ContactMergeParams struct {
	ProjectID string
	IntoID    string
	FromID    string
	Now       time.Time
}

// ContactListParams search a project's contacts by name or phone.
type ContactListParams struct {
	ProjectID string
	Search    string
	Tag       string
	// WaitingForHuman keeps only contacts whose live session waits at a
	// handoff for a person (the inbox's "waiting for a human").
	WaitingForHuman bool
	Page            Page
}

// MessageListParams list a contact's conversation, newest first.
type MessageListParams struct {
	ProjectID string
	ContactID string
	// ChannelID, when set, keeps the messages of that channel only (a web
	// chat visitor sees its own channel's, never the merged contact's
	// other conversations).
	ChannelID string
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
	// SentAt, when set, is the sent time recorded on the first move to a
	// sent state (the moment the send began; default Now): a watermark
	// receipt compares the provider's clock with it.
	SentAt time.Time
	Now    time.Time
}

// MessagesStatusUpToParams move a contact's outbound messages on a
// channel sent at or before UpTo to Status.
type MessagesStatusUpToParams struct {
	ProjectID string
	ChannelID string
	ContactID string
	Status    string
	UpTo      time.Time
	Now       time.Time
}

// UpToResult is what MessagesSetStatusUpTo did.
type UpToResult struct {
	// Moved messages changed status.
	Moved int
	// Queued messages of the contact on the channel are not sent yet (or
	// their answer is not stored yet).
	Queued int
}

// ReceiptLockParams name what ReceiptLock serialises on a channel: a
// provider ID, a recipient's watermark receipts, or both (in one
// statement, the provider ID's lock first).
type ReceiptLockParams struct {
	ChannelID  string
	ProviderID string
	Recipient  string
}

// ReceiptsTakeParams name the kept receipts a recorded send answers.
type ReceiptsTakeParams struct {
	ChannelID  string
	ProviderID string
	// Recipient, when set, also takes the watermark receipts for it.
	Recipient string
	// Answer, when set, is the send's answer, recorded first (as
	// MessageRecordStatus does) in the same statement where the database
	// allows: the take then costs the send no statement of its own.
	Answer *MessageStatusParams
}

// ReceiptsExpireParams delete kept receipts received before Before.
type ReceiptsExpireParams struct {
	Before time.Time
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

// SessionCreateParams are a new session and the trace of the sprint that
// created it (packed, tracepack; nil for none).
type SessionCreateParams struct {
	Session domain.FlowSession
	Trace   []byte
}

// StatusMove is what a status did to the message it names.
type StatusMove struct {
	// Moved: the message moved forward to the status.
	Moved bool
	// Found: the message is there (whether or not it moved).
	Found bool
}

// MessageReceiveParams are an inbound message and its inbox event.
type MessageReceiveParams struct {
	Message domain.Message
	Event   domain.ContactEvent
	// ReadInbox, when above zero, is the Limit of the contact's inbox
	// read with the event (Received.Inbox).
	ReadInbox int
}

// Received is what MessageReceive stored and, when asked, read.
type Received struct {
	Message domain.Message
	Event   domain.ContactEvent
	// Inbox is the contact's inbox read once the event was queued, in
	// the same transaction (ReadInbox): ContactEventsNextWithContact's
	// answer then. Nil where the store cannot read it in the same round
	// trip (SQLite, whose reads cost no round trip; a transaction without
	// a pipeline).
	Inbox *ContactInbox
}

// SessionFlow is a session and the head of its flow (the flow's row without
// its draft).
type SessionFlow struct {
	Session domain.FlowSession
	// Flow is the zero value when the flow is gone.
	Flow Flow
}

// ContactInbox is a contact's next unhandled events, the contact, and its
// live session (as SessionLiveWithFlow reads it; nil when it has none), all
// as of one read.
type ContactInbox struct {
	Events  []domain.ContactEvent
	Contact domain.Contact
	Live    *SessionFlow
}
