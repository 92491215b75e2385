package channel

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Class says what the send worker should do about a failed send.
type Class int

// The error classes. Permanent is the zero value on purpose: an error nobody
// classified must not be retried forever.
const (
	// Permanent: the message can never be sent as it is; fail it with the
	// provider's code and reason.
	Permanent Class = iota
	// Retryable: a transient failure (5xx, timeout, reset); retry with
	// exponential backoff and jitter, a bounded number of times.
	Retryable
	// Throttled: the provider asks us to slow down; wait RetryAfter (or a
	// backoff) and lower the send rate, then retry. Not counted as a failure.
	Throttled
)

// String returns the class name.
func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Throttled:
		return "throttled"
	}
	return "permanent"
}

// Scope says what a throttle applies to, so the limiter slows down the right
// thing.
type Scope string

// Throttle scopes.
const (
	ScopeNone      Scope = ""
	ScopeAccount   Scope = "account"   // the phone number / app / WABA (130429, 80007, 4)
	ScopeRecipient Scope = "recipient" // the (business, user) pair (131056)
)

// Cause is what a failure means for the conversation or campaign, so the
// runtime reacts without knowing provider codes.
type Cause string

// Failure causes.
const (
	CauseNone           Cause = ""
	CauseOutsideWindow  Cause = "outside_window"  // free-form send after the 24-hour window: use a template
	CauseOptedOut       Cause = "opted_out"       // the person stopped marketing messages
	CauseUndeliverable  Cause = "undeliverable"   // not on the network, blocked, old client
	CausePauseCampaign  Cause = "pause_campaign"  // quality, spam, payment or template pause: stop bulk sends
	CauseAuth           Cause = "auth"            // token or permission problem: fix the channel
	CauseInvalidRequest Cause = "invalid_request" // our payload is wrong
	CauseTemplate       Cause = "template"        // template missing, unapproved or parameters wrong
	CauseMarketingCap   Cause = "marketing_cap"   // withheld to limit marketing per user; retry after a day
)

// SendError is a classified send failure.
type SendError struct {
	Class Class
	// Cause is set when the failure means more than "this message failed".
	Cause Cause
	// Scope is what a Throttled error applies to.
	Scope Scope
	// HTTPStatus is the provider's HTTP status (0 when no response came).
	HTTPStatus int
	// Code and Subcode are the provider's error code (Graph error.code and
	// error_subcode); 0 for transport errors.
	Code    int
	Subcode int
	// Title is the provider's short text; Details its longer explanation.
	Title   string
	Details string
	// RetryAfter is how long to wait before trying again, when known.
	RetryAfter time.Duration
	// Err is the underlying cause (transport error, decoding error).
	Err error
}

// Error says what failed, with the provider's code and reason.
func (e *SendError) Error() string {
	msg := "send " + e.Class.String()
	if e.Code != 0 {
		msg += ": code " + strconv.Itoa(e.Code)
		if e.Subcode != 0 {
			msg += "/" + strconv.Itoa(e.Subcode)
		}
	}
	if e.HTTPStatus != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Details != "" && e.Details != e.Title {
		msg += ": " + e.Details
	}
	// Details often is the cause's text (a message refused before the
	// call): said once.
	if e.Err != nil && e.Err.Error() != e.Details {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes the cause.
func (e *SendError) Unwrap() error { return e.Err }

// Reason is the text shown in the conversation for a failed message.
func (e *SendError) Reason() string {
	switch {
	case e.Title != "" && e.Details != "" && e.Details != e.Title:
		return e.Title + ": " + e.Details
	case e.Title != "":
		return e.Title
	case e.Details != "":
		return e.Details
	case e.Err != nil:
		return e.Err.Error()
	}
	return "send failed"
}

// ClassOf returns the class of err: the SendError's class, Retryable for
// deadline and network-ish errors nobody classified, Permanent otherwise.
// A cancelled context is Retryable too: the work was interrupted, not
// refused, and will run again.
func ClassOf(err error) Class {
	if se, ok := errors.AsType[*SendError](err); ok {
		return se.Class
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Retryable
	}
	return Permanent
}

// Backoff is the delay before retry attempt n (1-based) of a Retryable or
// Throttled error: exponential from base, capped at max, with "full jitter"
// so that many workers retrying at once spread out. rnd must return a value
// in [0,1); pass rand.Float64.
func Backoff(attempt int, base, max time.Duration, rnd func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	// Half fixed, half random: never retry immediately, never all at once.
	return d/2 + time.Duration(rnd()*float64(d/2))
}
