package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.tenant("Alpha")
	c := h.bearer(a.token)
	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		status      int
		code        string
		pointer     string
		detailHas   string
		contentType string
	}{
		{name: "malformed JSON", method: "POST", path: "/tokens/", body: `{"name":`, status: 400, code: "invalid", detailHas: "not valid JSON"},
		{name: "unknown field", method: "POST", path: "/tokens/", body: `{"name":"x","nmae":"y"}`, status: 422, code: "invalid", pointer: "/nmae"},
		{name: "wrong type", method: "POST", path: "/tokens/", body: `{"name":5}`, status: 422, code: "invalid", pointer: "/name"},
		{name: "missing field", method: "POST", path: "/tokens/", body: `{}`, status: 422, code: "invalid", pointer: "/name"},
		{name: "bad enum", method: "POST", path: "/tokens/", body: `{"name":"x","role":"god"}`, status: 422, code: "invalid", pointer: "/role"},
		{name: "not an object", method: "POST", path: "/tokens/", body: `[]`, status: 422, code: "invalid"},
		{name: "oversized body", method: "POST", path: "/tokens/", body: `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413, code: "too_large"},
		{name: "bad page size", method: "GET", path: "/tokens/?limit=0", status: 422, code: "invalid", detailHas: "query.limit"},
		{name: "unknown token id", method: "GET", path: "/tokens/nope/", status: 404, code: "not_found"},
		{name: "unknown route", method: "GET", path: "/nope/", status: 404, code: "not_found", detailHas: "/docs"},
		{name: "empty project name", method: "PUT", path: "/projects/" + a.project.ID + "/", body: `{"name":""}`, status: 422, code: "invalid", pointer: "/name"},
		{name: "member bad email", method: "POST", path: "/projects/" + a.project.ID + "/members/", body: `{"email":"ghost","role":"editor"}`, status: 422, code: "invalid", pointer: "/email"},
		{name: "remove last owner", method: "DELETE", path: "/projects/" + a.project.ID + "/members/" + a.user.ID + "/", status: 409, code: "conflict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := c.do(tc.method, tc.path, tc.body).problem(tc.status)
			if p["code"] != tc.code {
				t.Errorf("code = %v, want %s", p["code"], tc.code)
			}
			if tc.pointer != "" && p["pointer"] != tc.pointer {
				t.Errorf("pointer = %v, want %s (problem %v)", p["pointer"], tc.pointer, p)
			}
			if tc.detailHas != "" && !strings.Contains(p["detail"].(string), tc.detailHas) {
				t.Errorf("detail %q does not mention %q", p["detail"], tc.detailHas)
			}
		})
	}
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.tenant("Alpha")
	tests := []struct {
		name   string
		header string
		status int
		detail string
	}{
		{"no credentials", "", 401, "authentication required"},
		{"not bearer", "Basic abc", 401, "Bearer"},
		{"not a parley token", "Bearer abc", 401, "prl_"},
		{"unknown token", "Bearer prl_unknown", 401, "not valid"},
		{"valid", "Bearer " + a.token, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/tokens/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var p map[string]any
			_ = json.NewDecoder(res.Body).Decode(&p)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", res.StatusCode, tc.status, p)
			}
			if tc.detail != "" && !strings.Contains(p["detail"].(string), tc.detail) {
				t.Fatalf("detail %q lacks %q", p["detail"], tc.detail)
			}
		})
	}

	t.Run("create, use, list, revoke", func(t *testing.T) {
		owner := h.bearer(a.token)
		created := owner.do("POST", "/tokens/", map[string]string{"name": "ci", "role": "viewer"}).want(201).json()
		secret := created["token"].(string)
		if !strings.HasPrefix(secret, "prl_") || created["role"] != "viewer" {
			t.Fatalf("created = %v", created)
		}
		viewer := h.bearer(secret)
		viewer.do("GET", "/projects/", nil).want(200)
		// A viewer cannot manage tokens.
		p := viewer.do("POST", "/tokens/", map[string]string{"name": "x"}).problem(403)
		if !strings.Contains(p["detail"].(string), "owner") {
			t.Fatalf("403 detail should name the role: %v", p)
		}
		list := owner.do("GET", "/tokens/", nil).want(200)
		if strings.Contains(string(list.body), secret) || strings.Contains(string(list.body), "hash") {
			t.Fatalf("token list leaks a secret: %s", list.body)
		}
		id := created["id"].(string)
		owner.do("DELETE", "/tokens/"+id+"/", nil).want(200)
		p = viewer.do("GET", "/projects/", nil).problem(401)
		if !strings.Contains(p["detail"].(string), "revoked") {
			t.Fatalf("revoked detail = %v", p["detail"])
		}
		got := owner.do("GET", "/tokens/"+id+"/", nil).want(200).json()
		if got["revoked_at"] == nil {
			t.Fatalf("revoked_at not set: %v", got)
		}
	})

	t.Run("tokens cannot do user things", func(t *testing.T) {
		h.bearer(a.token).do("POST", "/projects/", map[string]string{"name": "New"}).problem(403)
	})
}

func TestSessionAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.tenant("Alpha")
	b := h.tenant("Bravo")

	t.Run("wrong password", func(t *testing.T) {
		h.bearer("").do("POST", "/auth/login", map[string]string{"email": a.user.Email, "password": "wrong-password"}).problem(401)
		h.bearer("").do("POST", "/auth/login", map[string]string{"email": "ghost@example.com", "password": "wrong-password"}).problem(401)
	})

	t.Run("cookie flags", func(t *testing.T) {
		res := h.bearer("").do("POST", "/auth/login", map[string]string{"email": a.user.Email, "password": a.pw}).want(200)
		var session string
		for _, c := range res.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "parley_session=") {
				session = c
			}
		}
		if !strings.Contains(session, "HttpOnly") || !strings.Contains(session, "SameSite=Lax") {
			t.Fatalf("session cookie %q lacks HttpOnly or SameSite=Lax", session)
		}
	})

	t.Run("CSRF on writes", func(t *testing.T) {
		c := h.login(a.user.Email, a.pw)
		c.do("GET", "/tokens/", nil).want(200)
		c.do("POST", "/tokens/", map[string]string{"name": "with csrf"}).want(201)
		csrf := c.csrf
		c.csrf = ""
		p := c.do("POST", "/tokens/", map[string]string{"name": "no csrf"}).problem(403)
		if !strings.Contains(p["detail"].(string), "X-CSRF-Token") {
			t.Fatalf("detail = %v", p["detail"])
		}
		c.csrf = "forged"
		c.do("POST", "/tokens/", map[string]string{"name": "forged"}).problem(403)
		c.csrf = csrf
	})

	t.Run("me, projects, switch", func(t *testing.T) {
		c := h.login(a.user.Email, a.pw)
		me := c.do("GET", "/auth/me", nil).want(200).json()
		if me["project_id"] != a.project.ID || me["role"] != "owner" || me["via"] != "session" {
			t.Fatalf("me = %v", me)
		}
		created := c.do("POST", "/projects/", map[string]string{"name": "Second"}).want(201).json()
		second := created["id"].(string)
		c.do("POST", "/projects/", map[string]string{"name": "second"}).problem(409)
		list := c.do("GET", "/projects/", nil).want(200).json()
		if n := len(list["results"].([]any)); n != 2 {
			t.Fatalf("projects = %d, want 2", n)
		}
		c.do("POST", "/auth/project", map[string]string{"project_id": second}).want(200)
		if me := c.do("GET", "/auth/me", nil).want(200).json(); me["project_id"] != second {
			t.Fatalf("after switch, project = %v", me["project_id"])
		}
		// Tokens made now belong to the second project.
		tok := c.do("POST", "/tokens/", map[string]string{"name": "t"}).want(201).json()
		if tok["project_id"] != second {
			t.Fatalf("token project = %v, want %s", tok["project_id"], second)
		}
	})

	t.Run("members and roles", func(t *testing.T) {
		owner := h.login(a.user.Email, a.pw)
		inv := owner.do("POST", "/projects/"+a.project.ID+"/members/", map[string]string{"email": b.user.Email, "role": "viewer"}).want(201).json()
		bc := h.login(b.user.Email, b.pw)
		bc.do("GET", "/projects/"+a.project.ID+"/", nil).problem(404) // not before accepting
		bc.do("POST", "/invitations/accept", map[string]any{"token": inv["token"]}).want(200)
		// B now sees Alpha as a viewer: read yes, write no.
		req := bc.do("GET", "/projects/"+a.project.ID+"/", nil).want(200).json()
		if req["name"] != "Alpha" {
			t.Fatalf("project = %v", req)
		}
		bc.do("PUT", "/projects/"+a.project.ID+"/", map[string]string{"name": "Hijacked"}).problem(403)
		owner.do("PUT", "/projects/"+a.project.ID+"/members/"+a.user.ID+"/", map[string]string{"role": "editor"}).problem(409) // the last owner
		owner.do("PUT", "/projects/"+a.project.ID+"/members/"+b.user.ID+"/", map[string]string{"role": "editor"}).want(200)
		bc.do("PUT", "/projects/"+a.project.ID+"/", map[string]string{"name": "Hijacked"}).problem(403) // editors do not rename projects
		members := owner.do("GET", "/projects/"+a.project.ID+"/members/", nil).want(200).json()
		if n := len(members["results"].([]any)); n != 2 {
			t.Fatalf("members = %d", n)
		}
		owner.do("DELETE", "/projects/"+a.project.ID+"/members/"+b.user.ID+"/", nil).want(204)
		bc.do("GET", "/projects/"+a.project.ID+"/", nil).problem(404)
	})

	t.Run("logout", func(t *testing.T) {
		c := h.login(a.user.Email, a.pw)
		c.do("POST", "/auth/logout", nil).want(200)
		c.do("GET", "/auth/me", nil).problem(401)
	})
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	anon := h.bearer("")
	anon.do("GET", "/healthz", nil).want(200)
	if got := anon.do("GET", "/readyz", nil).want(200).json(); got["status"] != "ready" {
		t.Fatalf("readyz = %v", got)
	}
	anon.do("GET", "/tokens/", nil).problem(401) // counted below
	metrics := string(anon.do("GET", "/metrics", nil).want(200).body)
	for _, want := range []string{"parley_http_requests_total", `route="GET /readyz"`, `status="401"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	jar := &client{h: h, http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if res := jar.do("GET", "/", nil); res.status != http.StatusFound || res.header.Get("Location") != "/app/" {
		t.Fatalf("/ = %d %s", res.status, res.header.Get("Location"))
	}
	app := anon.do("GET", "/app/", nil).want(200)
	if !strings.Contains(string(app.body), "Parley") || app.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("/app/ = %s (Cache-Control %q)", app.body, app.header.Get("Cache-Control"))
	}
	anon.do("GET", "/app/flows/123", nil).want(200) // SPA fallback

	docs := string(anon.do("GET", "/docs", nil).want(200).body)
	if strings.Contains(docs, "https://") || strings.Contains(docs, "http://") || !strings.Contains(docs, "/openapi.json") {
		t.Fatalf("the docs page must be self-hosted and read /openapi.json")
	}
	spec := anon.do("GET", "/openapi.json", nil).want(200).json()
	if spec["openapi"] != "3.1.0" {
		t.Fatalf("openapi version = %v", spec["openapi"])
	}
	paths := spec["paths"].(map[string]any)
	for _, r := range h.api.Routes() {
		if r.Method == "" {
			continue // the catch-all
		}
		item, ok := paths[r.Path].(map[string]any)
		if !ok || item[strings.ToLower(r.Method)] == nil {
			t.Errorf("route %s %s is missing from /openapi.json", r.Method, r.Path)
		}
	}
}
