package projectdb

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresBackend gives each project a schema of its own and a role that
// may use only that schema. Project connections log in as that role (not
// SET ROLE on Parley's connections, which the owner's SQL could RESET), so
// what the role may do is all a console statement may do.
type postgresBackend struct {
	admin   *sql.DB
	base    *pgx.ConnConfig
	secret  []byte
	dbName  string
	dbTag   string
	timeout time.Duration
}

func newPostgres(ctx context.Context, cfg Config) (*postgresBackend, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("a secret key is needed to derive the project roles' passwords")
	}
	// pgxpool's parser, not pgx's: a DATABASE_URL may carry pool settings
	// (pool_max_conns) that plain pgx would send to the server as runtime
	// parameters, which it refuses.
	pc, err := pgxpool.ParseConfig(cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("reading the database URL: %w", err)
	}
	base := pc.ConnConfig
	admin := stdlib.OpenDB(*base.Copy())
	admin.SetMaxOpenConns(2)
	var name string
	if err := admin.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("reading the database's name: %w", err)
	}
	h := sha256.Sum256([]byte(name))
	return &postgresBackend{admin: admin, base: base, secret: cfg.Secret, dbName: name, dbTag: hex.EncodeToString(h[:4]), timeout: cfg.Timeout}, nil
}

func (b *postgresBackend) dialect() string { return "postgres" }

// schema and role name a project's. Roles are the cluster's, so the
// role's name carries the database's too: two Parley databases on one
// server never share a project role.
func (b *postgresBackend) schema(projectID string) string { return "project_" + safeID(projectID) }
func (b *postgresBackend) role(projectID string) string {
	return "parley_" + b.dbTag + "_" + safeID(projectID)
}

// password is derived from Parley's key, so none is stored.
func (b *postgresBackend) password(projectID string) string {
	m := hmac.New(sha256.New, b.secret)
	m.Write([]byte("parley project database role\x00" + b.dbName + "\x00" + projectID))
	return hex.EncodeToString(m.Sum(nil))
}

func (b *postgresBackend) location(projectID string) string { return b.schema(projectID) }

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (b *postgresBackend) provision(ctx context.Context, projectID string) error {
	role, schema := b.role(projectID), b.schema(projectID)
	conn, err := b.admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
		return fmt.Errorf("looking for role %s: %w", role, err)
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	stmts := []string{
		// The password is hex, and lit quotes it anyway: CREATE ROLE takes
		// no bind parameters.
		verb + " ROLE " + q(role) + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 8 PASSWORD " + lit(b.password(projectID)),
		"CREATE SCHEMA IF NOT EXISTS " + q(schema) + " AUTHORIZATION " + q(role),
		"ALTER SCHEMA " + q(schema) + " OWNER TO " + q(role),
		"REVOKE ALL ON SCHEMA " + q(schema) + " FROM PUBLIC",
		"ALTER ROLE " + q(role) + " SET search_path = " + q(schema),
		fmt.Sprintf("ALTER ROLE %s SET statement_timeout = %d", q(role), b.timeout.Milliseconds()),
		"ALTER ROLE " + q(role) + " SET idle_in_transaction_session_timeout = 60000",
		"GRANT CONNECT ON DATABASE " + q(b.dbName) + " TO " + q(role),
		// Parley's own tables are in public and never granted to PUBLIC;
		// taking PUBLIC's use of the schema away hides its functions and
		// types from project roles as well. Parley's own role owns them
		// (or is the owner of the database), so it keeps its access.
		"REVOKE ALL ON SCHEMA public FROM PUBLIC",
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(st, " PASSWORD ", 2)[0], err)
		}
	}
	return nil
}

func (b *postgresBackend) connect(ctx context.Context, projectID string) (*sql.DB, error) {
	c := b.base.Copy()
	c.User, c.Password = b.role(projectID), b.password(projectID)
	if c.RuntimeParams == nil {
		c.RuntimeParams = map[string]string{}
	}
	c.RuntimeParams["search_path"] = b.schema(projectID)
	c.RuntimeParams["statement_timeout"] = fmt.Sprint(b.timeout.Milliseconds())
	c.RuntimeParams["application_name"] = "parley project " + projectID
	db := stdlib.OpenDB(*c)
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (b *postgresBackend) begin(ctx context.Context, db *sql.DB, projectID string) (*sql.Tx, func(), error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, func() {}, err
	}
	// The role's own settings already say so; SET LOCAL again in case a
	// previous statement on this pooled connection changed them.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", b.timeout.Milliseconds())); err != nil {
		_ = tx.Rollback()
		return nil, func() {}, err
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL search_path = "+q(b.schema(projectID))); err != nil {
		_ = tx.Rollback()
		return nil, func() {}, err
	}
	return tx, func() {}, nil
}

func (b *postgresBackend) ph(n int) string { return fmt.Sprintf("$%d", n) }

func (b *postgresBackend) sqlType(t ColumnType) string {
	switch t {
	case TypeNumber:
		return "double precision"
	case TypeBoolean:
		return "boolean"
	case TypeDateTime:
		return "timestamptz"
	case TypeJSON:
		return "jsonb"
	}
	return "text"
}

func (b *postgresBackend) typeOf(decl string) ColumnType {
	switch decl {
	case "boolean":
		return TypeBoolean
	case "jsonb", "json":
		return TypeJSON
	case "timestamp with time zone", "timestamp without time zone", "date":
		return TypeDateTime
	case "double precision", "real", "integer", "bigint", "smallint", "numeric":
		return TypeNumber
	}
	return TypeText
}

func (b *postgresBackend) autoID() string {
	return `"id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY`
}

func (b *postgresBackend) tables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
		AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
	if err != nil {
		return nil, err
	}
	return collectStrings(rows)
}

func (b *postgresBackend) columns(ctx context.Context, tx *sql.Tx, table string) ([]Column, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.attname, format_type(a.atttypid, NULL), a.attnotnull,
			COALESCE(bool_or(i.indisprimary), false), COALESCE(bool_or(i.indisunique AND NOT i.indisprimary), false), count(i.indexrelid) > 0
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid AND c.relnamespace = current_schema()::regnamespace AND c.relname = $1
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indnatts = 1 AND i.indkey[0] = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped
		GROUP BY a.attnum, a.attname, a.atttypid, a.attnotnull ORDER BY a.attnum`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []Column
	for rows.Next() {
		var c Column
		var decl string
		var indexed bool
		if err := rows.Scan(&c.Name, &decl, &c.Required, &c.PrimaryKey, &c.Unique, &indexed); err != nil {
			return nil, err
		}
		c.Type = b.typeOf(decl)
		c.Index = indexed && !c.PrimaryKey && !c.Unique
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

func (b *postgresBackend) check(statement) error { return nil }

func (b *postgresBackend) bindValue(_ ColumnType, v any) any { return v }

func (b *postgresBackend) close() error { return b.admin.Close() }

// dropRole removes a project's role and schema (tests, and a deleted
// project's clean-up).
func (b *postgresBackend) drop(ctx context.Context, projectID string) error {
	role, schema := b.role(projectID), b.schema(projectID)
	for _, st := range []string{"DROP SCHEMA IF EXISTS " + q(schema) + " CASCADE", "DROP OWNED BY " + q(role), "DROP ROLE IF EXISTS " + q(role)} {
		if _, err := b.admin.ExecContext(ctx, st); err != nil && !strings.Contains(err.Error(), "does not exist") {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	return nil
}
