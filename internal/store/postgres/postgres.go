// Package postgres is the scale-out database: PostgreSQL through a pgx pool,
// shared by any number of parley processes. Queries are shared with SQLite
// (sqlstore); this package owns connections, migrations and the job client.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/groupcommit"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open PostgreSQL database.
type Store struct {
	*sqlstore.Queries
	pool    *pgxpool.Pool
	jobs    *river.Client[pgx.Tx]
	dialect sqlstore.Dialect
	// gc batches concurrent InTx calls into shared transactions.
	gc *groupcommit.Committer
	// counter counts statements and their round trips (StatementStats).
	counter *statementCounter
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url and checks it answers. It does not
// migrate; call Migrate.
func Open(ctx context.Context, url string, opts store.OpenOptions) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing DATABASE_URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (4 on this machine) is shared by HTTP handlers, the
		// job workers and River's listener; too few for a server.
		cfg.MaxConns = 32
	}
	counter := &statementCounter{}
	cfg.ConnConfig.Tracer = counter
	where := net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL at %s: %w", where, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL at %s (database %q): %s", where, cfg.ConnConfig.Database, conciseError(err))
	}
	s := &Store{pool: pool, dialect: Dialect(), counter: counter}
	if opts.Jobs != nil {
		rc := *opts.Jobs
		if rc.Logger == nil {
			rc.Logger = opts.Logger
		}
		s.jobs, err = river.NewClient(riverpgxv5.New(pool), &rc)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("creating the job client: %w", err)
		}
	}
	s.gc = newGroupCommit(s, opts.GroupCommitWriters)
	s.Queries = sqlstore.New(pgConn{pool}, pgConn{pool}, s.dialect, s.inserter(nil, nil))
	return s, nil
}

// conciseError drops pgx's nested connection chatter down to its last cause,
// so an unreachable server gives one readable line.
func conciseError(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Err.Error()
	}
	return err.Error()
}

// Dialect describes PostgreSQL to the shared queries.
func Dialect() sqlstore.Dialect {
	is := func(code string) func(error) bool {
		return func(err error) bool {
			var e *pgconn.PgError
			return errors.As(err, &e) && e.Code == code
		}
	}
	return sqlstore.Dialect{
		Name:                  "postgres",
		IsUniqueViolation:     is("23505"),
		IsForeignKeyViolation: is("23503"),
		ForUpdate:             " FOR UPDATE",
		LockKey:               "pg_advisory_xact_lock(hashtextextended(?, 0))",
		EnsureInOneStatement:  true,
		UpdateInWith:          true,
	}
}

func (s *Store) inserter(tx pgx.Tx, conn *pipeConn) func(context.Context, river.JobArgs, *river.InsertOpts) error {
	if s.jobs == nil {
		return nil
	}
	return func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
		var err error
		if tx != nil {
			// Inside InTx the transaction is shared by a batch: the
			// caller's context must not interrupt it.
			if ctx, err = detach(ctx); err != nil {
				return err
			}
			// River writes on the transaction directly: the writes
			// queued before it go first.
			if err = conn.Flush(ctx); err != nil {
				return err
			}
			_, err = s.jobs.InsertTx(ctx, tx, args, opts)
		} else {
			_, err = s.jobs.Insert(ctx, args, opts)
		}
		return err
	}
}

// InTx implements store.Store. Concurrent calls share one transaction (group
// commit, see groupcommit.go), each in its own savepoint: fn's error undoes
// only fn's work and comes back unchanged, and nil comes back only after the
// shared transaction committed; if the commit fails, every call of the batch
// gets its error. A ctx that ends before fn starts returns ctx.Err() without
// running fn; once fn has started, the call waits for the commit whatever
// ctx says, and statements after ctx ended return ctx.Err() to fn, so that
// one caller's cancellation cannot end the transaction the others share. A
// panic in fn is re-raised in the caller's goroutine with the same value.
func (s *Store) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.gc.Do(ctx, fn)
}

// Migrate applies River's migrations, then Parley's. Concurrent callers
// (several processes starting at once) are serialised by an advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring a connection to migrate: %w", err)
	}
	defer conn.Release()
	const lockKey = 0x7061726c6579 // "parley"
	// Polled, not waited for: a process blocked in pg_advisory_lock is a
	// statement running with a snapshot, and a migration's CREATE INDEX
	// CONCURRENTLY waits for every such snapshot to end — while the
	// waiting process waits for the migrating one's lock.
	for {
		var locked bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&locked); err != nil {
			return fmt.Errorf("locking for migrations: %w", err)
		}
		if locked {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for another process's migrations: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey) //nolint:errcheck // unlocks on disconnect anyway

	// River's tables first: Parley's migrations may clean up its rows
	// (00011 deletes jobs of retired kinds).
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
	if err != nil {
		return fmt.Errorf("preparing job-queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("applying job-queue migrations: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// Jobs implements store.Store.
func (s *Store) Jobs() store.JobClient {
	if s.jobs == nil {
		return nil
	}
	return s.jobs
}

// StatisticsRefresh implements store.Store: it analyzes this schema's
// tables whose statistics are behind (see analyzeBase), one at a time.
func (s *Store) StatisticsRefresh(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT st.relname FROM pg_stat_user_tables st JOIN pg_class c ON c.oid = st.relid
		WHERE st.schemaname = current_schema() AND st.n_mod_since_analyze > $1 + $2 * greatest(c.reltuples, 0)
		AND coalesce(greatest(st.last_analyze, st.last_autoanalyze), '-infinity') < now() - make_interval(secs => $3)
		ORDER BY st.relname`, analyzeBase, analyzeShare, analyzeEvery.Seconds())
	if err != nil {
		return nil, fmt.Errorf("finding tables whose statistics are behind: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("finding tables whose statistics are behind: %w", err)
	}
	for i, t := range tables {
		if _, err := s.pool.Exec(ctx, `ANALYZE `+pgx.Identifier{t}.Sanitize()); err != nil {
			return tables[:i], fmt.Errorf("analyzing %s: %w", t, err)
		}
	}
	return tables, nil
}

// What StatisticsRefresh counts as behind: autovacuum's own rule (50 rows
// plus 10 % of the table changed since the last analyze) with a larger
// base, and not analyzed, by anyone, in the last analyzeEvery. Where
// autovacuum runs it is usually first and this finds nothing; where it is
// off (as on the CI machine) this is what keeps prepared statements'
// generic plans from outliving the table they were made for: timeouts
// fired at ~110/s instead of 2,000/s once a plan made while
// contact_events was nearly empty read the whole table at every sprint.
const (
	analyzeBase  = 1000
	analyzeShare = 0.1
	analyzeEvery = 10 * time.Second
)

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging PostgreSQL: %w", err)
	}
	return nil
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return "postgres" }

// Pool returns the pgx pool, for tests and tools that inspect River's tables.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close implements store.Store.
func (s *Store) Close() error {
	if s.gc != nil {
		// Lets the calls already queued commit before the pool goes.
		s.gc.Close()
	}
	s.pool.Close()
	return nil
}
