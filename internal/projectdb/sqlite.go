package projectdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBackend keeps each project's database in its own file under
// DataDir/projects/, opened on connections of its own.
type sqliteBackend struct {
	dir     string
	timeout time.Duration
}

func newSQLite(cfg Config) (*sqliteBackend, error) {
	dir := filepath.Join(cfg.DataDir, "projects")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &sqliteBackend{dir: dir, timeout: cfg.Timeout}, nil
}

func (b *sqliteBackend) dialect() string { return "sqlite" }

var safeIDRE = regexp.MustCompile(`^[a-z0-9]{1,40}$`)

// safeID turns a project ID into a name fit for a file, schema or role:
// the ID itself without dashes when it is short lower-case hex-like text,
// a hash of it otherwise.
func safeID(projectID string) string {
	s := strings.ToLower(strings.ReplaceAll(projectID, "-", ""))
	if safeIDRE.MatchString(s) {
		return s
	}
	h := sha256.Sum256([]byte(projectID))
	return hex.EncodeToString(h[:16])
}

func (b *sqliteBackend) location(projectID string) string {
	return filepath.Join(b.dir, safeID(projectID)+".db")
}

func (b *sqliteBackend) dsn(projectID string, create bool) string {
	v := url.Values{}
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", b.timeout.Milliseconds()))
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "trusted_schema(0)")
	v.Add("_defensive", "1")
	v.Add("_txlock", "immediate")
	mode := "rw"
	if create {
		mode = "rwc"
	}
	v.Add("mode", mode)
	return "file:" + b.location(projectID) + "?" + v.Encode()
}

func (b *sqliteBackend) provision(ctx context.Context, projectID string) error {
	db, err := sql.Open("sqlite", b.dsn(projectID, true))
	if err != nil {
		return fmt.Errorf("opening %s: %w", b.location(projectID), err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("creating %s: %w", b.location(projectID), err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA user_version = 1"); err != nil {
		return fmt.Errorf("initialising %s: %w", b.location(projectID), err)
	}
	return os.Chmod(b.location(projectID), 0o600)
}

func (b *sqliteBackend) connect(ctx context.Context, projectID string) (*sql.DB, error) {
	if _, err := os.Stat(b.location(projectID)); err != nil {
		return nil, fmt.Errorf("the project's database file: %w", err)
	}
	db, err := sql.Open("sqlite", b.dsn(projectID, false))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	return db, db.PingContext(ctx)
}

// begin takes a connection of its own for the transaction, so its limits
// can be set on it: no database may be attached to it, whatever SQL runs.
func (b *sqliteBackend) begin(ctx context.Context, db *sql.DB, _ string) (*sql.Tx, func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, func() {}, err
	}
	if _, err := sqlite.Limit(conn, sqlite3.SQLITE_LIMIT_ATTACHED, 0); err != nil {
		_ = conn.Close()
		return nil, func() {}, fmt.Errorf("limiting the connection: %w", err)
	}
	_, _ = sqlite.Limit(conn, sqlite3.SQLITE_LIMIT_LENGTH, 16<<20)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		_ = conn.Close()
		return nil, func() {}, err
	}
	return tx, func() { _ = conn.Close() }, nil
}

func (b *sqliteBackend) ph(int) string { return "?" }

func (b *sqliteBackend) sqlType(t ColumnType) string {
	switch t {
	case TypeNumber:
		return "REAL"
	case TypeBoolean:
		return "BOOLEAN"
	case TypeDateTime:
		return "DATETIME"
	case TypeJSON:
		return "JSON"
	}
	return "TEXT"
}

func (b *sqliteBackend) typeOf(decl string) ColumnType {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "BOOL"):
		return TypeBoolean
	case strings.Contains(d, "JSON"):
		return TypeJSON
	case strings.Contains(d, "DATE") || strings.Contains(d, "TIME"):
		return TypeDateTime
	case strings.Contains(d, "INT") || strings.Contains(d, "REAL") || strings.Contains(d, "FLOA") || strings.Contains(d, "DOUB") ||
		strings.Contains(d, "NUM") || strings.Contains(d, "DEC"):
		return TypeNumber
	}
	return TypeText
}

func (b *sqliteBackend) autoID() string { return `"id" INTEGER PRIMARY KEY` }

func (b *sqliteBackend) tables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return collectStrings(rows)
}

func collectStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (b *sqliteBackend) columns(ctx context.Context, tx *sql.Tx, table string) ([]Column, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	var cols []Column
	func() {
		defer rows.Close()
		for rows.Next() {
			var c Column
			var decl string
			var notNull, pk int
			if err = rows.Scan(&c.Name, &decl, &notNull, &pk); err != nil {
				return
			}
			c.Type, c.PrimaryKey, c.Required = b.typeOf(decl), pk > 0, notNull != 0 || pk > 0
			cols = append(cols, c)
		}
		err = rows.Err()
	}()
	if err != nil {
		return nil, err
	}
	// Single-column indexes mark their column unique or indexed.
	idx, err := tx.QueryContext(ctx, `SELECT l.name, l."unique", l.origin, (SELECT count(*) FROM pragma_index_info(l.name)), (SELECT name FROM pragma_index_info(l.name))
		FROM pragma_index_list(?) AS l`, table)
	if err != nil {
		return nil, err
	}
	defer idx.Close()
	for idx.Next() {
		var name, origin string
		var unique, n int
		var col sql.NullString
		if err := idx.Scan(&name, &unique, &origin, &n, &col); err != nil {
			return nil, err
		}
		if n != 1 || !col.Valid {
			continue
		}
		for i := range cols {
			if cols[i].Name == col.String && !cols[i].PrimaryKey {
				if unique != 0 {
					cols[i].Unique = true
				} else {
					cols[i].Index = true
				}
			}
		}
	}
	return cols, idx.Err()
}

func (b *sqliteBackend) check(st statement) error { return checkSQLite(st) }

func (b *sqliteBackend) bindValue(t ColumnType, v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func (b *sqliteBackend) close() error { return nil }

// isTimeout tells an interrupted statement (SQLite) or a cancelled one
// (PostgreSQL's statement_timeout, 57014).
func isTimeout(err error) bool {
	s := err.Error()
	return strings.Contains(s, "interrupted") || strings.Contains(s, "57014") || strings.Contains(s, "statement timeout") ||
		strings.Contains(s, "canceling statement")
}
