package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Queries implements store.Queries on a reader and a writer Conn. Outside a
// transaction they differ (SQLite reads from a pool while one connection
// writes); inside one they are the same transaction.
type Queries struct {
	r, w   Conn
	d      Dialect
	insert func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

// New returns Queries that read from r, write to w, and enqueue jobs with
// insert (which may be nil when the store was opened without jobs).
func New(r, w Conn, d Dialect, insert func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error) *Queries {
	return &Queries{r: r, w: w, d: d, insert: insert}
}

var _ store.Queries = (*Queries)(nil)

// AfterCommit implements store.Queries outside a transaction, where every
// statement has committed already, so fn runs at once. Inside InTx the
// group commit's Queries (package groupcommit) shadow it and run fn after
// the shared transaction's commit.
func (q *Queries) AfterCommit(fn func()) { fn() }

// JobInsert implements store.Queries.
func (q *Queries) JobInsert(ctx context.Context, p store.JobInsertParams) error {
	args, opts := p.Args, p.Opts
	if q.insert == nil {
		return fmt.Errorf("enqueueing %s job: the store was opened without a job client", args.Kind())
	}
	if err := q.insert(ctx, args, opts); err != nil {
		return fmt.Errorf("enqueueing %s job: %w", args.Kind(), err)
	}
	return nil
}

// translate turns driver errors into store errors, naming what was being done.
func (q *Queries) translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoRows):
		return &domain.Error{Code: domain.CodeNotFound, Message: what + ": not found"}
	case q.d.IsUniqueViolation(err):
		return &domain.Error{Code: domain.CodeConflict, Message: what + ": already exists", Err: err}
	case q.d.IsForeignKeyViolation(err):
		return &domain.Error{Code: domain.CodeNotFound, Message: what + ": a referenced record does not exist", Err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Translate is translate for a dialect's own statements (PostgreSQL's
// COPY), so their errors carry the same codes.
func (q *Queries) Translate(err error, what string) error { return q.translate(err, what) }

// notFound is the error for a lookup that matched nothing.
func notFound(kind, id string) error { return domain.NotFound(kind, id) }

// pageClause returns the keyset condition and LIMIT for p over the id
// column, newest first, and the args to append.
func pageClause(p store.Page, col string) (where string, limit string, args []any) {
	p = p.Clamp()
	if p.After != "" {
		where = " AND " + col + " < ?"
		args = append(args, p.After)
	}
	// One row more than asked tells whether there is a next page.
	return where, fmt.Sprintf(" ORDER BY %s DESC LIMIT %d", col, p.Limit+1), args
}

// finishPage trims the look-ahead row and sets the cursor.
func finishPage[T any](items []T, p store.Page, id func(T) string) store.List[T] {
	p = p.Clamp()
	out := store.List[T]{Items: items}
	if len(items) > p.Limit {
		out.Items = items[:p.Limit]
		out.Next = id(out.Items[p.Limit-1])
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	return out
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// collect scans every row with scan.
func collect[T any](rows Rows, err error, scan func(Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
