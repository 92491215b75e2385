package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// Accounts are the repository methods of who may do what: projects, users,
// memberships, API tokens, web sessions, the audit log and the idempotency
// keys of API requests.
type Accounts interface {
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
	MembershipGet(ctx context.Context, k MembershipKey) (domain.Membership, error)
	MembershipListByProject(ctx context.Context, projectID string) ([]MemberRow, error)
	MembershipListByUser(ctx context.Context, userID string) ([]domain.Membership, error)
	MembershipDelete(ctx context.Context, k MembershipKey) error

	TokenCreate(ctx context.Context, p TokenCreateParams) (domain.Token, error)
	TokenGet(ctx context.Context, r Ref) (domain.Token, error)
	TokenGetByHash(ctx context.Context, hash string) (domain.Token, error)
	TokenList(ctx context.Context, p TokenListParams) (List[domain.Token], error)
	TokenRevoke(ctx context.Context, p TokenRevokeParams) (domain.Token, error)
	TokenTouch(ctx context.Context, p TokenTouchParams) error

	// InvitationCreate stores an invitation, first deleting the project's
	// pending invitations for the same e-mail: the newest link wins.
	InvitationCreate(ctx context.Context, inv domain.Invitation) (domain.Invitation, error)
	InvitationGetByHash(ctx context.Context, hash string) (domain.Invitation, error)
	// InvitationListPending lists a project's invitations neither accepted
	// nor expired at Now, newest first.
	InvitationListPending(ctx context.Context, p InvitationListParams) ([]domain.Invitation, error)
	// InvitationAccept marks a pending invitation accepted; ErrNotFound when
	// it is not pending any more (so of two racing accepts one wins).
	InvitationAccept(ctx context.Context, p InvitationAcceptParams) error
	InvitationDelete(ctx context.Context, r Ref) error

	WebSessionCreate(ctx context.Context, s domain.WebSession) error
	WebSessionGet(ctx context.Context, id string) (domain.WebSession, error)
	WebSessionUpdate(ctx context.Context, p WebSessionUpdateParams) error
	WebSessionDelete(ctx context.Context, id string) error
	WebSessionDeleteExpired(ctx context.Context, now time.Time) (int, error)

	AuditAppend(ctx context.Context, e domain.AuditEvent) error
	AuditList(ctx context.Context, p AuditListParams) (List[domain.AuditEvent], error)

	// IdempotencyGet returns the stored response for a key, or ErrNotFound.
	IdempotencyGet(ctx context.Context, k IdempotencyKey) ([]byte, error)
	// IdempotencyPut stores a response for a key; an existing key is ErrConflict.
	IdempotencyPut(ctx context.Context, p IdempotencyPutParams) error
}

// InvitationListParams lists a project's pending invitations.
type InvitationListParams struct {
	ProjectID string
	Now       time.Time
}

// InvitationAcceptParams accepts a pending invitation.
type InvitationAcceptParams struct {
	ID  string
	Now time.Time
}

// MembershipKey names one user's membership of one project.
type MembershipKey struct {
	ProjectID string
	UserID    string
}

// IdempotencyKey names an API client's idempotency key within a project.
type IdempotencyKey struct {
	ProjectID string
	Key       string
}

// IdempotencyPutParams store the response given to a request with a key.
type IdempotencyPutParams struct {
	ProjectID string
	Key       string
	Response  []byte
	Now       time.Time
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
