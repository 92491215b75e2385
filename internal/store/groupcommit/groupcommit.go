// Package groupcommit runs concurrent transactions of a store as one: many
// callers' work in a single database transaction, each call inside its own
// savepoint, committed once. Both dialects use it: SQLite, whose one write
// connection would otherwise hand itself from caller to caller with a
// commit each, and PostgreSQL, where each commit waits for its own WAL
// flush.
//
// A call whose fn fails rolls back to its savepoint, so only its own work is
// undone and it gets its own error; the others are answered after the
// commit, so nobody hears "done" for work that is not durable yet, and if
// the commit fails every call of the batch gets that error.
//
// With Config.Optimistic, calls whose fn may run again (store.Replayable)
// run without savepoints while every call of the transaction has: a
// failure then rolls the whole transaction back and runs its calls again,
// each in its savepoint, so the outcome is the one savepoints give, and
// the usual batch, where nothing fails, saves a statement or two a call.
//
// There is no waiting for a batch to fill: a writer takes every call queued
// when it is free (after letting runnable goroutines queue theirs, see
// Config.YieldBelow), so an idle system commits each call on its own, and
// batches grow only when calls already queue.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// Tx is one shared transaction, as a dialect opens it.
type Tx interface {
	// Conn runs statements in the transaction. It must not let a caller's
	// cancelled context end the transaction the others share: statements
	// run detached from the caller's cancellation (a context already ended
	// fails the next statement, which only its call's savepoint undoes).
	Conn() sqlstore.Conn
	// Queries are the store's queries on the transaction.
	Queries() *sqlstore.Queries
	// Commit and Rollback end the transaction.
	Commit() error
	Rollback() error
}

// Pipeline is a Tx's Conn that holds writes back (sqlstore.Deferrer) and
// sends them with the next statement. A held-back write belongs to the call
// that queued it: its failure must fail that call and roll back its
// savepoint, even when it only shows when the next call's savepoint or the
// commit sends it.
type Pipeline interface {
	// Pending reports whether writes wait to be sent.
	Pending() bool
	// Failed is the error of a held-back write that failed since the last
	// Reset; until then the transaction is aborted and every statement
	// fails with it.
	Failed() error
	// Reset drops the writes still held back and the failure, before the
	// call's savepoint is rolled back.
	Reset()
	// Flush sends the writes held back.
	Flush(ctx context.Context) error
	// DeferSavepoints holds savepoint statements (one command each) back
	// like writes, to go with the next statement sent. The committer calls
	// it only with nothing pending, so they are first in line.
	DeferSavepoints(stmts ...string)
	// Lost reports whether a held-back savepoint statement failed: the
	// transaction was gone before the call then running began, so that
	// call has no savepoint, and rolling back to the last one would undo
	// the call before it.
	Lost() bool
}

// Config describes a dialect's group commit.
type Config struct {
	// Begin opens a transaction no caller's context can end.
	Begin func() (Tx, error)
	// Writers is how many batches run at once, each on its own
	// connection (default 1: SQLite has one write connection).
	Writers int
	// MaxBatch bounds the calls sharing one transaction: enough to
	// amortise the commit under load, few enough that the first call of a
	// batch does not wait long for the last, and that one failed commit
	// fails few calls (default 64).
	MaxBatch int
	// YieldBelow: with fewer calls queued than this when a batch starts,
	// the writer yields once before taking them, so that the goroutines
	// about to submit (the callers just answered) do so first (default 16).
	YieldBelow int
	// SingleKeepsTx reports whether a single statement's failure left the
	// transaction usable, so that DoOne needs no savepoint (SQLite undoes
	// a failed statement by itself, unless the error rolled back the
	// whole transaction). Nil: single statements get a savepoint like any
	// call (PostgreSQL aborts the transaction on any error).
	SingleKeepsTx func(err error) bool
	// Chain sends two savepoint statements in one round trip ("RELEASE
	// …; SAVEPOINT …"), for a database across a network (PostgreSQL);
	// SQLite runs in the process and needs no round trips saved.
	Chain bool
	// Idle runs in the writer after each batch, with no transaction open
	// (SQLite prepares the statements first met inside the batch).
	Idle func()
	// OnBegin runs in the writer when a transaction began, with the number
	// of calls left in the batch (tests).
	OnBegin func(tx Tx, n int)
	// Optimistic runs replayable calls (store.Replayable) without
	// savepoints while all of a transaction's calls are replayable; a
	// failure rolls it back and runs them again with savepoints
	// (PostgreSQL, where a savepoint's statements cost the server and
	// this process as much as a small write).
	Optimistic bool
}

// The savepoint each call runs in. Its name differs from River's
// (river_savepoint_NN), whose savepoints nest inside it.
const (
	sqlSavepoint  = "SAVEPOINT parley_call"
	sqlRelease    = "RELEASE parley_call"
	sqlRollbackTo = "ROLLBACK TO parley_call"
)

// ErrClosed is what a call returns once Close has begun.
var ErrClosed = errors.New("the store is closed")

// A call's state decides, without a lock, who owns it: a writer (taken)
// runs fn and answers; a caller whose context ends first (abandoned) leaves
// and the writer skips it, so fn never starts after its caller gave up.
const (
	callQueued int32 = iota
	callTaken
	callAbandoned
)

// call is one transaction waiting for, or inside, a batch.
type call struct {
	ctx   context.Context
	fn    func(store.Queries) error
	state atomic.Int32
	// done receives exactly one outcome; buffered so the writer never
	// waits for a caller.
	done chan outcome
	// after are fn's AfterCommit hooks, run by the caller once the batch
	// committed; dropped when fn's work is rolled back.
	after []func()
	// single: fn runs one statement (a store's own writes).
	single bool
	// replay: fn may run again (store.Replayable), so it may run without
	// a savepoint (Config.Optimistic).
	replay bool
	// bare: fn is running, or ran, without a savepoint.
	bare bool
	// again: taken already, its work rolled back; it runs once more.
	again bool
}

// outcome is what the caller does: return err, or re-raise fn's panic or
// runtime.Goexit in its own goroutine, as if fn had run there.
type outcome struct {
	err      error
	panicked bool
	panicVal any
	goexit   bool
}

func (o outcome) ok() bool { return o.err == nil && !o.panicked && !o.goexit }

func (c *call) answer(o outcome) { c.done <- o }

// Committer owns the writer goroutines and their queue.
type Committer struct {
	cfg Config
	// mu guards closed against submissions: Do holds it shared while it
	// queues a call, Close exclusively while it closes the queue, so no call
	// is queued after the writers' last look.
	mu     sync.RWMutex
	closed bool
	queue  chan *call
	// wg counts writer goroutines (one more, briefly, when one hands over
	// after a Goexit in fn).
	wg sync.WaitGroup
	// calls counts fns run and batches transactions begun.
	calls, batches atomic.Int64
}

// New starts cfg.Writers writers; Close stops them.
func New(cfg Config) *Committer {
	if cfg.Writers <= 0 {
		cfg.Writers = 1
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.YieldBelow <= 0 {
		cfg.YieldBelow = 16
	}
	// A few batches' worth keeps the writers fed.
	g := &Committer{cfg: cfg, queue: make(chan *call, 4*cfg.MaxBatch*cfg.Writers)}
	g.wg.Add(cfg.Writers)
	for range cfg.Writers {
		go g.run(nil)
	}
	return g
}

// Do runs fn in a batch and returns its outcome: fn's error, or the commit's,
// or nil once the batch holding fn's work committed. A ctx that ends before
// fn starts returns ctx.Err() without running fn; once fn has started, the
// call waits for the commit whatever ctx says, so that it never reports
// committed work as failed. A panic in fn is re-raised in the caller's
// goroutine with the same value. fn's AfterCommit hooks run in the caller's
// goroutine after the commit.
func (g *Committer) Do(ctx context.Context, fn func(store.Queries) error) error {
	return g.do(ctx, fn, false)
}

// DoOne is Do for an fn that executes exactly one statement.
func (g *Committer) DoOne(ctx context.Context, fn func(store.Queries) error) error {
	return g.do(ctx, fn, true)
}

func (g *Committer) do(ctx context.Context, fn func(store.Queries) error, single bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{ctx: ctx, fn: fn, done: make(chan outcome, 1), single: single, replay: g.cfg.Optimistic && store.IsReplayable(ctx)}
	if err := g.submit(ctx, c); err != nil {
		return err
	}
	var o outcome
	select {
	case o = <-c.done:
	case <-ctx.Done():
		if c.state.CompareAndSwap(callQueued, callAbandoned) {
			return ctx.Err()
		}
		// fn has started: the caller's answer is the commit's. Batches
		// are short.
		o = <-c.done
	}
	switch {
	case o.panicked:
		panic(o.panicVal)
	case o.goexit:
		runtime.Goexit()
	}
	if o.err == nil {
		// In the caller's goroutine, so a slow hook delays only its own
		// caller, not the writer.
		for _, h := range c.after {
			h()
		}
	}
	return o.err
}

func (g *Committer) submit(ctx context.Context, c *call) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return ErrClosed
	}
	select {
	case g.queue <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking calls, lets the writers answer every call already
// queued, and waits for them to exit.
func (g *Committer) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.queue)
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// Closed reports whether Close has begun.
func (g *Committer) Closed() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.closed
}

// Queued is how many calls wait for a writer.
func (g *Committer) Queued() int { return len(g.queue) }

// Stats reports how many calls have run and in how many transactions, for
// benchmarks and metrics: their ratio is the average batch.
func (g *Committer) Stats() (calls, transactions int64) {
	return g.calls.Load(), g.batches.Load()
}

// batch is a writer's state for one group of calls. It lives on the heap
// rather than the writer's stack so that another goroutine can finish it
// when fn ends the writer's goroutine with runtime.Goexit.
type batch struct {
	calls []*call
	next  int // index in calls of the next call to run
	tx    Tx
	// solo: the batch is one call, run without a savepoint: its failure
	// rolls back the transaction, which holds nothing else.
	solo bool
	// ok are the calls whose fn succeeded; they are answered after the
	// commit.
	ok []*call
	// open: the savepoint of the last call, which succeeded, is not
	// released yet. The next call's savepoint releases it first (in the
	// same round trip when Config.Chain), and the commit releases the
	// last one, so a call costs one savepoint statement, not two. Writes
	// the last call held back (Pipeline) go in the same round trip.
	open bool
	// last is the call whose savepoint is open.
	last *call
	// bare: every call in the transaction so far ran without a savepoint
	// (Config.Optimistic); a failure rolls it back and replays them.
	bare bool
	// replayed: a bare transaction of this batch failed, so the rest of
	// the batch uses savepoints and no call runs a third time.
	replayed bool
}

// pipeline is b's connection as a Pipeline, or nil.
func (b *batch) pipeline() Pipeline {
	p, _ := b.tx.Conn().(Pipeline)
	return p
}

// heldBack turns a successful outcome into the failure of a write fn held
// back, if one failed while fn ran (fn may have swallowed the error the
// next statement returned).
func (b *batch) heldBack(o outcome) outcome {
	if o.ok() {
		if p := b.pipeline(); p != nil && p.Failed() != nil {
			o.err = p.Failed()
		}
	}
	return o
}

// run is a writer: it finishes b, if any, then takes batch after batch
// until the queue is closed and empty.
func (g *Committer) run(b *batch) {
	defer g.wg.Done()
	for {
		if b == nil {
			if b = g.take(); b == nil {
				return
			}
		}
		g.process(b)
		b = nil
		if g.cfg.Idle != nil {
			g.cfg.Idle()
		}
	}
}

// take waits for a call, then adds whatever else is queued right now, up
// to MaxBatch; nil when the queue is closed and empty.
func (g *Committer) take() *batch {
	c, ok := <-g.queue
	if !ok {
		return nil
	}
	if len(g.queue) < g.cfg.YieldBelow {
		// On a busy server a batch then carries about twice the calls,
		// for one commit. Alone, the yield costs microseconds.
		runtime.Gosched()
	}
	b := &batch{calls: make([]*call, 1, min(g.cfg.MaxBatch, 1+len(g.queue)))}
	b.calls[0] = c
	for len(b.calls) < g.cfg.MaxBatch {
		select {
		case c, ok := <-g.queue:
			if !ok {
				return b.done()
			}
			b.calls = append(b.calls, c)
		default:
			return b.done()
		}
	}
	return b.done()
}

func (b *batch) done() *batch {
	b.solo = len(b.calls) == 1
	return b
}

// process runs b's remaining calls and commits. The transaction begins
// with the first call still wanted (all may have been abandoned).
func (g *Committer) process(b *batch) {
	for b.next < len(b.calls) {
		c := b.calls[b.next]
		b.next++
		if c.again {
			c.again = false
		} else if !c.state.CompareAndSwap(callQueued, callTaken) {
			continue
		}
		if err := c.ctx.Err(); err != nil {
			c.answer(outcome{err: err})
			continue
		}
		if b.tx == nil {
			if err := g.begin(b); err != nil {
				c.answer(outcome{err: err})
				continue
			}
		}
		switch {
		case b.solo:
			g.calls.Add(1)
			g.settleSolo(b, c, g.call(b, c))
			continue
		case c.single && g.cfg.SingleKeepsTx != nil:
			g.calls.Add(1)
			g.settleOne(b, c, g.call(b, c))
			continue
		case b.bare && c.replay:
			g.calls.Add(1)
			c.bare = true
			g.settleBare(b, c, g.call(b, c))
			c.bare = false
			continue
		case b.bare && !g.leaveBare(b, c):
			// The bare calls' writes failed: they run again, and c
			// after them.
			continue
		}
		if err := g.savepoint(b); err != nil {
			// Only a transaction the database already ended fails here
			// (a call before this one lost it and swallowed the error):
			// the calls that ran in it are failed, and this one begins a
			// new transaction.
			g.abort(b, err)
			err = g.begin(b)
			if err == nil {
				err = g.savepoint(b)
			}
			if err != nil {
				c.answer(outcome{err: fmt.Errorf("starting a savepoint: %w", err)})
				if b.tx != nil {
					g.abort(b, err)
				}
				continue
			}
		}
		// A call run in its savepoint may not run again: the calls after
		// it in this transaction get savepoints too.
		b.bare = false
		g.calls.Add(1)
		g.settle(b, c, g.call(b, c))
	}
	if !g.finish(b) {
		g.process(b)
	}
}

// leaveBare ends b's bare run before a call that must not run twice:
// savepoints from here on. The bare calls' held-back writes are sent
// first, so that a failed one is theirs. It reports false when one
// failed: the transaction was rolled back and the bare calls queued
// again, with next (taken, not run yet; nil: none) after them.
func (g *Committer) leaveBare(b *batch, next *call) bool {
	b.bare = false
	if p := b.pipeline(); p != nil && p.Pending() {
		if err := p.Flush(context.Background()); err != nil {
			g.replay(b, next)
			return false
		}
	}
	return true
}

// settleBare ends c, run without a savepoint: kept for the commit when fn
// succeeded. Otherwise fn's work cannot be undone alone (and the failure
// may be a write the call before held back), so the transaction is rolled
// back and its calls run again, c with them, each in its savepoint, which
// tell whose failure it was. A panic or runtime.Goexit is c's own: c is
// answered with it and not run again.
func (g *Committer) settleBare(b *batch, c *call, o outcome) {
	if o = b.heldBack(o); o.ok() {
		b.ok = append(b.ok, c)
		return
	}
	if o.panicked || o.goexit {
		g.replay(b, nil)
		c.after = nil
		c.answer(o)
		return
	}
	g.replay(b, c)
}

// replay rolls back b's bare transaction and queues the calls that ran in
// it to run again, in their order and then cur (the call that was
// running, b.calls[b.next-1]; nil: none), in a new transaction with
// savepoints.
func (g *Committer) replay(b *batch, cur *call) {
	_ = b.tx.Rollback()
	ran := b.ok
	b.tx, b.ok, b.open, b.last, b.bare = nil, nil, false, nil, false
	b.replayed = true
	if cur != nil {
		b.next--
		cur.after, cur.again = nil, true
	}
	rest := b.calls[b.next:]
	calls := make([]*call, 0, len(ran)+len(rest))
	for _, c := range ran {
		c.after, c.again = nil, true
		calls = append(calls, c)
	}
	b.calls, b.next = append(calls, rest...), 0
}

// savepoint starts the next call's savepoint, releasing the last call's
// first. A release that fails means the transaction is lost; the caller
// aborts the batch, which fails that last call too.
func (g *Committer) savepoint(b *batch) error {
	conn := b.tx.Conn()
	bg := context.Background()
	if p := b.pipeline(); p != nil && !p.Pending() {
		// Nothing of the last call's is unconfirmed (its last statement
		// was answered, and a statement the server refused fails the
		// call), so its release cannot fail unless the transaction is
		// gone, and a new savepoint only then: both go with the next
		// statement this call sends instead of costing a round trip
		// each boundary, two of an exchange's ~9. If they do fail, this
		// call fails with the batch (settle, Lost).
		if b.open {
			b.open, b.last = false, nil
			p.DeferSavepoints(sqlRelease, sqlSavepoint)
		} else {
			p.DeferSavepoints(sqlSavepoint)
		}
		return nil
	}
	if b.open {
		b.open = false
		// Released (or rolled back by failLast) below: no call's
		// savepoint is open any more.
		defer func() { b.last = nil }()
		if g.cfg.Chain {
			_, err := conn.Exec(bg, sqlRelease+"; "+sqlSavepoint)
			if err != nil && g.failLast(b) {
				_, err = conn.Exec(bg, sqlSavepoint)
			}
			return err
		}
		if _, err := conn.Exec(bg, sqlRelease); err != nil {
			if !g.failLast(b) {
				return err
			}
		}
	}
	_, err := conn.Exec(bg, sqlSavepoint)
	return err
}

// failLast handles a statement that failed right after the last call's fn
// returned (its savepoint's release, with its held-back writes): when a
// held-back write failed, the last call is rolled back to its savepoint
// and answered with that write's error, and failLast reports true; the
// transaction goes on without it. Any other failure, or a rollback that
// fails, reports false: the transaction is lost.
func (g *Committer) failLast(b *batch) bool {
	p := b.pipeline()
	if p == nil || b.last == nil || p.Failed() == nil || p.Lost() {
		return false
	}
	cause := p.Failed()
	p.Reset()
	if err := g.rollbackTo(b); err != nil {
		return false
	}
	c := b.last
	b.last = nil
	if i := len(b.ok) - 1; i >= 0 && b.ok[i] == c {
		b.ok = b.ok[:i]
	}
	c.after = nil
	c.answer(outcome{err: cause})
	return true
}

// rollbackTo undoes the current call's work and ends its savepoint.
func (g *Committer) rollbackTo(b *batch) error {
	bg := context.Background()
	conn := b.tx.Conn()
	if g.cfg.Chain {
		_, err := conn.Exec(bg, sqlRollbackTo+"; "+sqlRelease)
		return err
	}
	if _, err := conn.Exec(bg, sqlRollbackTo); err != nil {
		return err
	}
	_, err := conn.Exec(bg, sqlRelease)
	return err
}

// begin starts b's transaction.
func (g *Committer) begin(b *batch) error {
	tx, err := g.cfg.Begin()
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	g.batches.Add(1)
	b.bare = g.cfg.Optimistic && !b.solo && !b.replayed
	if g.cfg.OnBegin != nil {
		g.cfg.OnBegin(tx, len(b.calls)-b.next+1)
	}
	b.tx = tx
	return nil
}

// call runs c's fn, turning a panic into an outcome so that the writer
// survives it. A runtime.Goexit in fn (t.FailNow in a test) cannot be
// stopped: the deferred function settles c and hands b to a new writer
// goroutine before this one ends.
func (g *Committer) call(b *batch, c *call) (o outcome) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if p := recover(); p != nil {
			o = outcome{panicked: true, panicVal: p}
			return
		}
		switch {
		case b.solo:
			g.settleSolo(b, c, outcome{goexit: true})
		case c.bare:
			c.bare = false
			g.settleBare(b, c, outcome{goexit: true})
		case c.single && g.cfg.SingleKeepsTx != nil:
			g.settleOne(b, c, outcome{goexit: true})
		default:
			g.settle(b, c, outcome{goexit: true})
		}
		g.wg.Add(1)
		go g.run(b)
	}()
	err := c.fn(callQueries{Queries: b.tx.Queries(), c: c, conn: b.tx.Conn()})
	returned = true
	return outcome{err: err}
}

// settle ends c's savepoint: left open for the next savepoint or the
// commit to release when fn succeeded, rolled back otherwise. If the
// database cannot roll back, the transaction is gone and the batch is
// aborted.
func (g *Committer) settle(b *batch, c *call, o outcome) {
	if o = b.heldBack(o); o.ok() {
		b.ok = append(b.ok, c)
		b.open, b.last = true, c
		return
	}
	p := b.pipeline()
	if p != nil && p.Lost() {
		// c's savepoint was never made: the transaction was lost before
		// c began, and every call in it with it.
		cause := p.Failed()
		c.after = nil
		c.answer(o)
		g.abort(b, cause)
		return
	}
	if p != nil {
		p.Reset()
	}
	err := g.rollbackTo(b)
	c.after = nil
	c.answer(o)
	if err != nil {
		g.abort(b, err)
	}
}

// settleSolo ends the one call of a batch that has no savepoint: kept for
// the commit when fn succeeded, its transaction rolled back otherwise.
func (g *Committer) settleSolo(b *batch, c *call, o outcome) {
	if o = b.heldBack(o); o.ok() {
		b.ok = append(b.ok, c)
		return
	}
	_ = b.tx.Rollback()
	b.tx = nil
	c.after = nil
	c.answer(o)
}

// settleOne ends a single-statement call run without a savepoint. A
// statement whose failure SingleKeepsTx accepts was undone by the database
// alone and the transaction goes on; any other failure may have ended the
// transaction, so the batch is aborted rather than risk answering for lost
// work.
func (g *Committer) settleOne(b *batch, c *call, o outcome) {
	if o = b.heldBack(o); o.ok() {
		b.ok = append(b.ok, c)
		return
	}
	c.after = nil
	c.answer(o)
	if o.panicked || o.goexit || !g.cfg.SingleKeepsTx(o.err) {
		g.abort(b, fmt.Errorf("a single write failed: %w", o.err))
	}
}

// abort rolls back b's transaction after the database lost it, and fails
// the calls whose fn had succeeded in it. The calls not run yet are
// unaffected: the next one begins a new transaction.
func (g *Committer) abort(b *batch, cause error) {
	_ = b.tx.Rollback()
	err := fmt.Errorf("transaction rolled back: another call in the same group commit failed it: %w", cause)
	for _, c := range b.ok {
		c.answer(outcome{err: err})
	}
	b.tx, b.ok, b.open, b.last = nil, nil, false, nil
}

// finish commits b and answers the calls whose fn succeeded. It reports
// false when a bare transaction's last writes failed instead: its calls
// are queued again, for process to run.
func (g *Committer) finish(b *batch) bool {
	if b.tx == nil {
		return true
	}
	if len(b.ok) == 0 {
		_ = b.tx.Rollback()
		b.tx, b.open, b.last, b.bare = nil, false, nil, false
		return true
	}
	if b.bare && !g.leaveBare(b, nil) {
		return false
	}
	if p := b.pipeline(); p != nil && p.Pending() {
		// The last call's held-back writes are sent (with its savepoint's
		// release) before the commit, so that a failed one fails only
		// its call.
		var err error
		if b.open {
			_, err = b.tx.Conn().Exec(context.Background(), sqlRelease)
			b.open = false
		} else {
			err = p.Flush(context.Background())
		}
		if err != nil {
			switch {
			case b.solo:
				// No savepoint: its transaction held only this call.
				_ = b.tx.Rollback()
				for _, c := range b.ok {
					c.after = nil
					c.answer(outcome{err: err})
				}
				b.tx, b.ok, b.last = nil, nil, nil
				return true
			case !g.failLast(b):
				g.abort(b, err)
				return true
			}
			// The savepoint was rolled back and released.
			if len(b.ok) == 0 {
				_ = b.tx.Rollback()
				b.tx, b.last = nil, nil
				return true
			}
		}
	}
	// The commit also releases the last call's savepoint, if open.
	err := b.tx.Commit()
	if err != nil {
		err = fmt.Errorf("committing transaction: %w", err)
	}
	for _, c := range b.ok {
		c.answer(outcome{err: err})
	}
	b.tx, b.ok, b.open, b.last = nil, nil, false, nil
	return true
}

// callQueries are the Queries one call's fn gets: the batch's, but with its
// own AfterCommit, whose hooks wait for the batch's commit and are dropped
// with the call's savepoint. (It shadows the AfterCommit of
// sqlstore.Queries, which cannot know when a shared transaction commits.)
type callQueries struct {
	*sqlstore.Queries
	c    *call
	conn sqlstore.Conn
}

// AfterCommit runs h once the batch holding the call's work has committed,
// in the caller's goroutine before Do returns; never if the work is rolled
// back.
func (q callQueries) AfterCommit(h func()) { q.c.after = append(q.c.after, h) }

// Conn is the transaction's connection under the Queries a call's fn got,
// for a store's own single writes (see WriteConn); nil for other Queries.
func Conn(q store.Queries) sqlstore.Conn {
	if cq, ok := q.(callQueries); ok {
		return cq.conn
	}
	return nil
}

// WriteConn is the write side of a store's own Queries (outside InTx): each
// statement is a call of its own in the group commit, so single writes (a
// send's status, a claim) share the batches' commits instead of each paying
// its own.
type WriteConn struct {
	G *Committer
	// Raw runs what is not batched: multi-row reads, which the store's
	// queries never send to the write side.
	Raw sqlstore.Conn
}

// Exec implements sqlstore.Conn.
func (w WriteConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := w.G.DoOne(ctx, func(q store.Queries) error {
		var err error
		n, err = Conn(q).Exec(ctx, query, args...)
		return err
	})
	return n, err
}

// Query implements sqlstore.Conn.
func (w WriteConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return w.Raw.Query(ctx, query, args...)
}

// QueryRow implements sqlstore.Conn.
func (w WriteConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return writeRow{w: w, ctx: ctx, query: query, args: args}
}

// writeRow runs its statement when scanned, so that the scan happens inside
// the call's transaction.
type writeRow struct {
	w     WriteConn
	ctx   context.Context
	query string
	args  []any
}

func (r writeRow) Scan(dest ...any) error {
	return r.w.G.DoOne(r.ctx, func(q store.Queries) error {
		return Conn(q).QueryRow(r.ctx, r.query, r.args...).Scan(dest...)
	})
}
