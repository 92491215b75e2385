package domain

import (
	"encoding/json"
	"time"
)

// Project statuses. A project is created provisioning and becomes ready once
// its provisioning job has run.
const (
	ProjectProvisioning = "provisioning"
	ProjectReady        = "ready"
)

// Project is an isolated workspace: every other record belongs to exactly one.
type Project struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Settings  json.RawMessage `json:"settings"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// User is a person who logs in to the web UI. Users are instance-wide and
// reach projects through memberships.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	IsAdmin      bool      `json:"is_admin"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Role is what a member or token may do within a project.
type Role string

// The roles, from least to most powerful.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleOwner  Role = "owner"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r == RoleViewer || r == RoleEditor || r == RoleOwner }

// Allows reports whether a holder of r may do what needs the role min.
func (r Role) Allows(min Role) bool { return r.rank() >= min.rank() }

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleEditor:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Membership gives a user a role in a project.
type Membership struct {
	ProjectID string    `json:"project_id"`
	UserID    string    `json:"user_id"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Invitation asks the holder of its link to join a project with a role, as
// the user with Email. Only the SHA-256 hash of the link's token is stored;
// the link is shown once, to the owner who made it.
type Invitation struct {
	ID         string     `json:"id"`
	ProjectID  string     `json:"project_id"`
	Email      string     `json:"email"`
	Role       Role       `json:"role"`
	TokenHash  string     `json:"-"`
	InvitedBy  string     `json:"invited_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at"`
}

// Token is a project-scoped API token. Only its SHA-256 hash is stored; the
// token itself is shown once, when created.
type Token struct {
	ID         string     `json:"id"`
	ProjectID  string     `json:"project_id"`
	Name       string     `json:"name"`
	Hash       string     `json:"-"`
	Prefix     string     `json:"prefix"`
	Role       Role       `json:"role"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// WebSession is a logged-in browser. ID is the SHA-256 hash of the cookie
// value, so a database leak does not leak live sessions.
type WebSession struct {
	ID         string
	UserID     string
	CSRFToken  string
	ProjectID  string // the project the UI last switched to; may be empty
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
}

// AuditEvent records who did what to which thing in a project.
type AuditEvent struct {
	ID        string          `json:"id"`
	ProjectID string          `json:"project_id"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Data      json.RawMessage `json:"data,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}
