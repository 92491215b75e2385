package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

var t0 = time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)

// result is how an InTx call ended: returned err, panicked, or neither
// (runtime.Goexit).
type result struct {
	err      error
	returned bool
	panicked bool
	panicVal any
}

// start runs InTx in a new goroutine and reports how it ended.
func start(s *Store, ctx context.Context, fn func(q store.Queries) error) <-chan result {
	ch := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if !r.returned {
				if p := recover(); p != nil {
					r.panicked, r.panicVal = true, p
				}
			}
			ch <- r
		}()
		r.err = s.InTx(ctx, fn)
		r.returned = true
	}()
	return ch
}

// wait returns ch's result, failing the test if it takes too long.
func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("InTx did not return")
		return result{}
	}
}

// gate occupies the writer with a call whose fn waits for release, so that
// the calls submitted meanwhile queue and are taken as one batch.
func gate(t *testing.T, s *Store) (release func(), done <-chan result) {
	t.Helper()
	entered, rel := make(chan struct{}), make(chan struct{})
	done = start(s, context.Background(), func(store.Queries) error {
		close(entered)
		<-rel
		return nil
	})
	<-entered
	var once sync.Once
	release = func() { once.Do(func() { close(rel) }) }
	t.Cleanup(release)
	return release, done
}

// waitQueued waits until n calls wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.gc.Queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", s.gc.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// begins records the transactions the writer begins and how many calls
// each was begun for.
type begins struct {
	mu    sync.Mutex
	sizes []int
	tx    *sql.Tx // the latest
}

func watchBegins(s *Store) *begins {
	b := &begins{}
	s.testBegin = func(tx *sql.Tx, n int) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.sizes, b.tx = append(b.sizes, n), tx
	}
	return b
}

func (b *begins) get() ([]int, *sql.Tx) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.sizes...), b.tx
}

func createProject(ctx context.Context, q store.Queries, id string) error {
	_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: id, Name: "Project " + id, Now: t0})
	return err
}

// exists reports whether project id was committed.
func exists(t *testing.T, s *Store, id string) bool {
	t.Helper()
	_, err := s.ProjectGet(context.Background(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestGroupCommitConcurrent: many concurrent calls all commit, in fewer
// transactions than calls.
func TestGroupCommitConcurrent(t *testing.T) {
	t.Parallel()
	s := openBench(t)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.InTx(ctx, func(q store.Queries) error { return createProject(ctx, q, fmt.Sprintf("p%03d", i)) })
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.ProjectCount(ctx); err != nil || got != n {
		t.Fatalf("ProjectCount = %d, %v; want %d", got, err, n)
	}
	calls, batches := s.gc.Stats()
	if calls != n || batches >= calls {
		t.Fatalf("%d calls in %d transactions: want %d calls, batched", calls, batches, n)
	}
	t.Logf("%d calls in %d transactions", calls, batches)
}

// TestGroupCommitFailedCall: one call of a batch fails in each way a call
// can; its work is undone and it hears why, while the calls before and after
// it in the same batch commit — unless SQLite lost the transaction, when the
// calls before it hear so and the calls after it commit in a new one.
func TestGroupCommitFailedCall(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		// fn is the failing call's; it creates project "bad" first.
		fn func(ctx context.Context, q store.Queries, tx *sql.Tx) error
		// check checks how the failing call ended.
		check func(t *testing.T, r result)
		// lost: SQLite rolled back the whole transaction under the batch.
		lost bool
	}{
		{
			name: "error after a write",
			fn:   func(context.Context, store.Queries, *sql.Tx) error { return boom },
			check: func(t *testing.T, r result) {
				if r.err != boom { // unchanged, not merely wrapped
					t.Fatalf("err = %v, want boom itself", r.err)
				}
			},
		},
		{
			name: "unique violation",
			fn: func(ctx context.Context, q store.Queries, _ *sql.Tx) error {
				_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: "bad2", Name: "Project ok1", Now: t0})
				return err
			},
			check: func(t *testing.T, r result) {
				if !errors.Is(r.err, store.ErrConflict) {
					t.Fatalf("err = %v, want ErrConflict", r.err)
				}
			},
		},
		{
			name: "panic",
			fn:   func(context.Context, store.Queries, *sql.Tx) error { panic(boom) },
			check: func(t *testing.T, r result) {
				if !r.panicked || r.panicVal != boom {
					t.Fatalf("ended %+v, want the panic re-raised in the caller with its value", r)
				}
			},
		},
		{
			name: "goexit",
			fn:   func(context.Context, store.Queries, *sql.Tx) error { runtime.Goexit(); return nil },
			check: func(t *testing.T, r result) {
				if r.returned || r.panicked {
					t.Fatalf("ended %+v, want runtime.Goexit in the caller", r)
				}
			},
		},
		{
			name: "transaction lost, error",
			fn: func(ctx context.Context, _ store.Queries, tx *sql.Tx) error {
				// What SQLite does itself on SQLITE_FULL, IOERR, BUSY…
				_, err := tx.ExecContext(ctx, "ROLLBACK")
				return errors.Join(boom, err)
			},
			check: func(t *testing.T, r result) {
				if !errors.Is(r.err, boom) {
					t.Fatalf("err = %v, want boom", r.err)
				}
			},
			lost: true,
		},
		{
			name: "transaction lost, error swallowed",
			fn: func(ctx context.Context, _ store.Queries, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "ROLLBACK")
				return err
			},
			check: func(t *testing.T, r result) {
				if r.err == nil {
					t.Fatal("success reported for work that was rolled back")
				}
			},
			lost: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openBench(t)
			bg := watchBegins(s)
			ctx := context.Background()
			release, gated := gate(t, s)
			ok1 := start(s, ctx, func(q store.Queries) error { return createProject(ctx, q, "ok1") })
			waitQueued(t, s, 1)
			bad := start(s, ctx, func(q store.Queries) error {
				if err := createProject(ctx, q, "bad"); err != nil {
					return err
				}
				_, tx := bg.get()
				return tc.fn(ctx, q, tx)
			})
			waitQueued(t, s, 2)
			ok2 := start(s, ctx, func(q store.Queries) error { return createProject(ctx, q, "ok2") })
			waitQueued(t, s, 3)
			release()
			if r := wait(t, gated); r.err != nil {
				t.Fatal(r.err)
			}
			tc.check(t, wait(t, bad))
			r1, r2 := wait(t, ok1), wait(t, ok2)
			if r2.err != nil {
				t.Fatalf("the call after the failed one: %v", r2.err)
			}
			if exists(t, s, "bad") {
				t.Fatal("the failed call's write was committed")
			}
			if !exists(t, s, "ok2") {
				t.Fatal("the call after the failed one was not committed")
			}
			sizes, _ := bg.get()
			if tc.lost {
				if r1.err == nil || exists(t, s, "ok1") {
					t.Fatalf("the call before the lost transaction: err %v, committed %v; want an error and nothing committed", r1.err, exists(t, s, "ok1"))
				}
				// ok2 ran in a new transaction.
				if want := []int{1, 3, 1}; fmt.Sprint(sizes) != fmt.Sprint(want) {
					t.Fatalf("transactions begun for %v calls, want %v", sizes, want)
				}
			} else {
				if r1.err != nil || !exists(t, s, "ok1") {
					t.Fatalf("the call before the failed one: err %v, committed %v", r1.err, exists(t, s, "ok1"))
				}
				if want := []int{1, 3}; fmt.Sprint(sizes) != fmt.Sprint(want) {
					t.Fatalf("transactions begun for %v calls, want %v (one batch)", sizes, want)
				}
			}
			// And the store keeps working.
			if err := s.InTx(ctx, func(q store.Queries) error { return createProject(ctx, q, "after") }); err != nil {
				t.Fatal(err)
			}
			if !exists(t, s, "after") {
				t.Fatal("a later call was not committed")
			}
		})
	}
}

// TestGroupCommitCancelQueued: a caller whose context ends while it waits
// for the writer returns at once, and its fn never runs.
func TestGroupCommitCancelQueued(t *testing.T) {
	t.Parallel()
	s := openBench(t)
	var ran atomic.Bool
	fn := func(store.Queries) error { ran.Store(true); return nil }

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.InTx(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Fatalf("InTx with an ended context = %v, want context.Canceled", err)
	}

	release, gated := gate(t, s)
	ctx, cancel = context.WithCancel(context.Background())
	queued := start(s, ctx, fn)
	waitQueued(t, s, 1)
	cancel()
	// The writer is still busy: the caller must not wait for it.
	if r := wait(t, queued); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("queued InTx = %+v, want context.Canceled", r)
	}
	release()
	wait(t, gated)
	// The writer has passed the abandoned call once a later one is done.
	if err := s.InTx(context.Background(), func(store.Queries) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Fatal("fn ran for a caller that had given up")
	}
}

// TestGroupCommitCancelRunning: a caller's context ending while its fn runs
// cannot undo the other calls of the batch. Its own call commits what it
// did if fn succeeds anyway, and is undone if fn fails.
func TestGroupCommitCancelRunning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// fn runs after the call created project "c" and got its context
		// cancelled.
		fn        func(ctx context.Context, q store.Queries) error
		committed bool
	}{
		{"fn returns nil", func(context.Context, store.Queries) error { return nil }, true},
		{"fn writes again", func(ctx context.Context, q store.Queries) error { return createProject(ctx, q, "c2") }, false},
		{"cancelled while writing", func(ctx context.Context, q store.Queries) error {
			// Keep writing while the context ends under a statement, the
			// moment modernc would interrupt the connection.
			name := "renamed"
			for i := 0; ; i++ {
				if _, err := q.ProjectUpdate(ctx, store.ProjectUpdateParams{ID: "c", Name: &name, Now: t0.Add(time.Duration(i))}); err != nil {
					return err
				}
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openBench(t)
			bg := watchBegins(s)
			bgctx := context.Background()
			release, gated := gate(t, s)
			ok1 := start(s, bgctx, func(q store.Queries) error { return createProject(bgctx, q, "ok1") })
			waitQueued(t, s, 1)
			ctx, cancel := context.WithCancel(bgctx)
			defer cancel()
			c := start(s, ctx, func(q store.Queries) error {
				if err := createProject(ctx, q, "c"); err != nil {
					return err
				}
				if tc.name == "cancelled while writing" {
					time.AfterFunc(5*time.Millisecond, cancel)
				} else {
					cancel()
				}
				return tc.fn(ctx, q)
			})
			waitQueued(t, s, 2)
			ok2 := start(s, bgctx, func(q store.Queries) error { return createProject(bgctx, q, "ok2") })
			waitQueued(t, s, 3)
			release()
			wait(t, gated)
			rc := wait(t, c)
			for _, ch := range []<-chan result{ok1, ok2} {
				if r := wait(t, ch); r.err != nil {
					t.Fatal(r.err)
				}
			}
			if !exists(t, s, "ok1") || !exists(t, s, "ok2") {
				t.Fatal("the other calls of the batch were not committed")
			}
			if got := exists(t, s, "c"); got != tc.committed || (rc.err == nil) != tc.committed {
				t.Fatalf("cancelled call: err %v, committed %v; want committed %v", rc.err, got, tc.committed)
			}
			if !tc.committed && !errors.Is(rc.err, context.Canceled) {
				t.Fatalf("cancelled call err = %v, want context.Canceled", rc.err)
			}
			if sizes, _ := bg.get(); fmt.Sprint(sizes) != "[1 3]" {
				t.Fatalf("transactions begun for %v calls, want [1 3]", sizes)
			}
		})
	}
}

// TestGroupCommitClose: Close lets the calls already queued run and commit,
// InTx during and after Close fails at once, and the writer is gone after.
func TestGroupCommitClose(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "parley.db")
	ctx := context.Background()
	s, err := Open(ctx, path, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	release, gated := gate(t, s)
	const n = 10
	var queued []<-chan result
	for i := range n {
		queued = append(queued, start(s, ctx, func(q store.Queries) error { return createProject(ctx, q, fmt.Sprint("q", i)) }))
	}
	waitQueued(t, s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		if s.gc.Closed() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not start")
		}
	}
	if r := wait(t, start(s, ctx, func(store.Queries) error { return nil })); !errors.Is(r.err, errClosed) {
		t.Fatalf("InTx while closing = %+v, want errClosed", r)
	}
	release()
	for _, ch := range append(queued, gated) {
		if r := wait(t, ch); r.err != nil {
			t.Fatalf("a call queued before Close: %v", r.err)
		}
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close hangs")
	}
	// Close returned, so the writer has exited (Close waits for it).
	if r := wait(t, start(s, ctx, func(store.Queries) error { return nil })); !errors.Is(r.err, errClosed) {
		t.Fatalf("InTx after Close = %+v, want errClosed", r)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s, err = Open(ctx, path, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.ProjectCount(ctx); err != nil || got != n {
		t.Fatalf("%d projects after reopening (%v), want the %d queued before Close", got, err, n)
	}
}

// TestGroupCommitAfterCommit: a call's AfterCommit hooks run once the batch
// committed (its rows are visible to other connections then), before InTx
// returns, and never for a call whose work was rolled back.
func TestGroupCommitAfterCommit(t *testing.T) {
	t.Parallel()
	s := openBench(t)
	ctx := context.Background()
	type afterCommitter interface{ AfterCommit(func()) }
	var okRan, okVisible, badRan atomic.Bool
	release, gated := gate(t, s)
	ok := start(s, ctx, func(q store.Queries) error {
		q.(afterCommitter).AfterCommit(func() {
			okRan.Store(true)
			okVisible.Store(exists(t, s, "ok"))
		})
		return createProject(ctx, q, "ok")
	})
	waitQueued(t, s, 1)
	bad := start(s, ctx, func(q store.Queries) error {
		q.(afterCommitter).AfterCommit(func() { badRan.Store(true) })
		return errors.New("boom")
	})
	waitQueued(t, s, 2)
	release()
	wait(t, gated)
	if r := wait(t, ok); r.err != nil {
		t.Fatal(r.err)
	}
	if !okRan.Load() || !okVisible.Load() {
		t.Fatalf("hook ran %v, saw the committed row %v; want both before InTx returned", okRan.Load(), okVisible.Load())
	}
	if r := wait(t, bad); r.err == nil {
		t.Fatal("the failing call succeeded")
	}
	if badRan.Load() {
		t.Fatal("the hook of a rolled-back call ran")
	}
}

// TestGroupCommitSingleWrites: the Store's own writes (one statement each,
// outside InTx) share a batch without savepoints; one that fails on a
// constraint is undone by SQLite alone and the others, before and after
// it, commit.
func TestGroupCommitSingleWrites(t *testing.T) {
	t.Parallel()
	s := openBench(t)
	bg := watchBegins(s)
	ctx := context.Background()
	if _, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "taken", Name: "Taken", Now: t0}); err != nil {
		t.Fatal(err)
	}
	single := func(id, name string) <-chan error {
		ch := make(chan error, 1)
		go func() {
			_, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: id, Name: name, Now: t0})
			ch <- err
		}()
		return ch
	}
	release, gated := gate(t, s)
	first := single("s1", "Single one")
	waitQueued(t, s, 1)
	dup := single("taken", "Taken again") // primary key violation
	waitQueued(t, s, 2)
	inTx := start(s, ctx, func(q store.Queries) error { return createProject(ctx, q, "tx1") })
	waitQueued(t, s, 3)
	last := single("s2", "Single two")
	waitQueued(t, s, 4)
	release()
	if r := wait(t, gated); r.err != nil {
		t.Fatal(r.err)
	}
	if err := <-dup; !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate single write: %v, want ErrConflict", err)
	}
	for name, ch := range map[string]<-chan error{"first": first, "last": last} {
		if err := <-ch; err != nil {
			t.Fatalf("%s single write: %v", name, err)
		}
	}
	if r := wait(t, inTx); r.err != nil {
		t.Fatal(r.err)
	}
	for _, id := range []string{"s1", "s2", "tx1"} {
		if !exists(t, s, id) {
			t.Errorf("%s was not committed", id)
		}
	}
	if sizes, _ := bg.get(); fmt.Sprint(sizes[len(sizes)-1:]) != "[4]" {
		t.Fatalf("transactions begun for %v calls, want the last one for all 4", sizes)
	}
}
