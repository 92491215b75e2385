package httpapi_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestSecurityHeaders checks the UI and the docs page cannot be framed or
// sniffed, carry a CSP, and that API answers carry the same baseline.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.bearer("")
	for _, tt := range []struct {
		path   string
		status int
		csp    []string
	}{
		{"/app/", http.StatusOK, []string{"frame-ancestors 'none'", "script-src 'self'", "object-src 'none'"}},
		{"/app/flows/123", http.StatusOK, []string{"frame-ancestors 'none'", "script-src 'self'"}},
		{"/docs", http.StatusOK, []string{"frame-ancestors 'none'"}},
		{"/auth/me", http.StatusUnauthorized, []string{"frame-ancestors 'none'", "default-src 'none'"}},
		{"/no/such/route", http.StatusNotFound, []string{"frame-ancestors 'none'"}},
	} {
		t.Run(tt.path, func(t *testing.T) {
			res := c.do(http.MethodGet, tt.path, nil).want(tt.status)
			for name, want := range map[string]string{
				"X-Frame-Options":        "DENY",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := res.header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			csp := res.header.Get("Content-Security-Policy")
			for _, want := range tt.csp {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
		})
	}
}

// TestNULRefused sends U+0000 in each kind of API input, escaped and raw:
// every one is a 422 naming the field, never a 5xx, on either database.
func TestNULRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.tenant("Nul Corp")
	c := h.bearer(a.token)
	flow := c.do(http.MethodPost, "/chat-flow/flows/", map[string]any{"name": "ok"}).want(http.StatusCreated).json()
	flowPath := "/chat-flow/flows/" + flow["id"].(string) + "/"
	badFlow := strings.Replace(validFlow, `"text":"Hi {{contact.name}}!`, `"text":"Hi \u0000{{contact.name}}!`, 1)
	for _, tt := range []struct {
		name, method, path string
		body               string
		pointer, location  string
	}{
		{"flow name", http.MethodPost, "/chat-flow/flows/", `{"name":"\u0000evil"}`, "/name", ""},
		{"flow name, raw byte", http.MethodPost, "/chat-flow/flows/", "{\"name\":\"a\x00b\"}", "/name", ""},
		{"flow remark", http.MethodPut, flowPath, `{"version":1,"remark":"x\u0000"}`, "/remark", ""},
		{"message text in flow_data", http.MethodPost, "/chat-flow/flows/", `{"name":"f","flow_data":` + badFlow + `}`, "/flow_data/nodes/1/data/text", ""},
		{"key in flow_data", http.MethodPost, "/chat-flow/flows/", `{"name":"f","flow_data":{"nodes":[],"edges":[],"a\u0000b":1}}`, "/flow_data/a\\u0000b", ""},
		{"token name", http.MethodPost, "/tokens/", `{"name":"t\u0000"}`, "/name", ""},
		{"channel name", http.MethodPost, "/channels/", `{"type":"webchat","name":"\u0000"}`, "/name", ""},
		{"project name", http.MethodPut, "/projects/" + a.project.ID + "/", `{"name":"p\u0000"}`, "/name", ""},
		{"search query", http.MethodGet, "/chat-flow/flows/?search=%00", "", "", "query.search"},
		{"contact search", http.MethodGet, "/contacts/?search=a%00", "", "", "query.search"},
		{"path parameter", http.MethodGet, "/chat-flow/flows/%00/", "", "", "path"},
	} {
		var body any
		if tt.body != "" {
			body = tt.body
		}
		res := c.do(tt.method, tt.path, body)
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", tt.name, res.status, res.body)
			continue
		}
		p := res.problem(http.StatusUnprocessableEntity)
		errs, _ := p["errors"].([]any)
		if len(errs) == 0 {
			t.Errorf("%s: no field errors: %v", tt.name, p)
			continue
		}
		f := errs[0].(map[string]any)
		if f["pointer"] != nilIfEmpty(tt.pointer) || f["location"] != nilIfEmpty(tt.location) || f["code"] != "nul_character" {
			t.Errorf("%s: field %v, want pointer %q location %q", tt.name, f, tt.pointer, tt.location)
		}
		if !strings.Contains(p["detail"].(string), "U+0000") {
			t.Errorf("%s: detail %q does not say what is wrong", tt.name, p["detail"])
		}
	}
	// A backslash followed by "u0000" is text, not a NUL.
	c.do(http.MethodPost, "/chat-flow/flows/", `{"name":"a \\u0000 b"}`).want(http.StatusCreated)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestLoginThrottleHTTP: past the free tries, a login is a 429 problem
// with Retry-After and "try again in N s", for a known and an unknown
// e-mail alike, and both are counted on /metrics.
func TestLoginThrottleHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.tenant("Throttle Corp")
	c := h.bearer("")
	answers := map[string][]int{}
	for _, email := range []string{a.user.Email, "nobody-here@example.com"} {
		for i := 0; i < 7; i++ {
			res := c.do(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": "wrong-password"})
			answers[email] = append(answers[email], res.status)
			if res.status == http.StatusTooManyRequests {
				p := res.problem(http.StatusTooManyRequests)
				if ra := res.header.Get("Retry-After"); ra == "" || !strings.Contains(p["detail"].(string), "try again in "+ra+" s") {
					t.Errorf("Retry-After %q, detail %q", ra, p["detail"])
				}
			}
		}
		if email == a.user.Email {
			// The right password is refused while the account waits (1 s).
			c.do(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": a.pw}).problem(http.StatusTooManyRequests)
		}
	}
	want := []int{401, 401, 401, 401, 401, 401, 429}
	for email, got := range answers {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: statuses %v, want %v", email, got, want)
		}
	}
	metrics := string(c.do(http.MethodGet, "/metrics", nil).want(http.StatusOK).body)
	for _, line := range []string{"parley_login_failures_total 12", `parley_login_throttled_total{scope="account"} 3`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// TestInvitations: inviting an address that has an account and one that
// has none gives the owner answers of the same shape (only the address,
// IDs, token and times differ); nobody is a member before accepting; an
// existing user accepts while logged in as the invited address, a new one
// sets a password; the register step answers the same either way and
// never touches an existing account.
func TestInvitations(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.tenant("Inviting Corp"), h.tenant("Other Corp")
	owner := h.login(a.user.Email, a.pw)
	invite := func(email string) map[string]any {
		return owner.do(http.MethodPost, "/projects/"+a.project.ID+"/members/", map[string]string{"email": email, "role": "editor"}).want(http.StatusCreated).json()
	}
	existing, unknown := invite(b.user.Email), invite("newcomer@example.com")
	shape := func(m map[string]any) string {
		keys := []string{}
		for k, v := range m {
			keys = append(keys, fmt.Sprintf("%s:%T", k, v))
		}
		sort.Strings(keys)
		return strings.Join(keys, ",")
	}
	if shape(existing) != shape(unknown) || existing["role"] != unknown["role"] || existing["accepted_at"] != nil || unknown["accepted_at"] != nil {
		t.Fatalf("answers differ:\n existing %v\n unknown  %v", existing, unknown)
	}
	if !strings.HasPrefix(existing["accept_url"].(string), "http://parley.test/app/invite?token=") {
		t.Errorf("accept_url %v", existing["accept_url"])
	}
	// Neither is a member yet; both are pending, without their tokens.
	members := owner.do(http.MethodGet, "/projects/"+a.project.ID+"/members/", nil).want(http.StatusOK)
	if strings.Contains(string(members.body), b.user.Email) {
		t.Fatal("the invited user is a member before accepting")
	}
	pending := owner.do(http.MethodGet, "/projects/"+a.project.ID+"/invitations/", nil).want(http.StatusOK)
	if n := len(pending.json()["results"].([]any)); n != 2 || strings.Contains(string(pending.body), existing["token"].(string)) {
		t.Fatalf("pending = %s", pending.body)
	}

	anon := h.bearer("")
	info := anon.do(http.MethodPost, "/invitations/lookup", map[string]any{"token": existing["token"]}).want(http.StatusOK).json()
	if info["project_name"] != "Inviting Corp" || info["email"] != b.user.Email {
		t.Errorf("lookup = %v", info)
	}
	// The register step answers alike for both, and leaves B's account alone.
	reg := func(token any) map[string]any {
		m := anon.do(http.MethodPost, "/invitations/register", map[string]any{"token": token, "password": "chosen-by-link-holder"}).want(http.StatusOK).json()
		delete(m, "email")
		return m
	}
	r1, r2 := reg(existing["token"]), reg(unknown["token"])
	if s1, s2 := strings.ReplaceAll(fmt.Sprint(r1), b.user.Email, "EMAIL"), strings.ReplaceAll(fmt.Sprint(r2), "newcomer@example.com", "EMAIL"); s1 != s2 {
		t.Fatalf("register answers differ:\n %s\n %s", s1, s2)
	}
	anon.do(http.MethodPost, "/auth/login", map[string]string{"email": b.user.Email, "password": "chosen-by-link-holder"}).problem(http.StatusUnauthorized)
	bc := h.login(b.user.Email, b.pw)
	bc.do(http.MethodGet, "/projects/"+a.project.ID+"/", nil).problem(http.StatusNotFound)

	// The new user joined by registering; the link is then used up.
	nc := h.login("newcomer@example.com", "chosen-by-link-holder")
	nc.do(http.MethodGet, "/projects/"+a.project.ID+"/", nil).want(http.StatusOK)
	anon.do(http.MethodPost, "/invitations/lookup", map[string]any{"token": unknown["token"]}).problem(http.StatusNotFound)

	// Someone else logged in cannot use B's link; B can, once.
	nc.do(http.MethodPost, "/invitations/accept", map[string]any{"token": existing["token"]}).problem(http.StatusForbidden)
	me := bc.do(http.MethodPost, "/invitations/accept", map[string]any{"token": existing["token"]}).want(http.StatusOK).json()
	if me["project_id"] != a.project.ID || me["role"] != "editor" {
		t.Errorf("after accepting: %v", me)
	}
	bc.do(http.MethodGet, "/projects/"+a.project.ID+"/", nil).want(http.StatusOK)
	bc.do(http.MethodPost, "/invitations/accept", map[string]any{"token": existing["token"]}).problem(http.StatusNotFound)
	anon.do(http.MethodPost, "/invitations/lookup", map[string]any{"token": "not-a-token"}).problem(http.StatusNotFound)

	// A withdrawn invitation's link stops working.
	w := invite("withdrawn@example.com")
	owner.do(http.MethodDelete, "/projects/"+a.project.ID+"/invitations/"+w["id"].(string)+"/", nil).want(http.StatusNoContent)
	anon.do(http.MethodPost, "/invitations/register", map[string]any{"token": w["token"], "password": "long-enough-password"}).problem(http.StatusNotFound)
}
