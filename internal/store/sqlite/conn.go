package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// stmts caches prepared statements of one *sql.DB. The driver parses a
// statement on every call otherwise, which was a third of the server's CPU
// under load; the set of statement texts is small and fixed (dynamic IN
// lists aside, which are capped), so the cache stays bounded.
type stmts struct {
	db  *sql.DB
	mu  sync.RWMutex
	all map[string]*sql.Stmt
	// pending are statements first met inside a transaction: the writer
	// pool's one connection is busy then, so they are prepared after it.
	pending map[string]bool
}

const maxStmts = 512

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, all: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// cached returns the prepared statement for query if there is one, and
// otherwise notes it for preparePending.
func (s *stmts) cached(query string) *sql.Stmt {
	s.mu.RLock()
	st, ok := s.all[query]
	s.mu.RUnlock()
	if !ok {
		s.mu.Lock()
		if len(s.pending) < maxStmts {
			s.pending[query] = true
		}
		s.mu.Unlock()
	}
	return st
}

// preparePending prepares the statements met inside transactions; call it
// when no transaction holds the pool's connection.
func (s *stmts) preparePending(ctx context.Context) {
	// The writer calls this after every batch; most find nothing to do.
	s.mu.RLock()
	n := len(s.pending)
	s.mu.RUnlock()
	if n == 0 {
		return
	}
	s.mu.Lock()
	queries := make([]string, 0, len(s.pending))
	for q := range s.pending {
		queries = append(queries, q)
	}
	s.pending = map[string]bool{}
	s.mu.Unlock()
	for _, q := range queries {
		_, _ = s.get(ctx, q)
	}
}

// get returns the prepared statement for query, preparing it once.
func (s *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.RLock()
	st, ok := s.all[query]
	s.mu.RUnlock()
	if ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.all[query]; ok {
		st.Close()
		return old, nil
	}
	if len(s.all) < maxStmts {
		s.all[query] = st
	}
	return st, nil
}

func (s *stmts) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.all {
		st.Close()
	}
	s.all = map[string]*sql.Stmt{}
}

// sqlConn adapts a database/sql pool, or a transaction on it, to
// sqlstore.Conn, running statements through the pool's cache. Inside a
// transaction the cached statement is bound to the transaction's
// connection (the writer pool has one, so it is reused as is).
//
// A transaction is a group-commit batch shared by several InTx calls, so
// there statements run detached from the caller's context (see ctx).
type sqlConn struct {
	cache *stmts
	tx    *sql.Tx
}

// ctx is the context to run a statement with. Outside a transaction it is
// the caller's. Inside one it keeps the caller's values but not its
// cancellation: modernc interrupts the connection when a statement's context
// ends, and an interrupted write rolls back the whole transaction, which
// holds other callers' work. A context already ended still stops fn at its
// next statement, so a cancelled caller's fn fails, and only its savepoint
// is rolled back, as its transaction would have been before.
func (c sqlConn) ctx(ctx context.Context) (context.Context, error) {
	if c.tx == nil {
		return ctx, nil
	}
	return detach(ctx)
}

// detach returns ctx without its cancellation, or ctx's error if it has
// ended already.
func detach(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// stmt is the prepared statement to run query with; nil inside a
// transaction when it is not prepared yet (then the query runs as text once).
func (c sqlConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if c.tx == nil {
		return c.cache.get(ctx, query)
	}
	if st := c.cache.cached(query); st != nil {
		return c.tx.StmtContext(ctx, st), nil
	}
	return nil, nil
}

func (c sqlConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, err := c.ctx(ctx)
	if err != nil {
		return 0, err
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	var res sql.Result
	if st == nil {
		res, err = c.tx.ExecContext(ctx, query, args...)
	} else {
		res, err = st.ExecContext(ctx, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqlConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx, err := c.ctx(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if st == nil {
		rows, err = c.tx.QueryContext(ctx, query, args...)
	} else {
		rows, err = st.QueryContext(ctx, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (c sqlConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx, err := c.ctx(ctx)
	if err != nil {
		return errRow{err}
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	if st == nil {
		return sqlRow{c.tx.QueryRowContext(ctx, query, args...)}
	}
	return sqlRow{st.QueryRowContext(ctx, args...)}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
