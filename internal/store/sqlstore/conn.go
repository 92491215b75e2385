// Package sqlstore implements store.Queries once, in the SQL that SQLite and
// PostgreSQL share. The dialect packages (store/sqlite, store/postgres) own
// connections, migrations, transactions and the job client, and hand this
// package a Conn to run statements on.
//
// Statements are written with ? placeholders; Dialect.Rebind turns them into
// $1, $2… for PostgreSQL once per statement text.
package sqlstore

import (
	"context"
	"errors"
)

// Conn runs statements. Implementations wrap *sql.DB, *sql.Tx, a pgx pool or
// a pgx.Tx.
type Conn interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows iterates a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns ErrNoRows when there was none.
type Row interface {
	Scan(dest ...any) error
}

// ErrNoRows is what a Conn's Row.Scan returns when no row matched. Dialects
// translate their own no-rows error into it.
var ErrNoRows = errors.New("no rows in result set")

// Dialect tells the shared SQL what differs between databases.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports whether err is a foreign-key failure.
	IsForeignKeyViolation func(error) bool
	// ForUpdate is appended to a SELECT to lock its rows until the
	// transaction ends; empty where the database serialises writers anyway.
	ForUpdate string
	// LockKey is an expression taking a transaction-scoped lock on the
	// string argument, to serialise find-or-create of one key; empty where
	// writers are serialised anyway. Several go in one SELECT, taken left
	// to right.
	LockKey string
	// EnsureInOneStatement says a contact's address is found or made in
	// one statement (data-modifying WITH queries, and INSERT … ON CONFLICT
	// waiting for a concurrent inserter of the same key and then taking
	// its row): the address's primary key serialises two first messages
	// from one address, so ContactEnsure needs no LockKey and no round
	// trip beside that statement.
	EnsureInOneStatement bool
	// UpdateInWith says an UPDATE or an INSERT may run inside a WITH
	// query whose outer statement reads what it did (PostgreSQL): a status
	// that moves no message then also tells whether the message is there,
	// and a received message's event is made from the row its insert
	// returns, each in one statement.
	UpdateInWith bool
}

// Deferrer is a Conn that can hold back a write whose only result is its
// error and send it with a later statement, saving a round trip to a
// database across a network (PostgreSQL inside a group-commit
// transaction). The write's error, passed through wrap, comes back from
// whichever later statement of the same transaction sends it, and fails
// the call that queued it: so a caller must not defer a write whose error
// it inspects to choose another path (a unique-violation fallback), nor
// one whose rows-affected count it needs.
type Deferrer interface {
	ExecDeferred(ctx context.Context, wrap func(error) error, query string, args ...any) error
}

// execLater runs a write on the write side whose result is only its error,
// translated as what: held back and sent with the next statement where the
// write side is a Deferrer, run at once elsewhere (SQLite, outside a
// transaction). An error it returns now is already translated.
func (q *Queries) execLater(ctx context.Context, what string, query string, args ...any) error {
	return q.execLaterWrap(ctx, func(err error) error { return q.translate(err, what) }, query, args...)
}

// execLaterWrap is execLater with the caller's translation of the error.
func (q *Queries) execLaterWrap(ctx context.Context, wrap func(error) error, query string, args ...any) error {
	if d, ok := q.w.(Deferrer); ok {
		return d.ExecDeferred(ctx, wrap, query, args...)
	}
	if _, err := q.w.Exec(ctx, query, args...); err != nil {
		return wrap(err)
	}
	return nil
}

// execOneLater is execLater for a write that must change a row, as a check
// of rows affected would: none changed is conflict(). Held back, the
// statement is wrapped so that the database itself fails it when it
// changed nothing (a count of the changed rows divides one), and that
// failure comes back as conflict(). Elsewhere it runs at once.
func (q *Queries) execOneLater(ctx context.Context, conflict func() error, what string, query string, args ...any) error {
	d, ok := q.w.(Deferrer)
	if !ok || q.d.Name != "postgres" {
		n, err := q.w.Exec(ctx, query, args...)
		if err == nil && n == 0 {
			return conflict()
		}
		return q.translate(err, what)
	}
	return d.ExecDeferred(ctx, func(err error) error {
		if sqlState(err) == sqlStateDivisionByZero {
			return conflict()
		}
		return q.translate(err, what)
	}, `WITH changed AS (`+query+` RETURNING 1) SELECT 1 / COUNT(*) FROM changed`, args...)
}

// sqlStateDivisionByZero is PostgreSQL's error code for 1 / 0.
const sqlStateDivisionByZero = "22012"

// sqlState is the SQLSTATE code of a database error, or "".
func sqlState(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}
