package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// TestGroupCommitReplay: replayable calls (store.Replayable) share a
// transaction without savepoints; when one fails, however it fails, the
// transaction is rolled back and its calls run again, each in its
// savepoint. Every caller then hears what savepoints would have told it:
// the failing call its own error (or panic) with none of its rows, the
// others success with all of theirs. A call not marked replayable never
// runs twice, and the calls after it get savepoints.
func TestGroupCommitReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const calls = 5
	own := errors.New("the call's own error, after its write")
	type failure int
	const (
		none      failure = iota
		returns           // fn returns an error after writing
		heldBack          // a write fn held back fails after fn returned
		swallowed         // fn swallows the error of a refused statement
		panics            // fn panics after writing
	)
	cases := []struct {
		name string
		bad  int
		how  failure
		// fixed: the call that is not replayable (-1: all are).
		fixed int
		// runs each call's fn should have, in order.
		runs [calls]int32
	}{
		{"nothing fails", -1, none, -1, [calls]int32{1, 1, 1, 1, 1}},
		{"fn's own error", 2, returns, -1, [calls]int32{2, 2, 2, 1, 1}},
		{"a held-back write, shown by the next call", 2, heldBack, -1, [calls]int32{2, 2, 2, 2, 1}},
		{"the last call's held-back write, shown before the commit", calls - 1, heldBack, -1, [calls]int32{2, 2, 2, 2, 2}},
		{"a refused statement swallowed", 2, swallowed, -1, [calls]int32{2, 2, 2, 1, 1}},
		{"a panic", 2, panics, -1, [calls]int32{2, 2, 1, 1, 1}},
		{"a failure after a call that may not run twice", 3, returns, 2, [calls]int32{1, 1, 1, 1, 1}},
		{"a held-back write just before a call that may not run twice", 1, heldBack, 2, [calls]int32{2, 2, 1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openWriters(t, 1)
			setupPipeTable(t, s)
			var runs [calls]atomic.Int32
			fn := func(i int) func(store.Queries) error {
				return func(q store.Queries) error {
					runs[i].Add(1)
					conn, d, err := writePair(ctx, t, q, i)
					if err != nil {
						return err
					}
					if i != tc.bad {
						return nil
					}
					switch tc.how {
					case returns:
						return own
					case heldBack:
						wrap := func(err error) error { return fmt.Errorf("inserting the bad row: %w", err) }
						return d.ExecDeferred(ctx, wrap, `INSERT INTO pipe_t (id) VALUES ('dup')`)
					case swallowed:
						_, _ = conn.Exec(ctx, `INSERT INTO pipe_t (id) VALUES ('dup')`)
					case panics:
						panic("the bad call panicked")
					}
					return nil
				}
			}
			errs := replayBatch(t, s, calls, func(i int) context.Context {
				if i == tc.fixed {
					return ctx
				}
				return store.Replayable(ctx)
			}, fn)
			rows := pipeRows(t, s)
			for i, err := range errs {
				k, d := fmt.Sprintf("k%d", i), fmt.Sprintf("d%d", i)
				if got := runs[i].Load(); got != tc.runs[i] {
					t.Errorf("call %d ran %d times, want %d", i, got, tc.runs[i])
				}
				if i != tc.bad {
					if err != nil || !rows[k] || !rows[d] {
						t.Errorf("call %d (not the failing one): %v, its rows kept %v %v", i, err, rows[k], rows[d])
					}
					continue
				}
				if rows[k] || rows[d] {
					t.Errorf("the failing call's rows were kept: %v %v", rows[k], rows[d])
				}
				var pgErr *pgconn.PgError
				switch tc.how {
				case returns:
					if !errors.Is(err, own) {
						t.Errorf("the failing call: %v, want its own error", err)
					}
				case heldBack:
					if err == nil || !strings.Contains(err.Error(), "inserting the bad row") || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
						t.Errorf("the failing call: %v, want its wrapped unique violation", err)
					}
				case swallowed:
					if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
						t.Errorf("the failing call: %v, want the unique violation it swallowed", err)
					}
				case panics:
					if err == nil || !strings.Contains(err.Error(), "the bad call panicked") {
						t.Errorf("the failing call: %v, want its panic re-raised", err)
					}
				}
			}
			if tc.bad < 0 && len(rows) != 2*calls+1 {
				t.Errorf("%d rows, want %d", len(rows), 2*calls+1)
			}
		})
	}
}

// replayBatch is oneBatch with call i in ctxOf(i); a call's panic comes
// back as its error.
func replayBatch(t *testing.T, s *postgres.Store, n int, ctxOf func(i int) context.Context, fn func(i int) func(store.Queries) error) []error {
	t.Helper()
	var wg sync.WaitGroup
	release := holdWriter(t, s, &wg)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panic: %v", r)
				}
			}()
			errs[i] = s.InTx(ctxOf(i), fn(i))
		})
		// In order: the queue is the batch's order.
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	release()
	wg.Wait()
	return errs
}
