package store

import (
	"context"
	"encoding/json"
	"time"
)

// Calls are the repository methods of voice calls: queued by a session's
// sprint, claimed and placed by one process, their result recorded once.
type Calls interface {
	// CallCreate stores a new call (status queued).
	CallCreate(ctx context.Context, c Call) error
	CallGet(ctx context.Context, r Ref) (Call, error)
	// CallClaim takes up to Limit queued calls for Owner: each moves to
	// dialing with a lease, so no other process places it. A queued call
	// created with an Owner (a transfer of a call that process holds) is
	// claimed only by that Owner. A call is
	// claimed once; one whose owner dies is never placed again (see
	// CallListStale).
	CallClaim(ctx context.Context, p CallClaimParams) ([]Call, error)
	// CallUpdate writes a claimed call's progress: status, provider ID,
	// lease, result and end. It fails with ErrNotFound unless Owner still
	// holds the call and the call has not ended.
	CallUpdate(ctx context.Context, c Call) error
	// CallRenew extends the leases of the live calls Owner holds, and of
	// the queued ones addressed to it (transfers of calls it holds), and
	// returns how many it extended.
	CallRenew(ctx context.Context, p CallRenewParams) (int, error)
	// CallListStale lists calls that are dialing, ringing or in progress
	// and whose lease ran out: their process died during the call. It
	// lists too the queued calls addressed to an owner (a transfer of the
	// call that process holds) whose lease ran out, or that have none and
	// were last written AddressedLease before Now: that process stopped
	// during the hold, and nobody else can take them.
	CallListStale(ctx context.Context, p CallStaleParams) ([]Call, error)
	// CallAnswer takes the call a session awaits from number From on voice
	// number ChannelID (status awaiting, its deadline, kept in LeaseUntil,
	// not passed), newest first: it moves to in_progress held by Owner.
	// ErrNotFound says no session awaits that caller there.
	CallAnswer(ctx context.Context, p CallAnswerParams) (Call, error)
	// CallList lists a project's calls, newest first, optionally of one
	// contact or session.
	CallList(ctx context.Context, p CallListParams) ([]Call, error)
}

// AddressedLease is the lease a queued call addressed to an owner (a
// voice_transfer step's request on the call that process holds) starts
// with: the owner claims it, or renews it while busy, well before it runs
// out; once it has, the owner is taken to have stopped (CallListStale).
const AddressedLease = 30 * time.Second

// Call statuses as stored: queued and dialing are Parley's own; the rest
// are voice.Status values.
const (
	CallQueued  = "queued"
	CallDialing = "dialing"
	// CallAwaiting is an inbound call a session waits for
	// (wait_inbound_call): the contact is to call the voice number.
	CallAwaiting = "awaiting"
)

// Call is one voice call.
type Call struct {
	ID        string
	ProjectID string
	ChannelID string
	ContactID string
	// SessionID and Token name the wait its result answers ("" for calls
	// no session waits for).
	SessionID string
	Token     string
	Direction string
	From, To  string
	// Request is what the flow asked for (engine.CallMessage, JSON).
	Request json.RawMessage
	Status  string
	// ProviderID is the provider's ID of the call (Twilio: CallSid).
	ProviderID string
	// Owner is the process that placed the call; LeaseUntil how long it
	// vouches for it.
	Owner      string
	LeaseUntil *time.Time
	// Result is the call's voice.Result once it ended (JSON).
	Result    json.RawMessage
	Simulated bool
	CreatedAt time.Time
	UpdatedAt time.Time
	EndedAt   *time.Time
}

// CallClaimParams claim queued calls.
type CallClaimParams struct {
	Owner      string
	Now        time.Time
	LeaseUntil time.Time
	Limit      int
	// SkipChannels leaves the calls of these voice numbers queued (their
	// pacing allows no call now).
	SkipChannels []string
}

// CallAnswerParams find the awaited call of an inbound caller.
type CallAnswerParams struct {
	ChannelID  string
	From       string
	ProviderID string
	Owner      string
	Now        time.Time
	LeaseUntil time.Time
}

// CallRenewParams extend an owner's leases.
type CallRenewParams struct {
	Owner      string
	LeaseUntil time.Time
}

// CallStaleParams find calls whose process died.
type CallStaleParams struct {
	Now   time.Time
	Limit int
}

// CallListParams list a project's calls.
type CallListParams struct {
	ProjectID string
	ContactID string
	SessionID string
	Limit     int
}
