package faults_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for diagnostics
	_ "modernc.org/sqlite"             // database/sql driver "sqlite", for diagnostics

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

const (
	appSecret   = "faults-app-secret"
	accessToken = "faults-access-token"
	pnid        = "2000001"
)

// A catch-all flow: every message that starts no other flow gets "Hello".
const helloFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"inbound"}}},
 {"id":"bye","type":"end","position":{"x":0,"y":100},"data":{"text":"Hello"}}
],"edges":[{"id":"e1","source":"start","target":"bye"}]}`

// server is a real Parley (apptest: app.New + Start) with a WhatsApp
// channel on the fake Graph API and the catch-all flow published.
type server struct {
	*apptest.Server
	t       *testing.T
	app     *app.App
	project string
	fake    *sandbox.Server
	// driver and dsn open the database for diagnostics.
	driver, dsn string
}

func start(t *testing.T) *server {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{Fake: sandbox.Config{AppSecret: appSecret, AccessToken: accessToken, PhoneNumberID: pnid,
		StatusDelay: 10 * time.Millisecond, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}})
	s := &server{Server: srv, t: t, app: srv.App, project: srv.ProjectID, fake: srv.Fake,
		driver: "sqlite", dsn: "file:" + srv.Config.SQLitePath() + "?mode=ro"}
	if srv.Config.UsesPostgres() {
		s.driver, s.dsn = "pgx", srv.Config.DatabaseURL
	}
	srv.WhatsAppChannel(map[string]any{"messages_per_second": 1000})
	srv.Publish("Hello", helloFlow)
	return s
}

// stop stops the fake and the server, and closes idle connections.
func (s *server) stop() {
	s.Stop()
	http.DefaultClient.CloseIdleConnections()
}

func (s *server) must(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	return s.Must(method, path, body, want)
}

// customer writes "hi" from phone (opening the 24-hour window; the flow
// answers "Hello") and returns the contact's ID.
func (s *server) customer(phone string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.fake.SendInbound(ctx, sandbox.Inbound{From: phone, Name: "Faulty " + phone, Text: "hi"}); err != nil {
		s.t.Fatal(err)
	}
	out := s.must("GET", "/contacts/?search="+phone, nil, http.StatusOK)
	l, _ := out["results"].([]any)
	if len(l) != 1 {
		s.t.Fatalf("contact %s: %v", phone, out)
	}
	return l[0].(map[string]any)["id"].(string)
}

// agentSend queues a text to the contact as a person would.
func (s *server) agentSend(contact, text string) string {
	s.t.Helper()
	return s.must("POST", "/conversations/"+contact+"/messages/", map[string]any{"text": text}, http.StatusCreated)["id"].(string)
}

// outbound lists the contact's outbound messages, oldest first.
func (s *server) outbound(contact string) []domain.Message {
	s.t.Helper()
	var out []domain.Message
	page := store.Page{Limit: store.MaxPageSize}
	for {
		l, err := s.app.Store().MessageList(context.Background(), store.MessageListParams{ProjectID: s.project, ContactID: contact, Page: page})
		if err != nil {
			s.t.Fatal(err)
		}
		for _, m := range l.Items {
			if m.Direction == domain.DirectionOut {
				out = append(out, m)
			}
		}
		if l.Next == "" {
			break
		}
		page.After = l.Next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// final reports whether a message has reached the end of its road: read
// (the fake always reports sent, delivered, read for what it accepts) or
// failed.
func final(m domain.Message) bool {
	return m.Status == domain.MessageRead || m.Status == domain.MessageFailed
}

// settle waits until the contact has n outbound messages, all final.
func (s *server) settle(contact string, n int, within time.Duration) []domain.Message {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ms := s.outbound(contact)
		done := len(ms) == n
		for _, m := range ms {
			done = done && final(m)
		}
		if done {
			return ms
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, m := range ms {
				lines = append(lines, fmt.Sprintf("%s %s %s %s", m.ID, m.Status, m.ErrorCode, m.ErrorReason))
			}
			var stacks strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			s.t.Fatalf("after %s, %d of %d messages, not all final:\n%s\nqueued sends:\n%s\ngoroutines:\n%s",
				within, len(ms), n, strings.Join(lines, "\n"), s.queuedSends(), stacks.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requestsFor counts the fake's message requests carrying our ID.
func (s *server) requestsFor() map[string]int {
	out := map[string]int{}
	for _, r := range s.fake.Messages() {
		var b struct {
			OurID string `json:"biz_opaque_callback_data"`
		}
		_ = json.Unmarshal(r.Body, &b)
		out[b.OurID]++
	}
	return out
}

// queuedSends describes the outbound messages still queued (the outbox
// dispatcher's work), for a failure message.
func (s *server) queuedSends() string {
	db, err := testdb.OpenSQL(s.driver, s.dsn)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT id, attempts, CAST(due_at AS TEXT), error_reason FROM messages
		WHERE status = 'queued' ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, reason string
		var attempts int64
		var due sql.NullString
		if err := rows.Scan(&id, &attempts, &due, &reason); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "message %s attempts %d due %s %s\n", id, attempts, due.String, reason)
	}
	return b.String()
}
