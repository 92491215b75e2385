// Package store defines the persistence seam: the repository interface every
// database implements (store/sqlite, store/postgres), its parameter structs
// and its errors. Behaviour is pinned by the one conformance suite in
// store/storetest, which every implementation passes.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
)

// Errors returned by every implementation; test with errors.Is.
var (
	// ErrNotFound: no such row in the given project. Never returned as nil, nil.
	ErrNotFound = domain.ErrNotFound
	// ErrConflict: a unique constraint or a stale precondition.
	ErrConflict = domain.ErrConflict
)

// Store is an open database: the queries, transactions, the job client and
// lifecycle.
type Store interface {
	Queries
	ChannelLogs
	DeadLetters
	// InTx runs fn in one transaction. Everything fn does through q, including
	// JobInsert, commits together or not at all. fn must not use the outer
	// Store: with SQLite's single write connection that would deadlock.
	InTx(ctx context.Context, fn func(q Queries) error) error
	// Jobs is the durable job client bound to this database.
	Jobs() JobClient
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	// Close releases connections. Stop the job client first.
	Close() error
}

// JobClient is the part of a River client the rest of Parley drives. Both
// *river.Client[*sql.Tx] and *river.Client[pgx.Tx] satisfy it.
type JobClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Page asks for one page of a list ordered newest first.
type Page struct {
	// Limit is the page size; implementations clamp it to 1..MaxPageSize.
	Limit int
	// After is the cursor returned with the previous page (the last ID seen).
	After string
}

// MaxPageSize bounds every list query.
const MaxPageSize = 500

// DefaultPageSize is used when a caller asks for no particular size.
const DefaultPageSize = 50

// Clamp returns p with Limit within bounds.
func (p Page) Clamp() Page {
	switch {
	case p.Limit <= 0:
		p.Limit = DefaultPageSize
	case p.Limit > MaxPageSize:
		p.Limit = MaxPageSize
	}
	return p
}

// List is one page of results and the cursor for the next, empty at the end.
type List[T any] struct {
	Items []T
	Next  string
}

// Queries are the repository methods, usable on a Store or inside InTx.
type Queries interface {
	RuntimeQueries

	// AfterCommit runs fn once the transaction these Queries belong to has
	// committed (never when it rolls back), or at once outside a
	// transaction. Work that must see the transaction's rows — waking a
	// worker for them — goes here.
	AfterCommit(fn func())

	ProjectCreate(ctx context.Context, p ProjectCreateParams) (domain.Project, error)
	ProjectGet(ctx context.Context, id string) (domain.Project, error)
	ProjectGetByName(ctx context.Context, name string) (domain.Project, error)
	ProjectList(ctx context.Context, p ProjectListParams) (List[domain.Project], error)
	ProjectUpdate(ctx context.Context, p ProjectUpdateParams) (domain.Project, error)
	ProjectCount(ctx context.Context) (int, error)

	UserCreate(ctx context.Context, p UserCreateParams) (domain.User, error)
	UserGet(ctx context.Context, id string) (domain.User, error)
	UserGetByEmail(ctx context.Context, email string) (domain.User, error)
	UserSetPassword(ctx context.Context, p UserSetPasswordParams) error
	UserCount(ctx context.Context) (int, error)

	MembershipUpsert(ctx context.Context, p MembershipUpsertParams) (domain.Membership, error)
	MembershipGet(ctx context.Context, projectID, userID string) (domain.Membership, error)
	MembershipListByProject(ctx context.Context, projectID string) ([]MemberRow, error)
	MembershipListByUser(ctx context.Context, userID string) ([]domain.Membership, error)
	MembershipDelete(ctx context.Context, projectID, userID string) error

	TokenCreate(ctx context.Context, p TokenCreateParams) (domain.Token, error)
	TokenGet(ctx context.Context, projectID, id string) (domain.Token, error)
	TokenGetByHash(ctx context.Context, hash string) (domain.Token, error)
	TokenList(ctx context.Context, p TokenListParams) (List[domain.Token], error)
	TokenRevoke(ctx context.Context, p TokenRevokeParams) (domain.Token, error)
	TokenTouch(ctx context.Context, p TokenTouchParams) error

	WebSessionCreate(ctx context.Context, s domain.WebSession) error
	WebSessionGet(ctx context.Context, id string) (domain.WebSession, error)
	WebSessionUpdate(ctx context.Context, p WebSessionUpdateParams) error
	WebSessionDelete(ctx context.Context, id string) error
	WebSessionDeleteExpired(ctx context.Context, now time.Time) (int, error)

	AuditAppend(ctx context.Context, e domain.AuditEvent) error
	AuditList(ctx context.Context, p AuditListParams) (List[domain.AuditEvent], error)

	TemplateCreate(ctx context.Context, p TemplateCreateParams) (MessageTemplate, error)
	TemplateGet(ctx context.Context, projectID, id string) (MessageTemplate, error)
	TemplateGetByMetaID(ctx context.Context, projectID, metaID string) (MessageTemplate, error)
	TemplateUpdate(ctx context.Context, t MessageTemplate) (MessageTemplate, error)
	TemplateDelete(ctx context.Context, projectID, id string) error
	// TemplateGetByName finds a template by name and language; with an
	// empty language, the first of the name's languages in sort order.
	TemplateGetByName(ctx context.Context, projectID, name, language string) (MessageTemplate, error)
	TemplateList(ctx context.Context, p TemplateListParams) (List[MessageTemplate], error)

	FlowCreate(ctx context.Context, p FlowCreateParams) (Flow, error)
	FlowGet(ctx context.Context, projectID, id string) (Flow, error)
	FlowList(ctx context.Context, p FlowListParams) (List[Flow], error)
	FlowUpdate(ctx context.Context, p FlowUpdateParams) (Flow, error)
	FlowDelete(ctx context.Context, p FlowDeleteParams) error

	FlowRevisionCreate(ctx context.Context, p FlowRevisionCreateParams) (FlowRevision, error)
	FlowRevisionGet(ctx context.Context, projectID, flowID string, revision int) (FlowRevision, error)
	// FlowRevisionLatest returns the highest-numbered revision of a flow,
	// ErrNotFound when it has none.
	FlowRevisionLatest(ctx context.Context, projectID, flowID string) (FlowRevision, error)
	FlowRevisionList(ctx context.Context, p FlowRevisionListParams) (List[FlowRevision], error)

	// FlowStatsAdd increments execution counters (the runner calls it in
	// the transaction that applies a sprint).
	FlowStatsAdd(ctx context.Context, p FlowStatsAddParams) error
	FlowStatsGet(ctx context.Context, p FlowStatsParams) (FlowStats, error)

	// JobInsert enqueues a durable job. Inside InTx it commits with the
	// transaction (transactional enqueue); outside it commits on its own.
	JobInsert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

// ProjectCreateParams creates a project in the provisioning state.
type ProjectCreateParams struct {
	ID       string
	Name     string
	Settings json.RawMessage // nil means {}
	Now      time.Time
}

// ProjectListParams lists projects; with UserID set, only that user's.
// With IDs set, only those.
type ProjectListParams struct {
	UserID string
	IDs    []string
	Page   Page
}

// ProjectUpdateParams changes the given fields; nil leaves a field alone.
type ProjectUpdateParams struct {
	ID       string
	Name     *string
	Settings json.RawMessage
	Status   *string
	Now      time.Time
}

// UserCreateParams creates a user. Email is compared case-insensitively.
type UserCreateParams struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	IsAdmin      bool
	Now          time.Time
}

// UserSetPasswordParams replaces a user's password hash.
type UserSetPasswordParams struct {
	UserID       string
	PasswordHash string
	Now          time.Time
}

// MembershipUpsertParams adds a user to a project or changes their role.
type MembershipUpsertParams struct {
	ProjectID string
	UserID    string
	Role      domain.Role
	Now       time.Time
}

// MemberRow is a membership joined with its user, for member lists.
type MemberRow struct {
	domain.Membership
	Email string `json:"email"`
	Name  string `json:"name"`
}

// TokenCreateParams stores a new API token's hash.
type TokenCreateParams struct {
	ID        string
	ProjectID string
	Name      string
	Hash      string
	Prefix    string
	Role      domain.Role
	CreatedBy string
	Now       time.Time
}

// TokenListParams lists a project's tokens, revoked ones included.
type TokenListParams struct {
	ProjectID string
	Page      Page
}

// TokenRevokeParams revokes a token of a project; revoking twice is a no-op.
type TokenRevokeParams struct {
	ProjectID string
	ID        string
	Now       time.Time
}

// TokenTouchParams records a use of a token. It writes only when the stored
// time is older than Before, so a busy token costs one write per interval,
// not one per request.
type TokenTouchParams struct {
	ID     string
	Now    time.Time
	Before time.Time
}

// WebSessionUpdateParams slides a session's expiry and records its project.
type WebSessionUpdateParams struct {
	ID         string
	ProjectID  *string
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// AuditListParams lists a project's audit events, optionally one action.
type AuditListParams struct {
	ProjectID string
	Action    string
	Page      Page
}
