package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// Group commit. SQLite has one write connection, so under load InTx callers
// queue for it and each pays its own BEGIN, COMMIT (the WAL append, most of
// a small transaction's cost) and connection handoff. Instead, one writer
// goroutine takes every call queued when it is free, runs them one after the
// other in a single transaction, each inside its own savepoint, and commits
// once. A call whose fn fails rolls back to its savepoint, so only its own
// work is undone; the others are answered after the commit, so nobody hears
// "done" for work that is not durable yet.
//
// There is no waiting for a batch to fill: the writer takes what is queued
// the moment the previous batch ends (after letting runnable goroutines
// queue theirs, see yieldBelow), so an idle system commits each call on its
// own, as before, and batches grow only when calls already queue.

// maxBatch bounds the calls sharing one transaction: enough to amortise the
// commit under load, few enough that the first call of a batch does not wait
// long for the last, and that one failed commit fails few calls.
const maxBatch = 64

// yieldBelow: with fewer calls queued than this when a batch starts, the
// writer yields once before taking them. The bench's exchange ran 3–5 %
// faster with batches of ~52 calls instead of ~25.
const yieldBelow = 16

// queueLen is how many calls can wait for the writer before InTx blocks on
// submitting; a few batches' worth keeps the writer fed.
const queueLen = 4 * maxBatch

// The savepoint each call runs in. Its name differs from River's
// (river_savepoint_NN), whose savepoints nest inside it.
const (
	sqlSavepoint  = "SAVEPOINT parley_call"
	sqlRelease    = "RELEASE parley_call"
	sqlRollbackTo = "ROLLBACK TO parley_call"
)

// errClosed is what InTx returns once Close has begun.
var errClosed = errors.New("sqlite: the store is closed")

// A call's state decides, without a lock, who owns it: the writer (taken)
// runs fn and answers; a caller whose context ends first (abandoned) leaves
// and the writer skips it, so fn never starts after its caller gave up.
const (
	callQueued int32 = iota
	callTaken
	callAbandoned
)

// call is one InTx waiting for, or inside, a batch.
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
	// single: fn runs one statement (the Store's own writes). SQLite undoes
	// a failed statement by itself, so it needs no savepoint.
	single bool
}

// outcome is what the caller of InTx does: return err, or re-raise fn's
// panic or runtime.Goexit in its own goroutine, as if fn had run there.
type outcome struct {
	err      error
	panicked bool
	panicVal any
	goexit   bool
}

func (c *call) answer(o outcome) { c.done <- o }

// groupCommit owns the writer goroutine and its queue.
type groupCommit struct {
	s *Store
	// mu guards closed against submissions: InTx holds it shared while it
	// queues a call, Close exclusively while it closes the queue, so no call
	// is queued after the writer's last look.
	mu     sync.RWMutex
	closed bool
	queue  chan *call
	// wg counts writer goroutines: one, or briefly two when one hands over
	// after a Goexit in fn.
	wg sync.WaitGroup

	// calls counts fns run and batches transactions begun; tests read them
	// to see that batching happened.
	calls, batches atomic.Int64
	// testBegin, when a test sets it (before the first InTx), runs in the
	// writer when a transaction began, with it and the number of calls left
	// in the batch.
	testBegin func(tx *sql.Tx, n int)
}

func newGroupCommit(s *Store) *groupCommit {
	g := &groupCommit{s: s, queue: make(chan *call, queueLen)}
	g.wg.Add(1)
	go g.run(nil)
	return g
}

// do runs fn in a batch and returns its outcome; it is InTx.
func (g *groupCommit) do(ctx context.Context, fn func(store.Queries) error) error {
	return g.run1(ctx, fn, false)
}

// doOne runs fn, which executes exactly one statement, in a batch.
func (g *groupCommit) doOne(ctx context.Context, fn func(store.Queries) error) error {
	return g.run1(ctx, fn, true)
}

func (g *groupCommit) run1(ctx context.Context, fn func(store.Queries) error, single bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{ctx: ctx, fn: fn, done: make(chan outcome, 1), single: single}
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
		// fn has started: the caller's answer is the commit's, whatever
		// its context says, so that it never reports committed work as
		// failed. Batches are short.
		o = <-c.done
	}
	switch {
	case o.panicked:
		panic(o.panicVal)
	case o.goexit:
		runtime.Goexit()
	}
	if o.err == nil {
		// In the caller's goroutine, as on PostgreSQL, so a slow hook
		// delays only its own caller, not the writer.
		for _, h := range c.after {
			h()
		}
	}
	return o.err
}

func (g *groupCommit) submit(ctx context.Context, c *call) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errClosed
	}
	select {
	case g.queue <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops taking calls, lets the writer answer every call already
// queued, and waits for it to exit.
func (g *groupCommit) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.queue)
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// batch is the writer's state for one group of calls. It lives on the heap
// rather than the writer's stack so that another goroutine can finish it
// when fn ends the writer's goroutine with runtime.Goexit.
type batch struct {
	calls []*call
	next  int // index in calls of the next call to run
	tx    *sql.Tx
	q     *sqlstore.Queries
	conn  sqlConn
	// ok are the calls whose fn succeeded; they are answered after the
	// commit.
	ok []*call
}

// run is the writer: it finishes b, if any, then takes batch after batch
// until the queue is closed and empty.
func (g *groupCommit) run(b *batch) {
	defer g.wg.Done()
	for {
		if b == nil {
			if b = g.take(); b == nil {
				return
			}
		}
		g.process(b)
		b = nil
		// The write connection is free now: prepare the statements first
		// met inside the batch.
		g.s.wstmts.preparePending(context.Background())
	}
}

// take waits for a call, then adds whatever else is queued right now, up
// to maxBatch; nil when the queue is closed and empty.
func (g *groupCommit) take() *batch {
	c, ok := <-g.queue
	if !ok {
		return nil
	}
	if len(g.queue) < yieldBelow {
		// Let the goroutines about to submit (the callers just answered,
		// runnable on this P) do so first: on a busy server a batch then
		// carries about twice the calls, for one commit. Alone, the yield
		// costs microseconds.
		runtime.Gosched()
	}
	b := &batch{calls: make([]*call, 1, min(maxBatch, 1+len(g.queue)))}
	b.calls[0] = c
	for len(b.calls) < maxBatch {
		select {
		case c, ok := <-g.queue:
			if !ok {
				return b
			}
			b.calls = append(b.calls, c)
		default:
			return b
		}
	}
	return b
}

// process runs b's remaining calls and commits. The transaction begins
// with the first call still wanted (all may have been abandoned).
func (g *groupCommit) process(b *batch) {
	for b.next < len(b.calls) {
		c := b.calls[b.next]
		b.next++
		if !c.state.CompareAndSwap(callQueued, callTaken) {
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
		if c.single {
			g.calls.Add(1)
			g.settleOne(b, c, g.call(b, c))
			continue
		}
		if _, err := b.conn.Exec(context.Background(), sqlSavepoint); err != nil {
			// Only a transaction SQLite already ended fails here.
			c.answer(outcome{err: fmt.Errorf("starting a savepoint: %w", err)})
			g.abort(b, err)
			continue
		}
		g.calls.Add(1)
		g.settle(b, c, g.call(b, c))
	}
	g.finish(b)
}

// begin starts b's transaction. Its context is never cancelled: no caller's
// context may end the transaction the others share.
func (g *groupCommit) begin(b *batch) error {
	tx, err := g.s.wdb.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	g.batches.Add(1)
	if g.testBegin != nil {
		g.testBegin(tx, len(b.calls)-b.next+1)
	}
	b.tx = tx
	b.conn = sqlConn{cache: g.s.wstmts, tx: tx}
	b.q = sqlstore.New(b.conn, b.conn, g.s.dialect, g.s.inserter(tx))
	return nil
}

// call runs c's fn, turning a panic into an outcome so that the writer
// survives it. A runtime.Goexit in fn (t.FailNow in a test) cannot be
// stopped: the deferred function settles c and hands b to a new writer
// goroutine before this one ends.
func (g *groupCommit) call(b *batch, c *call) (o outcome) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if p := recover(); p != nil {
			o = outcome{panicked: true, panicVal: p}
			return
		}
		g.settle(b, c, outcome{goexit: true})
		g.wg.Add(1)
		go g.run(b)
	}()
	err := c.fn(txQueries{b.q, c, b.conn})
	returned = true
	return outcome{err: err}
}

// settle ends c's savepoint: released when fn succeeded, rolled back
// otherwise. If SQLite cannot do that, the transaction is gone (some errors,
// such as SQLITE_FULL, IOERR, BUSY or INTERRUPT, roll back the whole
// transaction) and the batch is aborted.
func (g *groupCommit) settle(b *batch, c *call, o outcome) {
	bg := context.Background()
	if o.err == nil && !o.panicked && !o.goexit {
		_, err := b.conn.Exec(bg, sqlRelease)
		if err == nil {
			b.ok = append(b.ok, c)
			return
		}
		// fn's work may be gone already; try to undo it, and tell the
		// caller it was not committed in any case.
		o.err = fmt.Errorf("releasing the savepoint of this transaction: %w", err)
	}
	_, err := b.conn.Exec(bg, sqlRollbackTo)
	if err == nil {
		_, err = b.conn.Exec(bg, sqlRelease)
	}
	c.after = nil
	c.answer(o)
	if err != nil {
		g.abort(b, err)
	}
}

// settleOne ends a single-statement call. A statement that failed on a
// constraint (or found no row) was undone by SQLite alone and the
// transaction goes on; any other failure may have ended the transaction, so
// the batch is aborted rather than risk answering for lost work.
func (g *groupCommit) settleOne(b *batch, c *call, o outcome) {
	if o.err == nil && !o.panicked && !o.goexit {
		b.ok = append(b.ok, c)
		return
	}
	c.after = nil
	c.answer(o)
	var se *sqlite.Error
	if o.panicked || o.goexit || (errors.As(o.err, &se) && se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT) {
		g.abort(b, fmt.Errorf("a single write failed: %w", o.err))
	}
}

// abort rolls back b's transaction after SQLite lost it, and fails the calls
// whose fn had succeeded in it. The calls not run yet are unaffected: the
// next one begins a new transaction.
func (g *groupCommit) abort(b *batch, cause error) {
	_ = b.tx.Rollback()
	err := fmt.Errorf("transaction rolled back: another call in the same group commit failed it: %w", cause)
	for _, c := range b.ok {
		c.answer(outcome{err: err})
	}
	b.tx, b.ok = nil, nil
}

// finish commits b and answers the calls whose fn succeeded.
func (g *groupCommit) finish(b *batch) {
	if b.tx == nil {
		return
	}
	if len(b.ok) == 0 {
		_ = b.tx.Rollback()
		b.tx = nil
		return
	}
	err := b.tx.Commit()
	if err != nil {
		err = fmt.Errorf("committing transaction: %w", err)
	}
	for _, c := range b.ok {
		c.answer(outcome{err: err})
	}
	b.tx, b.ok = nil, nil
}

// txQueries are the Queries one call's fn gets: the batch's, but with its own
// AfterCommit, whose hooks wait for the batch's commit and are dropped with
// the call's savepoint. (It shadows the AfterCommit of sqlstore.Queries, which
// cannot know when a shared transaction commits.)
type txQueries struct {
	*sqlstore.Queries
	c    *call
	conn sqlConn
}

// AfterCommit runs h once the batch holding the call's work has committed,
// in the caller's goroutine before InTx returns; never if the work is rolled
// back.
func (q txQueries) AfterCommit(h func()) { q.c.after = append(q.c.after, h) }

// writeConn is the write side of the Store's own Queries (outside InTx): each
// statement is a call of its own in the group commit, so single writes (a
// send's status, a claim) share the batches' commits instead of taking the
// one connection between them, each with its own commit.
type writeConn struct {
	g *groupCommit
	// raw runs what cannot be batched (multi-row reads, which the Store's
	// queries never send to the write side).
	raw sqlConn
}

func (w writeConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := w.g.doOne(ctx, func(q store.Queries) error {
		var err error
		n, err = q.(txQueries).conn.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

func (w writeConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return w.raw.Query(ctx, query, args...)
}

func (w writeConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return writeRow{w: w, ctx: ctx, query: query, args: args}
}

// writeRow runs its statement when scanned, so that the scan happens inside
// the call's savepoint.
type writeRow struct {
	w     writeConn
	ctx   context.Context
	query string
	args  []any
}

func (r writeRow) Scan(dest ...any) error {
	return r.w.g.doOne(r.ctx, func(q store.Queries) error {
		return q.(txQueries).conn.QueryRow(r.ctx, r.query, r.args...).Scan(dest...)
	})
}

// GroupCommitStats reports how many InTx calls (and the Store's own single
// writes) have run and in how many transactions, for benchmarks and
// metrics: their ratio is the average batch.
func (s *Store) GroupCommitStats() (calls, transactions int64) {
	return s.gc.calls.Load(), s.gc.batches.Load()
}
