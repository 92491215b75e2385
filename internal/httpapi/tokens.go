package httpapi

import (
	"context"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// TokenListInput pages the project's tokens.
type TokenListInput struct {
	PageParams
}

func (s *Server) tokenList(ctx context.Context, in *TokenListInput) (*ListOutput[domain.Token], error) {
	l, err := s.deps.Store.TokenList(ctx, store.TokenListParams{ProjectID: principalFrom(ctx).ProjectID, Page: in.page()})
	if err != nil {
		return nil, err
	}
	return listOf(l), nil
}

// TokenCreateInput names a new token.
type TokenCreateInput struct {
	Body struct {
		Name string      `json:"name" minLength:"1" maxLength:"100"`
		Role domain.Role `json:"role,omitempty" enum:"owner,editor,viewer" doc:"Defaults to editor"`
	}
}

func (s *Server) tokenCreate(ctx context.Context, in *TokenCreateInput) (*Body[account.NewToken], error) {
	p := principalFrom(ctx)
	t, err := s.deps.Accounts.CreateToken(ctx, p.ProjectID, in.Body.Name, in.Body.Role, p.Actor())
	if err != nil {
		return nil, err
	}
	return bodyOf(t), nil
}

// TokenPath names a token.
type TokenPath struct {
	TokenID string `path:"token_id" maxLength:"100"`
}

func (s *Server) tokenGet(ctx context.Context, in *TokenPath) (*Body[domain.Token], error) {
	t, err := s.deps.Store.TokenGet(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.TokenID})
	if err != nil {
		return nil, err
	}
	return bodyOf(t), nil
}

func (s *Server) tokenRevoke(ctx context.Context, in *TokenPath) (*Body[domain.Token], error) {
	p := principalFrom(ctx)
	t, err := s.deps.Accounts.RevokeToken(ctx, p.ProjectID, in.TokenID, p.Actor())
	if err != nil {
		return nil, err
	}
	return bodyOf(t), nil
}
