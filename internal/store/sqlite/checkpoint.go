package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the checkpointer copies the WAL into the
// database file.
const checkpointEvery = 200 * time.Millisecond

// writerCheckpointFrames is the WAL length (4 KiB frames, 32 MiB) past
// which the writer checkpoints after a commit, should the checkpointer fall
// behind; below restartFrames, so the writer's restart comes first.
const writerCheckpointFrames = 8000

// restartFrames is the WAL length (4 KiB frames) past which the checkpointer
// forces the WAL to start again. The writer's own checkpoints restart it as
// long as readers leave gaps; readers that never do (a reader is always in
// the middle of a query) starve every restart, and then this one waits for
// them, holding the writer back for that long (restartWait at most) —
// rarely, and only then.
const restartFrames = 16384

// restartWait is the checkpointer's busy timeout: how long a forced
// restart may wait for the readers still in the WAL to finish. It holds
// the writer all that time, so it is short, and a restart that did not
// get its readers is not tried again for restartBackoff. (With the
// connections' 10 s busy timeout, one reader that kept its snapshot —
// a long report, or the waiting-sessions benchmark's rewrite — held every
// write up for 10.8 s of every 11 s: a million timeouts fell minutes
// behind.)
const (
	restartWait    = 100 * time.Millisecond
	restartBackoff = 2 * time.Second
)

// checkpointer runs passive WAL checkpoints on a connection of its own, so
// the single writer never stops to do them: a passive checkpoint neither
// waits for nor blocks the writer and the readers.
type checkpointer struct {
	db *sql.DB
	// restart is restartFrames; tests lower it.
	restart atomic.Int64
	// backoff is restartBackoff; tests change it. notBefore is when the
	// next forced restart may be tried (the run goroutine's, or close's
	// once that has ended).
	backoff   time.Duration
	notBefore time.Time
	stop      chan struct{}
	stopOnce  sync.Once
	wg        sync.WaitGroup
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
	c := &checkpointer{db: db, backoff: restartBackoff, stop: make(chan struct{})}
	c.restart.Store(restartFrames)
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

// errRestartBusy reports a forced restart that readers still in the WAL
// kept from finishing within restartWait.
var errRestartBusy = errors.New("the WAL restart waited for its readers in vain")

// checkpoint copies what it can of the WAL into the database file, and
// forces a restart of a WAL that has grown long, unless the last one
// failed less than the backoff ago.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, frames, copied int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if int64(frames) < c.restart.Load() || time.Now().Before(c.notBefore) {
		return nil
	}
	err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied)
	if err == nil && busy != 0 {
		err = errRestartBusy
	}
	if err != nil {
		c.notBefore = time.Now().Add(c.backoff)
	}
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
