package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/signup"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/webchat"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	channelsvc "github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/internal/webui"
)

// harness is a real API server on a real test database.
type harness struct {
	t        *testing.T
	srv      *httptest.Server
	api      *httpapi.Server
	store    store.Store
	accounts *account.Service
	// runner is not started: a test that needs inboxes worked in the
	// background (the web chat) starts it.
	runner *runner.Runner
}

func newHarness(t *testing.T) *harness { t.Helper(); return newHarnessWith(t, nil) }

// newHarnessWith is newHarness with a change to the API's dependencies.
func newHarnessWith(t *testing.T, change func(*httpapi.Deps)) *harness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock, ids := domain.SystemClock{}, domain.UUIDv7{}
	box, err := secret.NewBox(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg := channel.NewRegistry()
	for _, typ := range []channel.Type{whatsapp.Definition(), webchat.Definition()} {
		if err := reg.Register(typ); err != nil {
			t.Fatal(err)
		}
	}
	// Jobs are only enqueued here (the API handles inboxes inline): the
	// workers are registered for their kinds and never run.
	st := testdb.Open(t, store.OpenOptions{Jobs: jobs.Config(&jobs.Bound[jobs.Deps]{}, jobs.Options{Logger: logger,
		Register: []func(*river.Workers){runner.Workers(&jobs.Bound[runner.Runner]{})}})})
	channels := channelsvc.New(channelsvc.Deps{Registry: reg, Store: st, Box: box, Clock: clock, IDs: ids, Logger: logger})
	flows := chatflow.New(st, clock, ids)
	scripts := script.New(script.Limits{})
	run, err := runner.New(st, runner.Deps{Flows: flows, Scripts: scripts, Channels: channels, Clock: clock, IDs: ids, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.New(st, clock, ids, time.Hour)
	accounts.OnProjectUpdate(func(string) { run.ForgetProjects() })
	metrics := prometheus.NewRegistry()
	deps := httpapi.Deps{
		Store: st, Accounts: accounts, Clock: clock, IDs: ids, Logger: logger,
		Metrics: metrics, Gatherer: metrics, UI: webui.Handler(), MaxBodyBytes: 64 << 10,
		Flows: flows, Runner: run, Conversations: conversation.New(st, run, flows, clock, ids, logger), Channels: channels, PublicURL: "http://parley.test",
		// Loopback is allowed here so tests can call their own httptest servers.
		Scripts: scripts,
		HTTP:    httpclient.New(httpclient.WithAllow(netip.MustParsePrefix("127.0.0.0/8"))),
	}
	deps.Signup = signup.New(signup.Deps{Store: st, Channels: channels, Box: box, Clock: clock, IDs: ids})
	deps.EventHooks = eventhook.New(eventhook.Deps{Store: st, Box: box, HTTP: deps.HTTP, Clock: clock, IDs: ids, Logger: logger})
	if change != nil {
		change(&deps)
	}
	api := httpapi.New(deps)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, api: api, store: st, accounts: accounts, runner: run}
}

// tenant is a project with an owner user and an owner token.
type tenant struct {
	project domain.Project
	user    domain.User
	token   string
	tokenID string
	pw      string
}

func (h *harness) tenant(name string) tenant {
	h.t.Helper()
	ctx := context.Background()
	pw := "password-" + name
	u, err := h.accounts.CreateUser(ctx, strings.ToLower(strings.ReplaceAll(name, " ", ""))+"@example.com", name, pw, false)
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := h.accounts.CreateProject(ctx, name, nil, u.ID, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	tok, err := h.accounts.CreateToken(ctx, p.ID, "owner token", domain.RoleOwner, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return tenant{project: p, user: u, token: tok.Secret, tokenID: tok.ID, pw: pw}
}

// client is an HTTP client with its own cookies and optional bearer token.
type client struct {
	h     *harness
	http  *http.Client
	token string
	csrf  string
}

func (h *harness) bearer(token string) *client {
	return &client{h: h, http: h.srv.Client(), token: token}
}

// login returns a client holding a web session.
func (h *harness) login(email, password string) *client {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{h: h, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res := c.do(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": password})
	res.want(http.StatusOK)
	c.csrf = res.json()["csrf_token"].(string)
	return c
}

type response struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

func (c *client) do(method, path string, body any) *response {
	c.h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.h.srv.URL+path, r)
	if err != nil {
		c.h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{t: c.h.t, status: res.StatusCode, header: res.Header, body: b}
}

func (r *response) want(status int) *response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

func (r *response) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		r.t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// problem checks the response is a problem document and returns it.
func (r *response) problem(status int) map[string]any {
	r.t.Helper()
	r.want(status)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		r.t.Fatalf("content type %q, want application/problem+json", ct)
	}
	m := r.json()
	if m["detail"] == "" || m["code"] == "" || int(m["status"].(float64)) != status {
		r.t.Fatalf("incomplete problem: %s", r.body)
	}
	return m
}
