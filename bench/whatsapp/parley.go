package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// parley is a real Parley server started in this process (app.New + Start,
// as internal/app's end-to-end test does), with a WhatsApp channel pointing
// at the fake and one published flow.
type parley struct {
	app        *app.App
	base       string
	token      string
	projectID  string
	channelID  string
	webhookURL string
	// targets are the webhook URLs of every bench number, the first being
	// channelID's.
	targets []target
}

// replyFlow answers "hi" with one templated text and ends: inbound message
// → flow step → one outbound request.
const replyFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"reply","type":"message","position":{"x":0,"y":100},"data":{"text":"Hello {{contact.name}}, thanks for writing!"}},
 {"id":"end","type":"end","position":{"x":0,"y":200},"data":{}}
],"edges":[
 {"id":"e1","source":"start","target":"reply"},
 {"id":"e2","source":"reply","target":"end"}
]}`

func startParley(ctx context.Context, dataDir, dbURL string, poll time.Duration, channelLog string, numbers int, logger *slog.Logger, g *graph) (*parley, error) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.DatabaseURL = dbURL
	cfg.SecretKey = strings.Repeat("be", 32)
	cfg.JobPollInterval = poll
	cfg.ChannelLog = channelLog
	cfg.ShutdownTimeout = 10 * time.Second
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop()
		return nil, err
	}
	p := &parley{app: a, base: "http://" + a.Addr()}
	fail := func(err error) (*parley, error) {
		_ = a.Stop()
		return nil, err
	}
	proj, err := a.Accounts().ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		return fail(err)
	}
	p.projectID = proj.ID
	tok, err := a.Accounts().CreateToken(ctx, proj.ID, "bench", domain.RoleOwner, "bench")
	if err != nil {
		return fail(err)
	}
	p.token = tok.Secret
	// The fake Graph API listens on loopback: the channels may reach it.
	if err := a.AllowEndpoint(g.url); err != nil {
		return fail(err)
	}
	for i := range max(1, numbers) {
		var ch struct {
			ID string `json:"id"`
		}
		// 1,000 messages/s is Meta's top throughput tier for one number.
		if err := p.call(ctx, "POST", "/channels/", map[string]any{"type": "whatsapp", "name": fmt.Sprintf("Bench %d", i), "config": map[string]any{
			"phone_number_id": numberID(i), "waba_id": wabaID, "access_token": accessToken, "app_secret": appSecret,
			"verify_token": "bench", "api_base_url": g.url, "api_version": apiVersion, "messages_per_second": 1000}}, &ch); err != nil {
			return fail(err)
		}
		p.targets = append(p.targets, target{url: p.base + "/webhooks/whatsapp/" + ch.ID, pnid: numberID(i)})
		if i == 0 {
			p.channelID = ch.ID
			p.webhookURL = p.targets[0].url
		}
	}
	if err := p.call(ctx, "POST", "/chat-flow/flows/", map[string]any{"name": "Bench reply", "is_active": true,
		"flow_data": json.RawMessage(replyFlow)}, nil); err != nil {
		return fail(err)
	}
	return p, nil
}

// call is an authenticated API request; out may be nil.
func (p *parley) call(ctx context.Context, method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var prob map[string]any
		_ = json.NewDecoder(res.Body).Decode(&prob)
		return fmt.Errorf("%s %s: %d %v", method, path, res.StatusCode, prob)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

// target is where one business number's webhooks go.
type target struct{ url, pnid string }

// seeded is an outbound message stored for status webhooks to move.
type seeded struct {
	ID, WAMID, To string
}

// seed stores n outbound messages (as if sent) to 100 contacts, 500 per
// transaction, so the ingest phase's status webhooks update real rows.
func (p *parley) seed(ctx context.Context, n int) ([]seeded, error) {
	ids := domain.UUIDv7{}
	st := p.app.Store()
	var out []seeded
	contacts := make([]string, 100)
	now := time.Now()
	err := st.InTx(ctx, func(q store.Queries) error {
		for i := range contacts {
			c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p.projectID, Scheme: domain.ChannelWhatsApp,
				Path: customer(8, 0, i), ChannelID: p.channelID, NewID: ids.NewID(), Name: "Seed", Phone: "+" + customer(8, 0, i), Inbound: true, Now: now})
			if err != nil {
				return err
			}
			contacts[i] = c.ID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	content, _ := json.Marshal(map[string]string{"type": "text", "text": "seeded"})
	for len(out) < n {
		err := st.InTx(ctx, func(q store.Queries) error {
			for range min(500, n-len(out)) {
				i := len(out)
				m, err := q.MessageCreate(ctx, domain.Message{ID: ids.NewID(), ProjectID: p.projectID, ContactID: contacts[i%len(contacts)],
					ChannelID: p.channelID, Direction: domain.DirectionOut, Type: "text", Content: content, Status: domain.MessageSent,
					Priority: "reply", CreatedAt: now, SentAt: &now})
				if err != nil {
					return err
				}
				out = append(out, seeded{ID: m.ID, WAMID: fmt.Sprintf("wamid.BENCHSEED%d", i), To: customer(8, 0, i%len(contacts))})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// backlog counts the runner's work not yet finished: inbox events not
// handled and outbound messages still queued.
func (p *parley) backlog(ctx context.Context) (int, error) {
	const q = `SELECT (SELECT count(*) FROM contact_events WHERE handled_at IS NULL) + (SELECT count(*) FROM messages WHERE status = 'queued')`
	var n int
	switch s := p.app.Store().(type) {
	case *sqlite.Store:
		err := s.DB().QueryRowContext(ctx, q).Scan(&n)
		return n, err
	case *postgres.Store:
		err := s.Pool().QueryRow(ctx, q).Scan(&n)
		return n, err
	}
	return 0, fmt.Errorf("unknown store %T", p.app.Store())
}

// groupCommit reports the store's group-commit counters: calls run and
// transactions committed (package groupcommit, both dialects).
func (p *parley) groupCommit() (calls, transactions int64) {
	if s, ok := p.app.Store().(interface{ GroupCommitStats() (int64, int64) }); ok {
		return s.GroupCommitStats()
	}
	return 0, 0
}

// retried counts the inbox events and messages that failed at least once
// (errors such as deadlocks or timeouts show up here; they were retried).
func (p *parley) retried(ctx context.Context) (int, error) {
	const q = `SELECT (SELECT count(*) FROM contact_events WHERE attempts > 0) + (SELECT count(*) FROM messages WHERE attempts > 0)`
	var n int
	switch s := p.app.Store().(type) {
	case *sqlite.Store:
		err := s.DB().QueryRowContext(ctx, q).Scan(&n)
		return n, err
	case *postgres.Store:
		err := s.Pool().QueryRow(ctx, q).Scan(&n)
		return n, err
	}
	return 0, fmt.Errorf("unknown store %T", p.app.Store())
}

// drain waits (bounded) until no job is left, and says how long it took.
func (p *parley) drain(ctx context.Context, limit time.Duration) (left int, took time.Duration, err error) {
	t0 := time.Now()
	for {
		n, err := p.backlog(ctx)
		if err != nil || n == 0 || time.Since(t0) > limit {
			return n, time.Since(t0), err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop shuts the server down gracefully.
func (p *parley) stop() error { return p.app.Stop() }
