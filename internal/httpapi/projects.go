package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/parleyhq/parley/internal/account"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/projectdb"
	"github.com/parleyhq/parley/internal/store"
)

func storeProjectsByIDs(ids []string) store.ProjectListParams {
	return store.ProjectListParams{IDs: ids, Page: store.Page{Limit: store.MaxPageSize}}
}

// ProjectListInput pages the caller's projects.
type ProjectListInput struct {
	PageParams
}

// ProjectView is a project with the state of its own database.
type ProjectView struct {
	domain.Project
	Database *projectdb.Status `json:"database,omitempty" doc:"The project's own database: provisioning, ready, failed (with the reason) or none yet"`
}

func (s *Server) projectList(ctx context.Context, in *ProjectListInput) (*ListOutput[ProjectView], error) {
	p := principalFrom(ctx)
	params := store.ProjectListParams{Page: in.page()}
	if p.Via == "token" {
		params.IDs = []string{p.ProjectID}
	} else {
		params.UserID = p.User.ID
	}
	l, err := s.deps.Store.ProjectList(ctx, params)
	if err != nil {
		return nil, err
	}
	out := store.List[ProjectView]{Items: make([]ProjectView, len(l.Items)), Next: l.Next}
	ids := make([]string, len(l.Items))
	for i, p := range l.Items {
		out.Items[i].Project, ids[i] = p, p.ID
	}
	if s.deps.ProjectData != nil {
		states, err := s.deps.ProjectData.Statuses(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i := range out.Items {
			st := states[out.Items[i].ID]
			out.Items[i].Database = &st
		}
	}
	return listOf(out), nil
}

// ProjectCreateInput creates a project.
type ProjectCreateInput struct {
	Body struct {
		Name     string         `json:"name" minLength:"1" maxLength:"100"`
		Settings map[string]any `json:"settings,omitempty" doc:"Project settings; defaults are filled in when the project is provisioned"`
	}
}

func (s *Server) projectCreate(ctx context.Context, in *ProjectCreateInput) (*Body[domain.Project], error) {
	p := principalFrom(ctx)
	var settings json.RawMessage
	if in.Body.Settings != nil {
		settings, _ = json.Marshal(in.Body.Settings)
	}
	proj, err := s.deps.Accounts.CreateProject(ctx, in.Body.Name, settings, p.User.ID, p.Actor())
	if err != nil {
		return nil, err
	}
	return bodyOf(proj), nil
}

// ProjectPath names a project.
type ProjectPath struct {
	ProjectID string `path:"project_id" maxLength:"100"`
}

func (s *Server) projectGet(ctx context.Context, in *ProjectPath) (*Body[domain.Project], error) {
	proj, err := s.deps.Store.ProjectGet(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	return bodyOf(proj), nil
}

// ProjectUpdateInput renames a project or replaces its settings.
type ProjectUpdateInput struct {
	ProjectPath
	Body struct {
		Name     *string        `json:"name,omitempty" minLength:"1" maxLength:"100"`
		Settings map[string]any `json:"settings,omitempty" doc:"Replaces the settings object"`
	}
}

func (s *Server) projectUpdate(ctx context.Context, in *ProjectUpdateInput) (*Body[domain.Project], error) {
	p := principalFrom(ctx)
	params := store.ProjectUpdateParams{ID: p.ProjectID, Name: in.Body.Name}
	if in.Body.Settings != nil {
		params.Settings, _ = json.Marshal(in.Body.Settings)
	}
	proj, err := s.deps.Accounts.UpdateProject(ctx, params, p.Actor())
	if err != nil {
		return nil, err
	}
	return bodyOf(proj), nil
}

func (s *Server) memberList(ctx context.Context, in *ProjectPath) (*Body[ListBody[store.MemberRow]], error) {
	rows, err := s.deps.Store.MembershipListByProject(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	return bodyOf(ListBody[store.MemberRow]{Results: rows}), nil
}

// MemberInviteInput invites an e-mail address into the project.
type MemberInviteInput struct {
	ProjectPath
	Body struct {
		Email string      `json:"email" format:"email" maxLength:"320"`
		Role  domain.Role `json:"role" enum:"owner,editor,viewer"`
	}
}

// InvitationCreated is a new invitation with its link, shown only here.
type InvitationCreated struct {
	domain.Invitation
	Token     string `json:"token" doc:"The invitation's secret; shown once, never stored"`
	AcceptURL string `json:"accept_url" doc:"The link to give the invitee (Parley sends no mail); shown once"`
}

// memberInvite always answers with an invitation, whether or not the
// address has an account: the answer reveals nothing about other projects'
// users, and nobody joins without using the link.
func (s *Server) memberInvite(ctx context.Context, in *MemberInviteInput) (*Body[InvitationCreated], error) {
	p := principalFrom(ctx)
	inv, err := s.deps.Accounts.Invite(ctx, account.InviteParams{ProjectID: p.ProjectID, Email: in.Body.Email, Role: in.Body.Role, Actor: p.Actor()})
	if err != nil {
		return nil, err
	}
	link := strings.TrimSuffix(s.deps.PublicURL, "/") + "/app/invite?token=" + url.QueryEscape(inv.Token)
	return bodyOf(InvitationCreated{Invitation: inv.Invitation, Token: inv.Token, AcceptURL: link}), nil
}

func (s *Server) invitationList(ctx context.Context, in *ProjectPath) (*Body[ListBody[domain.Invitation]], error) {
	l, err := s.deps.Accounts.ListInvitations(ctx, principalFrom(ctx).ProjectID)
	if err != nil {
		return nil, err
	}
	if l == nil {
		l = []domain.Invitation{}
	}
	return bodyOf(ListBody[domain.Invitation]{Results: l}), nil
}

// InvitationPath names a pending invitation of a project.
type InvitationPath struct {
	ProjectPath
	InvitationID string `path:"invitation_id" maxLength:"100"`
}

func (s *Server) invitationWithdraw(ctx context.Context, in *InvitationPath) (*struct{}, error) {
	p := principalFrom(ctx)
	return nil, s.deps.Accounts.WithdrawInvitation(ctx, p.ProjectID, in.InvitationID, p.Actor())
}

// MemberRoleInput changes a member's role.
type MemberRoleInput struct {
	MemberPath
	Body struct {
		Role domain.Role `json:"role" enum:"owner,editor,viewer"`
	}
}

func (s *Server) memberSetRole(ctx context.Context, in *MemberRoleInput) (*Body[domain.Membership], error) {
	p := principalFrom(ctx)
	m, err := s.deps.Accounts.SetMemberRole(ctx, p.ProjectID, in.UserID, in.Body.Role, p.Actor())
	if err != nil {
		return nil, err
	}
	return bodyOf(m), nil
}

// InvitationTokenInput carries an invitation link's token.
type InvitationTokenInput struct {
	Body struct {
		Token string `json:"token" minLength:"1" maxLength:"200" doc:"The token of the invitation link"`
	}
}

func (s *Server) invitationLookup(ctx context.Context, in *InvitationTokenInput) (*Body[account.InvitationInfo], error) {
	info, err := s.deps.Accounts.LookupInvitation(ctx, in.Body.Token)
	if err != nil {
		return nil, err
	}
	return bodyOf(info), nil
}

// invitationAccept joins the logged-in user to the invitation's project
// and makes it the session's current project.
func (s *Server) invitationAccept(ctx context.Context, in *InvitationTokenInput) (*Body[SessionInfo], error) {
	p := principalFrom(ctx)
	m, err := s.deps.Accounts.AcceptInvitation(ctx, in.Body.Token, *p.User)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Accounts.SwitchProject(ctx, *p.Session, m.ProjectID); err != nil {
		return nil, err
	}
	p.ProjectID = m.ProjectID
	info, err := s.sessionInfo(ctx, p)
	if err != nil {
		return nil, err
	}
	return bodyOf(info), nil
}

// InvitationRegisterInput creates the invited account.
type InvitationRegisterInput struct {
	Body struct {
		Token    string `json:"token" minLength:"1" maxLength:"200"`
		Name     string `json:"name,omitempty" maxLength:"200"`
		Password string `json:"password" minLength:"1" maxLength:"1000"`
	}
}

// InvitationRegistered is the same answer whether an account was created
// or the address already had one.
type InvitationRegistered struct {
	Email  string `json:"email"`
	Detail string `json:"detail"`
}

func (s *Server) invitationRegister(ctx context.Context, in *InvitationRegisterInput) (*Body[InvitationRegistered], error) {
	email, err := s.deps.Accounts.RegisterWithInvitation(ctx, account.RegisterParams{Token: in.Body.Token, Name: in.Body.Name, Password: in.Body.Password})
	if err != nil {
		return nil, err
	}
	return bodyOf(InvitationRegistered{Email: email,
		Detail: "Log in as " + email + " with your password to open the project. If this address already had an account, its password is unchanged: log in with it and accept the invitation."}), nil
}

// MemberPath names a member of a project.
type MemberPath struct {
	ProjectPath
	UserID string `path:"user_id" maxLength:"100"`
}

func (s *Server) memberRemove(ctx context.Context, in *MemberPath) (*struct{}, error) {
	p := principalFrom(ctx)
	return nil, s.deps.Accounts.RemoveMember(ctx, p.ProjectID, in.UserID, p.Actor())
}

// AuditListInput pages the audit log.
type AuditListInput struct {
	PageParams
	Action string `query:"action" maxLength:"100" doc:"Only events with this action, e.g. token.created"`
}

func (s *Server) auditList(ctx context.Context, in *AuditListInput) (*ListOutput[domain.AuditEvent], error) {
	l, err := s.deps.Store.AuditList(ctx, store.AuditListParams{ProjectID: principalFrom(ctx).ProjectID, Action: in.Action, Page: in.page()})
	if err != nil {
		return nil, err
	}
	return listOf(l), nil
}
