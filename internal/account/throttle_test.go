package account

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestThrottleBackOff(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := NewThrottle(clock, ThrottlePolicy{Free: 2, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour})
	for i, want := range []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if got := th.Fail("k"); got != want {
			t.Errorf("failure %d: wait %v, want %v", i+1, got, want)
		}
	}
	if th.Wait("other") != 0 {
		t.Error("another key waits")
	}
	clock.Advance(10 * time.Second)
	if w := th.Wait("k"); w != 0 {
		t.Errorf("after the back-off: wait %v", w)
	}
	// Still remembered: the next failure waits the maximum again.
	if w := th.Fail("k"); w != 10*time.Second {
		t.Errorf("failure after the back-off: wait %v", w)
	}
	clock.Advance(2 * time.Hour)
	if w := th.Fail("k"); w != 0 {
		t.Errorf("after Forget, failures start over: wait %v", w)
	}
	th.Reset("k")
	if w := th.Wait("k"); w != 0 {
		t.Errorf("after Reset: wait %v", w)
	}
}

// TestLoginThrottled: 20 wrong passwords throttle the account; the right
// password is then refused until the back-off has passed; an unknown
// e-mail is answered exactly like a known one, with one password hash
// check per try that reached the check and none while throttled.
func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.OpenOptions{})
	ctx := context.Background()
	clock := &testClock{t: time.Now()}
	s := New(st, clock, domain.UUIDv7{}, time.Hour)
	var checks atomic.Int64
	s.checkPassword = func(hash, password string) bool { checks.Add(1); return CheckPassword(hash, password) }
	if _, err := s.CreateUser(ctx, "known@example.com", "Known", "right-password", false); err != nil {
		t.Fatal(err)
	}
	// outcomes runs 20 wrong tries and one right one, and records each answer.
	outcomes := func(email, addr string) (codes []domain.Code, waits []int, hashChecks int64) {
		before := checks.Load()
		for i := 0; i < 21; i++ {
			pw := "wrong-password"
			if i == 20 {
				pw = "right-password"
			}
			_, _, _, err := s.Login(ctx, LoginParams{Email: email, Password: pw, ClientAddr: addr})
			codes = append(codes, domain.CodeOf(err))
			var th *Throttled
			if errors.As(err, &th) {
				waits = append(waits, th.Seconds())
			}
			if err == nil {
				codes[len(codes)-1] = "ok"
			}
			if domain.CodeOf(err) == domain.CodeUnauthorized {
				clock.Advance(time.Duration(AccountThrottle.Max)) // let the back-off pass between tries
			}
		}
		return codes, waits, checks.Load() - before
	}
	known, knownWaits, knownChecks := outcomes("known@example.com", "192.0.2.1")
	unknown, unknownWaits, unknownChecks := outcomes("Unknown@Example.com", "192.0.2.2")

	// With the clock moved past each back-off, every wrong try reaches the
	// password check and the right one then succeeds.
	if known[20] != "ok" {
		t.Errorf("the right password after waiting out the back-off: %v", known[20])
	}
	if knownChecks != 21 || unknownChecks != 21 {
		t.Errorf("password hash checks: known %d, unknown %d, want 21 each", knownChecks, unknownChecks)
	}
	for i := 0; i < 20; i++ {
		if known[i] != unknown[i] {
			t.Errorf("try %d: known e-mail %v, unknown %v", i, known[i], unknown[i])
		}
	}
	if len(knownWaits) != 0 || len(unknownWaits) != 0 {
		t.Errorf("throttled although the back-off had passed: %v %v", knownWaits, unknownWaits)
	}

	// Now 20 wrong passwords in a row, without waiting.
	for _, email := range []string{"known@example.com", "nobody@example.com"} {
		before := checks.Load()
		var last error
		for i := 0; i < 20; i++ {
			_, _, _, last = s.Login(ctx, LoginParams{Email: email, Password: "wrong-password", ClientAddr: "198.51.100.7"})
		}
		var th *Throttled
		if domain.CodeOf(last) != domain.CodeRateLimited || !errors.As(last, &th) || th.Scope != "account" {
			t.Fatalf("%s: the 20th wrong password: %v, want rate limited by account", email, last)
		}
		if n := checks.Load() - before; n != int64(AccountThrottle.Free+1) {
			t.Errorf("%s: %d password checks, want %d: throttled tries must not hash", email, n, AccountThrottle.Free+1)
		}
	}
	_, _, _, err := s.Login(ctx, LoginParams{Email: "known@example.com", Password: "right-password", ClientAddr: "203.0.113.9"})
	var th *Throttled
	if !errors.As(err, &th) || th.Seconds() != 1 {
		t.Fatalf("the right password while throttled: %v, want refused for 1 s", err)
	}
	clock.Advance(th.RetryAfter)
	if _, _, _, err := s.Login(ctx, LoginParams{Email: "KNOWN@example.com", Password: "right-password", ClientAddr: "203.0.113.9"}); err != nil {
		t.Fatalf("the right password after the back-off: %v", err)
	}

	// One address trying many accounts is throttled by address.
	for i := 0; i <= AddressThrottle.Free; i++ {
		_, _, _, _ = s.Login(ctx, LoginParams{Email: "spray" + string(rune('a'+i)) + "@example.com", Password: "x", ClientAddr: "192.0.2.99"})
	}
	_, _, _, err = s.Login(ctx, LoginParams{Email: "known@example.com", Password: "right-password", ClientAddr: "192.0.2.99"})
	if !errors.As(err, &th) || th.Scope != "address" {
		t.Fatalf("after %d failures from one address: %v, want rate limited by address", AddressThrottle.Free+1, err)
	}
}
