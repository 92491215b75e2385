package postgres

import (
	"context"
	"fmt"
)

// Packaged defaults of the two settings ServerAdvice looks at: a server
// still at them was never sized for its load.
const (
	defaultSharedBuffers = 128 << 20
	defaultMaxWALSize    = 1 << 30
)

// ServerAdvice reads the server settings that bound a sustained write load
// and returns a sentence for each one still at PostgreSQL's packaged
// default, for the log at start (docs/operations.md, "PostgreSQL's
// memory and checkpoints", says what they cost and what to set).
func (s *Store) ServerAdvice(ctx context.Context) ([]string, error) {
	var buffers, maxWAL int64
	err := s.pool.QueryRow(ctx, `SELECT pg_size_bytes(current_setting('shared_buffers')), pg_size_bytes(current_setting('max_wal_size'))`).Scan(&buffers, &maxWAL)
	if err != nil {
		return nil, fmt.Errorf("reading the server's shared_buffers and max_wal_size: %w", err)
	}
	return serverAdvice(buffers, maxWAL), nil
}

// serverAdvice is ServerAdvice's rule, given the two settings in bytes.
// Only the packaged defaults (or less) are named: past them the right
// size depends on the machine and the load, which Parley cannot see.
func serverAdvice(sharedBuffers, maxWALSize int64) []string {
	var out []string
	if sharedBuffers <= defaultSharedBuffers {
		out = append(out, fmt.Sprintf("PostgreSQL's shared_buffers is %d MB, its packaged default: once the sessions and messages outgrow it, "+
			"backends write out dirty pages themselves; give it about a quarter of the database server's memory", sharedBuffers>>20))
	}
	if maxWALSize <= defaultMaxWALSize {
		out = append(out, fmt.Sprintf("PostgreSQL's max_wal_size is %d MB, its packaged default: under sustained load it checkpoints every few seconds, "+
			"and the first change of each page after a checkpoint logs the whole page; raise it (8GB or more)", maxWALSize>>20))
	}
	return out
}
