package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// Write-behind pipelining. Inside a group-commit transaction the writer's
// statements run one after another, and each used to be its own round trip
// to the server: the backends sat idle waiting for the client, and the
// round trips, not the server's work, capped the exchange rate. A write
// whose only result is its error (an insert, an advisory lock whose value
// nobody reads) need not be waited for: pipeConn queues it and sends it in
// one pgx batch with the next statement that needs an answer, or with the
// next call's savepoint, or alone before the commit. The server runs a
// batch in order, so a queued lock still precedes the read it protects.
//
// A queued write that fails aborts the transaction, so PostgreSQL skips
// what follows it in the batch; the connection remembers the failure
// (Failed) and refuses every statement until the group commit rolls the
// call's savepoint back (Reset), so the call fails even if fn swallowed an
// error: nothing whose write failed is acknowledged. A statement whose
// answer was read and that the server refused is remembered the same way.
//
// The savepoint statements between two calls are held back too when the
// last call left nothing unconfirmed (DeferSavepoints): they go ahead of
// the next call's first statement, and only a transaction already lost
// makes them fail (Lost).

// queuedExec is a write waiting to be sent.
type queuedExec struct {
	sql  string
	args []any
	wrap func(error) error
	// savepoint: a statement between two calls (DeferSavepoints), no
	// call's own write.
	savepoint bool
}

// pipeConn is the connection of a group-commit transaction. It runs
// statements with the caller's context values but not its cancellation (a
// context already ended fails the statement before it is sent, which
// rolls back only the caller's savepoint), and queues ExecDeferred writes.
// Only the batch's writer uses it, one statement at a time.
type pipeConn struct {
	tx     pgx.Tx
	queued []queuedExec
	// failed is the error of a queued write, or of a statement whose
	// answer was read, since the last Reset: the transaction is aborted
	// until the call's savepoint is rolled back.
	failed error
	// lost: a held-back savepoint statement failed, so the transaction was
	// already gone when the call now running began, and that call has no
	// savepoint of its own to roll back to.
	lost bool
}

var (
	_ sqlstore.Conn     = (*pipeConn)(nil)
	_ sqlstore.Deferrer = (*pipeConn)(nil)
)

func detach(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// ExecDeferred implements sqlstore.Deferrer: query is queued, and its
// error, passed through wrap, comes back from the statement that sends it
// (and from every statement after it until the call's savepoint is rolled
// back). args must not change after the call.
func (c *pipeConn) ExecDeferred(ctx context.Context, wrap func(error) error, query string, args ...any) error {
	if c.failed != nil {
		return c.failed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.queued = append(c.queued, queuedExec{sql: rebind(query), args: args, wrap: wrap})
	return nil
}

// Exec implements sqlstore.Conn.
func (c *pipeConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, err := c.ready(ctx)
	if err != nil {
		return 0, err
	}
	if len(c.queued) == 0 {
		tag, err := c.tx.Exec(ctx, rebind(query), args...)
		if err != nil {
			return 0, c.note(err)
		}
		return tag.RowsAffected(), nil
	}
	br, err := c.send(ctx, query, args)
	if err != nil {
		return 0, err
	}
	var n int64
	for range c.tail(query, args) {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return 0, c.note(err)
		}
		n = tag.RowsAffected()
	}
	return n, c.note(br.Close())
}

// Query implements sqlstore.Conn.
func (c *pipeConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx, err := c.ready(ctx)
	if err != nil {
		return nil, err
	}
	if len(c.queued) == 0 {
		rows, err := pgConn{c.tx}.Query(ctx, query, args...)
		if err != nil {
			return nil, c.note(err)
		}
		return notedRows{rows, c}, nil
	}
	br, err := c.send(ctx, query, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, c.note(err)
	}
	return notedRows{batchRows{pgRows{rows}, br}, c}, nil
}

// QueryRow implements sqlstore.Conn.
func (c *pipeConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx, err := c.ready(ctx)
	if err != nil {
		return errRow{err}
	}
	if len(c.queued) == 0 {
		return notedRow{pgConn{c.tx}.QueryRow(ctx, query, args...), c}
	}
	br, err := c.send(ctx, query, args)
	if err != nil {
		return errRow{err}
	}
	return notedRow{batchRow{br}, c}
}

// note remembers err as the transaction's failure when the server raised
// it: PostgreSQL has then aborted the transaction, so a call that goes on
// as if the statement had not failed (it swallowed the error) is failed
// all the same (Failed), and rolled back to its savepoint alone, instead of
// leaving the next call's savepoint to find the transaction gone. Errors
// of the client's own (no row, a value that does not scan) leave the
// transaction as it was.
func (c *pipeConn) note(err error) error {
	var pgErr *pgconn.PgError
	if err != nil && c.failed == nil && errors.As(err, &pgErr) {
		c.failed = err
	}
	return err
}

// notedRows are a query's rows whose error, if the server raised it, the
// connection remembers (note).
type notedRows struct {
	sqlstore.Rows
	c *pipeConn
}

func (r notedRows) Err() error { return r.c.note(r.Rows.Err()) }

// notedRow is notedRows for a single-row query.
type notedRow struct {
	sqlstore.Row
	c *pipeConn
}

func (r notedRow) Scan(dest ...any) error { return r.c.note(r.Row.Scan(dest...)) }

// Flush sends the queued writes alone, in one round trip, and returns the
// first one's error. River's inserts on the transaction and the commit
// call it, so that nothing runs before writes queued earlier.
func (c *pipeConn) Flush(ctx context.Context) error {
	ctx, err := c.ready(ctx)
	if err != nil || len(c.queued) == 0 {
		return err
	}
	br, err := c.send(ctx, "", nil)
	if err != nil {
		return err
	}
	return br.Close()
}

// DeferSavepoints implements groupcommit.Pipeline: the statements between
// two calls wait, like held-back writes, for the next statement sent.
func (c *pipeConn) DeferSavepoints(stmts ...string) {
	for _, s := range stmts {
		c.queued = append(c.queued, queuedExec{sql: s, savepoint: true})
	}
}

// Pending reports whether writes wait to be sent.
func (c *pipeConn) Pending() bool { return len(c.queued) > 0 }

// Failed is the error of a queued write, or of a statement the server
// refused, since the last Reset.
func (c *pipeConn) Failed() error { return c.failed }

// Lost reports whether a held-back savepoint statement failed.
func (c *pipeConn) Lost() bool { return c.lost }

// Reset forgets the queued writes and the failure: the call they belong to
// is being rolled back to its savepoint. Savepoint statements still held
// back from before the call stay queued: the rollback needs them sent
// first, or it would undo the call before.
func (c *pipeConn) Reset() {
	n := 0
	for n < len(c.queued) && c.queued[n].savepoint {
		n++
	}
	c.queued, c.failed, c.lost = c.queued[:n], nil, false
}

// ready detaches ctx and refuses statements after a queued write failed:
// the server would refuse them anyway, with a less useful error.
func (c *pipeConn) ready(ctx context.Context) (context.Context, error) {
	if c.failed != nil {
		return nil, c.failed
	}
	return detach(ctx)
}

// tail is the statements query stands for in a batch: an extended-protocol
// statement holds one command, so a text without arguments that chains
// several (the group commit's "RELEASE …; SAVEPOINT …") is split at its
// semicolons; such texts hold no literal semicolon.
func (c *pipeConn) tail(query string, args []any) []string {
	if query == "" {
		return nil
	}
	if len(args) > 0 || !strings.Contains(query, ";") {
		return []string{rebind(query)}
	}
	var out []string
	for _, s := range strings.Split(query, ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// send sends the queued writes and then query (if any) in one batch, and
// reads the writes' results. A write that failed is remembered (Failed)
// and its wrapped error returned; the batch is then closed. On success the
// caller reads query's results from the returned batch and closes it.
func (c *pipeConn) send(ctx context.Context, query string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(c.queued)+2)}
	for _, q := range c.queued {
		b.Queue(q.sql, q.args...)
	}
	for _, s := range c.tail(query, args) {
		b.Queue(s, args...)
	}
	queued := c.queued
	c.queued = nil
	br := c.tx.SendBatch(ctx, b)
	for _, q := range queued {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			if q.savepoint {
				c.lost = true
				c.failed = fmt.Errorf("the group commit's transaction was lost before this call began (%s failed): %w", q.sql, err)
				return nil, c.failed
			}
			c.failed = wrapQueued(q, err)
			return nil, c.failed
		}
	}
	return br, nil
}

// wrapQueued says which queued write failed, with the caller's wrapping
// (its translation into store errors) around pgx's error.
func wrapQueued(q queuedExec, err error) error {
	if q.wrap != nil {
		if werr := q.wrap(err); werr != nil {
			return werr
		}
	}
	return fmt.Errorf("a queued write (%s): %w", firstWords(q.sql), err)
}

// firstWords is the start of a statement, to name it in an error.
func firstWords(sql string) string {
	f := strings.Fields(sql)
	return strings.Join(f[:min(len(f), 4)], " ")
}

// batchRows are a query's rows read from a batch, which closes with them.
type batchRows struct {
	pgRows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.pgRows.Close()
	_ = r.br.Close()
}

// batchRow is a single-row query read from a batch.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := pgRow{r.br.QueryRow()}.Scan(dest...)
	if cerr := r.br.Close(); err == nil && cerr != nil && !errors.Is(cerr, pgx.ErrNoRows) {
		err = cerr
	}
	return err
}
