package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/groupcommit"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

func openWriters(t *testing.T, writers int) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testdb.PostgresURL(t), store.OpenOptions{GroupCommitWriters: writers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGroupCommitBatches: calls that queue while a batch runs share the
// next transaction (fewer commits than calls), and each is committed.
func TestGroupCommitBatches(t *testing.T) {
	t.Parallel()
	s := openWriters(t, 1)
	ctx := context.Background()
	calls0, tx0 := s.GroupCommitStats()
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// Holds the one writer while the others queue.
		if err := s.InTx(ctx, func(store.Queries) error { <-release; return nil }); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond)
	const n = 40
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(q store.Queries) error {
				_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: fmt.Sprintf("b%02d", i), Name: fmt.Sprintf("B%02d", i), Now: time.Now()})
				return err
			})
		})
	}
	time.Sleep(200 * time.Millisecond)
	s.CountStatementTexts(true)
	_, rt0, _ := s.StatementStats()
	close(release)
	wg.Wait()
	_, rt1, _ := s.StatementStats()
	// A call's savepoint, and the release of the one before, go ahead of
	// its first statement in the same round trip (its insert was
	// answered, so nothing of the call before is unconfirmed): no
	// savepoint statement is sent alone, and a call costs one round trip.
	savepoints, inserts := 0, 0
	for _, st := range s.StatementTexts() {
		switch {
		case strings.Contains(st.SQL, "parley_call"):
			if st.SQL != "SAVEPOINT parley_call" && st.SQL != "RELEASE parley_call" {
				t.Errorf("%d × %q: want SAVEPOINT and RELEASE, each held back", st.N, st.SQL)
			}
			if st.Batched != st.N || st.Ends != 0 {
				t.Errorf("%q: %d sent, %d of them with other statements, %d ending a round trip; want all ahead of a call's statement", st.SQL, st.N, st.Batched, st.Ends)
			}
			if st.SQL == "SAVEPOINT parley_call" {
				savepoints += int(st.N)
			}
		case strings.HasPrefix(st.SQL, "INSERT INTO projects"):
			inserts += int(st.N)
		}
	}
	if inserts != n || savepoints > n || savepoints < n/2 {
		t.Errorf("%d savepoints for %d calls, want at most one each (a batch of one call has none)", savepoints, inserts)
	}
	// The holder's COMMIT; then per batch BEGIN and COMMIT, and one round
	// trip a call (two before the savepoints were held back).
	calls, tx := s.GroupCommitStats()
	if rt := rt1 - rt0; rt > n+1+2*(tx-tx0) {
		t.Errorf("%d round trips for %d calls in %d transactions, want at most one a call beside each transaction's BEGIN and COMMIT", rt, n, tx-tx0)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if _, err := s.ProjectGet(ctx, fmt.Sprintf("b%02d", i)); err != nil {
			t.Fatalf("call %d committed but its project: %v", i, err)
		}
	}
	if calls-calls0 != n+1 || tx-tx0 >= n/2 {
		t.Fatalf("%d calls in %d transactions, want %d calls in few transactions", calls-calls0, tx-tx0, n+1)
	}
}

// TestGroupCommitCommitFails: when the shared COMMIT fails (here a deferred
// foreign key checked only then), every call of the batch gets the error
// and none of their work is there: nothing acknowledged is lost. The batch
// before it is unaffected.
func TestGroupCommitCommitFails(t *testing.T) {
	t.Parallel()
	s := openWriters(t, 1)
	ctx := context.Background()
	if err := s.InTx(ctx, func(q store.Queries) error {
		_, err := groupcommit.Conn(q).Exec(ctx, `CREATE TABLE gc_parent (id TEXT PRIMARY KEY);
			CREATE TABLE gc_child (id TEXT PRIMARY KEY, parent TEXT REFERENCES gc_parent (id) DEFERRABLE INITIALLY DEFERRED)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var first error
	var wg sync.WaitGroup
	wg.Go(func() {
		first = s.InTx(ctx, func(q store.Queries) error {
			<-release
			_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "first", Name: "F", Now: time.Now()})
			return err
		})
	})
	time.Sleep(50 * time.Millisecond)
	const n = 20
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(q store.Queries) error {
				if i == n/2 {
					// Fine now; fails the COMMIT.
					_, err := groupcommit.Conn(q).Exec(ctx, `INSERT INTO gc_child (id, parent) VALUES ('orphan', 'nobody')`)
					return err
				}
				_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: fmt.Sprintf("c%02d", i), Name: fmt.Sprintf("C%02d", i), Now: time.Now()})
				return err
			})
		})
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	if first != nil {
		t.Fatalf("the batch before: %v", first)
	}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "committing transaction") {
			t.Fatalf("call %d: InTx = %v, want the commit's error", i, err)
		}
		if i == n/2 {
			continue
		}
		if _, err := s.ProjectGet(ctx, fmt.Sprintf("c%02d", i)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("call %d failed but its project: %v", i, err)
		}
	}
	// The writer goes on with new transactions.
	if err := s.InTx(ctx, func(q store.Queries) error {
		_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "after", Name: "A", Now: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitCancelledCaller: a caller whose context ends while its fn
// runs fails its own call (its statements return the context's error),
// without ending the transaction the others share.
func TestGroupCommitCancelledCaller(t *testing.T) {
	t.Parallel()
	s := openWriters(t, 1)
	ctx := context.Background()
	release := make(chan struct{})
	var wg sync.WaitGroup
	var other error
	wg.Go(func() {
		other = s.InTx(ctx, func(store.Queries) error { <-release; return nil })
	})
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	var cancelled, after error
	wg.Go(func() {
		cancelled = s.InTx(cctx, func(q store.Queries) error {
			cancel()
			_, err := q.ProjectCreate(cctx, store.ProjectCreateParams{ID: "cancelled", Name: "X", Now: time.Now()})
			return err
		})
	})
	wg.Go(func() {
		after = s.InTx(ctx, func(q store.Queries) error {
			_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "kept", Name: "K", Now: time.Now()})
			return err
		})
	})
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	if other != nil || after != nil {
		t.Fatalf("other calls: %v, %v", other, after)
	}
	if cancelled == nil {
		t.Fatal("the cancelled call succeeded")
	}
	if _, err := s.ProjectGet(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ProjectGet(ctx, "cancelled"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelled call's project: %v", err)
	}
}
