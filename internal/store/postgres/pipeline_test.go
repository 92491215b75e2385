package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/groupcommit"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// deferrer is the held-back write side of a call's transaction.
func deferrer(t *testing.T, q store.Queries) (sqlstore.Conn, sqlstore.Deferrer) {
	t.Helper()
	conn := groupcommit.Conn(q)
	d, ok := conn.(sqlstore.Deferrer)
	if !ok {
		t.Fatalf("a group-commit call's connection (%T) does not hold writes back", conn)
	}
	return conn, d
}

// writePair is the work of call i in the failure tests: row k<i> inserted
// at once, row d<i> held back. It returns the call's connection and its
// held-back side for what the call does next.
func writePair(ctx context.Context, t *testing.T, q store.Queries, i int) (sqlstore.Conn, sqlstore.Deferrer, error) {
	t.Helper()
	conn, d := deferrer(t, q)
	if _, err := conn.Exec(ctx, `INSERT INTO pipe_t (id) VALUES (?)`, fmt.Sprintf("k%d", i)); err != nil {
		return conn, d, err
	}
	return conn, d, d.ExecDeferred(ctx, nil, `INSERT INTO pipe_t (id) VALUES (?)`, fmt.Sprintf("d%d", i))
}

// setupPipeTable makes the table the pipeline tests write, holding the row
// 'dup' that a held-back insert then fails on.
func setupPipeTable(t *testing.T, s *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.InTx(ctx, func(q store.Queries) error {
		_, err := groupcommit.Conn(q).Exec(ctx, `CREATE TABLE pipe_t (id TEXT PRIMARY KEY)`)
		if err == nil {
			_, err = groupcommit.Conn(q).Exec(ctx, `INSERT INTO pipe_t (id) VALUES ('dup')`)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func pipeRows(t *testing.T, s *postgres.Store) map[string]bool {
	t.Helper()
	rows, err := s.Pool().Query(context.Background(), `SELECT id FROM pipe_t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = true
	}
	return out
}

// holdWriter occupies the store's one writer until the returned function
// is called, so that the calls submitted meanwhile share the next batch.
func holdWriter(t *testing.T, s *postgres.Store, wg *sync.WaitGroup) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	wg.Go(func() {
		if err := s.InTx(context.Background(), func(store.Queries) error { <-ch; return nil }); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond)
	return func() { close(ch) }
}

// oneBatch runs n calls of fn (fn(i) is call i's) in one batch, in order:
// they queue while the store's one writer is held, then it is let go. It
// returns each call's error.
func oneBatch(t *testing.T, s *postgres.Store, n int, fn func(i int) func(store.Queries) error) []error {
	t.Helper()
	var wg sync.WaitGroup
	release := holdWriter(t, s, &wg)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.InTx(context.Background(), fn(i)) })
		// In order: the queue is the batch's order.
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	release()
	wg.Wait()
	return errs
}

// TestPipelineRoundTrips: held-back writes travel with the next statement
// that needs an answer, or with the next call's savepoint, or with the last
// call's release before the commit: one round trip each, not one per write.
func TestPipelineRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("with a read", func(t *testing.T) {
		t.Parallel()
		s := openWriters(t, 1)
		setupPipeTable(t, s)
		st0, rt0, _ := s.StatementStats()
		var n int
		if err := s.InTx(ctx, func(q store.Queries) error {
			conn, d := deferrer(t, q)
			for i := range 5 {
				if err := d.ExecDeferred(ctx, nil, `INSERT INTO pipe_t (id) VALUES (?)`, fmt.Sprintf("r%d", i)); err != nil {
					return err
				}
			}
			return conn.QueryRow(ctx, `SELECT COUNT(*) FROM pipe_t`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		st1, rt1, _ := s.StatementStats()
		// BEGIN; the five inserts and the read; COMMIT.
		if st, rt := st1-st0, rt1-rt0; st != 8 || rt != 3 {
			t.Errorf("%d statements in %d round trips, want 8 in 3", st, rt)
		}
		if n != 6 {
			t.Errorf("the read after the held-back inserts counted %d rows, want 6: they must run before it", n)
		}
	})

	// Two calls' held-back inserts. With savepoints: the holder's COMMIT;
	// then BEGIN, the first call's SAVEPOINT and inserts with its RELEASE
	// and the next SAVEPOINT, the second's inserts with its RELEASE,
	// COMMIT. The first SAVEPOINT waits for the inserts: a savepoint in a
	// transaction just begun cannot fail. One by one it was 11 round
	// trips. Replayable (store.Replayable): no savepoint statement at
	// all, the six inserts in one round trip before the COMMIT.
	for _, tc := range []struct {
		name       string
		replay     bool
		statements int64
		roundTrips int64
	}{
		{"with the savepoints", false, 13, 5},
		{"replayable, without savepoints", true, 9, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openWriters(t, 1)
			setupPipeTable(t, s)
			callCtx := ctx
			if tc.replay {
				callCtx = store.Replayable(ctx)
			}
			var wg sync.WaitGroup
			release := holdWriter(t, s, &wg)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Go(func() {
					errs[i] = s.InTx(callCtx, func(q store.Queries) error {
						_, d := deferrer(t, q)
						for j := range 3 {
							if err := d.ExecDeferred(ctx, nil, `INSERT INTO pipe_t (id) VALUES (?)`, fmt.Sprintf("s%d-%d", i, j)); err != nil {
								return err
							}
						}
						return nil
					})
				})
			}
			time.Sleep(200 * time.Millisecond)
			s.CountStatementTexts(true)
			st0, rt0, _ := s.StatementStats()
			release()
			wg.Wait()
			st1, rt1, _ := s.StatementStats()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if st, rt := st1-st0, rt1-rt0; st != tc.statements || rt != tc.roundTrips {
				t.Errorf("%d statements in %d round trips, want %d in %d", st, rt, tc.statements, tc.roundTrips)
			}
			for _, c := range s.StatementTexts() {
				if strings.HasPrefix(c.SQL, "INSERT INTO pipe_t") && (c.N != 6 || c.Batched != 6) {
					t.Errorf("%d inserts, %d of them batched; want 6 and 6", c.N, c.Batched)
				}
				if tc.replay && strings.Contains(c.SQL, "parley_call") {
					t.Errorf("%q sent %d times, want none", c.SQL, c.N)
				}
			}
			if got := len(pipeRows(t, s)); got != 7 {
				t.Errorf("%d rows, want 7", got)
			}
		})
	}
}

// TestPipelineFailedWrite: a held-back write that fails fails the call that
// queued it, wherever its error shows (the call's own next statement, the
// next call's savepoint, the release before the commit, a solo call's
// commit), with the caller's wrapping around the database's error; its
// savepoint's work is rolled back, and the batch's other calls commit.
func TestPipelineFailedWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const calls = 5
	cases := []struct {
		name string
		// bad is the failing call's place in the batch; -1: it runs alone.
		bad int
		// swallow: the call reads after the failing write and ignores
		// the read's error.
		swallow bool
	}{
		{"first, shown by the next call's savepoint", 0, false},
		{"middle, shown by the next call's savepoint", 2, false},
		{"last, shown by the release before the commit", calls - 1, false},
		{"middle, its read's error swallowed", 2, true},
		{"alone, shown before the commit", -1, false},
		{"alone, its read's error swallowed", -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openWriters(t, 1)
			setupPipeTable(t, s)
			var readErr error
			fn := func(i int) func(store.Queries) error {
				return func(q store.Queries) error {
					conn, d, err := writePair(ctx, t, q, i)
					if err != nil {
						return err
					}
					if i != tc.bad {
						return nil
					}
					wrap := func(err error) error { return fmt.Errorf("inserting the bad row: %w", err) }
					if err := d.ExecDeferred(ctx, wrap, `INSERT INTO pipe_t (id) VALUES ('dup')`); err != nil {
						return err
					}
					if tc.swallow {
						var n int
						readErr = conn.QueryRow(ctx, `SELECT COUNT(*) FROM pipe_t`).Scan(&n)
					}
					return nil
				}
			}
			errs := make([]error, calls)
			if tc.bad < 0 {
				errs[0] = s.InTx(ctx, fn(-1))
			} else {
				errs = oneBatch(t, s, calls, fn)
			}
			bad := max(tc.bad, 0)
			if tc.swallow && (readErr == nil || !strings.Contains(readErr.Error(), "inserting the bad row")) {
				t.Errorf("the read after the failed write: %v, want the write's error", readErr)
			}
			rows := pipeRows(t, s)
			for i, err := range errs {
				if tc.bad < 0 && i > 0 {
					break
				}
				k, d := fmt.Sprintf("k%d", i), fmt.Sprintf("d%d", i)
				if tc.bad < 0 {
					k, d = "k-1", "d-1"
				}
				if i != bad {
					if err != nil {
						t.Errorf("call %d (not the failing one): %v", i, err)
					}
					if !rows[k] || !rows[d] {
						t.Errorf("call %d succeeded but its rows: %s %v, %s %v", i, k, rows[k], d, rows[d])
					}
					continue
				}
				var pgErr *pgconn.PgError
				if err == nil || !strings.Contains(err.Error(), "inserting the bad row") || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
					t.Errorf("the failing call: %v, want its wrapped unique violation", err)
				}
				if rows[k] || rows[d] {
					t.Errorf("the failing call's rows were kept: %s %v, %s %v", k, rows[k], d, rows[d])
				}
			}
			// The writer goes on.
			if err := s.InTx(ctx, fn(99)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPipelineSwallowedRefusal: a call that goes on after the server
// refused one of its statements (it swallowed the error) is failed with
// that error and rolled back alone. PostgreSQL aborted the transaction at
// the refusal, so its work cannot commit; before, the next call's savepoint
// found the transaction gone and the whole batch failed with it.
func TestPipelineSwallowedRefusal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openWriters(t, 1)
	setupPipeTable(t, s)
	const calls, bad = 5, 2
	var swallowed error
	errs := oneBatch(t, s, calls, func(i int) func(store.Queries) error {
		return func(q store.Queries) error {
			conn := groupcommit.Conn(q)
			if _, err := conn.Exec(ctx, `INSERT INTO pipe_t (id) VALUES (?)`, fmt.Sprintf("k%d", i)); err != nil {
				return err
			}
			if i == bad {
				_, swallowed = conn.Exec(ctx, `INSERT INTO pipe_t (id) VALUES ('dup')`)
			}
			return nil
		}
	})
	if swallowed == nil {
		t.Fatal("the duplicate insert succeeded")
	}
	rows := pipeRows(t, s)
	for i, err := range errs {
		k := fmt.Sprintf("k%d", i)
		if i == bad {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
				t.Errorf("the call that swallowed its refused insert: %v, want that unique violation", err)
			}
			if rows[k] {
				t.Errorf("its row %s was kept", k)
			}
			continue
		}
		if err != nil || !rows[k] {
			t.Errorf("call %d (not the failing one): %v, its row kept %v", i, err, rows[k])
		}
	}
}

// TestPipelineLostTransaction: when the transaction is lost between two
// calls (here its connection is killed), the savepoint statements held
// back ahead of the next call's first statement fail with it: that call
// and the one before, whose release never ran, both get the error and
// neither's work is there; the call after runs in a new transaction.
// Nothing acknowledged is lost.
func TestPipelineLostTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openWriters(t, 1)
	setupPipeTable(t, s)
	var pid uint32
	errs := oneBatch(t, s, 3, func(i int) func(store.Queries) error {
		return func(q store.Queries) error {
			conn := groupcommit.Conn(q)
			switch i {
			case 0:
				if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
					return err
				}
			case 1:
				var ok bool
				if err := s.Pool().QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&ok); err != nil || !ok {
					return fmt.Errorf("killing the batch's connection: %v %v", ok, err)
				}
			}
			_, err := conn.Exec(ctx, `INSERT INTO pipe_t (id) VALUES (?)`, fmt.Sprintf("k%d", i))
			return err
		}
	})
	rows := pipeRows(t, s)
	for i, err := range errs[:2] {
		if err == nil || rows[fmt.Sprintf("k%d", i)] {
			t.Errorf("call %d in the lost transaction: error %v, row kept %v; want an error and no row", i, err, rows[fmt.Sprintf("k%d", i)])
		}
	}
	if !strings.Contains(errs[1].Error(), "lost before this call began") {
		t.Errorf("the call whose savepoint failed: %v, want it to say the transaction was lost before it", errs[1])
	}
	if errs[2] != nil || !rows["k2"] {
		t.Errorf("the call after: %v, row kept %v; want it committed in a new transaction", errs[2], rows["k2"])
	}
}

// TestPipelineFailsBeforeSending: a call that fails before sending anything
// leaves the savepoint statements held back for it unsent; its rollback
// sends them first, so it undoes only its own (empty) work and not the
// call before it, whose release was among them.
func TestPipelineFailsBeforeSending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openWriters(t, 1)
	setupPipeTable(t, s)
	refused := errors.New("refused before any statement")
	errs := oneBatch(t, s, 3, func(i int) func(store.Queries) error {
		return func(q store.Queries) error {
			if i == 1 {
				return refused
			}
			_, err := groupcommit.Conn(q).Exec(ctx, `INSERT INTO pipe_t (id) VALUES (?)`, fmt.Sprintf("k%d", i))
			return err
		}
	})
	rows := pipeRows(t, s)
	if !errors.Is(errs[1], refused) {
		t.Errorf("the failing call: %v, want its own error", errs[1])
	}
	for _, i := range []int{0, 2} {
		if k := fmt.Sprintf("k%d", i); errs[i] != nil || !rows[k] {
			t.Errorf("call %d: %v, its row kept %v; want it committed", i, errs[i], rows[k])
		}
	}
}
