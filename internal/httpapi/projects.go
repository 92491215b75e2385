package httpapi

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

func storeProjectsByIDs(ids []string) store.ProjectListParams {
	return store.ProjectListParams{IDs: ids, Page: store.Page{Limit: store.MaxPageSize}}
}

// ProjectListInput pages the caller's projects.
type ProjectListInput struct {
	PageParams
}

func (s *Server) projectList(ctx context.Context, in *ProjectListInput) (*ListOutput[domain.Project], error) {
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
	return listOf(l), nil
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
	params := store.ProjectUpdateParams{ID: p.ProjectID, Name: in.Body.Name, Now: s.deps.Clock.Now()}
	if in.Body.Settings != nil {
		params.Settings, _ = json.Marshal(in.Body.Settings)
	}
	var proj domain.Project
	err := s.deps.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		if proj, err = q.ProjectUpdate(ctx, params); err != nil {
			return err
		}
		return q.AuditAppend(ctx, domain.AuditEvent{ID: s.deps.IDs.NewID(), ProjectID: proj.ID, Actor: string(p.Actor()), Action: "project.updated", Target: proj.ID, CreatedAt: params.Now})
	})
	if err != nil {
		return nil, err
	}
	if s.deps.Runner != nil {
		s.deps.Runner.ForgetProjects() // keyword settings apply at once
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

// MemberAddInput adds a user by email.
type MemberAddInput struct {
	ProjectPath
	Body struct {
		Email string      `json:"email" format:"email" maxLength:"320"`
		Role  domain.Role `json:"role" enum:"owner,editor,viewer"`
	}
}

func (s *Server) memberAdd(ctx context.Context, in *MemberAddInput) (*Body[store.MemberRow], error) {
	p := principalFrom(ctx)
	m, err := s.deps.Accounts.AddMember(ctx, p.ProjectID, in.Body.Email, in.Body.Role, p.Actor())
	if err != nil {
		return nil, err
	}
	return bodyOf(m), nil
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
