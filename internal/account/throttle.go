package account

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// ThrottlePolicy is how many failed logins a key gets before it must wait,
// and how the wait grows: Base after the first failure past Free, doubling
// with each further failure, up to Max. A key with no failure for Forget
// starts over.
type ThrottlePolicy struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// Default policies. An account (e-mail address) gets 5 free tries and waits
// at most 5 minutes, so an attacker guessing one account's password gets
// about 300 tries a day while the real owner, locked out by that attacker,
// waits minutes, not hours. A client address gets 20 free tries (several
// people behind one NAT mistype too) and waits up to 15 minutes.
var (
	AccountThrottle = ThrottlePolicy{Free: 5, Base: time.Second, Max: 5 * time.Minute, Forget: time.Hour}
	AddressThrottle = ThrottlePolicy{Free: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
)

// maxThrottleKeys bounds the memory an attacker cycling through addresses or
// e-mails can make the throttle hold (about 100 bytes a key).
const maxThrottleKeys = 100_000

// Throttle counts failed logins per key in this process's memory. With
// several Parley processes behind one load balancer each counts on its own,
// so an attacker gets the free tries once per process: the back-off still
// grows in each. It is safe for concurrent use.
type Throttle struct {
	clock  domain.Clock
	policy ThrottlePolicy
	mu     sync.Mutex
	keys   map[string]*throttleKey
}

type throttleKey struct {
	failures int
	last     time.Time
	until    time.Time
}

// NewThrottle returns an empty throttle.
func NewThrottle(clock domain.Clock, p ThrottlePolicy) *Throttle {
	return &Throttle{clock: clock, policy: p, keys: map[string]*throttleKey{}}
}

// Wait returns how long key must still wait before its next try; zero when
// it may try now.
func (t *Throttle) Wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.keys[key]
	if k == nil {
		return 0
	}
	return max(0, k.until.Sub(t.clock.Now()))
}

// Fail records a failed try of key and returns the wait it now has.
func (t *Throttle) Fail(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	k := t.keys[key]
	if k != nil && now.Sub(k.last) > t.policy.Forget && !now.Before(k.until) {
		k = nil
	}
	if k == nil {
		if len(t.keys) >= maxThrottleKeys {
			t.sweep(now)
		}
		k = &throttleKey{}
		t.keys[key] = k
	}
	k.failures++
	k.last = now
	if over := k.failures - t.policy.Free; over > 0 {
		wait := t.policy.Max
		if over <= 30 {
			wait = min(t.policy.Max, time.Duration(float64(t.policy.Base)*math.Pow(2, float64(over-1))))
		}
		k.until = now.Add(wait)
	}
	return max(0, k.until.Sub(now))
}

// Reset forgets key's failures (after a successful login).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// sweep drops forgotten keys; when that frees nothing, it drops keys that
// are not waiting, and as a last resort empties the map: a flood of keys
// must not grow memory without bound.
func (t *Throttle) sweep(now time.Time) {
	for name, k := range t.keys {
		if now.Sub(k.last) > t.policy.Forget && !now.Before(k.until) {
			delete(t.keys, name)
		}
	}
	if len(t.keys) < maxThrottleKeys {
		return
	}
	for name, k := range t.keys {
		if !now.Before(k.until) {
			delete(t.keys, name)
		}
	}
	if len(t.keys) >= maxThrottleKeys {
		clear(t.keys)
	}
}

// Throttled is the cause of a login refused because of earlier failures.
type Throttled struct {
	// Scope is "account" or "address": which counter is over its limit.
	Scope      string
	RetryAfter time.Duration
}

// Error implements error.
func (t *Throttled) Error() string {
	return fmt.Sprintf("too many failed logins (%s); try again in %d s", t.Scope, t.Seconds())
}

// Seconds is RetryAfter rounded up to whole seconds, as Retry-After says it.
func (t *Throttled) Seconds() int { return int(math.Ceil(t.RetryAfter.Seconds())) }

// accountKey normalises an e-mail so that case changes do not buy new tries.
func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
