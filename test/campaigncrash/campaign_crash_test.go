// Package campaigncrash is the kill -9 proof of campaigns: `parley serve`
// runs a 20,000-row campaign execution against the sandbox's fake Graph
// API and is SIGKILLed at random moments (at least 30 times) and
// restarted on the same database; at the end every valid row was started
// exactly once — one claim, one session, one start event per row — counted
// and printed.
//
// PARLEY_CAMPAIGN_ROWS (default 20000) and PARLEY_CAMPAIGN_KILLS (default
// 30) change the size; TEST_DATABASE_URL runs it on PostgreSQL; -short
// runs 2,000 rows and 10 kills.
package campaigncrash

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	_ "github.com/parleyhq/parley/internal/app" // reruns the test when the server changes
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/testdb"
)

const (
	appSecret     = "campaign-crash-secret"
	accessToken   = "campaign-crash-token"
	phoneNumberID = "1000077"
)

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q must be a positive whole number", name, v)
	}
	return n
}

func TestCampaignKillNine(t *testing.T) {
	rows, kills := envInt(t, "PARLEY_CAMPAIGN_ROWS", 20000), envInt(t, "PARLEY_CAMPAIGN_KILLS", 30)
	if testing.Short() {
		rows, kills = 2000, 10
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	bin := buildParley(t)

	dataDir := filepath.Join(t.TempDir(), "data")
	env := append(os.Environ(), "PARLEY_DATA_DIR="+dataDir, "PARLEY_SECRET_KEY="+strings.Repeat("6f", 32),
		"PARLEY_JOB_POLL_INTERVAL=50ms", "PARLEY_LOG_LEVEL=warn", "PARLEY_WORK_LEASE=3s", "PARLEY_WORK_POLL_INTERVAL=200ms",
		"PARLEY_HTTP_ALLOW=127.0.0.1")
	db := database{driver: "sqlite", dsn: "file:" + filepath.Join(dataDir, "parley.db") + "?_pragma=busy_timeout(10000)"}
	if os.Getenv(testdb.EnvVar) != "" {
		u := testdb.PostgresURL(t)
		env = append(env, "DATABASE_URL="+u)
		db = database{driver: "pgx", dsn: u}
	}
	fake := sandbox.New(sandbox.Config{AppSecret: appSecret, AccessToken: accessToken, PhoneNumberID: phoneNumberID,
		// No delivery statuses: the test counts starts, and status webhooks
		// would triple the writes.
		Statuses: []string{}, TemplateReview: sandbox.ReviewBeforeAnswer})
	if err := fake.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()

	srv := newProc(t, bin, freeAddr(t), env)
	srv.start(ctx)
	token := srv.run("token", "create", "--project", "Default", "--name", "campaign-crash")
	call := func(method, path string, body any, want int) map[string]any {
		return api(t, srv.base(), token, method, path, body, want)
	}
	ch := call("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Crash", "config": map[string]any{
		"phone_number_id": phoneNumberID, "waba_id": "100000000000077", "access_token": accessToken, "app_secret": appSecret,
		"verify_token": "crash-verify", "api_base_url": fake.URL(), "messages_per_second": 1000}}, http.StatusCreated)
	chID := ch["id"].(string)
	fake.SetWebhookURL(srv.base() + "/webhooks/whatsapp/" + chID)
	tpl := call("POST", "/templates/", map[string]any{"channel_id": chID, "name": "crash_invite", "language": "en_US", "category": "MARKETING",
		"components": []any{map[string]any{"type": "BODY", "text": "Hi {{1}}!", "example": map[string]any{"body_text": []any{[]any{"Ann"}}}}}}, http.StatusCreated)
	tplID := tpl["id"].(string)
	waitFor(t, ctx, "the template is approved", func() bool { return call("GET", "/templates/"+tplID+"/", nil, http.StatusOK)["status"] == "APPROVED" })
	graph := `{"nodes":[
	 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"campaign"}}},
	 {"id":"tpl","type":"template","position":{"x":0,"y":100},"data":{"template_id":"` + tplID + `","params":{"body":["{{name}}"]}}},
	 {"id":"end","type":"end","position":{"x":0,"y":200},"data":{}}],
	 "edges":[{"id":"e1","source":"start","target":"tpl"},{"id":"e2","source":"tpl","target":"end"}]}`
	flow := call("POST", "/chat-flow/flows/", map[string]any{"name": "Crash survey", "is_active": true, "flow_data": json.RawMessage(graph)}, http.StatusCreated)

	// The dataset: rows valid phones, and a few bad rows that must never start.
	var csv bytes.Buffer
	csv.WriteString("phone,name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "+3519%08d,P%d\n", 10000000+i, i)
	}
	csv.WriteString("+351,Broken\n")
	ds := upload(t, srv.base(), token, csv.Bytes())
	dsID := ds["id"].(string)
	waitFor(t, ctx, "the dataset is processed", func() bool {
		ds = call("GET", "/datasets/"+dsID+"/", nil, http.StatusOK)
		return ds["status"] != "processing"
	})
	if c := ds["counts"].(map[string]any); ds["status"] != "ready" || c["valid"] != float64(rows) || c["invalid_phone"] != float64(1) {
		t.Fatalf("dataset: %v", ds)
	}
	camp := call("POST", "/campaigns/", map[string]any{"name": "Crash", "flow_id": flow["id"], "channel_ids": []string{chID}, "dataset_ids": []string{dsID}}, http.StatusCreated)
	campID := camp["id"].(string)
	exec := call("POST", "/campaigns/"+campID+"/executions/", map[string]any{"batch_size": max(10, rows/100), "batch_delay_seconds": 0.05, "max_failure_rate": 1}, http.StatusCreated)
	execID := exec["id"].(string)

	conn := db.open(t)
	defer conn.Close()
	started := func() int {
		return atoi(query(t, conn, `SELECT count(*) FROM campaign_recipients WHERE execution_id = '`+execID+`' AND status = 'started'`)[0][0])
	}
	// The kills, at random moments while rows are being started: each
	// process lives 0.1–0.6 s, and longer if it has not started a row yet
	// (up to 5 s: a restart on PostgreSQL is slow), so every kill can fall
	// inside a start transaction.
	during := 0
	var atKill []int
	last := 0
	for k := range kills {
		up := 100*time.Millisecond + rand.N(500*time.Millisecond)
		for t0 := time.Now(); ; {
			select {
			case <-ctx.Done():
				t.Fatalf("ran out of time after %d kills", k)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Since(t0) >= up && (started() > last || time.Since(t0) > 5*time.Second) {
				break
			}
		}
		srv.kill()
		n := started()
		atKill = append(atKill, n)
		if n > last && n < rows {
			during++ // this process started rows and was killed with rows left
		}
		last = n
		srv.start(ctx)
	}
	killPhase := time.Since(began)
	var e map[string]any
	waitFor(t, ctx, "the execution completes", func() bool {
		e = call("GET", "/campaigns/"+campID+"/executions/"+execID+"/", nil, http.StatusOK)
		return e["status"] == "completed"
	})
	// Every valid row started once: one started claim, one session, one
	// start event per contact; none twice.
	claims := atoi(query(t, conn, `SELECT count(*) FROM campaign_recipients WHERE campaign_id = '`+campID+`' AND status = 'started'`)[0][0])
	sessions := atoi(query(t, conn, `SELECT count(*) FROM flow_sessions s JOIN campaign_recipients r ON r.session_id = s.id WHERE r.campaign_id = '`+campID+`'`)[0][0])
	twice := query(t, conn, `SELECT contact_id, count(*) FROM flow_sessions WHERE flow_id = '`+flow["id"].(string)+`' GROUP BY contact_id HAVING count(*) > 1`)
	startEvents := atoi(query(t, conn, `SELECT count(*) FROM contact_events WHERE kind = 'start'`)[0][0])
	contacts := atoi(query(t, conn, `SELECT count(DISTINCT contact_id) FROM campaign_recipients WHERE campaign_id = '`+campID+`' AND status = 'started'`)[0][0])
	counted := e["counts"].(map[string]any)["started"]
	sends := map[string]int{}
	for _, m := range fake.Messages() {
		var body map[string]any
		_ = json.Unmarshal(m.Body, &body)
		if to, ok := body["to"].(string); ok {
			sends[to]++
		}
	}
	dupSends := 0
	for _, n := range sends {
		if n > 1 {
			dupSends++
		}
	}
	t.Logf("%s: %d rows, %d kills (%d while rows were being started; started at each kill: %v) in %s; total %s",
		db.driver, rows, kills, during, atKill, killPhase.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	t.Logf("started claims %d, sessions %d, start events %d, distinct contacts %d, contacts started twice %d, execution count %v; "+
		"the fake got templates for %d numbers (%d of them more than once: a kill between the fake's answer and the commit)",
		claims, sessions, startEvents, contacts, len(twice), counted, len(sends), dupSends)
	if claims != rows || sessions != rows || startEvents != rows || contacts != rows || len(twice) != 0 || counted != float64(rows) {
		t.Fatalf("every valid row must start exactly once\n%s", srv.logTail())
	}
	if during < kills*2/3 {
		t.Errorf("only %d of %d kills fell while rows were being started; the execution ran too fast (or too slow) for the test", during, kills)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func upload(t *testing.T, base, token string, csv []byte) map[string]any {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "crash.csv")
	_, _ = fw.Write(csv)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/datasets/", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// ---------------------------------------------------------------------
// The server as a subprocess.

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func buildParley(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/parley")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building parley: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

type proc struct {
	t      *testing.T
	bin    string
	addr   string
	env    []string
	log    *os.File
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

func newProc(t *testing.T, bin, addr string, env []string) *proc {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "parley.log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, bin: bin, addr: addr, env: env, log: f}
	t.Cleanup(func() {
		p.kill()
		_ = f.Close()
	})
	return p
}

func (p *proc) base() string { return "http://" + p.addr }

func (p *proc) run(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("parley %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func (p *proc) start(ctx context.Context) {
	p.t.Helper()
	p.starts++
	fmt.Fprintf(p.log, "\n=== start %d at %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, "serve", "--addr", p.addr)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting parley: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := hc.Get(p.base() + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			p.t.Fatalf("parley exited during start %d:\n%s", p.starts, p.logTail())
		case <-ctx.Done():
			p.t.Fatalf("parley start %d: %v", p.starts, ctx.Err())
		case <-time.After(15 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("parley did not become ready within 60 s (start %d):\n%s", p.starts, p.logTail())
		}
	}
}

func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	fmt.Fprintf(p.log, "=== SIGKILL at %s\n", time.Now().Format(time.RFC3339Nano))
	p.cmd = nil
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

func api(t *testing.T, base, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

type database struct{ driver, dsn string }

func (d database) open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatalf("opening the database: %v", err)
	}
	db.SetMaxOpenConns(1)
	return db
}

func query(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				row[i] = string(v)
			default:
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}
