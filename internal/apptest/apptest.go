// Package apptest runs a real Parley server (app.New and Start, as `parley
// serve` does) on the test database — SQLite, or a fresh PostgreSQL
// database when TEST_DATABASE_URL is set — next to the fake Graph API, for
// end-to-end tests that talk to it over HTTP.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// The fake WhatsApp number's credentials, unless Options say otherwise.
const (
	AppSecret     = "apptest-app-secret"
	AccessToken   = "apptest-access-token"
	PhoneNumberID = "1000001"
	WABAID        = "100000000000001"
)

// Options shape a test server.
type Options struct {
	// Fake configures the fake Graph API; its credentials default to the
	// constants above.
	Fake sandbox.Config
	// Logs receives the server's logs (info level); nil discards them.
	Logs io.Writer
	// App are options for app.New (extra channel types…).
	App []app.Option
	// Configure, when set, adjusts the configuration before the server
	// starts (a given data directory or database URL, for tests that
	// restart a deployment).
	Configure func(*config.Config)
	// HTTPAllow is PARLEY_HTTP_ALLOW (e.g. 127.0.0.1/32 for a test's own
	// receiver of event webhooks or http_request calls).
	HTTPAllow string
}

// Server is a running Parley with an owner API token of the Default
// project, and the fake Graph API.
type Server struct {
	T         testing.TB
	App       *app.App
	Config    config.Config
	Base      string
	Token     string
	ProjectID string
	Fake      *sandbox.Server
	// HTTP is the client the helpers use (its own transport, closed at the end).
	HTTP    *http.Client
	stopped bool
}

// Start runs a server and the fake; both stop when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.SecretKey = strings.Repeat("cd", 32)
	cfg.JobPollInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.HTTPAllow = o.HTTPAllow
	if os.Getenv(testdb.EnvVar) != "" {
		cfg.DatabaseURL = testdb.PostgresURL(t)
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), o.App...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	fc := o.Fake
	if fc.AppSecret == "" {
		fc.AppSecret = AppSecret
	}
	if fc.AccessToken == "" {
		fc.AccessToken = AccessToken
	}
	if fc.PhoneNumberID == "" {
		fc.PhoneNumberID = PhoneNumberID
	}
	fake := sandbox.New(fc)
	if err := fake.Start(ctx); err != nil {
		_ = a.Stop()
		t.Fatal(err)
	}
	// The fake runs on loopback: channels may reach exactly it.
	if err := a.AllowEndpoint(fake.URL()); err != nil {
		fake.Stop()
		_ = a.Stop()
		t.Fatal(err)
	}
	s := &Server{T: t, App: a, Config: cfg, Base: "http://" + a.Addr(), Fake: fake,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(s.Stop)
	p, err := a.Accounts().ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Accounts().CreateToken(ctx, p.ID, "apptest", domain.RoleOwner, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.Token, s.ProjectID = tok.Secret, p.ID
	return s
}

// Stop stops the fake and the server once, and closes idle connections.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.Fake.Stop()
	if err := s.App.Stop(); err != nil {
		s.T.Errorf("stopping the server: %v", err)
	}
	s.HTTP.CloseIdleConnections()
}

// Call makes an API request with the token and returns the status, the
// decoded object (nil when the body is not one) and the raw body.
func (s *Server) Call(method, path string, body any) (int, map[string]any, []byte) {
	s.T.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, s.Base+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.HTTP.Do(req)
	if err != nil {
		s.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out, raw
}

// Must is Call that fails the test unless the status is want.
func (s *Server) Must(method, path string, body any, want int) map[string]any {
	s.T.Helper()
	status, out, raw := s.Call(method, path, body)
	if status != want {
		s.T.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, raw)
	}
	return out
}

// WhatsAppChannel connects a WhatsApp channel of the fake's number (extra
// config keys added) and points the fake's webhooks at it; it returns the
// channel's ID.
func (s *Server) WhatsAppChannel(extra map[string]any) string {
	s.T.Helper()
	cfg := map[string]any{"phone_number_id": s.Fake.Config().PhoneNumberID, "waba_id": WABAID,
		"access_token": s.Fake.Config().AccessToken, "app_secret": s.Fake.Config().AppSecret, "api_base_url": s.Fake.URL()}
	for k, v := range extra {
		cfg[k] = v
	}
	ch := s.Must("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Test number", "config": cfg}, http.StatusCreated)
	id := ch["id"].(string)
	s.Fake.SetWebhookURL(s.Base + "/webhooks/whatsapp/" + id)
	return id
}

// Publish creates and publishes a flow; it returns the flow.
func (s *Server) Publish(name, graph string) map[string]any {
	s.T.Helper()
	return s.Must("POST", "/chat-flow/flows/", map[string]any{"name": name, "is_active": true, "flow_data": json.RawMessage(graph)}, http.StatusCreated)
}

// Eventually polls cond until it holds, failing the test after 60 s (a
// bound for a hang, not a speed check: under -race on a loaded machine a
// server round trip with its jobs can take tens of seconds).
func (s *Server) Eventually(what string, cond func() bool) {
	s.T.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.T.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Upload posts a multipart form: fields, and file under the field "file"
// (streamed, so large files are never held whole), and returns the status
// and the decoded object.
func (s *Server) Upload(path string, fields map[string]string, filename string, file io.Reader) (int, map[string]any) {
	s.T.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			if err := mw.WriteField(k, v); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		fw, err := mw.CreateFormFile("file", filename)
		if err == nil {
			_, err = io.Copy(fw, file)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.Base+path, pr)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := s.HTTP.Do(req)
	if err != nil {
		s.T.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}
