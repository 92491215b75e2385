package sqlite

import (
	"context"
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
