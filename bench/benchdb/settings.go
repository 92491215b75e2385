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

// WAL is what the whole server has written to its log and checkpointed so
// far (pg_stat_wal, pg_stat_bgwriter; PostgreSQL counts them per cluster,
// so other databases' work is in them too). A phase's cost is the
// difference of two readings.
type WAL struct {
	// Checkpoints are all checkpoints; Requested those the log's volume
	// (or a command) asked for before checkpoint_timeout.
	Checkpoints, Requested int64
	// Syncs are the log's flushes; Records, Bytes and FPI what it holds,
	// FPI the full-page images (a page's first change after a checkpoint).
	Syncs, Records, Bytes, FPI int64
}

// ReadWAL reads the server's WAL and checkpoint counters.
func ReadWAL(ctx context.Context, q Querier) (WAL, error) {
	var w WAL
	err := q.QueryRow(ctx, `SELECT b.checkpoints_timed + b.checkpoints_req, b.checkpoints_req, w.wal_sync, w.wal_records, w.wal_bytes::bigint, w.wal_fpi
		FROM pg_stat_bgwriter b, pg_stat_wal w`).Scan(&w.Checkpoints, &w.Requested, &w.Syncs, &w.Records, &w.Bytes, &w.FPI)
	if err != nil {
		return w, fmt.Errorf("reading the server's WAL and checkpoint counts: %w", err)
	}
	return w, nil
}
