// Package sqlite is the embedded default database: SQLite through the pure-Go
// modernc.org/sqlite driver, in WAL mode, with one write connection and a
// pool of read connections. Queries are shared with PostgreSQL (sqlstore).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/groupcommit"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open SQLite database.
type Store struct {
	*sqlstore.Queries
	rdb, wdb *sql.DB
	// rstmts and wstmts cache prepared statements per pool.
	rstmts, wstmts *stmts
	jobs           *river.Client[*sql.Tx]
	dialect        sqlstore.Dialect
	// gc batches concurrent InTx calls into shared transactions.
	gc *groupcommit.Committer
	// testBegin, when a test sets it (before the first InTx), runs in the
	// writer when a transaction began, with it and the number of calls left
	// in the batch.
	testBegin func(tx *sql.Tx, n int)
	// cp checkpoints the WAL beside the writer.
	cp *checkpointer
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if missing) the database file at path. It does not
// migrate; call Migrate.
func Open(ctx context.Context, path string, opts store.OpenOptions) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the data directory %s: %w", dir, err)
		}
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	// One writer avoids SQLITE_BUSY between our own writers entirely (River's
	// SQLite driver asks for the same); WAL lets the read pool run beside it.
	wdb, err := sql.Open("sqlite", dsn(path, roleWriter))
	if err != nil {
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	if err := tightenFiles(path); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(path, roleReader))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("opening SQLite read pool %s: %w", path, err)
	}
	// Keep every read connection open: database/sql keeps only two idle by
	// default, and each new connection prepares every statement again.
	readers := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	rdb.SetConnMaxIdleTime(0)
	rdb.SetConnMaxLifetime(0)
	s := &Store{rdb: rdb, wdb: wdb, rstmts: newStmts(rdb), wstmts: newStmts(wdb), dialect: Dialect()}
	s.gc = newGroupCommit(s)
	if s.cp, err = newCheckpointer(path); err != nil {
		s.Close()
		return nil, err
	}
	if opts.Jobs != nil {
		cfg := *opts.Jobs
		if cfg.Logger == nil {
			cfg.Logger = opts.Logger
		}
		s.jobs, err = river.NewClient(riversqlite.New(wdb), &cfg)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("creating the job client: %w", err)
		}
	}
	s.Queries = sqlstore.New(sqlConn{cache: s.rstmts}, groupcommit.WriteConn{G: s.gc, Raw: sqlConn{cache: s.wstmts}}, s.dialect, s.inserter(nil))
	return s, nil
}

// createPrivate creates the database file with mode 0600 before SQLite
// opens it: it holds contacts' messages and hashed credentials, and SQLite
// would otherwise create it under the process umask (usually 0644). SQLite
// gives its -wal and -shm files the mode of the database file.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating the SQLite database %s: %w", path, err)
	}
	return f.Close()
}

// tightenFiles makes the database, -wal and -shm files 0600, whatever the
// umask or an older version left them at; files not there yet are skipped.
func tightenFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("checking the mode of %s: %w", p, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("making %s private (mode 0600): %w", p, err)
			}
		}
	}
	return nil
}

// mmapBytes is how much of the database file connections map; writerCacheKiB
// is the writer's page cache (SQLite's default is 2 MiB). A mapped page a
// reader touched counts in the process's resident memory: with 1 GiB mapped
// the million-row campaign ingest peaked at 390 MB (target 150 MB), and a
// 32 MiB writer cache added 70 MB; unmapped with 8 MiB it peaked at 173 MB
// and the 1,000 msg/s campaign still held its rate (docs/benchmarks.md).
const (
	mmapBytes      = 0
	writerCacheKiB = 8 << 10
)

// Connection roles: the one writer, the read pool, the checkpointer.
const (
	roleWriter = iota
	roleReader
	roleCheckpointer
)

// dsn builds the connection string. Every connection gets the pragmas, since
// SQLite pragmas are per connection.
func dsn(path string, role int) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	busy := 10 * time.Second
	if role == roleCheckpointer {
		busy = restartWait
	}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Group commit gives each call a savepoint, whose statement journal
	// would otherwise go to a temporary file: a write syscall per page.
	q.Add("_pragma", "temp_store(MEMORY)")
	// A memory map would save a reader's preads (its page cache is dropped
	// whenever the writer committed since its last read) but costs
	// resident memory; see mmapBytes.
	q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", mmapBytes))
	switch role {
	case roleReader:
		q.Add("_pragma", "query_only(1)")
	case roleWriter:
		q.Set("_txlock", "immediate")
		// The checkpointer copies the WAL into the database beside the
		// writer; the writer's own checkpoint (1,000 frames by default)
		// is only the fallback for when it falls behind. Checkpointing on
		// the writer held every commit up: with it at 1,000 frames the
		// bench's exchange ran at 2,580/s, at 8,000 frames 3,000/s.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointFrames))
		// The writer's cache survives its own commits: a larger one keeps
		// the hot indexes' pages instead of reading them again.
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", writerCacheKiB))
	}
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// Dialect describes SQLite to the shared queries.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name: "sqlite",
		IsUniqueViolation: func(err error) bool {
			c := code(err)
			return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
		IsForeignKeyViolation: func(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
	}
}

func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func (s *Store) inserter(tx *sql.Tx) func(context.Context, river.JobArgs, *river.InsertOpts) error {
	if s.jobs == nil {
		return nil
	}
	return func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
		var err error
		if tx != nil {
			// Inside InTx the transaction is shared by a batch: the
			// caller's context must not interrupt it (see sqlConn.ctx).
			if ctx, err = detach(ctx); err != nil {
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
// shared transaction committed. A ctx that ends before fn starts returns
// ctx.Err() without running fn; once fn has started, the call waits for the
// commit whatever ctx says, and statements started before ctx ended run to
// completion (those after return ctx.Err() to fn), so that one caller's
// cancellation cannot interrupt the transaction the others share. A panic in
// fn is re-raised in the caller's goroutine with the same value.
func (s *Store) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.gc.Do(ctx, fn)
}

// Migrate applies River's migrations, then Parley's.
func (s *Store) Migrate(ctx context.Context) error {
	// River's tables first: Parley's migrations may clean up its rows
	// (00011 deletes jobs of retired kinds).
	m, err := rivermigrate.New(riversqlite.New(s.wdb), nil)
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
	p, err := goose.NewProvider(goose.DialectSQLite3, s.wdb, sub)
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// ReleaseOrphanedJobs makes jobs left running by a process that died
// available again. Only one process works an SQLite database, so at start
// every running job is an orphan; River would otherwise wait for its stuck
// job rescuer. It returns how many were released.
func (s *Store) ReleaseOrphanedJobs(ctx context.Context) (int, error) {
	res, err := s.wdb.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = ? WHERE state = 'running'`, time.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("releasing jobs a previous run left running: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Jobs implements store.Store.
func (s *Store) Jobs() store.JobClient {
	if s.jobs == nil {
		return nil
	}
	return s.jobs
}

// StatisticsRefresh implements store.Store. SQLite has nothing to
// refresh: its planner keeps no statistics unless ANALYZE is run (Parley
// never runs it), and each connection's statement plans do not depend on a
// table's size.
func (s *Store) StatisticsRefresh(context.Context) ([]string, error) { return nil, nil }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging SQLite: %w", err)
	}
	return nil
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return "sqlite" }

// DB returns the write handle, for tests and tools that inspect River's tables.
func (s *Store) DB() *sql.DB { return s.wdb }

// Close implements store.Store. InTx calls queued before Close are still run
// and answered; InTx after it returns an error.
func (s *Store) Close() error {
	if s.gc != nil {
		s.gc.Close()
	}
	if s.cp != nil {
		s.cp.close()
	}
	s.rstmts.close()
	s.wstmts.close()
	return errors.Join(s.rdb.Close(), s.wdb.Close())
}
