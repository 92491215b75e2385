// Package dispatch works keyed items — a contact whose inbox has events, a
// message to send — on a bounded set of goroutines in this process.
//
// The rows themselves are the durable queue (contact_events, messages);
// a dispatcher only decides who works what, when. The process that commits
// a row is told at once (Notify, from an after-commit hook) and holds the
// row for a lease; a poller picks up rows whose lease ran out (their
// process died) or whose retry is due. So the hot path costs no extra
// database round trip, and nothing committed is lost when a process dies.
//
// A key is worked by one goroutine at a time in this process: a Notify
// for a key being worked makes it run once more afterwards, so an event
// committed while its contact's inbox is being drained is never missed.
package dispatch

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Done is what Work returns when the key needs no more work for now.
const Done time.Duration = -1

// Item is a key a poller found due.
type Item[K comparable] struct {
	Key K
	// Urgent items are worked before the others (replies before bulk).
	Urgent bool
}

// Config describes a dispatcher.
type Config[K comparable] struct {
	// Name identifies the dispatcher in logs.
	Name string
	// Workers is how many keys are worked at once (default 16).
	Workers int
	// UrgentReserve is how many of the workers only urgent keys may use:
	// at most Workers-UrgentReserve keys that are not urgent run at once,
	// so a backlog of bulk work (a campaign's sends, each held for its
	// provider call and commit) never leaves a reply waiting for a worker.
	// Default 0; at most Workers-1.
	UrgentReserve int
	// PollEvery is the poller's period (default 1s).
	PollEvery time.Duration
	// PollLimit bounds the keys one poll asks for (default 500).
	PollLimit int
	// MaxQueued bounds the keys waiting in memory (default 100,000).
	// Beyond it Notify drops the key: its row stays in the database and
	// the poller finds it once its lease ends.
	MaxQueued int
	// Poll returns keys whose rows are due, having claimed them for this
	// process. Nil disables polling.
	Poll func(ctx context.Context, limit int) ([]Item[K], error)
	// Work handles a key. It returns Done, 0 to be worked again at once,
	// or how long to wait before working it again (the key keeps its
	// place: a Notify meanwhile does not run it early).
	Work func(ctx context.Context, key K) time.Duration
	// StopGrace is how long Stop lets running work finish before
	// cancelling its context (default 10s).
	StopGrace time.Duration
	Logger    *slog.Logger
}

type state uint8

const (
	queued state = iota
	running
	delayed
)

type entry struct {
	st     state
	again  bool
	urgent bool
	timer  *time.Timer
}

// Dispatcher works keys; Start it, Notify it, Stop it.
type Dispatcher[K comparable] struct {
	cfg Config[K]

	mu       sync.Mutex
	cond     *sync.Cond
	urgent   fifo[K]
	normal   fifo[K]
	keys     map[K]*entry
	stopping bool
	started  bool
	dropped  int64
	// bulk is how many keys that are not urgent are being worked.
	bulk int

	workCtx    context.Context
	cancelWork context.CancelFunc
	stopPoll   context.CancelFunc
	wg         sync.WaitGroup
}

// New returns a dispatcher; nothing runs until Start.
func New[K comparable](cfg Config[K]) *Dispatcher[K] {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	cfg.UrgentReserve = min(max(cfg.UrgentReserve, 0), cfg.Workers-1)
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = time.Second
	}
	if cfg.PollLimit <= 0 {
		cfg.PollLimit = 500
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 100_000
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher[K]{cfg: cfg, keys: map[K]*entry{}}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// Start starts the workers and the poller. The work outlives ctx: Stop
// ends it.
func (d *Dispatcher[K]) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return nil
	}
	d.started = true
	d.workCtx, d.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	for range d.cfg.Workers {
		d.wg.Add(1)
		go d.worker()
	}
	if d.cfg.Poll != nil {
		var pctx context.Context
		pctx, d.stopPoll = context.WithCancel(d.workCtx)
		d.wg.Add(1)
		go d.poller(pctx)
	}
	return nil
}

// Stop stops polling, drops what waits in memory (the rows stay due in
// the database), lets running work finish for up to StopGrace, then
// cancels it and waits for the workers.
func (d *Dispatcher[K]) Stop() {
	d.mu.Lock()
	if !d.started || d.stopping {
		d.mu.Unlock()
		return
	}
	d.stopping = true
	for k, e := range d.keys {
		if e.timer != nil {
			e.timer.Stop()
		}
		if e.st != running {
			delete(d.keys, k)
		}
	}
	d.urgent, d.normal = fifo[K]{}, fifo[K]{}
	d.cond.Broadcast()
	d.mu.Unlock()
	if d.stopPoll != nil {
		d.stopPoll()
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.cfg.StopGrace):
		d.cancelWork()
		<-done
	}
	d.cancelWork()
}

// Notify asks for key to be worked. It never blocks; it reports false
// when the key was dropped (stopping, or too much waiting in memory).
func (d *Dispatcher[K]) Notify(key K, urgent bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return false
	}
	if e, ok := d.keys[key]; ok {
		if e.st == running {
			e.again = true
			e.urgent = e.urgent || urgent
		}
		return true
	}
	if len(d.keys) >= d.cfg.MaxQueued {
		d.dropped++
		if d.dropped == 1 || d.dropped%10_000 == 0 {
			d.cfg.Logger.Warn("dispatcher full: leaving work to the poller", "dispatcher", d.cfg.Name, "dropped", d.dropped)
		}
		return false
	}
	d.keys[key] = &entry{st: queued, urgent: urgent}
	d.push(key, urgent)
	return true
}

// Stats are a dispatcher's counts, for metrics and tests.
type Stats struct {
	// Waiting are keys queued or delayed in memory; Running are being worked.
	Waiting, Running int
	// Dropped counts Notify calls refused because memory was full.
	Dropped int64
}

// Held lists the keys the dispatcher holds now (waiting, running or
// delayed), so their owner can renew its leases on them.
func (d *Dispatcher[K]) Held() []K {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]K, 0, len(d.keys))
	for k := range d.keys {
		out = append(out, k)
	}
	return out
}

// Stats reports the current counts.
func (d *Dispatcher[K]) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := Stats{Dropped: d.dropped}
	for _, e := range d.keys {
		if e.st == running {
			s.Running++
		} else {
			s.Waiting++
		}
	}
	return s
}

func (d *Dispatcher[K]) push(key K, urgent bool) {
	if urgent {
		d.urgent.push(key)
	} else {
		d.normal.push(key)
	}
	d.cond.Signal()
}

func (d *Dispatcher[K]) worker() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		for !d.stopping && d.urgent.len() == 0 && (d.normal.len() == 0 || d.bulk >= d.cfg.Workers-d.cfg.UrgentReserve) {
			d.cond.Wait()
		}
		if d.stopping {
			d.mu.Unlock()
			return
		}
		key, ok := d.urgent.pop()
		bulk := !ok
		if bulk {
			key, _ = d.normal.pop()
			d.bulk++
		}
		e := d.keys[key]
		e.st, e.again = running, false
		d.mu.Unlock()

		next := d.work(key)

		d.mu.Lock()
		if bulk {
			d.bulk--
			if d.normal.len() > 0 {
				d.cond.Signal() // a worker held back by the reserve may go
			}
		}
		switch {
		case d.stopping:
			delete(d.keys, key)
		case next > 0:
			e.st = delayed
			e.timer = time.AfterFunc(next, func() { d.wakeDelayed(key) })
		case next == 0 || e.again:
			e.st = queued
			d.push(key, e.urgent)
		default:
			delete(d.keys, key)
		}
		d.mu.Unlock()
	}
}

// work runs Work, turning a panic into a logged retry a second later so
// one bad row cannot take the process down.
func (d *Dispatcher[K]) work(key K) (next time.Duration) {
	defer func() {
		if p := recover(); p != nil {
			d.cfg.Logger.Error("dispatcher work panicked; retrying", "dispatcher", d.cfg.Name, "key", key, "panic", p)
			next = time.Second
		}
	}()
	return d.cfg.Work(d.workCtx, key)
}

func (d *Dispatcher[K]) wakeDelayed(key K) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.keys[key]
	if d.stopping || !ok || e.st != delayed {
		return
	}
	e.st, e.timer = queued, nil
	d.push(key, e.urgent)
}

func (d *Dispatcher[K]) poller(ctx context.Context) {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.PollEvery)
	defer t.Stop()
	for {
		// A full page means more is due: poll again at once while memory
		// has room, so a backlog after a restart drains at full speed.
		for d.pollOnce(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *Dispatcher[K]) pollOnce(ctx context.Context) bool {
	d.mu.Lock()
	room := d.cfg.MaxQueued - len(d.keys)
	d.mu.Unlock()
	if room < d.cfg.PollLimit || ctx.Err() != nil {
		return false
	}
	items, err := d.cfg.Poll(ctx, d.cfg.PollLimit)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Error("dispatcher poll failed", "dispatcher", d.cfg.Name, "err", err)
		}
		return false
	}
	for _, it := range items {
		d.Notify(it.Key, it.Urgent)
	}
	return len(items) >= d.cfg.PollLimit
}

// fifo is a queue of keys that reuses its backing array.
type fifo[K any] struct {
	items []K
	head  int
}

func (f *fifo[K]) len() int { return len(f.items) - f.head }

func (f *fifo[K]) push(k K) { f.items = append(f.items, k) }

func (f *fifo[K]) pop() (K, bool) {
	var zero K
	if f.len() == 0 {
		return zero, false
	}
	k := f.items[f.head]
	f.items[f.head] = zero
	f.head++
	if f.head > 1024 && f.head*2 > len(f.items) {
		f.items = append(f.items[:0], f.items[f.head:]...)
		f.head = 0
	}
	return k, true
}
