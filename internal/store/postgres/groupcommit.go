package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store/groupcommit"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// Group commit (package groupcommit). Each PostgreSQL commit waits for its
// WAL flush; an exchange took three, each its own. Now the InTx calls
// queued at once share one transaction, a savepoint each, and one flush.
// Several batches run at once, each on a pool connection, so that a batch
// waiting on a row lock or on its flush does not stop the others, and the
// statements of concurrent callers still overlap on the server.

// defaultWriters is how many batches run at once when OpenOptions name
// none: enough to keep a few server processes busy between flushes, few
// enough that batches stay large under load.
const defaultWriters = 8

// maxBatch bounds the calls sharing one transaction (see groupcommit).
const maxBatch = 64

func newGroupCommit(s *Store, writers int) *groupcommit.Committer {
	if writers <= 0 {
		writers = defaultWriters
	}
	return groupcommit.New(groupcommit.Config{
		Begin:    s.beginBatch,
		Writers:  writers,
		MaxBatch: maxBatch,
		Chain:    true,
		// SingleKeepsTx stays nil: any failed statement aborts a
		// PostgreSQL transaction, so every call needs its savepoint —
		// or, replayable (store.Replayable), none, the transaction run
		// again with savepoints should one fail.
		Optimistic: true,
	})
}

// beginBatch starts a batch's transaction on a pool connection. Its context
// is never cancelled: no caller's context may end the transaction the
// others share (pgx closes the connection when a query's context ends).
func (s *Store) beginBatch() (groupcommit.Tx, error) {
	tx, err := s.pool.Begin(context.Background())
	if err != nil {
		return nil, err
	}
	conn := &pipeConn{tx: tx}
	return &batchTx{tx: tx, conn: conn, q: sqlstore.New(conn, conn, s.dialect, s.inserter(tx, conn))}, nil
}

// batchTx is a batch's transaction.
type batchTx struct {
	tx   pgx.Tx
	conn *pipeConn
	q    *sqlstore.Queries
}

func (t *batchTx) Conn() sqlstore.Conn        { return t.conn }
func (t *batchTx) Queries() *sqlstore.Queries { return t.q }
func (t *batchTx) Commit() error              { return t.tx.Commit(context.Background()) }
func (t *batchTx) Rollback() error            { return t.tx.Rollback(context.Background()) }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// GroupCommitStats reports how many InTx calls have run and in how many
// transactions: their ratio is the average batch.
func (s *Store) GroupCommitStats() (calls, transactions int64) {
	return s.gc.Stats()
}
