package account

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// InvitationTTL is how long an invitation link stays valid.
const InvitationTTL = 7 * 24 * time.Hour

// Inviting people, rather than adding them: an owner names an e-mail and a
// role and gets a link; nothing about the address is looked up, so the
// answer is the same whether it has an account or not, and nobody joins a
// project without using the link. Parley sends no mail: the owner passes
// the link on, which is why it is shown once, like an API token.

// NewInvitation is a created invitation: Token is shown once and only its
// hash is stored.
type NewInvitation struct {
	domain.Invitation
	Token string
}

// InviteParams invite an e-mail address into a project.
type InviteParams struct {
	ProjectID string
	Email     string
	Role      domain.Role
	Actor     Actor
}

// Invite creates an invitation, replacing a pending one for the same
// address in the project.
func (s *Service) Invite(ctx context.Context, p InviteParams) (NewInvitation, error) {
	email := strings.TrimSpace(p.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return NewInvitation{}, domain.Invalid("/email", "%q is not an email address", email)
	}
	if !p.Role.Valid() {
		return NewInvitation{}, domain.Invalid("/role", "role %q must be owner, editor or viewer", p.Role)
	}
	token := randomString(32)
	now := s.clock.Now()
	inv := domain.Invitation{ID: s.ids.NewID(), ProjectID: p.ProjectID, Email: email, Role: p.Role, TokenHash: HashToken(token),
		InvitedBy: string(p.Actor), CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	err := s.store.InTx(ctx, func(q store.Queries) error {
		var err error
		if inv, err = q.InvitationCreate(ctx, inv); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: p.ProjectID, Actor: string(p.Actor), Action: "member.invited", Target: inv.ID,
			Data: mustJSON(map[string]string{"email": email, "role": string(p.Role)}), CreatedAt: now})
	})
	return NewInvitation{Invitation: inv, Token: token}, err
}

// errInvitationInvalid is the one answer for a link that is unknown,
// expired, used or revoked: the holder learns nothing more.
var errInvitationInvalid = domain.Errorf(domain.CodeNotFound, "this invitation link is not valid: it may have expired (links last 7 days), been used or been withdrawn; ask the project's owner for a new one")

// pending returns the invitation of a link while it can still be accepted.
func (s *Service) pending(ctx context.Context, q store.Accounts, token string) (domain.Invitation, error) {
	inv, err := q.InvitationGetByHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return inv, errInvitationInvalid
	}
	if err != nil {
		return inv, err
	}
	if inv.AcceptedAt != nil || !s.clock.Now().Before(inv.ExpiresAt) {
		return inv, errInvitationInvalid
	}
	return inv, nil
}

// InvitationInfo is what the holder of a link may see before accepting.
type InvitationInfo struct {
	Email       string      `json:"email"`
	Role        domain.Role `json:"role"`
	ProjectName string      `json:"project_name"`
	ExpiresAt   time.Time   `json:"expires_at"`
}

// LookupInvitation describes a pending invitation to the holder of its link.
// It says nothing about whether the address has an account.
func (s *Service) LookupInvitation(ctx context.Context, token string) (InvitationInfo, error) {
	inv, err := s.pending(ctx, s.store, token)
	if err != nil {
		return InvitationInfo{}, err
	}
	p, err := s.store.ProjectGet(ctx, inv.ProjectID)
	if err != nil {
		return InvitationInfo{}, err
	}
	return InvitationInfo{Email: inv.Email, Role: inv.Role, ProjectName: p.Name, ExpiresAt: inv.ExpiresAt}, nil
}

// AcceptInvitation makes u a member with the invitation's role. u must be
// the invited address: a link forwarded to someone else does not let them in.
func (s *Service) AcceptInvitation(ctx context.Context, token string, u domain.User) (domain.Membership, error) {
	var m domain.Membership
	err := s.store.InTx(ctx, func(q store.Queries) error {
		inv, err := s.pending(ctx, q, token)
		if err != nil {
			return err
		}
		if !strings.EqualFold(inv.Email, u.Email) {
			return domain.Errorf(domain.CodeForbidden, "this invitation is for %s, and you are logged in as %s; log in as %s to accept it", inv.Email, u.Email, inv.Email)
		}
		return s.join(ctx, q, inv, u.ID, &m)
	})
	return m, err
}

// join accepts inv for userID, in q's transaction.
func (s *Service) join(ctx context.Context, q store.Queries, inv domain.Invitation, userID string, m *domain.Membership) error {
	now := s.clock.Now()
	if err := q.InvitationAccept(ctx, store.InvitationAcceptParams{ID: inv.ID, Now: now}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errInvitationInvalid // accepted by a concurrent request
		}
		return err
	}
	// Accepting never lowers a role the user already has in the project
	// (that could leave it without an owner); lowering is SetMemberRole's.
	role := inv.Role
	if cur, err := q.MembershipGet(ctx, store.MembershipKey{ProjectID: inv.ProjectID, UserID: userID}); err == nil && cur.Role.Allows(role) {
		role = cur.Role
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var err error
	if *m, err = q.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: inv.ProjectID, UserID: userID, Role: role, Now: now}); err != nil {
		return err
	}
	return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: inv.ProjectID, Actor: "user:" + userID, Action: "member.joined", Target: userID,
		Data: mustJSON(map[string]string{"invitation": inv.ID, "role": string(role)}), CreatedAt: now})
}

// RegisterParams create an account through an invitation.
type RegisterParams struct {
	Token    string
	Name     string
	Password string
}

// RegisterWithInvitation creates the invited address's account with the
// given password and accepts the invitation, when the address has no
// account. When it has one, it changes nothing — the account's owner must
// log in with their own password and accept — and answers exactly the same,
// after the same work, so the link does not tell whoever holds it (possibly
// the owner who made it) whether the address has an account.
func (s *Service) RegisterWithInvitation(ctx context.Context, p RegisterParams) (email string, err error) {
	if len(p.Password) < MinPasswordLen {
		return "", domain.Invalid("/password", "the password must be at least %d characters", MinPasswordLen)
	}
	hash, err := HashPassword(p.Password)
	if err != nil {
		return "", err
	}
	err = s.store.InTx(ctx, func(q store.Queries) error {
		inv, err := s.pending(ctx, q, p.Token)
		if err != nil {
			return err
		}
		email = inv.Email
		_, err = q.UserGetByEmail(ctx, inv.Email)
		switch {
		case err == nil:
			return nil // an existing account accepts by logging in
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		name := strings.TrimSpace(p.Name)
		if name == "" {
			name, _, _ = strings.Cut(inv.Email, "@")
		}
		u, err := q.UserCreate(ctx, store.UserCreateParams{ID: s.ids.NewID(), Email: inv.Email, Name: name, PasswordHash: hash, Now: s.clock.Now()})
		if err != nil {
			return err
		}
		var m domain.Membership
		return s.join(ctx, q, inv, u.ID, &m)
	})
	return email, err
}

// ListInvitations lists a project's pending invitations.
func (s *Service) ListInvitations(ctx context.Context, projectID string) ([]domain.Invitation, error) {
	return s.store.InvitationListPending(ctx, store.InvitationListParams{ProjectID: projectID, Now: s.clock.Now()})
}

// WithdrawInvitation deletes a pending invitation: its link stops working.
func (s *Service) WithdrawInvitation(ctx context.Context, projectID, id string, actor Actor) error {
	return s.store.InTx(ctx, func(q store.Queries) error {
		if err := q.InvitationDelete(ctx, store.Ref{ProjectID: projectID, ID: id}); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: projectID, Actor: string(actor), Action: "member.invitation_withdrawn", Target: id, CreatedAt: s.clock.Now()})
	})
}

// SetMemberRole changes a member's role, refusing to demote the last owner.
func (s *Service) SetMemberRole(ctx context.Context, projectID, userID string, role domain.Role, actor Actor) (domain.Membership, error) {
	if !role.Valid() {
		return domain.Membership{}, domain.Invalid("/role", "role %q must be owner, editor or viewer", role)
	}
	var m domain.Membership
	err := s.store.InTx(ctx, func(q store.Queries) error {
		cur, err := q.MembershipGet(ctx, store.MembershipKey{ProjectID: projectID, UserID: userID})
		if err != nil {
			return err
		}
		if cur.Role == domain.RoleOwner && role != domain.RoleOwner {
			if err := keepAnOwner(ctx, q, projectID, "demote"); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		if m, err = q.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: projectID, UserID: userID, Role: role, Now: now}); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: projectID, Actor: string(actor), Action: "member.saved", Target: userID,
			Data: mustJSON(map[string]string{"role": string(role)}), CreatedAt: now})
	})
	return m, err
}
