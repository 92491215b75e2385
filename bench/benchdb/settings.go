package benchdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier is what Settings reads through: a connection or a pool.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Settings names the server settings that decide how a sustained write
// load fares, for a benchmark's header: the buffers that hold the working
// set (dirty pages past them are written out by the backends themselves),
// and the log's size between checkpoints (the first change of a page after
// a checkpoint logs the whole page, so checkpoints every few seconds
// multiply the log written).
func Settings(ctx context.Context, q Querier) (string, error) {
	var buffers, maxWAL, timeout, compression string
	err := q.QueryRow(ctx, `SELECT current_setting('shared_buffers'), current_setting('max_wal_size'),
		current_setting('checkpoint_timeout'), current_setting('wal_compression')`).Scan(&buffers, &maxWAL, &timeout, &compression)
	if err != nil {
		return "", fmt.Errorf("reading the server's settings: %w", err)
	}
	return fmt.Sprintf("shared_buffers %s, max_wal_size %s, checkpoint_timeout %s, wal_compression %s", buffers, maxWAL, timeout, compression), nil
}
