package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// BenchmarkInTxConcurrent measures InTx under the load group commit is for:
// many goroutines each committing one small row through a store method.
// Compare with BenchmarkRawInsertCommit, the floor of one transaction per
// row and of one transaction per 64 rows on the same DSN.
func BenchmarkInTxConcurrent(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	var n atomic.Int64
	now := time.Now().UTC()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			err := s.InTx(ctx, func(q store.Queries) error {
				_, err := q.ProjectCreate(ctx, store.ProjectCreateParams{ID: fmt.Sprintf("bench-%d", i), Name: fmt.Sprintf("Bench %d", i), Now: now})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if calls, batches := s.gc.Stats(); batches > 0 {
		b.ReportMetric(float64(calls)/float64(batches), "calls/tx")
	}
}

// BenchmarkRawInsertCommit is the raw limit beside BenchmarkInTxConcurrent:
// database/sql on the write DSN, no store, no cache, one goroutine (there is
// one write connection anyway). "tx=1" pays BEGIN/COMMIT per row, as InTx did
// before group commit; "tx=64" commits every maxBatch rows, the best group
// commit can do.
func BenchmarkRawInsertCommit(b *testing.B) {
	for _, per := range []int{1, maxBatch} {
		b.Run(fmt.Sprintf("tx=%d", per), func(b *testing.B) {
			db, err := sql.Open("sqlite", dsn(filepath.Join(b.TempDir(), "raw.db"), roleWriter))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, `CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			ins, err := db.PrepareContext(ctx, `INSERT INTO t (id, name, created_at) VALUES (?, ?, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			defer ins.Close()
			now := time.Now().UTC()
			b.ResetTimer()
			for i := 0; i < b.N; {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				st := tx.StmtContext(ctx, ins)
				for j := 0; j < per && i < b.N; j, i = j+1, i+1 {
					if _, err := st.ExecContext(ctx, fmt.Sprintf("raw-%d", i), fmt.Sprintf("Raw %d", i), now); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// openBench opens a migrated store in a temporary directory, closed when b ends.
func openBench(tb testing.TB) *Store {
	tb.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(tb.TempDir(), "parley.db"), store.OpenOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}
