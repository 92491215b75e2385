// Package dbcopy copies a Parley deployment's database between SQLite and
// PostgreSQL (`parley db copy`): every table the migrations made, found in
// the databases' own catalogs, including River's pending jobs (the sessions'
// timers), with each table's rows counted and checksummed on both sides.
// Values are carried by type (booleans, timestamps, JSON, blobs, River's
// arrays and bit masks); PostgreSQL's sequences are moved past the copied
// IDs. Sealed secrets are copied as they are: the same secret key opens them.
package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// Location says where a database is: Dialect "postgres" and a URL, or
// "sqlite" and a file path.
type Location struct {
	Dialect string
	DSN     string
}

// String is the location without a password.
func (l Location) String() string {
	if l.Dialect == dialectSQLite {
		return l.DSN
	}
	return redact(l.DSN)
}

// ParseLocation reads a postgres:// (or postgresql://) URL, or a SQLite
// file path (optionally written sqlite:PATH).
func ParseLocation(s string) (Location, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Location{}, errors.New("no database given: pass a postgres:// URL or a SQLite file path")
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return Location{Dialect: dialectPostgres, DSN: s}, nil
	case strings.HasPrefix(s, "sqlite:"):
		return Location{Dialect: dialectSQLite, DSN: strings.TrimPrefix(s, "sqlite:")}, nil
	case strings.Contains(s, "://"):
		return Location{}, fmt.Errorf("%s: not a database db copy knows; pass a postgres:// URL or a SQLite file path", redact(s))
	}
	return Location{Dialect: dialectSQLite, DSN: s}, nil
}

func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	cred := u[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return u[:scheme+3] + cred[:i] + ":***" + u[at:]
	}
	return u
}

// Options configure Copy.
type Options struct {
	From, To Location
	// Now is the clock the server check compares leases with; nil is time.Now.
	Now func() time.Time
	// Progress, when set, hears each table as it is done.
	Progress func(t TableResult)
}

// TableResult is one table's outcome.
type TableResult struct {
	Table string
	// Rows is the number of rows read from the source; TargetRows what the
	// target holds after the copy.
	Rows, TargetRows int64
	// Source and Target are the checksums of the rows on both sides.
	Source, Target string
	// Note says what was rewritten on the way, if anything.
	Note string
}

// Result is what Copy did.
type Result struct {
	From, To Location
	Tables   []TableResult
	Skipped  []Skip
}

// ErrServerRunning means a server holds the source database.
var ErrServerRunning = errors.New("a parley server is using the source database")

// side is one open database.
type side struct {
	loc     Location
	db      *sql.DB
	migrate func(context.Context) error
	close   func() error
}

func open(ctx context.Context, loc Location, create bool) (*side, error) {
	switch loc.Dialect {
	case dialectSQLite:
		st, err := os.Stat(loc.DSN)
		switch {
		case create && err == nil:
			return nil, fmt.Errorf("%s exists: db copy writes a new SQLite database and never into an existing file; choose a new path", loc.DSN)
		case create && !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("checking %s: %w", loc.DSN, err)
		case !create && err != nil:
			return nil, fmt.Errorf("no SQLite database at %s: %w", loc.DSN, err)
		case !create && st.Size() == 0:
			return nil, fmt.Errorf("%s is empty: not a Parley database", loc.DSN)
		}
		s, err := sqlite.Open(ctx, loc.DSN, store.OpenOptions{})
		if err != nil {
			return nil, err
		}
		return &side{loc: loc, db: s.DB(), migrate: s.Migrate, close: s.Close}, nil
	case dialectPostgres:
		s, err := postgres.Open(ctx, loc.DSN, store.OpenOptions{})
		if err != nil {
			return nil, err
		}
		db := stdlib.OpenDBFromPool(s.Pool())
		return &side{loc: loc, db: db, migrate: s.Migrate, close: func() error { _ = db.Close(); return s.Close() }}, nil
	}
	return nil, fmt.Errorf("unknown dialect %q", loc.Dialect)
}

// Copy copies the database at opts.From into the new or empty database at
// opts.To, of the other dialect. It migrates both first (as `parley serve`
// would), refuses a target that holds data or a source a running server
// holds, copies every table in one target transaction from one consistent
// read of the source, and checks each table's count and checksum on both
// sides before committing. A SQLite target file it created is removed again
// when the copy fails.
func Copy(ctx context.Context, opts Options) (res *Result, err error) {
	from, to := opts.From, opts.To
	if from.Dialect == to.Dialect {
		if from.Dialect == dialectSQLite {
			return nil, errors.New("db copy moves between SQLite and PostgreSQL; to copy a SQLite database use `parley db backup`")
		}
		return nil, errors.New("db copy moves between SQLite and PostgreSQL; to copy a PostgreSQL database use pg_dump and pg_restore")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	src, err := open(ctx, from, false)
	if err != nil {
		return nil, fmt.Errorf("opening the source: %w", err)
	}
	defer src.close()
	if err := checkNoServer(ctx, src, now()); err != nil {
		return nil, err
	}
	if err := src.migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrating the source %s: %w", from, err)
	}
	dst, err := open(ctx, to, true)
	if err != nil {
		return nil, fmt.Errorf("opening the target: %w", err)
	}
	defer func() {
		_ = dst.close()
		if err != nil && to.Dialect == dialectSQLite {
			for _, p := range []string{to.DSN, to.DSN + "-wal", to.DSN + "-shm"} {
				_ = os.Remove(p)
			}
		}
	}()
	if err := dst.migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrating the target %s: %w", to, err)
	}
	plans, skips, err := planFor(ctx, src, dst)
	if err != nil {
		return nil, err
	}
	if err := checkEmpty(ctx, dst, plans); err != nil {
		return nil, err
	}
	res = &Result{From: from, To: to, Skipped: skips}
	stx, err := src.db.BeginTx(ctx, readOpts(from.Dialect))
	if err != nil {
		return nil, fmt.Errorf("starting a read of the source: %w", err)
	}
	defer stx.Rollback() //nolint:errcheck // read only
	ttx, err := dst.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("starting the target transaction: %w", err)
	}
	defer ttx.Rollback() //nolint:errcheck // committed below on success
	for i := range plans {
		tr, err := copyTable(ctx, stx, ttx, from.Dialect, to.Dialect, &plans[i])
		if err != nil {
			return nil, err
		}
		res.Tables = append(res.Tables, tr)
		if opts.Progress != nil {
			opts.Progress(tr)
		}
	}
	if to.Dialect == dialectPostgres {
		if err := resetSequences(ctx, ttx, plans); err != nil {
			return nil, err
		}
	}
	if err := ttx.Commit(); err != nil {
		return nil, fmt.Errorf("committing the copy: %w", err)
	}
	return res, nil
}

func readOpts(dialect string) *sql.TxOptions {
	if dialect == dialectPostgres {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	// SQLite's write handle begins IMMEDIATE: the read also keeps writers
	// out until the copy is done.
	return nil
}

// planFor reads both catalogs and plans the copy.
func planFor(ctx context.Context, a, b *side) ([]tablePlan, []Skip, error) {
	ca, err := readCatalog(ctx, a.db, a.loc.Dialect)
	if err != nil {
		return nil, nil, err
	}
	cb, err := readCatalog(ctx, b.db, b.loc.Dialect)
	if err != nil {
		return nil, nil, err
	}
	if ca.Dialect == dialectSQLite {
		return plan(ca, cb)
	}
	return plan(cb, ca)
}

// checkNoServer refuses a source whose job queue has a live leader: a
// server is running on it (a stopped one resigns; a killed one's lease runs
// out within a minute).
func checkNoServer(ctx context.Context, s *side, now time.Time) error {
	var exists bool
	var q string
	var arg any
	if s.loc.Dialect == dialectSQLite {
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'river_leader'`).Scan(&exists); err != nil {
			return fmt.Errorf("checking for a running server: %w", err)
		}
		q, arg = `SELECT count(*) FROM river_leader WHERE expires_at > ?`, now.UTC().Format(riverTimeLayout)
	} else {
		if err := s.db.QueryRowContext(ctx, `SELECT to_regclass('river_leader') IS NOT NULL`).Scan(&exists); err != nil {
			return fmt.Errorf("checking for a running server: %w", err)
		}
		q, arg = `SELECT count(*) FROM river_leader WHERE expires_at > $1`, now
	}
	if !exists {
		return nil
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, arg).Scan(&n); err != nil {
		return fmt.Errorf("checking for a running server: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w (%s): stop every `parley serve` on it first (a copy of a database in use would miss what arrives meanwhile); if the server was killed, wait a minute for its lease to lapse", ErrServerRunning, s.loc)
	}
	return nil
}

// checkEmpty refuses a target that holds rows in any table db copy fills.
func checkEmpty(ctx context.Context, s *side, plans []tablePlan) error {
	var full []string
	for _, p := range plans {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(p.Name)).Scan(&n); err != nil {
			return fmt.Errorf("counting the target's %s: %w", p.Name, err)
		}
		if n > 0 {
			full = append(full, fmt.Sprintf("%s (%d rows)", p.Name, n))
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("the target %s is not empty: %s; db copy only fills a fresh database (create one: CREATE DATABASE parley)", s.loc, strings.Join(full, ", "))
	}
	return nil
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// selectSQL reads a table's columns in the forms normalize takes.
func selectSQL(dialect string, tp *tablePlan) string {
	exprs := make([]string, len(tp.Cols))
	for i, c := range tp.Cols {
		q := quote(c.Name)
		switch {
		case dialect == dialectSQLite && c.BlobJSON:
			q = "json(" + q + ")"
		case dialect == dialectPostgres && c.Kind == kJSON:
			q += "::text"
		case dialect == dialectPostgres && c.Kind == kArray:
			q = "to_jsonb(" + q + ")::text"
		case dialect == dialectPostgres && c.Kind == kBits:
			q += "::integer"
		case dialect == dialectPostgres && c.Kind == kEnum:
			q += "::text"
		}
		exprs[i] = q
	}
	return "SELECT " + strings.Join(exprs, ", ") + " FROM " + quote(tp.Name)
}

// insertSQL writes n rows.
func insertSQL(dialect string, tp *tablePlan, n int) string {
	var b strings.Builder
	cols := make([]string, len(tp.Cols))
	for i, c := range tp.Cols {
		cols[i] = quote(c.Name)
	}
	b.WriteString("INSERT INTO " + quote(tp.Name) + " (" + strings.Join(cols, ", ") + ")")
	if dialect == dialectPostgres {
		// Identity columns are GENERATED ALWAYS: the copied IDs win.
		b.WriteString(" OVERRIDING SYSTEM VALUE")
	}
	b.WriteString(" VALUES ")
	p := 0
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i, c := range tp.Cols {
			if i > 0 {
				b.WriteString(", ")
			}
			p++
			b.WriteString(placeholder(dialect, c, p))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func placeholder(dialect string, c colPlan, p int) string {
	if dialect == dialectSQLite {
		if c.BlobJSON {
			return "jsonb(?)"
		}
		return "?"
	}
	v := fmt.Sprintf("$%d", p)
	txt := "CAST(" + v + " AS text)"
	switch c.Kind {
	case kJSON, kEnum:
		return "CAST(" + txt + " AS " + c.PgCast + ")"
	case kBits:
		return "CAST(CAST(" + v + " AS bigint) AS " + c.PgCast + ")"
	case kArray:
		elems := "jsonb_array_elements_text"
		if c.PgElem == "json" || c.PgElem == "jsonb" {
			elems = "jsonb_array_elements"
		}
		return "CASE WHEN " + txt + " IS NULL THEN NULL ELSE CAST(ARRAY(SELECT " + elems + "(CAST(" + txt + " AS jsonb))) AS " + c.PgCast + ") END"
	}
	return v
}

// rewrite adjusts a source row for the target; it says what it changed.
// Jobs a killed process left running are made available again, as the
// SQLite store does at start, since no process on the target runs them.
func rewrite(tp *tablePlan, row []any) string {
	if tp.Name != "river_job" {
		return ""
	}
	for i, c := range tp.Cols {
		if c.Name == "state" && row[i] == "running" {
			row[i] = "available"
			return "running jobs made available"
		}
	}
	return ""
}

const maxParams = 30000

func copyTable(ctx context.Context, src, dst *sql.Tx, fromDialect, toDialect string, tp *tablePlan) (TableResult, error) {
	tr := TableResult{Table: tp.Name}
	rows, err := src.QueryContext(ctx, selectSQL(fromDialect, tp))
	if err != nil {
		return tr, fmt.Errorf("reading %s from the source: %w", tp.Name, err)
	}
	defer rows.Close()
	batch := max(1, min(500, maxParams/len(tp.Cols)))
	full := insertSQL(toDialect, tp, batch)
	var srcSum checksum
	notes := map[string]int{}
	args := make([]any, 0, batch*len(tp.Cols))
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := full
		if n < batch {
			q = insertSQL(toDialect, tp, n)
		}
		if _, err := dst.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("writing %s to the target: %w", tp.Name, err)
		}
		args, n = args[:0], 0
		return nil
	}
	raw := make([]any, len(tp.Cols))
	ptrs := make([]any, len(tp.Cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return tr, fmt.Errorf("reading %s from the source: %w", tp.Name, err)
		}
		row := make([]any, len(tp.Cols))
		for i, c := range tp.Cols {
			if row[i], err = normalize(tp, c, raw[i]); err != nil {
				return tr, fmt.Errorf("reading the source: %w", err)
			}
		}
		if note := rewrite(tp, row); note != "" {
			notes[note]++
		}
		if err := srcSum.add(tp, row); err != nil {
			return tr, err
		}
		for i, c := range tp.Cols {
			args = append(args, toTarget(toDialect, tp, c, row[i]))
		}
		n++
		if n == batch {
			if err := flush(); err != nil {
				return tr, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return tr, fmt.Errorf("reading %s from the source: %w", tp.Name, err)
	}
	if err := flush(); err != nil {
		return tr, err
	}
	dstSum, err := sumTable(ctx, dst, toDialect, tp)
	if err != nil {
		return tr, fmt.Errorf("verifying %s in the target: %w", tp.Name, err)
	}
	tr.Rows, tr.TargetRows = srcSum.rows, dstSum.rows
	tr.Source, tr.Target = srcSum.String(), dstSum.String()
	for note, k := range notes {
		tr.Note = fmt.Sprintf("%s (%d)", note, k)
	}
	if !srcSum.equal(&dstSum) {
		return tr, fmt.Errorf("verifying %s: the source has %d rows (checksum %s), the target %d (checksum %s); nothing was committed",
			tp.Name, srcSum.rows, srcSum.String(), dstSum.rows, dstSum.String())
	}
	return tr, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sumTable counts and checksums a table as it is.
func sumTable(ctx context.Context, q querier, dialect string, tp *tablePlan) (checksum, error) {
	var sum checksum
	rows, err := q.QueryContext(ctx, selectSQL(dialect, tp))
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	raw := make([]any, len(tp.Cols))
	ptrs := make([]any, len(tp.Cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	row := make([]any, len(tp.Cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return sum, err
		}
		for i, c := range tp.Cols {
			if row[i], err = normalize(tp, c, raw[i]); err != nil {
				return sum, err
			}
		}
		if err := sum.add(tp, row); err != nil {
			return sum, err
		}
	}
	return sum, rows.Err()
}

// resetSequences moves each identity or serial column's sequence past the
// copied values, so that the next insert does not collide with them.
func resetSequences(ctx context.Context, tx *sql.Tx, plans []tablePlan) error {
	for _, p := range plans {
		for _, c := range p.Cols {
			if !c.Serial {
				continue
			}
			q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(%s) FROM %s), 0) + 1, false)`, quote(c.Name), quote(p.Name))
			if _, err := tx.ExecContext(ctx, q, quote(p.Name), c.Name); err != nil {
				return fmt.Errorf("moving the sequence of %s.%s past the copied rows: %w", p.Name, c.Name, err)
			}
		}
	}
	return nil
}

// Checksums counts and checksums every table db copy would copy in the
// database at loc, as Copy compares them; for checking a copy later.
func Checksums(ctx context.Context, loc, other Location) (map[string]TableResult, error) {
	a, err := open(ctx, loc, false)
	if err != nil {
		return nil, err
	}
	defer a.close()
	b, err := open(ctx, other, false)
	if err != nil {
		return nil, err
	}
	defer b.close()
	plans, _, err := planFor(ctx, a, b)
	if err != nil {
		return nil, err
	}
	out := map[string]TableResult{}
	for i := range plans {
		s, err := sumTable(ctx, a.db, loc.Dialect, &plans[i])
		if err != nil {
			return nil, fmt.Errorf("checksumming %s: %w", plans[i].Name, err)
		}
		out[plans[i].Name] = TableResult{Table: plans[i].Name, Rows: s.rows, Source: s.String()}
	}
	return out, nil
}
