package hostile_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/testdb"
)

const (
	appSecret   = "hostile-app-secret"
	accessToken = "hostile-access-token"
	verifyToken = "hostile-verify-token"
	pnid        = "3000001"
)

// The flow: "hi" asks a question with two buttons and waits.
const askFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Pick one","buttons":["Book","Track"]}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked"}},
 {"id":"track","type":"end","position":{"x":200,"y":200},"data":{"text":"Tracking"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"Track","target":"track"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"track"}
]}`

// logBuffer collects the server's logs (a panic would be logged there).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a real Parley with one WhatsApp channel on the fake Graph API
// and the flow published.
type server struct {
	t       *testing.T
	base    string
	token   string
	channel string
	fake    *sandbox.Server
	logs    *logBuffer
	hc      *http.Client
	db      *sql.DB
}

func start(t *testing.T, fakeCfg sandbox.Config) *server {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.SecretKey = strings.Repeat("0b", 32)
	cfg.JobPollInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = 10 * time.Second
	if os.Getenv(testdb.EnvVar) != "" {
		cfg.DatabaseURL = testdb.PostgresURL(t)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop() })
	fakeCfg.AppSecret, fakeCfg.AccessToken, fakeCfg.PhoneNumberID = appSecret, accessToken, pnid
	fake := sandbox.New(fakeCfg)
	if err := fake.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Stop)
	p, err := a.Accounts().ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Accounts().CreateToken(ctx, p.ID, "hostile", domain.RoleOwner, "test")
	if err != nil {
		t.Fatal(err)
	}
	driver, dsn := "sqlite", "file:"+cfg.SQLitePath()+"?mode=ro&_pragma=busy_timeout(10000)"
	if cfg.UsesPostgres() {
		driver, dsn = "pgx", cfg.DatabaseURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s := &server{t: t, base: "http://" + a.Addr(), token: tok.Secret, fake: fake, logs: logs, db: db,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(s.hc.CloseIdleConnections)
	ch := s.api("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Hostile", "config": map[string]any{
		"phone_number_id": pnid, "waba_id": "100000000000001", "access_token": accessToken, "app_secret": appSecret,
		"verify_token": verifyToken, "api_base_url": fake.URL()}}, http.StatusCreated)
	s.channel = ch["id"].(string)
	fake.SetWebhookURL(s.base + "/webhooks/whatsapp/" + s.channel)
	s.api("POST", "/chat-flow/flows/", map[string]any{"name": "Ask", "is_active": true, "flow_data": json.RawMessage(askFlow)}, http.StatusCreated)
	return s
}

func (s *server) api(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// post sends a webhook body with the given signature header (none when
// empty) and returns the status and the answer.
func (s *server) post(path string, body []byte, signature string) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	res, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(raw)
}

// get sends a GET and returns the status and the answer.
func (s *server) get(path string) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	res, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(raw)
}

// rows counts what webhooks can create: messages, contacts, inbox events.
type rows struct{ messages, contacts, events int }

func (s *server) rows() rows {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r rows
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM contacts), (SELECT count(*) FROM contact_events)`).
		Scan(&r.messages, &r.contacts, &r.events)
	if err != nil {
		s.t.Fatalf("counting rows: %v", err)
	}
	return r
}

// query returns the first column of a query's rows.
func (s *server) query(q string) []string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs, err := s.db.QueryContext(ctx, q)
	if err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v sql.NullString
		if err := rs.Scan(&v); err != nil {
			s.t.Fatalf("%s: %v", q, err)
		}
		out = append(out, v.String)
	}
	return out
}

// healthy checks the server still answers and logged no panic.
func (s *server) healthy() {
	s.t.Helper()
	if code, body := s.get("/healthz"); code != http.StatusOK {
		s.t.Fatalf("/healthz answered %d: %s", code, body)
	}
	if l := strings.ToLower(s.logs.String()); strings.Contains(l, "panic") {
		s.t.Fatalf("the server logged a panic:\n%s", s.logs.String())
	}
}

// eventually polls cond until it holds or the time is up.
func (s *server) eventually(what string, within time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// inbound is a signed-able webhook body with one text message.
func inbound(phoneNumberID, from, wamid, text string) []byte {
	b, err := sandbox.BuildInbound(sandbox.Inbound{PhoneNumberID: phoneNumberID, From: from, Name: "Mallory", ID: wamid, Text: text})
	if err != nil {
		panic(fmt.Sprintf("building an inbound webhook: %v", err))
	}
	return b
}
