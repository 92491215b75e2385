package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

const (
	sessionCookie = "parley_session"
	csrfCookie    = "parley_csrf"
	csrfHeader    = "X-CSRF-Token"
	projectHeader = "X-Parley-Project"
)

// Principal is the authenticated caller and the project the request is
// scoped to.
type Principal struct {
	// Via is "token" or "session".
	Via string
	// ProjectID is the project every query of this request is scoped to;
	// empty on routes that need no project.
	ProjectID string
	// Role is the caller's role in ProjectID.
	Role    domain.Role
	TokenID string
	User    *domain.User
	Session *domain.WebSession
	cookie  string
}

// Actor names the caller for the audit log.
func (p *Principal) Actor() account.Actor {
	if p.Via == "token" {
		return account.Actor("token:" + p.TokenID)
	}
	return account.Actor("user:" + p.User.ID)
}

func principalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(keyPrincipal).(*Principal)
	if p == nil {
		// Reaching a handler without a principal is a bug in the route table.
		panic("httpapi: handler called without a principal")
	}
	return p
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// pathParams lists the parameter names in a route path.
func pathParams(path string) []string {
	var out []string
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// scopeCheck returns nil when the thing with id belongs to project, and a
// not-found error otherwise.
type scopeCheck func(ctx context.Context, projectID, id string) error

// scopeChecks names, for every path parameter that can appear in a
// non-public route, how to check it belongs to the caller's project. A
// route with a parameter missing here fails at start-up, so a new resource
// cannot forget isolation.
func (s *Server) scopeChecks() map[string]scopeCheck {
	checks := map[string]scopeCheck{
		"project_id": func(ctx context.Context, projectID, id string) error {
			if id != projectID {
				return domain.NotFound("project", id)
			}
			return nil
		},
		"user_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.MembershipGet(ctx, store.MembershipKey{ProjectID: projectID, UserID: id})
			return err
		},
		"invitation_id": func(ctx context.Context, projectID, id string) error {
			pending, err := s.deps.Accounts.ListInvitations(ctx, projectID)
			if err != nil {
				return err
			}
			for _, inv := range pending {
				if inv.ID == id {
					return nil
				}
			}
			return store.ErrNotFound
		},
		"token_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.TokenGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
	}
	for name, check := range map[string]scopeCheck{
		"contact_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.ContactGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"session_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.SessionGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"call_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.CallGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"channel_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"template_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.TemplateGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"wa_flow_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.WhatsAppFlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"provider_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.AIProviderGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		// A table is looked up in the project's own database only, so
		// another project's table is not found there.
		"table": func(ctx context.Context, projectID, id string) error {
			if s.deps.ProjectData == nil {
				return domain.NotFound("table", id)
			}
			_, err := s.deps.ProjectData.Table(ctx, projectID, id)
			return err
		},
		// A row key is only ever looked up in a table that passed the
		// check above, in the project's own database.
		"key": func(context.Context, string, string) error { return nil },
		"dead_letter_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.DeadLetterGet(ctx, store.DeadLetterGetParams{ProjectID: projectID, ID: id})
			return err
		},
		"signup_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.WhatsAppSignupGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"subscription_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.WebhookSubscriptionGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"delivery_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.WebhookDeliveryGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
	} {
		checks[name] = check
	}
	for name, check := range s.flowScopes() {
		checks[name] = check
	}
	for name, check := range s.campaignScopes() {
		checks[name] = check
	}
	return checks
}

// checkScopesCovered panics when a route uses a parameter with no scope
// check: a programming error that must never reach production.
func (s *Server) checkScopesCovered() {
	for _, r := range s.routes {
		if r.Access == Public {
			continue
		}
		for _, name := range pathParams(r.Path) {
			if _, ok := s.scopes[name]; !ok {
				panic(fmt.Sprintf("httpapi: route %s %s has parameter {%s} with no scope check", r.Method, r.Path, name))
			}
		}
	}
}

// authMiddleware authenticates, picks the project, enforces the role and
// CSRF, and checks every path parameter belongs to the project, before the
// body is even parsed: another project's thing is 404 whatever the body.
func (s *Server) authMiddleware(ctx huma.Context, next func(huma.Context)) {
	r, _ := ctx.Operation().Metadata[metaRoute].(*Route)
	if r == nil || r.Access == Public {
		next(ctx)
		return
	}
	fail := func(err error) { _ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "", err) }
	p, err := s.authenticate(ctx)
	if err != nil {
		fail(err)
		return
	}
	if p.Via == "session" && !safeMethod(ctx.Method()) {
		got := ctx.Header(csrfHeader)
		if got == "" || got != p.Session.CSRFToken {
			fail(domain.Errorf(domain.CodeForbidden, "a request authenticated by the session cookie must send the %s header with the csrf_token from /auth/login or /auth/me", csrfHeader))
			return
		}
	}
	if r.Access == User && p.Via != "session" {
		fail(domain.Errorf(domain.CodeForbidden, "this needs a logged-in user; API tokens belong to one project and cannot do it"))
		return
	}
	rctx := ctx.Context()
	if r.Access >= Viewer {
		if err := s.scope(rctx, ctx, r, p); err != nil {
			fail(err)
			return
		}
		min := map[Access]domain.Role{Viewer: domain.RoleViewer, Editor: domain.RoleEditor, Owner: domain.RoleOwner}[r.Access]
		for _, name := range pathParams(r.Path) {
			if err := s.scopes[name](rctx, p.ProjectID, ctx.Param(name)); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					err = domain.NotFound(strings.TrimSuffix(name, "_id"), ctx.Param(name))
				}
				fail(err)
				return
			}
		}
		if !p.Role.Allows(min) {
			fail(domain.Errorf(domain.CodeForbidden, "this needs the %s role in the project; you have %s", min, p.Role))
			return
		}
	}
	next(huma.WithValue(ctx, keyPrincipal, p))
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate reads the bearer token or the session cookie.
func (s *Server) authenticate(ctx huma.Context) (*Principal, error) {
	rctx := ctx.Context()
	if h := ctx.Header("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return nil, domain.Errorf(domain.CodeUnauthorized, "the Authorization header must be \"Bearer <token>\"")
		}
		t, err := s.deps.Accounts.AuthenticateToken(rctx, strings.TrimSpace(secret))
		if err != nil {
			return nil, err
		}
		return &Principal{Via: "token", TokenID: t.ID, ProjectID: t.ProjectID, Role: t.Role}, nil
	}
	if c, err := huma.ReadCookie(ctx, sessionCookie); err == nil && c.Value != "" {
		ws, u, err := s.deps.Accounts.Session(rctx, c.Value)
		if err != nil {
			return nil, err
		}
		return &Principal{Via: "session", User: &u, Session: &ws, cookie: c.Value}, nil
	}
	return nil, domain.Errorf(domain.CodeUnauthorized, "authentication required: send \"Authorization: Bearer <token>\" or log in at /auth/login")
}

// scope fixes the request's project: a token's own project; for a session,
// the project in the path, else the X-Parley-Project header, else the one
// the session last switched to. Someone else's project is not found.
func (s *Server) scope(ctx context.Context, hctx huma.Context, r *Route, p *Principal) error {
	requested := ""
	for _, name := range pathParams(r.Path) {
		if name == "project_id" {
			requested = hctx.Param(name)
		}
	}
	if p.Via == "token" {
		if requested != "" && requested != p.ProjectID {
			return domain.NotFound("project", requested)
		}
		return nil
	}
	if requested == "" {
		requested = hctx.Header(projectHeader)
	}
	if requested == "" {
		requested = p.Session.ProjectID
	}
	if requested == "" {
		return domain.Errorf(domain.CodeNotFound, "no project selected: you are not a member of any project yet; create one (POST /projects/) or ask an owner to add you")
	}
	m, err := s.deps.Store.MembershipGet(ctx, store.MembershipKey{ProjectID: requested, UserID: p.User.ID})
	if errors.Is(err, store.ErrNotFound) {
		return domain.NotFound("project", requested)
	}
	if err != nil {
		return err
	}
	p.ProjectID, p.Role = m.ProjectID, m.Role
	return nil
}
