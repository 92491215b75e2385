// Package projectdb owns each project's own database: the one its flows
// read and write and its owner manages from the dashboard. On SQLite it is
// a file of its own under the data directory, opened on connections of its
// own (never ATTACHed to Parley's); on PostgreSQL it is a schema of its own
// reached as a role that may use only that schema. The package provisions
// it, describes and changes its tables, runs the owner's SQL console, and
// serves the data node (engine.Data) and the code node's db API.
package projectdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Statuses of a project's database.
const (
	StatusProvisioning = "provisioning"
	StatusReady        = "ready"
	StatusFailed       = "failed"
	// StatusNone: never provisioned (a project older than this feature);
	// it is provisioned on first use.
	StatusNone = "none"
)

// Config sets where project databases live and their limits.
type Config struct {
	// DataDir holds the SQLite files (under DataDir/projects/). Used when
	// PostgresURL is empty.
	DataDir string
	// PostgresURL is Parley's own database; projects get schemas and roles
	// in it.
	PostgresURL string
	// Secret derives each PostgreSQL role's password (Parley's key), so no
	// password is stored.
	Secret []byte
	// Timeout bounds one request's statements (5 s by default).
	Timeout time.Duration
	// MaxRows bounds the rows one query returns (1000 by default).
	MaxRows int
}

// DefaultTimeout and DefaultMaxRows are the limits when Config sets none.
const (
	DefaultTimeout = 5 * time.Second
	DefaultMaxRows = 1000
)

// Store is what the service keeps in Parley's database: each project's
// database state.
type Store interface {
	store.ProjectDatabases
}

// Service manages project databases. It is safe for concurrent use.
type Service struct {
	cfg    Config
	st     Store
	clock  domain.Clock
	logger *slog.Logger
	b      backend

	mu   sync.Mutex
	open map[string]*sql.DB
	// provisioning serialises provisioning per project.
	provisioning map[string]*sync.Mutex
}

// backend is one database kind's way of keeping project databases.
type backend interface {
	// dialect is "sqlite" or "postgres".
	dialect() string
	location(projectID string) string
	provision(ctx context.Context, projectID string) error
	connect(ctx context.Context, projectID string) (*sql.DB, error)
	// begin opens a transaction on the project's database with its limits
	// set.
	begin(ctx context.Context, db *sql.DB, projectID string) (*sql.Tx, func(), error)
	// ph is the n-th (1-based) bind parameter.
	ph(n int) string
	sqlType(t ColumnType) string
	typeOf(decl string) ColumnType
	autoID() string
	tables(ctx context.Context, tx *sql.Tx) ([]string, error)
	columns(ctx context.Context, tx *sql.Tx, table string) ([]Column, error)
	// check refuses a console statement the backend's own guards do not
	// stop (SQLite); nil on PostgreSQL, where the role's privileges do.
	check(st statement) error
	bindValue(t ColumnType, v any) any
	close() error
}

// New returns the service for cfg; on PostgreSQL it connects to Parley's
// database to create schemas and roles.
func New(ctx context.Context, cfg Config, st Store, clock domain.Clock, logger *slog.Logger) (*Service, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, st: st, clock: clock, logger: logger, open: map[string]*sql.DB{}, provisioning: map[string]*sync.Mutex{}}
	var err error
	if cfg.PostgresURL != "" {
		s.b, err = newPostgres(ctx, cfg)
	} else {
		s.b, err = newSQLite(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("preparing project databases: %w", err)
	}
	return s, nil
}

// Close closes every project database's connections.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for id, db := range s.open {
		errs = append(errs, db.Close())
		delete(s.open, id)
	}
	errs = append(errs, s.b.close())
	return errors.Join(errs...)
}

// Dialect is "sqlite" or "postgres".
func (s *Service) Dialect() string { return s.b.dialect() }

// Status is a project database's state as the API shows it.
type Status struct {
	Status    string    `json:"status" enum:"provisioning,ready,failed,none" doc:"none: not provisioned yet (it is on first use)"`
	Reason    string    `json:"reason,omitempty" doc:"Why provisioning failed"`
	Location  string    `json:"location,omitempty" doc:"The database file (SQLite) or schema (PostgreSQL)"`
	Dialect   string    `json:"dialect" enum:"sqlite,postgres"`
	Attempts  int       `json:"attempts"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

func (s *Service) statusOf(d store.ProjectDatabase) Status {
	return Status{Status: d.Status, Reason: d.Reason, Location: d.Location, Dialect: s.b.dialect(), Attempts: d.Attempts, UpdatedAt: d.UpdatedAt}
}

// Status returns a project's database state.
func (s *Service) Status(ctx context.Context, projectID string) (Status, error) {
	d, err := s.st.ProjectDatabaseGet(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return Status{Status: StatusNone, Dialect: s.b.dialect()}, nil
	}
	if err != nil {
		return Status{}, err
	}
	return s.statusOf(d), nil
}

// Statuses returns the states of several projects, by project ID (none
// for those never provisioned).
func (s *Service) Statuses(ctx context.Context, projectIDs []string) (map[string]Status, error) {
	l, err := s.st.ProjectDatabaseList(ctx, projectIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Status, len(projectIDs))
	for _, id := range projectIDs {
		out[id] = Status{Status: StatusNone, Dialect: s.b.dialect()}
	}
	for _, d := range l {
		out[d.ProjectID] = s.statusOf(d)
	}
	return out, nil
}

func (s *Service) projectLock(projectID string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.provisioning[projectID]
	if m == nil {
		m = &sync.Mutex{}
		s.provisioning[projectID] = m
	}
	return m
}

// Provision creates the project's database (again, when it failed): the
// state goes provisioning, then ready or failed with the reason. It is
// idempotent: a ready database is left alone. The error is the failure,
// also recorded in the state.
func (s *Service) Provision(ctx context.Context, projectID string) (Status, error) {
	m := s.projectLock(projectID)
	m.Lock()
	defer m.Unlock()
	d, err := s.st.ProjectDatabaseGet(ctx, projectID)
	switch {
	case err == nil && d.Status == StatusReady:
		return s.statusOf(d), nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return Status{}, err
	}
	d = store.ProjectDatabase{ProjectID: projectID, Status: StatusProvisioning, Location: s.b.location(projectID), Attempts: d.Attempts + 1, UpdatedAt: s.clock.Now()}
	if d, err = s.st.ProjectDatabaseSave(ctx, d); err != nil {
		return Status{}, fmt.Errorf("recording the project database's provisioning: %w", err)
	}
	perr := s.b.provision(ctx, projectID)
	d.UpdatedAt = s.clock.Now()
	if perr != nil {
		d.Status, d.Reason = StatusFailed, perr.Error()
		s.logger.Error("provisioning a project database failed", "project_id", projectID, "error", perr)
	} else {
		d.Status, d.Reason = StatusReady, ""
	}
	if d, err = s.st.ProjectDatabaseSave(context.WithoutCancel(ctx), d); err != nil {
		return Status{}, fmt.Errorf("recording the project database's state: %w", err)
	}
	if perr != nil {
		return s.statusOf(d), domain.Errorf(domain.CodeUnavailable, "the project's database could not be created: %s", perr.Error())
	}
	return s.statusOf(d), nil
}

// db returns the project's open database, provisioning it first when it
// never was (projects older than this feature get theirs on first use).
func (s *Service) db(ctx context.Context, projectID string) (*sql.DB, error) {
	s.mu.Lock()
	db := s.open[projectID]
	s.mu.Unlock()
	if db != nil {
		return db, nil
	}
	d, err := s.st.ProjectDatabaseGet(ctx, projectID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && d.Status == StatusProvisioning):
		if _, err := s.Provision(ctx, projectID); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case d.Status == StatusFailed:
		return nil, domain.Errorf(domain.CodeConflict, "the project's database failed to provision (%s); retry it from the Data page or POST /data/provision", d.Reason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if db := s.open[projectID]; db != nil {
		return db, nil
	}
	db, err = s.b.connect(ctx, projectID)
	if err != nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "opening the project's database: %w", err)
	}
	s.open[projectID] = db
	return db, nil
}

// tx runs fn in one transaction on the project's database, within the
// time limit.
func (s *Service) tx(ctx context.Context, projectID string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	db, err := s.db(ctx, projectID)
	if err != nil {
		return err
	}
	tx, done, err := s.b.begin(ctx, db, projectID)
	if err != nil {
		return s.dbError(ctx, err, "starting a transaction")
	}
	defer done()
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return s.dbError(ctx, err, "")
	}
	if err := tx.Commit(); err != nil {
		return s.dbError(ctx, err, "committing")
	}
	return nil
}

// dbError turns a database error into one the API shows: the time limit
// said as such, domain errors kept, the rest an invalid request carrying
// the database's own message (it is about the owner's data or SQL).
func (s *Service) dbError(ctx context.Context, err error, doing string) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return domain.Errorf(domain.CodeInvalid, "the statement ran past the project database's time limit (%s)", s.cfg.Timeout)
	}
	if doing != "" {
		return domain.Errorf(domain.CodeUnavailable, "%s on the project's database: %w", doing, err)
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: "the project database refused it: " + err.Error(), Err: err}
}

// ProvisionDatabase implements jobs.DatabaseProvisioner.
func (s *Service) ProvisionDatabase(ctx context.Context, projectID string) error {
	_, err := s.Provision(ctx, projectID)
	return err
}
