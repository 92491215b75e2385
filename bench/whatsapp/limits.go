package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// bareEnvelope is the part of a Meta webhook a minimal receiver decodes.
type bareEnvelope struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				MessagingProduct string `json:"messaging_product"`
				Metadata         struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					WaID    string `json:"wa_id"`
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
				} `json:"contacts"`
				Messages []struct {
					From      string `json:"from"`
					ID        string `json:"id"`
					Timestamp string `json:"timestamp"`
					Type      string `json:"type"`
					Text      struct {
						Body string `json:"body"`
					} `json:"text"`
				} `json:"messages"`
				Statuses []struct {
					ID          string `json:"id"`
					Status      string `json:"status"`
					Timestamp   string `json:"timestamp"`
					RecipientID string `json:"recipient_id"`
					BizOpaque   string `json:"biz_opaque_callback_data"`
				} `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// bareServer is limit (a): a plain net/http server whose handler reads the
// body, checks X-Hub-Signature-256 with Parley's own VerifySignature and
// decodes the JSON, then answers 200 — everything a webhook receiver must
// do, and nothing stored.
type bareServer struct {
	srv *http.Server
	url string
}

func startBare() (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, whatsapp.MaxWebhookBytes))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if !whatsapp.VerifySignature(body, r.Header.Get(whatsapp.SignatureHeader), appSecret) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var env bareEnvelope
		if err := json.Unmarshal(body, &env); err != nil || len(env.Entry) == 0 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"received"}`)
	})
	// The same timeouts as Parley's server (internal/app).
	b := &bareServer{url: "http://" + ln.Addr().String() + "/webhook", srv: &http.Server{Handler: h,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}}
	go func() {
		if err := b.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	return b, nil
}

func (b *bareServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
}

// commitLimit is limit (b): transactions of one small-row INSERT + COMMIT
// per second, from conc goroutines, on the database and driver settings
// Parley uses. On SQLite the database is opened by internal/store/sqlite
// (WAL, synchronous=NORMAL, one write connection, BEGIN IMMEDIATE) in a file
// beside Parley's; on PostgreSQL a pgx pool is configured from the URL as
// internal/store/postgres does, on the benchmark's fresh database.
type commitLimit struct {
	// exec inserts rows rows (IDs id.0, id.1, …) and commits once.
	exec  func(ctx context.Context, id string, rows int) error
	close func()
}

const commitTable = `CREATE TABLE bench_commit (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL)`

// commitInsert is the small row: an ID, a project, a JSON body and a time.
const (
	commitInsertPG     = `INSERT INTO bench_commit (id, project_id, body, created_at) VALUES ($1, $2, $3, $4)`
	commitInsertSQLite = `INSERT INTO bench_commit (id, project_id, body, created_at) VALUES (?, ?, ?, ?)`
)

func openCommitLimit(ctx context.Context, pgURL, dir string) (*commitLimit, error) {
	body := `{"text":"hello","event":{"kind":"text"}}`
	if pgURL != "" {
		cfg, err := pgxpool.ParseConfig(pgURL)
		if err != nil {
			return nil, err
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if _, err := pool.Exec(ctx, commitTable); err != nil {
			pool.Close()
			return nil, err
		}
		return &commitLimit{close: pool.Close, exec: func(ctx context.Context, id string, rows int) error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			for i := range rows {
				if _, err := tx.Exec(ctx, commitInsertPG, id+"."+strconv.Itoa(i), "p", body, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
					_ = tx.Rollback(ctx)
					return err
				}
			}
			return tx.Commit(ctx)
		}}, nil
	}
	s, err := sqlite.Open(ctx, filepath.Join(dir, "commit-limit.db"), store.OpenOptions{})
	if err != nil {
		return nil, err
	}
	db := s.DB()
	if _, err := db.ExecContext(ctx, commitTable); err != nil {
		s.Close()
		return nil, err
	}
	return &commitLimit{close: func() { s.Close() }, exec: func(ctx context.Context, id string, rows int) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := range rows {
			if _, err := tx.ExecContext(ctx, commitInsertSQLite, id+"."+strconv.Itoa(i), "p", body, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	}}, nil
}

// op is one transaction of rows rows: rows 1 is the raw commit rate; more
// shows what committing several webhooks together (group commit) buys.
func (c *commitLimit) op(rows int) op {
	return func(ctx context.Context, w, seq int) (time.Duration, error) {
		t0 := time.Now()
		err := c.exec(ctx, fmt.Sprintf("%d-%d-%d", rows, w, seq), rows)
		return time.Since(t0), err
	}
}

// fakeOp is limit (c): one text send POSTed to the fake's messages
// endpoint, as Parley's adapter does, through the same recorder.
func fakeOp(hc *http.Client, g *graph) op {
	url := g.messagesURL()
	return func(ctx context.Context, w, seq int) (time.Duration, error) {
		body := outboundBody(customer(9, w, seq), "limit")
		t0 := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+accessToken)
		err = do(hc, req)
		return time.Since(t0), err
	}
}
