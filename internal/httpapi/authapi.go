package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/account"

	"github.com/parleyhq/parley/internal/domain"
)

// LoginInput are the credentials.
type LoginInput struct {
	Body struct {
		Email    string `json:"email" format:"email" maxLength:"320"`
		Password string `json:"password" minLength:"1" maxLength:"1000"`
	}
}

// SessionInfo describes the caller, for the UI.
type SessionInfo struct {
	User      *domain.User        `json:"user,omitempty"`
	Via       string              `json:"via" enum:"token,session"`
	ProjectID string              `json:"project_id,omitempty" doc:"The current project"`
	Role      domain.Role         `json:"role,omitempty" doc:"The caller's role in the current project"`
	Projects  []ProjectMembership `json:"projects"`
	CSRFToken string              `json:"csrf_token,omitempty" doc:"Send as X-CSRF-Token on writes authenticated by the cookie"`
}

// ProjectMembership is a project the caller can switch to.
type ProjectMembership struct {
	ID   string      `json:"id"`
	Name string      `json:"name"`
	Role domain.Role `json:"role"`
}

// SessionOutput is a SessionInfo with the cookies to set.
type SessionOutput struct {
	SetCookie []http.Cookie `header:"Set-Cookie"`
	Body      SessionInfo
}

func (s *Server) cookies(value, csrf string, maxAge int) []http.Cookie {
	return []http.Cookie{
		{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.deps.SecureCookies, MaxAge: maxAge},
		// Readable by the page's script, which echoes it in X-CSRF-Token.
		{Name: csrfCookie, Value: csrf, Path: "/", SameSite: http.SameSiteLaxMode, Secure: s.deps.SecureCookies, MaxAge: maxAge},
	}
}

func (s *Server) login(ctx context.Context, in *LoginInput) (*SessionOutput, error) {
	addr := clientAddrFrom(ctx)
	cookie, ws, u, err := s.deps.Accounts.Login(ctx, account.LoginParams{Email: in.Body.Email, Password: in.Body.Password, ClientAddr: addr})
	var th *account.Throttled
	switch {
	case errors.As(err, &th):
		s.logins.throttled.WithLabelValues(th.Scope).Inc()
		loggerFrom(ctx).WarnContext(ctx, "login throttled", "scope", th.Scope, "email", in.Body.Email, "client_addr", addr, "retry_after_s", th.Seconds())
		return nil, huma.ErrorWithHeaders(err, http.Header{"Retry-After": {strconv.Itoa(th.Seconds())}})
	case domain.CodeOf(err) == domain.CodeUnauthorized:
		s.logins.failures.Inc()
		loggerFrom(ctx).InfoContext(ctx, "login failed", "email", in.Body.Email, "client_addr", addr)
		return nil, err
	case err != nil:
		return nil, err
	}
	info, err := s.sessionInfo(ctx, &Principal{Via: "session", User: &u, Session: &ws, ProjectID: ws.ProjectID})
	if err != nil {
		return nil, err
	}
	return &SessionOutput{SetCookie: s.cookies(cookie, ws.CSRFToken, int(ws.ExpiresAt.Sub(ws.CreatedAt).Seconds())), Body: info}, nil
}

// LogoutOutput clears the cookies.
type LogoutOutput struct {
	SetCookie []http.Cookie `header:"Set-Cookie"`
	Body      struct {
		Status string `json:"status"`
	}
}

func (s *Server) logout(ctx context.Context, _ *struct{}) (*LogoutOutput, error) {
	p := principalFrom(ctx)
	if p.Via != "session" {
		return nil, domain.Errorf(domain.CodeInvalid, "logout ends a web session; to stop using an API token, revoke it (DELETE /tokens/{id}/)")
	}
	if err := s.deps.Accounts.Logout(ctx, p.cookie); err != nil {
		return nil, err
	}
	out := &LogoutOutput{SetCookie: s.cookies("", "", -1)}
	out.Body.Status = "logged out"
	return out, nil
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*Body[SessionInfo], error) {
	p := principalFrom(ctx)
	if p.Via == "session" && p.ProjectID == "" {
		p.ProjectID = p.Session.ProjectID
	}
	info, err := s.sessionInfo(ctx, p)
	if err != nil {
		return nil, err
	}
	return bodyOf(info), nil
}

// sessionInfo describes p, with the projects it can reach.
func (s *Server) sessionInfo(ctx context.Context, p *Principal) (SessionInfo, error) {
	info := SessionInfo{Via: p.Via, ProjectID: p.ProjectID, Role: p.Role, Projects: []ProjectMembership{}}
	if p.Via == "token" {
		proj, err := s.deps.Store.ProjectGet(ctx, p.ProjectID)
		if err != nil {
			return info, err
		}
		info.Projects = append(info.Projects, ProjectMembership{ID: proj.ID, Name: proj.Name, Role: p.Role})
		return info, nil
	}
	info.User, info.CSRFToken = p.User, p.Session.CSRFToken
	ms, err := s.deps.Store.MembershipListByUser(ctx, p.User.ID)
	if err != nil {
		return info, err
	}
	ids := make([]string, 0, len(ms))
	roles := map[string]domain.Role{}
	for _, m := range ms {
		ids = append(ids, m.ProjectID)
		roles[m.ProjectID] = m.Role
	}
	projects, err := s.deps.Store.ProjectList(ctx, storeProjectsByIDs(ids))
	if err != nil {
		return info, err
	}
	for _, proj := range projects.Items {
		info.Projects = append(info.Projects, ProjectMembership{ID: proj.ID, Name: proj.Name, Role: roles[proj.ID]})
	}
	if r, ok := roles[info.ProjectID]; ok {
		info.Role = r
	} else {
		info.ProjectID = ""
	}
	return info, nil
}

// SwitchProjectInput names the project to work in.
type SwitchProjectInput struct {
	Body struct {
		ProjectID string `json:"project_id" minLength:"1" maxLength:"100"`
	}
}

func (s *Server) switchProject(ctx context.Context, in *SwitchProjectInput) (*Body[SessionInfo], error) {
	p := principalFrom(ctx)
	if err := s.deps.Accounts.SwitchProject(ctx, *p.Session, in.Body.ProjectID); err != nil {
		return nil, err
	}
	p.ProjectID = in.Body.ProjectID
	info, err := s.sessionInfo(ctx, p)
	if err != nil {
		return nil, err
	}
	return bodyOf(info), nil
}

// loginMetrics count failed and throttled logins, for alerting on password
// guessing.
type loginMetrics struct {
	failures  prometheus.Counter
	throttled *prometheus.CounterVec
}

func newLoginMetrics(reg prometheus.Registerer) *loginMetrics {
	m := &loginMetrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_login_failures_total", Help: "Logins refused for a wrong e-mail or password.",
		}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_login_throttled_total", Help: "Logins refused because of earlier failures, by scope (account or address).",
		}, []string{"scope"}),
	}
	if reg != nil {
		reg.MustRegister(m.failures, m.throttled)
	}
	return m
}
