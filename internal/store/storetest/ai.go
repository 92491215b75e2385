package storetest

import (
	"context"
	"testing"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunAIProviders runs the suite of store.AIProviders.
func RunAIProviders(t *testing.T, open Opener) {
	run(t, open, []test{
		{"AIProviders", testAIProviders},
	})
}

func aiProvider(id, project, name string) store.AIProvider {
	return store.AIProvider{ID: id, ProjectID: project, Name: name, BaseURL: "http://localhost:11434/v1", Model: "qwen2.5:7b",
		APIKeySealed: "sealed", JSONMode: "json_schema", TimeoutSeconds: 60, MaxTokens: 4096, CreatedAt: t0, UpdatedAt: t0}
}

func testAIProviders(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	a := must(s.AIProviderCreate(ctx, aiProvider("a1", p1, "local")))(t)
	if a.Model != "qwen2.5:7b" || a.APIKeySealed != "sealed" || a.TimeoutSeconds != 60 || a.MaxTokens != 4096 || !a.CreatedAt.Equal(t0) {
		t.Fatalf("created = %+v", a)
	}
	b := aiProvider("a2", p1, "openai")
	b.CreatedAt = t0.Add(1)
	must(s.AIProviderCreate(ctx, b))(t)
	must(s.AIProviderCreate(ctx, aiProvider("a3", p2, "local")))(t) // same name, other project
	_, err := s.AIProviderCreate(ctx, aiProvider("a4", p1, "local"))
	wantCode(t, err, domain.CodeConflict)

	_, err = s.AIProviderGet(ctx, store.Ref{ProjectID: p1, ID: "a3"})
	wantCode(t, err, domain.CodeNotFound)
	l := must(s.AIProviderList(ctx, p1))(t)
	if len(l) != 2 || l[0].ID != "a1" || l[1].ID != "a2" {
		t.Fatalf("list = %+v", l)
	}
	if l := must(s.AIProviderList(ctx, "nope"))(t); l == nil || len(l) != 0 {
		t.Fatalf("empty list = %#v", l)
	}

	a.Model, a.JSONMode, a.APIKeySealed = "llama3.1", "json_object", ""
	a = must(s.AIProviderUpdate(ctx, a))(t)
	if g := must(s.AIProviderGet(ctx, store.Ref{ProjectID: p1, ID: "a1"}))(t); g.Model != "llama3.1" || g.JSONMode != "json_object" || g.APIKeySealed != "" {
		t.Fatalf("updated = %+v", g)
	}
	a.Name = "openai"
	_, err = s.AIProviderUpdate(ctx, a)
	wantCode(t, err, domain.CodeConflict)
	a.ProjectID = p2
	_, err = s.AIProviderUpdate(ctx, a)
	wantCode(t, err, domain.CodeNotFound)

	wantCode(t, s.AIProviderDelete(ctx, store.Ref{ProjectID: p2, ID: "a1"}), domain.CodeNotFound)
	check(t, s.AIProviderDelete(ctx, store.Ref{ProjectID: p1, ID: "a1"}))
	_, err = s.AIProviderGet(ctx, store.Ref{ProjectID: p1, ID: "a1"})
	wantCode(t, err, domain.CodeNotFound)
}
