package ratelimit

import (
	"container/list"
	"context"
	"math"
	"sync"
	"time"
)

// Priority orders waiters for the account's throughput.
type Priority int

// Priorities: every waiting Reply is served before any waiting Bulk send.
const (
	Bulk  Priority = 0 // campaigns, broadcasts
	Reply Priority = 1 // answers to a person who just wrote
)

// Config tunes a Limiter.
type Config struct {
	// Rate is the sustained sends per second for the account; 0 means
	// unlimited.
	Rate float64
	// Burst is how many sends may go at once after an idle period; default
	// ceil(Rate), at least 1.
	Burst int
	// PairInterval is the steady-state spacing of messages to one recipient
	// (WhatsApp: about 6 s); 0 disables per-recipient pacing.
	PairInterval time.Duration
	// PairBurst is how many messages may go to one recipient back to back
	// before PairInterval applies, so a multi-bubble reply is not slowed
	// down; default 1.
	PairBurst int
}

// Limiter paces sends for one account. It runs no goroutine: callers block
// in Wait. Safe for concurrent use.
type Limiter struct {
	clock Clock
	cfg   Config

	mu          sync.Mutex
	tokens      float64
	last        time.Time
	pausedUntil time.Time
	queues      [2]*list.List // by Priority, holding *waiter
	pairs       map[string]time.Time
	pruneAt     int
}

type waiter struct {
	prio Priority
	ch   chan struct{} // woken when the waiter may have become head
}

// New returns a limiter; a nil clock means the system clock.
func New(cfg Config, clock Clock) *Limiter {
	if clock == nil {
		clock = SystemClock{}
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.Rate)))
	}
	if cfg.PairBurst <= 0 {
		cfg.PairBurst = 1
	}
	l := &Limiter{clock: clock, cfg: cfg, tokens: float64(cfg.Burst), last: clock.Now(),
		pairs: map[string]time.Time{}, pruneAt: 1024}
	l.queues[Bulk], l.queues[Reply] = list.New(), list.New()
	return l
}

// Wait blocks until a message to recipient may be sent, or ctx ends. It
// first waits for the recipient's pacing, then for a token of the account's
// bucket, where replies go ahead of bulk sends. An empty recipient skips
// pacing. If ctx ends after the recipient's slot was reserved, the slot is
// not given back: pacing errs on the slow side.
func (l *Limiter) Wait(ctx context.Context, recipient string, prio Priority) error {
	if prio != Reply {
		prio = Bulk
	}
	if recipient != "" && l.cfg.PairInterval > 0 {
		if d := l.reservePair(recipient); d > 0 {
			if err := l.sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	if l.cfg.Rate <= 0 {
		return ctx.Err()
	}
	return l.acquire(ctx, prio)
}

// PairDelay is how long a message to recipient would wait for its pacing
// now, without reserving anything: a caller that would wait long can do
// something else meanwhile (a job queue re-schedules the send).
func (l *Limiter) PairDelay(recipient string) time.Duration {
	if recipient == "" || l.cfg.PairInterval <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	tau := time.Duration(l.cfg.PairBurst-1) * l.cfg.PairInterval
	tat := l.pairs[recipient]
	if tat.Before(now) {
		return 0
	}
	if at := tat.Add(-tau); at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// Pause stops all sends for d, e.g. after the provider said the account's
// throughput was exceeded; tokens saved up are dropped too.
func (l *Limiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if until := now.Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.refill(now)
	l.tokens = 0
	l.wakeHead()
}

// PauseRecipient holds back messages to one recipient for d, e.g. after a
// pair-rate-limit error.
func (l *Limiter) PauseRecipient(recipient string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tau := time.Duration(l.cfg.PairBurst-1) * l.cfg.PairInterval
	next := l.clock.Now().Add(d + tau)
	if next.After(l.pairs[recipient]) {
		l.pairs[recipient] = next
	}
}

// Rate is the sustained sends per second (0: unlimited), for callers that
// pace what they queue (campaigns).
func (l *Limiter) Rate() float64 { return l.cfg.Rate }

// Waiting returns how many callers wait for a token, by priority.
func (l *Limiter) Waiting() (replies, bulk int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queues[Reply].Len(), l.queues[Bulk].Len()
}

// reservePair takes the recipient's next slot (GCRA: a burst of PairBurst,
// then one per PairInterval) and returns how long until it comes.
func (l *Limiter) reservePair(recipient string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	t := l.cfg.PairInterval
	tau := time.Duration(l.cfg.PairBurst-1) * t
	tat := l.pairs[recipient]
	if tat.Before(now) {
		tat = now
	}
	at := tat.Add(-tau)
	if at.Before(now) {
		at = now
	}
	l.pairs[recipient] = tat.Add(t)
	if len(l.pairs) > l.pruneAt {
		l.prunePairs(now)
	}
	return at.Sub(now)
}

// prunePairs forgets recipients whose pacing has fully recovered, which is
// the same as never having seen them; this bounds memory on campaigns to
// millions of recipients.
func (l *Limiter) prunePairs(now time.Time) {
	for r, tat := range l.pairs {
		if !tat.After(now) {
			delete(l.pairs, r)
		}
	}
	l.pruneAt = max(1024, 2*len(l.pairs))
}

func (l *Limiter) acquire(ctx context.Context, prio Priority) error {
	w := &waiter{prio: prio, ch: make(chan struct{}, 1)}
	l.mu.Lock()
	elem := l.queues[prio].PushBack(w)
	for {
		if l.head() == w {
			now := l.clock.Now()
			l.refill(now)
			var wait time.Duration
			if now.Before(l.pausedUntil) {
				wait = l.pausedUntil.Sub(now)
			} else if l.tokens >= 1-1e-9 {
				l.tokens = max(0, l.tokens-1)
				l.queues[prio].Remove(elem)
				l.wakeHead()
				l.mu.Unlock()
				return nil
			} else {
				wait = time.Duration(math.Ceil((1 - l.tokens) / l.cfg.Rate * float64(time.Second)))
			}
			l.mu.Unlock()
			timer := l.clock.NewTimer(wait)
			select {
			case <-timer.C():
			case <-w.ch:
				timer.Stop()
			case <-ctx.Done():
				timer.Stop()
				return l.leave(prio, elem, ctx.Err())
			}
		} else {
			l.mu.Unlock()
			select {
			case <-w.ch:
			case <-ctx.Done():
				return l.leave(prio, elem, ctx.Err())
			}
		}
		l.mu.Lock()
	}
}

func (l *Limiter) leave(prio Priority, elem *list.Element, err error) error {
	l.mu.Lock()
	l.queues[prio].Remove(elem)
	l.wakeHead()
	l.mu.Unlock()
	return err
}

// head is the first waiter of the highest non-empty priority. Called with mu.
func (l *Limiter) head() *waiter {
	for p := Reply; p >= Bulk; p-- {
		if f := l.queues[p].Front(); f != nil {
			return f.Value.(*waiter)
		}
	}
	return nil
}

// wakeHead tells the head to look again. Called with mu.
func (l *Limiter) wakeHead() {
	if h := l.head(); h != nil {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
}

// refill adds the tokens earned since the last look. Called with mu.
func (l *Limiter) refill(now time.Time) {
	if el := now.Sub(l.last); el > 0 {
		l.tokens = min(float64(l.cfg.Burst), l.tokens+el.Seconds()*l.cfg.Rate)
		l.last = now
	}
}

func (l *Limiter) sleep(ctx context.Context, d time.Duration) error {
	t := l.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
