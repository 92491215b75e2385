package crash_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	_ "github.com/parleyhq/parley/internal/app" // see buildParley
	"github.com/parleyhq/parley/internal/sandbox"
)

// moduleRoot is the directory of go.mod (the tests run in test/crash).
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside the parley module")
	}
	return filepath.Dir(gomod)
}

// buildParley compiles ./cmd/parley into a temporary directory.
//
// go test caches a passing result by the test binary and the files the
// test opens; the binary imports internal/app (below) and this reads
// cmd/parley's sources, so a change to the server reruns the test.
func buildParley(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "cmd", "parley")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") {
			if _, err := os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
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

// freeAddr returns a loopback address nobody listens on; the server is
// restarted on the same one so the fake's webhook URL stays valid.
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

// proc is `parley serve` as a subprocess, started and SIGKILLed at will.
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

// run runs a parley CLI command on the same database and returns its
// standard output.
func (p *proc) run(args ...string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("parley %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// start starts the server and waits until /readyz answers 200.
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
		res, err := hc.Get(p.base() + "/readyz")
		if err == nil {
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

// kill sends SIGKILL and waits for the process to be gone.
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

// api calls the REST API with a bearer token.
func api(t *testing.T, base, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
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

// ---------------------------------------------------------------------
// Meta's side: webhooks are retried until they get a 200.

// webhookKind tells inbound messages from status webhooks.
type webhookKind int

const (
	kindInbound webhookKind = iota
	kindStatus
	kindOther
)

// hook is what a webhook body says, as far as the checks care.
type hook struct {
	kind   webhookKind
	wamids []string    // inbound message IDs
	states [][2]string // status webhooks: our ID, state
}

func readHook(body []byte) hook {
	var env struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []struct {
						ID string `json:"id"`
					} `json:"messages"`
					Statuses []struct {
						Status string `json:"status"`
						OurID  string `json:"biz_opaque_callback_data"`
					} `json:"statuses"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(body, &env)
	h := hook{kind: kindOther}
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				h.kind = kindInbound
				h.wamids = append(h.wamids, m.ID)
			}
			for _, s := range c.Value.Statuses {
				h.kind = kindStatus
				h.states = append(h.states, [2]string{s.OurID, s.Status})
			}
		}
	}
	return h
}

// meta is an http.RoundTripper that delivers webhooks like Meta: a
// request that does not get a 200 is sent again, with backoff, until it
// does or its context ends. It records what was acknowledged.
type meta struct {
	base http.RoundTripper

	mu          sync.Mutex
	inFlight    [3]int
	acked       map[string]int            // inbound wamid → 200s received
	ackedStates map[string]map[string]int // our ID → state → 200s received
	attempts    int
	failures    int
	ackedHooks  [3]int
	refused     []string // 4xx answers (a valid webhook must never get one)
}

func newMeta() *meta {
	return &meta{base: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 5 * time.Second},
		acked: map[string]int{}, ackedStates: map[string]map[string]int{}}
}

func (m *meta) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	h := readHook(body)
	m.mu.Lock()
	m.inFlight[h.kind]++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight[h.kind]--
		m.mu.Unlock()
	}()
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		r := req.Clone(ctx)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		res, err := m.base.RoundTrip(r)
		var answer []byte
		if err == nil {
			answer, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		cancel()
		m.mu.Lock()
		m.attempts++
		if err == nil && res.StatusCode == http.StatusOK {
			m.ackedHooks[h.kind]++
			for _, id := range h.wamids {
				m.acked[id]++
			}
			for _, s := range h.states {
				if m.ackedStates[s[0]] == nil {
					m.ackedStates[s[0]] = map[string]int{}
				}
				m.ackedStates[s[0]][s[1]]++
			}
			m.mu.Unlock()
			res.Body = io.NopCloser(bytes.NewReader(answer))
			return res, nil
		}
		m.failures++
		if err == nil && res.StatusCode >= 400 && res.StatusCode < 500 && attempt >= 5 {
			m.refused = append(m.refused, fmt.Sprintf("%d %s for %s", res.StatusCode, answer, body))
			m.mu.Unlock()
			res.Body = io.NopCloser(bytes.NewReader(answer))
			return res, nil
		}
		m.mu.Unlock()
		select {
		case <-req.Context().Done():
			if err == nil {
				err = fmt.Errorf("gave up after %d attempts (last answer %d)", attempt, res.StatusCode)
			}
			return nil, errors.Join(req.Context().Err(), err)
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

func (m *meta) snapshot() (inbound, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inFlight[kindInbound], m.inFlight[kindStatus]
}

// ---------------------------------------------------------------------
// The Graph API side: the sandbox behind a recorder that also holds each
// answer back a little, which widens the window between the fake accepting
// a message and Parley committing that it was sent.

type copyOf struct {
	ourID    string
	arrived  time.Time
	accepted time.Time // zero unless the fake answered 200
}

type graph struct {
	fake     *sandbox.Server
	h        http.Handler
	maxDelay time.Duration

	mu       sync.Mutex
	inFlight int
	copies   []copyOf
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (g *graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		g.h.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m struct {
		OurID string `json:"biz_opaque_callback_data"`
	}
	_ = json.Unmarshal(body, &m)
	c := copyOf{ourID: m.OurID, arrived: time.Now()}
	g.mu.Lock()
	g.inFlight++
	g.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	g.h.ServeHTTP(sw, r)
	if sw.status == http.StatusOK {
		c.accepted = time.Now()
	}
	g.mu.Lock()
	g.copies = append(g.copies, c)
	g.mu.Unlock()
	// The answer is still buffered: hold it back so that a kill can land
	// between acceptance and Parley's commit.
	if g.maxDelay > 0 {
		time.Sleep(rand.N(g.maxDelay))
	}
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
}

func (g *graph) sends() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight
}

func (g *graph) allCopies() []copyOf {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]copyOf(nil), g.copies...)
}

// accepted is the set of our IDs the fake has accepted at least once.
func (g *graph) accepted() map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]bool{}
	for _, c := range g.copies {
		if !c.accepted.IsZero() {
			out[c.ourID] = true
		}
	}
	return out
}

// serveGraph serves g on a loopback port until the test ends.
func serveGraph(t *testing.T, g *graph) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// ---------------------------------------------------------------------
// The database, read (and, between runs, repaired) directly.

type database struct {
	driver, dsn string
}

func (d database) open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatalf("opening the database: %v", err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// query runs a parameterless query and returns its rows as strings.
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

func exec1(t *testing.T, db *sql.DB, q string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := db.ExecContext(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	n, _ := res.RowsAffected()
	return n
}
