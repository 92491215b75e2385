package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// TestWALStaysBounded: with the writer busy and readers always reading —
// no gap in which the writer's own checkpoints can start the WAL again —
// the WAL still does not keep what it grew to: the checkpointer forces a
// restart and gives the space back. (With a checkpointer beside the writer
// and none by the writer, the WAL grew by gigabytes in the benchmark; a WAL
// file never shrinks by itself.)
func TestWALStaysBounded(t *testing.T) {
	t.Parallel()
	if raceDetector {
		t.Skip("measures the WAL's size, not concurrency: ten times slower under -race")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.cp.restart.Store(2048) // 8 MB, to see it within a short test
	var stop atomic.Bool
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for !stop.Load() {
				_, _ = s.ProjectCount(ctx)
			}
		}()
	}
	defer func() { stop.Store(true); readers.Wait() }()
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// Write until the WAL has grown well past the restart size (how many
	// writes that takes depends on how they batch), or has been seen to
	// pass it and come back (on a loaded machine the readers leave gaps
	// in which the restart succeeds early, so it may never reach twice
	// the size), within a bound of writes and of time.
	const writers, most, enough, restartSize = 32, 2000, 16 << 20, 8 << 20
	var wg sync.WaitGroup
	var peak atomic.Int64
	var cameBack atomic.Bool
	until := time.Now().Add(time.Minute)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < most && peak.Load() < enough && !cameBack.Load() && time.Now().Before(until); i++ {
				err := s.InTx(ctx, func(q store.Queries) error {
					_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: fmt.Sprintf("p-%d-%d", w, i), Name: fmt.Sprintf("Project %d %d %0400d", w, i, 0), Now: time.Now()})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				n := walSize()
				if n > peak.Load() {
					peak.Store(n)
				}
				if peak.Load() > restartSize && n < restartSize {
					cameBack.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if peak.Load() <= restartSize {
		t.Fatalf("the WAL peaked at %.1f MB: the test did not write enough to see a restart", float64(peak.Load())/(1<<20))
	}
	// The readers go on; within a few checkpoints the space is back.
	deadline := time.Now().Add(10 * time.Second)
	for walSize() > restartSize {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL kept %.1f MB (peak %.1f MB): never restarted", float64(walSize())/(1<<20), float64(peak.Load())/(1<<20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("WAL peak %.1f MB, now %.1f MB", float64(peak.Load())/(1<<20), float64(walSize())/(1<<20))
}

// TestRestartHoldsTheWriterBriefly: a forced restart that a reader keeps
// from finishing (its snapshot is in the WAL) gives up within about
// restartWait, holding the writer only that long, and is not tried again
// until the backoff has passed; once the reader is gone it succeeds. With
// the 10 s busy timeout of the other connections it held every write up
// for 10 s each time.
func TestRestartHoldsTheWriterBriefly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	open := func(role int) *sql.DB {
		db, err := sql.Open("sqlite", dsn(path, role))
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	w := open(roleWriter)
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	write := func() time.Duration {
		t.Helper()
		start := time.Now()
		if _, err := w.ExecContext(ctx, `INSERT INTO t VALUES (?)`, fmt.Sprintf("%0500d", 0)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	for range 50 {
		write()
	}
	// The reader's snapshot ends at a frame of the WAL, none of which is
	// in the database file yet: a restart has to wait for it.
	r := open(roleReader)
	tx, err := r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 50 {
		t.Fatalf("the reader read %d rows (%v), want 50", n, err)
	}
	write()
	c := &checkpointer{db: open(roleCheckpointer), backoff: time.Hour}
	c.restart.Store(1)
	// The writer commits meanwhile: it waits for the restart, no longer.
	wrote := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		time.Sleep(restartWait / 4)
		wrote <- write()
	}()
	if err := c.checkpoint(ctx); !errors.Is(err, errRestartBusy) {
		t.Fatalf("a restart with a reader in the WAL: %v, want errRestartBusy", err)
	}
	// Far below the other connections' 10 s: the writer is held a few
	// busy-handler sleeps past restartWait at most.
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the restart gave up after %v, want about %v", took, restartWait)
	}
	if held := <-wrote; held > 3*time.Second {
		t.Fatalf("a write waited %v behind the restart", held)
	}
	// Within the backoff the restart is not tried: the WAL keeps its
	// frames even once the reader is gone.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := c.checkpoint(ctx); err != nil {
		t.Fatalf("a checkpoint within the backoff: %v", err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the WAL was restarted within the backoff (%v)", err)
	}
	c.notBefore = time.Time{}
	if err := c.checkpoint(ctx); err != nil {
		t.Fatalf("the restart with no reader left: %v", err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil {
		t.Fatal(err)
	} else if fi.Size() != 0 {
		t.Fatalf("the WAL kept %d bytes after the restart", fi.Size())
	}
}
