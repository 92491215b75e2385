// Package ratelimit paces outbound messages for one sending account: a token
// bucket for the account's throughput (WhatsApp: messages per second per
// phone number), per-recipient pacing (WhatsApp's pair rate limit) and two
// priorities so that replies to people go before bulk campaign traffic.
package ratelimit

import "time"

// Clock is the time source; tests inject a fake to run without sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time { return s.t.C }
func (s sysTimer) Stop() bool          { return s.t.Stop() }
