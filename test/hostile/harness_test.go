package hostile_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/test/killharness"
)

const (
	appSecret   = "hostile-app-secret"
	accessToken = "hostile-access-token"
	verifyToken = "hostile-verify-token"
	pnid        = "3000001"
)

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

// server is a real Parley (apptest) with one WhatsApp channel on the fake
// Graph API and the flow published.
type server struct {
	t       *testing.T
	base    string
	token   string
	channel string
	fake    *sandbox.Server
	logs    *logBuffer
	hc      *http.Client
	db      *sql.DB
	srv     *apptest.Server
}

func start(t *testing.T, fakeCfg sandbox.Config) *server {
	t.Helper()
	logs := &logBuffer{}
	fakeCfg.AppSecret, fakeCfg.AccessToken, fakeCfg.PhoneNumberID = appSecret, accessToken, pnid
	srv := apptest.Start(t, apptest.Options{Fake: fakeCfg, Logs: logs})
	driver, dsn := "sqlite", "file:"+srv.Config.SQLitePath()+"?mode=ro&_pragma=busy_timeout(10000)"
	if srv.Config.UsesPostgres() {
		driver, dsn = "pgx", srv.Config.DatabaseURL
	}
	db, err := testdb.OpenSQL(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s := &server{t: t, base: srv.Base, token: srv.Token, fake: srv.Fake, logs: logs, db: db, hc: srv.HTTP, srv: srv}
	s.channel = srv.WhatsAppChannel(map[string]any{"verify_token": verifyToken})
	srv.Publish("Ask", killharness.BookFlow)
	return s
}

func (s *server) api(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	return s.srv.Must(method, path, body, want)
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
