package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// checkpointEvery is how often the WAL is copied into the database file.
// SQLite's own rule (every 1,000 pages, by the committing connection) is off
// on the writer; at Parley's write rates this keeps the WAL to a few MB.
const checkpointEvery = 200 * time.Millisecond

// checkpointer runs passive WAL checkpoints on a connection of its own, so
// the single writer never stops to do them: a passive checkpoint neither
// waits for nor blocks the writer and the readers.
type checkpointer struct {
	db       *sql.DB
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, roleCheckpointer))
	if err != nil {
		return nil, fmt.Errorf("opening the SQLite checkpoint connection %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// A failed checkpoint (busy, or the file is going away at
			// Close) is simply tried again at the next tick.
			_ = c.checkpoint(context.Background())
		}
	}
}

// checkpoint copies what it can of the WAL into the database file.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	_, err := c.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	return err
}

// close stops the checkpointer after one last checkpoint; closing twice is
// harmless.
func (c *checkpointer) close() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		_ = c.checkpoint(context.Background())
		_ = c.db.Close()
	})
}
