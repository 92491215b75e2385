package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunAccounts runs the suite of store.Accounts.
func RunAccounts(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Projects", testProjects},
		{"ProjectPaging", testProjectPaging},
		{"Users", testUsers},
		{"Memberships", testMemberships},
		{"Tokens", testTokens},
		{"Invitations", testInvitations},
		{"WebSessions", testWebSessions},
		{"Audit", testAudit},
		{"Idempotency", testIdempotency},
	})
}

func testProjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids seq
	p := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: ids.id(), Name: "Acme", Settings: json.RawMessage(`{"tz": "UTC"}`), Now: t0}))(t)
	if p.Status != domain.ProjectProvisioning || p.Name != "Acme" || !p.CreatedAt.Equal(t0) {
		t.Fatalf("created project = %+v", p)
	}
	var settings map[string]string
	if err := json.Unmarshal(p.Settings, &settings); err != nil || settings["tz"] != "UTC" {
		t.Fatalf("settings = %s (%v)", p.Settings, err)
	}
	got := must(s.ProjectGet(ctx, p.ID))(t)
	if got.ID != p.ID || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("get = %+v, want %+v", got, p)
	}
	if _, err := s.ProjectGetByName(ctx, "aCME"); err != nil {
		t.Fatalf("get by name, other case: %v", err)
	}
	_, err := s.ProjectCreate(ctx, store.ProjectCreateParams{ID: ids.id(), Name: "ACME", Now: t0})
	wantCode(t, err, domain.CodeConflict)
	_, err = s.ProjectGet(ctx, "missing")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing project: %v", err)
	}
	name, ready := "Acme Inc", domain.ProjectReady
	up := must(s.ProjectUpdate(ctx, store.ProjectUpdateParams{ID: p.ID, Name: &name, Status: &ready, Now: t0.Add(time.Hour)}))(t)
	if up.Name != name || up.Status != ready || !up.UpdatedAt.Equal(t0.Add(time.Hour)) || string(up.Settings) == "" {
		t.Fatalf("updated = %+v", up)
	}
	_, err = s.ProjectUpdate(ctx, store.ProjectUpdateParams{ID: "missing", Name: &name, Now: t0})
	wantCode(t, err, domain.CodeNotFound)
	if n := must(s.ProjectCount(ctx))(t); n != 1 {
		t.Fatalf("count = %d", n)
	}
}

func testProjectPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids seq
	var want []string
	for i := range 7 {
		p := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: ids.id(), Name: fmt.Sprintf("p%d", i), Now: t0}))(t)
		want = append([]string{p.ID}, want...) // newest first
	}
	var got []string
	page := store.Page{Limit: 3}
	for range 10 {
		l := must(s.ProjectList(ctx, store.ProjectListParams{Page: page}))(t)
		for _, p := range l.Items {
			got = append(got, p.ID)
		}
		if l.Next == "" {
			break
		}
		page.After = l.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged = %v, want %v", got, want)
	}
	l := must(s.ProjectList(ctx, store.ProjectListParams{IDs: []string{want[0], want[3]}}))(t)
	if len(l.Items) != 2 || l.Next != "" {
		t.Fatalf("by IDs = %+v", l)
	}
	l = must(s.ProjectList(ctx, store.ProjectListParams{IDs: []string{}}))(t)
	if len(l.Items) != 0 {
		t.Fatalf("empty IDs = %+v", l)
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := must(s.UserCreate(ctx, store.UserCreateParams{ID: "u1", Email: " Ann@Example.com ", Name: "Ann", PasswordHash: "h1", IsAdmin: true, Now: t0}))(t)
	if u.Email != "ann@example.com" || !u.IsAdmin {
		t.Fatalf("user = %+v", u)
	}
	_, err := s.UserCreate(ctx, store.UserCreateParams{ID: "u2", Email: "ANN@example.com", PasswordHash: "h", Now: t0})
	wantCode(t, err, domain.CodeConflict)
	got := must(s.UserGetByEmail(ctx, "ann@EXAMPLE.com"))(t)
	if got.ID != "u1" || got.PasswordHash != "h1" {
		t.Fatalf("by email = %+v", got)
	}
	if err := s.UserSetPassword(ctx, store.UserSetPasswordParams{UserID: "u1", PasswordHash: "h2", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if got := must(s.UserGet(ctx, "u1"))(t); got.PasswordHash != "h2" {
		t.Fatalf("password not changed: %+v", got)
	}
	wantCode(t, s.UserSetPassword(ctx, store.UserSetPasswordParams{UserID: "nope", PasswordHash: "h", Now: t0}), domain.CodeNotFound)
	_, err = s.UserGet(ctx, "nope")
	wantCode(t, err, domain.CodeNotFound)
	if n := must(s.UserCount(ctx))(t); n != 1 {
		t.Fatalf("count = %d", n)
	}
}

func testMemberships(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}))(t)
	p2 := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p2", Name: "Two", Now: t0}))(t)
	u := must(s.UserCreate(ctx, store.UserCreateParams{ID: "u1", Email: "a@b.c", PasswordHash: "h", Now: t0}))(t)
	must(s.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: p1.ID, UserID: u.ID, Role: domain.RoleViewer, Now: t0}))(t)
	m := must(s.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: p1.ID, UserID: u.ID, Role: domain.RoleOwner, Now: t0}))(t)
	if m.Role != domain.RoleOwner {
		t.Fatalf("upsert role = %s", m.Role)
	}
	must(s.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: p2.ID, UserID: u.ID, Role: domain.RoleEditor, Now: t0}))(t)
	_, err := s.MembershipUpsert(ctx, store.MembershipUpsertParams{ProjectID: "missing", UserID: u.ID, Role: domain.RoleEditor, Now: t0})
	wantCode(t, err, domain.CodeNotFound)
	if got := must(s.MembershipGet(ctx, store.MembershipKey{ProjectID: p2.ID, UserID: u.ID}))(t); got.Role != domain.RoleEditor {
		t.Fatalf("get = %+v", got)
	}
	rows := must(s.MembershipListByProject(ctx, p1.ID))(t)
	if len(rows) != 1 || rows[0].Email != "a@b.c" || rows[0].Role != domain.RoleOwner {
		t.Fatalf("by project = %+v", rows)
	}
	if ms := must(s.MembershipListByUser(ctx, u.ID))(t); len(ms) != 2 {
		t.Fatalf("by user = %+v", ms)
	}
	l := must(s.ProjectList(ctx, store.ProjectListParams{UserID: u.ID}))(t)
	if len(l.Items) != 2 {
		t.Fatalf("projects of user = %+v", l.Items)
	}
	if err := s.MembershipDelete(ctx, store.MembershipKey{ProjectID: p2.ID, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.MembershipDelete(ctx, store.MembershipKey{ProjectID: p2.ID, UserID: u.ID}), domain.CodeNotFound)
	_, err = s.MembershipGet(ctx, store.MembershipKey{ProjectID: p2.ID, UserID: u.ID})
	wantCode(t, err, domain.CodeNotFound)
}

func testInvitations(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}))(t)
	p2 := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p2", Name: "Two", Now: t0}))(t)
	inv := func(id, project, email, hash string) domain.Invitation {
		return domain.Invitation{ID: id, ProjectID: project, Email: email, Role: domain.RoleEditor, TokenHash: hash, InvitedBy: "user:u1",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	got := must(s.InvitationCreate(ctx, inv("i1", p1.ID, "Ann@example.com", "h1")))(t)
	if got.AcceptedAt != nil || !got.ExpiresAt.Equal(t0.Add(time.Hour)) || got.Role != domain.RoleEditor || got.InvitedBy != "user:u1" {
		t.Fatalf("created = %+v", got)
	}
	must(s.InvitationCreate(ctx, inv("i2", p2.ID, "ann@example.com", "h2")))(t)
	_, err := s.InvitationCreate(ctx, inv("i3", p2.ID, "bob@example.com", "h1"))
	wantCode(t, err, domain.CodeConflict)
	// A new invitation for the same address in the same project replaces
	// the pending one, whatever the case of the address.
	must(s.InvitationCreate(ctx, inv("i4", p1.ID, "ann@EXAMPLE.com", "h4")))(t)
	_, err = s.InvitationGetByHash(ctx, "h1")
	wantCode(t, err, domain.CodeNotFound)
	if got := must(s.InvitationGetByHash(ctx, "h4"))(t); got.ID != "i4" || got.ProjectID != p1.ID {
		t.Fatalf("by hash = %+v", got)
	}
	must(s.InvitationCreate(ctx, inv("i5", p1.ID, "cy@example.com", "h5")))(t)
	l := must(s.InvitationListPending(ctx, store.InvitationListParams{ProjectID: p1.ID, Now: t0}))(t)
	if len(l) != 2 || l[0].ID != "i5" || l[1].ID != "i4" {
		t.Fatalf("pending = %+v", l)
	}
	if l := must(s.InvitationListPending(ctx, store.InvitationListParams{ProjectID: p1.ID, Now: t0.Add(time.Hour)}))(t); len(l) != 0 {
		t.Fatalf("expired invitations listed as pending: %+v", l)
	}
	check(t, s.InvitationAccept(ctx, store.InvitationAcceptParams{ID: "i4", Now: t0.Add(time.Minute)}))
	wantCode(t, s.InvitationAccept(ctx, store.InvitationAcceptParams{ID: "i4", Now: t0.Add(time.Minute)}), domain.CodeNotFound)
	if got := must(s.InvitationGetByHash(ctx, "h4"))(t); got.AcceptedAt == nil || !got.AcceptedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("accepted = %+v", got)
	}
	if l := must(s.InvitationListPending(ctx, store.InvitationListParams{ProjectID: p1.ID, Now: t0}))(t); len(l) != 1 || l[0].ID != "i5" {
		t.Fatalf("pending after accept = %+v", l)
	}
	// An accepted invitation is history: a new one for the address does not remove it.
	must(s.InvitationCreate(ctx, inv("i6", p1.ID, "ann@example.com", "h6")))(t)
	must(s.InvitationGetByHash(ctx, "h4"))(t)
	wantCode(t, s.InvitationDelete(ctx, store.Ref{ProjectID: p1.ID, ID: "i2"}), domain.CodeNotFound) // another project's
	check(t, s.InvitationDelete(ctx, store.Ref{ProjectID: p1.ID, ID: "i5"}))
	wantCode(t, s.InvitationDelete(ctx, store.Ref{ProjectID: p1.ID, ID: "i5"}), domain.CodeNotFound)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}))(t)
	p2 := must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p2", Name: "Two", Now: t0}))(t)
	tok := must(s.TokenCreate(ctx, store.TokenCreateParams{ID: "t1", ProjectID: p1.ID, Name: "ci", Hash: "hash1", Prefix: "pat_ab", Role: domain.RoleEditor, Now: t0}))(t)
	if tok.LastUsedAt != nil || tok.RevokedAt != nil || tok.Role != domain.RoleEditor {
		t.Fatalf("token = %+v", tok)
	}
	must(s.TokenCreate(ctx, store.TokenCreateParams{ID: "t2", ProjectID: p2.ID, Name: "other", Hash: "hash2", Prefix: "pat_cd", Role: domain.RoleOwner, Now: t0}))(t)
	_, err := s.TokenCreate(ctx, store.TokenCreateParams{ID: "t3", ProjectID: p1.ID, Name: "dup", Hash: "hash1", Prefix: "x", Role: domain.RoleOwner, Now: t0})
	wantCode(t, err, domain.CodeConflict)
	if got := must(s.TokenGetByHash(ctx, "hash1"))(t); got.ID != "t1" || got.ProjectID != p1.ID {
		t.Fatalf("by hash = %+v", got)
	}
	_, err = s.TokenGet(ctx, store.Ref{ProjectID: p1.ID, ID: "t2"}) // another project's token
	wantCode(t, err, domain.CodeNotFound)
	l := must(s.TokenList(ctx, store.TokenListParams{ProjectID: p1.ID}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "t1" {
		t.Fatalf("list = %+v", l.Items)
	}

	// Touch writes once per interval.
	check(t, s.TokenTouch(ctx, store.TokenTouchParams{ID: "t1", Now: t0.Add(time.Minute), Before: t0}))
	check(t, s.TokenTouch(ctx, store.TokenTouchParams{ID: "t1", Now: t0.Add(2 * time.Minute), Before: t0.Add(time.Minute)}))
	if got := must(s.TokenGet(ctx, store.Ref{ProjectID: p1.ID, ID: "t1"}))(t); got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("last used = %v", got.LastUsedAt)
	}

	_, err = s.TokenRevoke(ctx, store.TokenRevokeParams{ProjectID: p1.ID, ID: "t2", Now: t0})
	wantCode(t, err, domain.CodeNotFound)
	r := must(s.TokenRevoke(ctx, store.TokenRevokeParams{ProjectID: p1.ID, ID: "t1", Now: t0.Add(time.Hour)}))(t)
	if r.RevokedAt == nil || !r.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("revoked = %+v", r)
	}
	r = must(s.TokenRevoke(ctx, store.TokenRevokeParams{ProjectID: p1.ID, ID: "t1", Now: t0.Add(2 * time.Hour)}))(t)
	if !r.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("second revoke moved the time: %v", r.RevokedAt)
	}
}

func testWebSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(s.UserCreate(ctx, store.UserCreateParams{ID: "u1", Email: "a@b.c", PasswordHash: "h", Now: t0}))(t)
	ws := domain.WebSession{ID: "s1", UserID: "u1", CSRFToken: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastSeenAt: t0}
	if err := s.WebSessionCreate(ctx, ws); err != nil {
		t.Fatal(err)
	}
	ws2 := ws
	ws2.ID, ws2.ExpiresAt = "s2", t0.Add(3*time.Hour)
	if err := s.WebSessionCreate(ctx, ws2); err != nil {
		t.Fatal(err)
	}
	got := must(s.WebSessionGet(ctx, "s1"))(t)
	if got.UserID != "u1" || !got.ExpiresAt.Equal(t0.Add(time.Hour)) || got.ProjectID != "" {
		t.Fatalf("get = %+v", got)
	}
	pid := "p9"
	if err := s.WebSessionUpdate(ctx, store.WebSessionUpdateParams{ID: "s1", ProjectID: &pid, LastSeenAt: t0.Add(time.Minute), ExpiresAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := must(s.WebSessionGet(ctx, "s1"))(t); got.ProjectID != "p9" || !got.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after update = %+v", got)
	}
	if n := must(s.WebSessionDeleteExpired(ctx, t0.Add(150*time.Minute)))(t); n != 1 {
		t.Fatalf("expired deleted = %d, want 1", n)
	}
	_, err := s.WebSessionGet(ctx, "s1")
	wantCode(t, err, domain.CodeNotFound)
	if err := s.WebSessionDelete(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	_, err = s.WebSessionGet(ctx, "s2")
	wantCode(t, err, domain.CodeNotFound)
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(s.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: t0}))(t)
	for i, a := range []string{"a", "b", "a"} {
		e := domain.AuditEvent{ID: fmt.Sprintf("e%d", i), ProjectID: "p1", Actor: "user:u1", Action: a, Target: "x", Data: json.RawMessage(`{"n": 1}`), CreatedAt: t0}
		if err := s.AuditAppend(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	l := must(s.AuditList(ctx, store.AuditListParams{ProjectID: "p1", Action: "a"}))(t)
	if len(l.Items) != 2 || l.Items[0].ID != "e2" {
		t.Fatalf("audit = %+v", l.Items)
	}
	err := s.AuditAppend(ctx, domain.AuditEvent{ID: "e9", ProjectID: "missing", Actor: "x", Action: "a", CreatedAt: t0})
	wantCode(t, err, domain.CodeNotFound)
}

func testIdempotency(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	_, err := s.IdempotencyGet(ctx, store.IdempotencyKey{ProjectID: p1, Key: "k"})
	wantCode(t, err, domain.CodeNotFound)
	check(t, s.IdempotencyPut(ctx, store.IdempotencyPutParams{ProjectID: p1, Key: "k", Response: []byte(`{"id":"s1"}`), Now: t0}))
	wantCode(t, s.IdempotencyPut(ctx, store.IdempotencyPutParams{ProjectID: p1, Key: "k", Response: []byte(`{"id":"s2"}`), Now: t0}), domain.CodeConflict)
	if got := must(s.IdempotencyGet(ctx, store.IdempotencyKey{ProjectID: p1, Key: "k"}))(t); string(got) != `{"id":"s1"}` && string(got) != `{"id": "s1"}` {
		t.Fatalf("stored response = %s", got)
	}
	check(t, s.IdempotencyPut(ctx, store.IdempotencyPutParams{ProjectID: p2, Key: "k", Response: []byte(`{}`), Now: t0})) // keys are per project
}
