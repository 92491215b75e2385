// Package account owns projects, users, memberships, API tokens and web
// sessions: the rules around them (who may do what, how secrets are made and
// checked) on top of the store.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
)

// TokenPrefix starts every API token, so leaked tokens are easy to scan for.
const TokenPrefix = "prl_"

// DefaultProjectName is the project created on first start.
const DefaultProjectName = "Default"

// Store is what the service needs of the database: the account queries,
// and transactions for the writes that go together (a project with its
// owner, its audit event and its provisioning job).
type Store interface {
	store.Accounts
	store.Transactor
}

// Service applies the account rules.
type Service struct {
	store      Store
	clock      domain.Clock
	ids        domain.IDGen
	sessionTTL time.Duration
	// byAccount and byAddress throttle failed logins per e-mail and per
	// client address.
	byAccount, byAddress *Throttle
	// checkPassword is CheckPassword; tests count its calls.
	checkPassword func(hash, password string) bool
	// onProjectUpdate are told of each committed project change.
	onProjectUpdate []func(projectID string)
}

// OnProjectUpdate registers fn to run after each committed change of a
// project's name or settings, so caches of them (the runner's keyword
// settings) are forgotten by the service that changed them, not by its
// callers. Register at start-up, before the service is used.
func (s *Service) OnProjectUpdate(fn func(projectID string)) {
	s.onProjectUpdate = append(s.onProjectUpdate, fn)
}

// New returns a Service. sessionTTL is how long an unused login lasts.
func New(s Store, clock domain.Clock, ids domain.IDGen, sessionTTL time.Duration) *Service {
	return &Service{store: s, clock: clock, ids: ids, sessionTTL: sessionTTL,
		byAccount: NewThrottle(clock, AccountThrottle), byAddress: NewThrottle(clock, AddressThrottle),
		checkPassword: CheckPassword}
}

// Actor names who did something, for the audit log: "user:<id>",
// "token:<id>" or "cli".
type Actor string

// CreateProject creates a project, makes owner (if any) its owner and
// enqueues its provisioning, all in one transaction.
func (s *Service) CreateProject(ctx context.Context, name string, settings json.RawMessage, ownerUserID string, actor Actor) (domain.Project, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return domain.Project{}, domain.Invalid("/name", "the project name must not be empty")
	}
	if len(name) > 100 {
		return domain.Project{}, domain.Invalid("/name", "the project name is %d characters; the limit is 100", len(name))
	}
	if len(settings) > 0 {
		var m map[string]any
		if err := json.Unmarshal(settings, &m); err != nil {
			return domain.Project{}, domain.Invalid("/settings", "settings must be a JSON object")
		}
	}
	var p domain.Project
	err := s.store.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		var err error
		p, err = q.ProjectCreate(ctx, store.ProjectCreateParams{ID: s.ids.NewID(), Name: name, Settings: settings, Now: now})
		if err != nil {
			return err
		}
		if ownerUserID != "" {
			if _, err := q.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: p.ID, UserID: ownerUserID, Role: domain.RoleOwner, Now: now}); err != nil {
				return err
			}
		}
		if err := q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: p.ID, Actor: string(actor), Action: "project.created", Target: p.ID, CreatedAt: now}); err != nil {
			return err
		}
		return q.JobInsert(ctx, store.JobInsertParams{Args: jobs.ProvisionArgs{ProjectID: p.ID}})
	})
	return p, err
}

// ResolveProject finds a project by ID or, failing that, by name.
func (s *Service) ResolveProject(ctx context.Context, idOrName string) (domain.Project, error) {
	p, err := s.store.ProjectGet(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		p, err = s.store.ProjectGetByName(ctx, idOrName)
	}
	if errors.Is(err, store.ErrNotFound) {
		return p, domain.NotFound("project", idOrName)
	}
	return p, err
}

// CreateUser validates and creates a user with a hashed password.
func (s *Service) CreateUser(ctx context.Context, email, name, password string, admin bool) (domain.User, error) {
	email = strings.TrimSpace(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return domain.User{}, domain.Invalid("/email", "%q is not an email address", email)
	}
	if len(password) < MinPasswordLen {
		return domain.User{}, domain.Invalid("/password", "the password must be at least %d characters", MinPasswordLen)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return domain.User{}, err
	}
	return s.store.UserCreate(ctx, store.UserCreateParams{ID: s.ids.NewID(), Email: email, Name: strings.TrimSpace(name), PasswordHash: hash, IsAdmin: admin, Now: s.clock.Now()})
}

// AddMember gives the user with email a role in a project at once. Only the
// operator's CLI uses it; through the API, owners invite (Invite), so that
// nobody is added without consent and no answer reveals an account.
func (s *Service) AddMember(ctx context.Context, projectID, email string, role domain.Role, actor Actor) (store.MemberRow, error) {
	if !role.Valid() {
		return store.MemberRow{}, domain.Invalid("/role", "role %q must be owner, editor or viewer", role)
	}
	u, err := s.store.UserGetByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.MemberRow{}, domain.Invalid("/email", "no user has the email %q; create the user first (parley user create)", email)
	}
	if err != nil {
		return store.MemberRow{}, err
	}
	var m domain.Membership
	err = s.store.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		if m, err = q.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: projectID, UserID: u.ID, Role: role, Now: now}); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: projectID, Actor: string(actor), Action: "member.saved", Target: u.ID,
			Data: mustJSON(map[string]string{"role": string(role)}), CreatedAt: now})
	})
	return store.MemberRow{Membership: m, Email: u.Email, Name: u.Name}, err
}

// RemoveMember removes a user from a project, refusing to remove its last owner.
func (s *Service) RemoveMember(ctx context.Context, projectID, userID string, actor Actor) error {
	return s.store.InTx(ctx, func(q store.Queries) error {
		m, err := q.MembershipGet(ctx, store.MembershipKey{ProjectID: projectID, UserID: userID})
		if err != nil {
			return err
		}
		if m.Role == domain.RoleOwner {
			if err := keepAnOwner(ctx, q, projectID, "remove"); err != nil {
				return err
			}
		}
		if err := q.MembershipDelete(ctx, store.MembershipKey{ProjectID: projectID, UserID: userID}); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: projectID, Actor: string(actor), Action: "member.removed", Target: userID, CreatedAt: s.clock.Now()})
	})
}

// NewToken is a created token: Secret is shown once and never stored.
type NewToken struct {
	domain.Token
	Secret string `json:"token"`
}

// CreateToken makes a project API token with the given role.
func (s *Service) CreateToken(ctx context.Context, projectID, name string, role domain.Role, actor Actor) (NewToken, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return NewToken{}, domain.Invalid("/name", "the token name must not be empty")
	}
	if role == "" {
		role = domain.RoleEditor
	}
	if !role.Valid() {
		return NewToken{}, domain.Invalid("/role", "role %q must be owner, editor or viewer", role)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return NewToken{}, fmt.Errorf("generating a token: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	var t domain.Token
	err := s.store.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		var err error
		t, err = q.TokenCreate(ctx, store.TokenCreateParams{ID: s.ids.NewID(), ProjectID: projectID, Name: name,
			Hash: HashToken(secret), Prefix: secret[:len(TokenPrefix)+6], Role: role, CreatedBy: string(actor), Now: now})
		if err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: projectID, Actor: string(actor), Action: "token.created", Target: t.ID, CreatedAt: now})
	})
	return NewToken{Token: t, Secret: secret}, err
}

// RevokeToken revokes a token of a project.
func (s *Service) RevokeToken(ctx context.Context, projectID, tokenID string, actor Actor) (domain.Token, error) {
	var t domain.Token
	err := s.store.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		var err error
		if t, err = q.TokenRevoke(ctx, store.TokenRevokeParams{ProjectID: projectID, ID: tokenID, Now: now}); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: projectID, Actor: string(actor), Action: "token.revoked", Target: t.ID, CreatedAt: now})
	})
	return t, err
}

// UpdateProject renames a project or replaces its settings (p.Now is set
// here), recording who did it, in one transaction.
func (s *Service) UpdateProject(ctx context.Context, p store.ProjectUpdateParams, actor Actor) (domain.Project, error) {
	p.Now = s.clock.Now()
	var proj domain.Project
	err := s.store.InTx(ctx, func(q store.Queries) error {
		var err error
		if proj, err = q.ProjectUpdate(ctx, p); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.ids.NewID(), ProjectID: proj.ID, Actor: string(actor), Action: "project.updated", Target: proj.ID, CreatedAt: p.Now})
	})
	if err != nil {
		return proj, err
	}
	for _, fn := range s.onProjectUpdate {
		fn(proj.ID)
	}
	return proj, nil
}

// HashToken is how tokens and session cookies are stored: hex SHA-256. The
// secrets are 256 random bits, so a fast hash is enough.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// AuthenticateToken returns the live token for secret and records its use.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (domain.Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return domain.Token{}, domain.Errorf(domain.CodeUnauthorized, "the bearer token is not a Parley API token (they start with %s)", TokenPrefix)
	}
	t, err := s.store.TokenGetByHash(ctx, HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return t, domain.Errorf(domain.CodeUnauthorized, "the bearer token is not valid")
	}
	if err != nil {
		return t, err
	}
	if t.RevokedAt != nil {
		return t, domain.Errorf(domain.CodeUnauthorized, "the bearer token was revoked on %s", t.RevokedAt.Format(time.RFC3339))
	}
	now := s.clock.Now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.store.TokenTouch(ctx, store.TokenTouchParams{ID: t.ID, Now: now, Before: now.Add(-time.Minute)}); err != nil {
			return t, err
		}
	}
	return t, nil
}

// LoginParams are the credentials of a login and where it comes from.
type LoginParams struct {
	Email    string
	Password string
	// ClientAddr is the caller's IP address; empty skips the per-address
	// throttle.
	ClientAddr string
}

// Login checks credentials and opens a web session. The returned cookie
// value is the only copy of the session secret.
//
// Failed logins are throttled per e-mail and per client address: past the
// free tries, the key must wait (1 s, doubling, capped) and every login
// until then is refused with a CodeRateLimited error wrapping *Throttled —
// even with the right password, and before any lookup, so the answer and
// its time are the same whether the e-mail has an account or not. Unknown
// e-mails are checked against a dummy hash for the same reason.
func (s *Service) Login(ctx context.Context, p LoginParams) (cookie string, ws domain.WebSession, u domain.User, err error) {
	acct := "account:" + accountKey(p.Email)
	addr := ""
	if p.ClientAddr != "" {
		addr = "address:" + p.ClientAddr
	}
	if th := s.throttled(acct, addr); th != nil {
		return "", ws, u, &domain.Error{Code: domain.CodeRateLimited, Message: th.Error(), Err: th}
	}
	fail := func() error {
		s.byAccount.Fail(acct)
		if addr != "" {
			s.byAddress.Fail(addr)
		}
		return domain.Errorf(domain.CodeUnauthorized, "wrong email or password")
	}
	u, err = s.store.UserGetByEmail(ctx, p.Email)
	if errors.Is(err, store.ErrNotFound) {
		s.checkPassword(dummyHash, p.Password)
		return "", ws, u, fail()
	}
	if err != nil {
		return "", ws, u, err
	}
	if !s.checkPassword(u.PasswordHash, p.Password) {
		return "", ws, u, fail()
	}
	// The address keeps its count: one good login must not buy an address
	// a fresh set of guesses at other accounts.
	s.byAccount.Reset(acct)
	cookie, csrf := randomString(32), randomString(24)
	now := s.clock.Now()
	ws = domain.WebSession{ID: HashToken(cookie), UserID: u.ID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL), LastSeenAt: now}
	if ms, err := s.store.MembershipListByUser(ctx, u.ID); err == nil && len(ms) > 0 {
		ws.ProjectID = ms[0].ProjectID
	}
	if err := s.store.WebSessionCreate(ctx, ws); err != nil {
		return "", ws, u, err
	}
	return cookie, ws, u, nil
}

// throttled returns why a login from these keys must wait, or nil.
func (s *Service) throttled(acct, addr string) *Throttled {
	var th *Throttled
	if w := s.byAccount.Wait(acct); w > 0 {
		th = &Throttled{Scope: "account", RetryAfter: w}
	}
	if addr != "" {
		if w := s.byAddress.Wait(addr); w > 0 && (th == nil || w > th.RetryAfter) {
			th = &Throttled{Scope: "address", RetryAfter: w}
		}
	}
	return th
}

// Session returns the live web session for a cookie value and its user,
// sliding its expiry at most once a minute.
func (s *Service) Session(ctx context.Context, cookie string) (domain.WebSession, domain.User, error) {
	expired := domain.Errorf(domain.CodeUnauthorized, "your login has expired; log in again")
	ws, err := s.store.WebSessionGet(ctx, HashToken(cookie))
	if errors.Is(err, store.ErrNotFound) {
		return ws, domain.User{}, expired
	}
	if err != nil {
		return ws, domain.User{}, err
	}
	now := s.clock.Now()
	if !now.Before(ws.ExpiresAt) {
		return ws, domain.User{}, expired
	}
	u, err := s.store.UserGet(ctx, ws.UserID)
	if err != nil {
		return ws, u, err
	}
	if now.Sub(ws.LastSeenAt) > time.Minute {
		ws.LastSeenAt, ws.ExpiresAt = now, now.Add(s.sessionTTL)
		if err := s.store.WebSessionUpdate(ctx, store.WebSessionUpdateParams{ID: ws.ID, LastSeenAt: now, ExpiresAt: ws.ExpiresAt}); err != nil {
			return ws, u, err
		}
	}
	return ws, u, nil
}

// SwitchProject records the project a web session works in.
func (s *Service) SwitchProject(ctx context.Context, ws domain.WebSession, projectID string) error {
	if _, err := s.store.MembershipGet(ctx, store.MembershipKey{ProjectID: projectID, UserID: ws.UserID}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return domain.NotFound("project", projectID)
		}
		return err
	}
	return s.store.WebSessionUpdate(ctx, store.WebSessionUpdateParams{ID: ws.ID, ProjectID: &projectID, LastSeenAt: ws.LastSeenAt, ExpiresAt: ws.ExpiresAt})
}

// Logout ends the web session for a cookie value.
func (s *Service) Logout(ctx context.Context, cookie string) error {
	return s.store.WebSessionDelete(ctx, HashToken(cookie))
}

// Bootstrap prepares a fresh installation: the Default project and, when no
// user exists, an admin who owns it. It returns the admin's generated
// password when it created one, for printing once.
func (s *Service) Bootstrap(ctx context.Context, adminEmail string) (password string, err error) {
	n, err := s.store.ProjectCount(ctx)
	if err != nil {
		return "", err
	}
	users, err := s.store.UserCount(ctx)
	if err != nil {
		return "", err
	}
	var owner string
	if users == 0 {
		password = GeneratePassword()
		u, err := s.CreateUser(ctx, adminEmail, "Admin", password, true)
		switch {
		case errors.Is(err, store.ErrConflict):
			// Another process starting at the same time made the admin.
			password = ""
		case err != nil:
			return "", fmt.Errorf("creating the first admin: %w", err)
		default:
			owner = u.ID
		}
	}
	if n == 0 {
		_, err := s.CreateProject(ctx, DefaultProjectName, nil, owner, "system")
		if errors.Is(err, store.ErrConflict) && owner != "" {
			// Another process made the project first; still make our admin its owner.
			return password, s.ownDefault(ctx, owner)
		}
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return "", fmt.Errorf("creating the Default project: %w", err)
		}
	} else if owner != "" {
		if err := s.ownDefault(ctx, owner); err != nil {
			return "", err
		}
	}
	return password, nil
}

// ownDefault makes userID an owner of the Default project, if there is one.
func (s *Service) ownDefault(ctx context.Context, userID string) error {
	p, err := s.ResolveProject(ctx, DefaultProjectName)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.store.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: p.ID, UserID: userID, Role: domain.RoleOwner, Now: s.clock.Now()})
	return err
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// keepAnOwner refuses to take the owner role from a project's last owner
// (verb says how: "remove", "demote"), inside the caller's transaction.
func keepAnOwner(ctx context.Context, q store.Queries, projectID, verb string) error {
	members, err := q.MembershipListByProject(ctx, projectID)
	if err != nil {
		return err
	}
	owners := 0
	for _, m := range members {
		if m.Role == domain.RoleOwner {
			owners++
		}
	}
	if owners <= 1 {
		return domain.Errorf(domain.CodeConflict, "cannot %s the last owner of the project; make someone else owner first", verb)
	}
	return nil
}
