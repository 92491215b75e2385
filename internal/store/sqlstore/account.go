package sqlstore

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

const projectCols = `id, name, settings, status, created_at, updated_at`

func scanProject(r Row) (domain.Project, error) {
	var p domain.Project
	var settings string
	err := r.Scan(&p.ID, &p.Name, &settings, &p.Status, &p.CreatedAt, &p.UpdatedAt)
	p.Settings = json.RawMessage(settings)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

func jsonOrEmpty(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// ProjectCreate implements store.Queries.
func (q *Queries) ProjectCreate(ctx context.Context, p store.ProjectCreateParams) (domain.Project, error) {
	row := q.w.QueryRow(ctx, `INSERT INTO projects (id, name, settings, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+projectCols,
		p.ID, p.Name, jsonOrEmpty(p.Settings), domain.ProjectProvisioning, p.Now, p.Now)
	out, err := scanProject(row)
	if err != nil {
		if q.d.IsUniqueViolation(err) {
			return out, domain.Errorf(domain.CodeConflict, "a project named %q already exists", p.Name)
		}
		return out, q.translate(err, "creating project")
	}
	return out, nil
}

// ProjectGet implements store.Queries.
func (q *Queries) ProjectGet(ctx context.Context, id string) (domain.Project, error) {
	p, err := scanProject(q.r.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id))
	if err == ErrNoRows {
		return p, notFound("project", id)
	}
	return p, q.translate(err, "getting project")
}

// ProjectGetByName implements store.Queries; names match case-insensitively.
func (q *Queries) ProjectGetByName(ctx context.Context, name string) (domain.Project, error) {
	p, err := scanProject(q.r.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE lower(name) = lower(?)`, name))
	if err == ErrNoRows {
		return p, notFound("project", name)
	}
	return p, q.translate(err, "getting project by name")
}

// ProjectList implements store.Queries.
func (q *Queries) ProjectList(ctx context.Context, p store.ProjectListParams) (store.List[domain.Project], error) {
	sql := `SELECT ` + projectCols + ` FROM projects WHERE 1=1`
	var args []any
	if p.UserID != "" {
		sql += ` AND id IN (SELECT project_id FROM memberships WHERE user_id = ?)`
		args = append(args, p.UserID)
	}
	if p.IDs != nil {
		if len(p.IDs) == 0 {
			return store.List[domain.Project]{Items: []domain.Project{}}, nil
		}
		sql += ` AND id IN (` + placeholders(len(p.IDs)) + `)`
		for _, id := range p.IDs {
			args = append(args, id)
		}
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (domain.Project, error) { return scanProject(r) })
	if err != nil {
		return store.List[domain.Project]{}, q.translate(err, "listing projects")
	}
	return finishPage(items, p.Page, func(p domain.Project) string { return p.ID }), nil
}

// ProjectUpdate implements store.Queries.
func (q *Queries) ProjectUpdate(ctx context.Context, p store.ProjectUpdateParams) (domain.Project, error) {
	sets := []string{"updated_at = ?"}
	args := []any{p.Now}
	if p.Name != nil {
		sets = append(sets, "name = ?")
		args = append(args, *p.Name)
	}
	if p.Settings != nil {
		sets = append(sets, "settings = ?")
		args = append(args, string(p.Settings))
	}
	if p.Status != nil {
		sets = append(sets, "status = ?")
		args = append(args, *p.Status)
	}
	args = append(args, p.ID)
	out, err := scanProject(q.w.QueryRow(ctx, `UPDATE projects SET `+strings.Join(sets, ", ")+` WHERE id = ? RETURNING `+projectCols, args...))
	switch {
	case err == ErrNoRows:
		return out, notFound("project", p.ID)
	case err != nil && q.d.IsUniqueViolation(err):
		return out, domain.Errorf(domain.CodeConflict, "a project named %q already exists", *p.Name)
	}
	return out, q.translate(err, "updating project")
}

// ProjectCount implements store.Queries.
func (q *Queries) ProjectCount(ctx context.Context) (int, error) {
	var n int
	err := q.r.QueryRow(ctx, `SELECT count(*) FROM projects`).Scan(&n)
	return n, q.translate(err, "counting projects")
}

const userCols = `id, email, name, password_hash, is_admin, created_at, updated_at`

func scanUser(r Row) (domain.User, error) {
	var u domain.User
	err := r.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.IsAdmin, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// UserCreate implements store.Queries.
func (q *Queries) UserCreate(ctx context.Context, p store.UserCreateParams) (domain.User, error) {
	u, err := scanUser(q.w.QueryRow(ctx, `INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+userCols,
		p.ID, strings.ToLower(strings.TrimSpace(p.Email)), p.Name, p.PasswordHash, p.IsAdmin, p.Now, p.Now))
	if err != nil && q.d.IsUniqueViolation(err) {
		return u, domain.Errorf(domain.CodeConflict, "a user with email %q already exists", p.Email)
	}
	return u, q.translate(err, "creating user")
}

// UserGet implements store.Queries.
func (q *Queries) UserGet(ctx context.Context, id string) (domain.User, error) {
	u, err := scanUser(q.r.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err == ErrNoRows {
		return u, notFound("user", id)
	}
	return u, q.translate(err, "getting user")
}

// UserGetByEmail implements store.Queries.
func (q *Queries) UserGetByEmail(ctx context.Context, email string) (domain.User, error) {
	u, err := scanUser(q.r.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))))
	if err == ErrNoRows {
		return u, notFound("user", email)
	}
	return u, q.translate(err, "getting user by email")
}

// UserSetPassword implements store.Queries.
func (q *Queries) UserSetPassword(ctx context.Context, p store.UserSetPasswordParams) error {
	n, err := q.w.Exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, p.PasswordHash, p.Now, p.UserID)
	if err == nil && n == 0 {
		return notFound("user", p.UserID)
	}
	return q.translate(err, "setting password")
}

// UserCount implements store.Queries.
func (q *Queries) UserCount(ctx context.Context) (int, error) {
	var n int
	err := q.r.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, q.translate(err, "counting users")
}

const membershipCols = `project_id, user_id, role, created_at`

func scanMembership(r Row) (domain.Membership, error) {
	var m domain.Membership
	err := r.Scan(&m.ProjectID, &m.UserID, &m.Role, &m.CreatedAt)
	m.CreatedAt = m.CreatedAt.UTC()
	return m, err
}

// MembershipUpsert implements store.Queries.
func (q *Queries) MembershipUpsert(ctx context.Context, p store.MembershipUpsertParams) (domain.Membership, error) {
	m, err := scanMembership(q.w.QueryRow(ctx, `INSERT INTO memberships (project_id, user_id, role, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role
		RETURNING `+membershipCols, p.ProjectID, p.UserID, string(p.Role), p.Now))
	return m, q.translate(err, "saving membership")
}

// MembershipGet implements store.Queries.
func (q *Queries) MembershipGet(ctx context.Context, k store.MembershipKey) (domain.Membership, error) {
	projectID, userID := k.ProjectID, k.UserID
	m, err := scanMembership(q.r.QueryRow(ctx, `SELECT `+membershipCols+` FROM memberships WHERE project_id = ? AND user_id = ?`, projectID, userID))
	if err == ErrNoRows {
		return m, notFound("member", userID)
	}
	return m, q.translate(err, "getting membership")
}

// MembershipListByProject implements store.Queries.
func (q *Queries) MembershipListByProject(ctx context.Context, projectID string) ([]store.MemberRow, error) {
	rows, err := q.r.Query(ctx, `SELECT m.project_id, m.user_id, m.role, m.created_at, u.email, u.name
		FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY u.email`, projectID)
	out, err := collect(rows, err, func(r Rows) (store.MemberRow, error) {
		var m store.MemberRow
		err := r.Scan(&m.ProjectID, &m.UserID, &m.Role, &m.CreatedAt, &m.Email, &m.Name)
		m.CreatedAt = m.CreatedAt.UTC()
		return m, err
	})
	if out == nil {
		out = []store.MemberRow{}
	}
	return out, q.translate(err, "listing members")
}

// MembershipListByUser implements store.Queries.
func (q *Queries) MembershipListByUser(ctx context.Context, userID string) ([]domain.Membership, error) {
	rows, err := q.r.Query(ctx, `SELECT `+membershipCols+` FROM memberships WHERE user_id = ? ORDER BY created_at, project_id`, userID)
	out, err := collect(rows, err, func(r Rows) (domain.Membership, error) { return scanMembership(r) })
	if out == nil {
		out = []domain.Membership{}
	}
	return out, q.translate(err, "listing memberships")
}

// MembershipDelete implements store.Queries.
func (q *Queries) MembershipDelete(ctx context.Context, k store.MembershipKey) error {
	projectID, userID := k.ProjectID, k.UserID
	n, err := q.w.Exec(ctx, `DELETE FROM memberships WHERE project_id = ? AND user_id = ?`, projectID, userID)
	if err == nil && n == 0 {
		return notFound("member", userID)
	}
	return q.translate(err, "removing member")
}

const tokenCols = `id, project_id, name, token_hash, prefix, role, created_by, created_at, last_used_at, revoked_at`

func scanToken(r Row) (domain.Token, error) {
	var t domain.Token
	err := r.Scan(&t.ID, &t.ProjectID, &t.Name, &t.Hash, &t.Prefix, &t.Role, &t.CreatedBy, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
	t.CreatedAt = t.CreatedAt.UTC()
	t.LastUsedAt, t.RevokedAt = utcPtr(t.LastUsedAt), utcPtr(t.RevokedAt)
	return t, err
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// TokenCreate implements store.Queries.
func (q *Queries) TokenCreate(ctx context.Context, p store.TokenCreateParams) (domain.Token, error) {
	t, err := scanToken(q.w.QueryRow(ctx, `INSERT INTO api_tokens (id, project_id, name, token_hash, prefix, role, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+tokenCols,
		p.ID, p.ProjectID, p.Name, p.Hash, p.Prefix, string(p.Role), p.CreatedBy, p.Now))
	return t, q.translate(err, "creating token")
}

// TokenGet implements store.Queries.
func (q *Queries) TokenGet(ctx context.Context, r store.Ref) (domain.Token, error) {
	projectID, id := r.ProjectID, r.ID
	t, err := scanToken(q.r.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return t, notFound("token", id)
	}
	return t, q.translate(err, "getting token")
}

// TokenGetByHash implements store.Queries. Revoked tokens are returned too;
// the caller decides, so it can say "revoked" rather than "unknown".
func (q *Queries) TokenGetByHash(ctx context.Context, hash string) (domain.Token, error) {
	t, err := scanToken(q.r.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = ?`, hash))
	if err == ErrNoRows {
		return t, notFound("token", "")
	}
	return t, q.translate(err, "getting token")
}

// TokenList implements store.Queries.
func (q *Queries) TokenList(ctx context.Context, p store.TokenListParams) (store.List[domain.Token], error) {
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE project_id = ?`+where+limit, append([]any{p.ProjectID}, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (domain.Token, error) { return scanToken(r) })
	if err != nil {
		return store.List[domain.Token]{}, q.translate(err, "listing tokens")
	}
	return finishPage(items, p.Page, func(t domain.Token) string { return t.ID }), nil
}

// TokenRevoke implements store.Queries.
func (q *Queries) TokenRevoke(ctx context.Context, p store.TokenRevokeParams) (domain.Token, error) {
	t, err := scanToken(q.w.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?)
		WHERE project_id = ? AND id = ? RETURNING `+tokenCols, p.Now, p.ProjectID, p.ID))
	if err == ErrNoRows {
		return t, notFound("token", p.ID)
	}
	return t, q.translate(err, "revoking token")
}

// TokenTouch implements store.Queries.
func (q *Queries) TokenTouch(ctx context.Context, p store.TokenTouchParams) error {
	_, err := q.w.Exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, p.Now, p.ID, p.Before)
	return q.translate(err, "recording token use")
}

const invitationCols = `id, project_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at`

func scanInvitation(r Row) (domain.Invitation, error) {
	var i domain.Invitation
	err := r.Scan(&i.ID, &i.ProjectID, &i.Email, &i.Role, &i.TokenHash, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt, &i.AcceptedAt)
	i.CreatedAt, i.ExpiresAt, i.AcceptedAt = i.CreatedAt.UTC(), i.ExpiresAt.UTC(), utcPtr(i.AcceptedAt)
	return i, err
}

// InvitationCreate implements store.Queries.
func (q *Queries) InvitationCreate(ctx context.Context, inv domain.Invitation) (domain.Invitation, error) {
	if _, err := q.w.Exec(ctx, `DELETE FROM invitations WHERE project_id = ? AND lower(email) = lower(?) AND accepted_at IS NULL`, inv.ProjectID, inv.Email); err != nil {
		return domain.Invitation{}, q.translate(err, "replacing pending invitations")
	}
	out, err := scanInvitation(q.w.QueryRow(ctx, `INSERT INTO invitations (id, project_id, email, role, token_hash, invited_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+invitationCols,
		inv.ID, inv.ProjectID, inv.Email, string(inv.Role), inv.TokenHash, inv.InvitedBy, inv.CreatedAt, inv.ExpiresAt))
	return out, q.translate(err, "creating invitation")
}

// InvitationGetByHash implements store.Queries.
func (q *Queries) InvitationGetByHash(ctx context.Context, hash string) (domain.Invitation, error) {
	i, err := scanInvitation(q.r.QueryRow(ctx, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = ?`, hash))
	if err == ErrNoRows {
		return i, notFound("invitation", "")
	}
	return i, q.translate(err, "getting invitation")
}

// InvitationListPending implements store.Queries.
func (q *Queries) InvitationListPending(ctx context.Context, p store.InvitationListParams) ([]domain.Invitation, error) {
	rows, err := q.r.Query(ctx, `SELECT `+invitationCols+` FROM invitations
		WHERE project_id = ? AND accepted_at IS NULL AND expires_at > ? ORDER BY id DESC`, p.ProjectID, p.Now)
	items, err := collect(rows, err, func(r Rows) (domain.Invitation, error) { return scanInvitation(r) })
	if err != nil {
		return nil, q.translate(err, "listing invitations")
	}
	return items, nil
}

// InvitationAccept implements store.Queries.
func (q *Queries) InvitationAccept(ctx context.Context, p store.InvitationAcceptParams) error {
	n, err := q.w.Exec(ctx, `UPDATE invitations SET accepted_at = ? WHERE id = ? AND accepted_at IS NULL`, p.Now, p.ID)
	if err == nil && n == 0 {
		return notFound("invitation", p.ID)
	}
	return q.translate(err, "accepting invitation")
}

// InvitationDelete implements store.Queries.
func (q *Queries) InvitationDelete(ctx context.Context, r store.Ref) error {
	n, err := q.w.Exec(ctx, `DELETE FROM invitations WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID)
	if err == nil && n == 0 {
		return notFound("invitation", r.ID)
	}
	return q.translate(err, "deleting invitation")
}

const webSessionCols = `id, user_id, csrf_token, project_id, created_at, expires_at, last_seen_at`

func scanWebSession(r Row) (domain.WebSession, error) {
	var s domain.WebSession
	err := r.Scan(&s.ID, &s.UserID, &s.CSRFToken, &s.ProjectID, &s.CreatedAt, &s.ExpiresAt, &s.LastSeenAt)
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.LastSeenAt.UTC()
	return s, err
}

// WebSessionCreate implements store.Queries.
func (q *Queries) WebSessionCreate(ctx context.Context, s domain.WebSession) error {
	_, err := q.w.Exec(ctx, `INSERT INTO web_sessions (`+webSessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, s.CSRFToken, s.ProjectID, s.CreatedAt, s.ExpiresAt, s.LastSeenAt)
	return q.translate(err, "creating web session")
}

// WebSessionGet implements store.Queries.
func (q *Queries) WebSessionGet(ctx context.Context, id string) (domain.WebSession, error) {
	s, err := scanWebSession(q.r.QueryRow(ctx, `SELECT `+webSessionCols+` FROM web_sessions WHERE id = ?`, id))
	if err == ErrNoRows {
		return s, notFound("session", "")
	}
	return s, q.translate(err, "getting web session")
}

// WebSessionUpdate implements store.Queries.
func (q *Queries) WebSessionUpdate(ctx context.Context, p store.WebSessionUpdateParams) error {
	sets := "last_seen_at = ?, expires_at = ?"
	args := []any{p.LastSeenAt, p.ExpiresAt}
	if p.ProjectID != nil {
		sets += ", project_id = ?"
		args = append(args, *p.ProjectID)
	}
	n, err := q.w.Exec(ctx, `UPDATE web_sessions SET `+sets+` WHERE id = ?`, append(args, p.ID)...)
	if err == nil && n == 0 {
		return notFound("session", "")
	}
	return q.translate(err, "updating web session")
}

// WebSessionDelete implements store.Queries; deleting a missing one is fine.
func (q *Queries) WebSessionDelete(ctx context.Context, id string) error {
	_, err := q.w.Exec(ctx, `DELETE FROM web_sessions WHERE id = ?`, id)
	return q.translate(err, "deleting web session")
}

// WebSessionDeleteExpired implements store.Queries.
func (q *Queries) WebSessionDeleteExpired(ctx context.Context, now time.Time) (int, error) {
	n, err := q.w.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at < ?`, now)
	return int(n), q.translate(err, "deleting expired web sessions")
}

const auditCols = `id, project_id, actor, action, target, data, created_at`

// AuditAppend implements store.Queries.
func (q *Queries) AuditAppend(ctx context.Context, e domain.AuditEvent) error {
	_, err := q.w.Exec(ctx, `INSERT INTO audit_events (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ProjectID, e.Actor, e.Action, e.Target, jsonOrEmpty(e.Data), e.CreatedAt)
	return q.translate(err, "appending audit event")
}

// AuditList implements store.Queries.
func (q *Queries) AuditList(ctx context.Context, p store.AuditListParams) (store.List[domain.AuditEvent], error) {
	sql := `SELECT ` + auditCols + ` FROM audit_events WHERE project_id = ?`
	args := []any{p.ProjectID}
	if p.Action != "" {
		sql += ` AND action = ?`
		args = append(args, p.Action)
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (domain.AuditEvent, error) {
		var e domain.AuditEvent
		var data string
		err := r.Scan(&e.ID, &e.ProjectID, &e.Actor, &e.Action, &e.Target, &data, &e.CreatedAt)
		e.Data, e.CreatedAt = json.RawMessage(data), e.CreatedAt.UTC()
		return e, err
	})
	if err != nil {
		return store.List[domain.AuditEvent]{}, q.translate(err, "listing audit events")
	}
	return finishPage(items, p.Page, func(e domain.AuditEvent) string { return e.ID }), nil
}
