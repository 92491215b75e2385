// Package killharness runs `parley serve` as a subprocess that kill -9
// tests start, SIGKILL and restart on the same database, and reads that
// database directly: the process harness test/crash and test/campaigncrash
// share.
package killharness

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
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

	_ "github.com/parleyhq/parley/internal/app" // see BuildParley
	"github.com/parleyhq/parley/internal/store/testdb"
)

// EnvInt is the positive whole number in the environment variable name,
// or def when it is unset.
func EnvInt(t *testing.T, name string, def int) int {
	t.Helper()
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

// ModuleRoot is the directory of go.mod.
func ModuleRoot(t *testing.T) string {
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

// BuildParley compiles ./cmd/parley into a temporary directory.
//
// go test caches a passing result by the test binary and the files the
// test opens; the binary imports internal/app (through this package) and
// this reads cmd/parley's sources, so a change to the server reruns a
// test that uses it.
func BuildParley(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "cmd", "parley")
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
	cmd.Dir = ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building parley: %v\n%s", err, out)
	}
	return bin
}

// FreeAddr returns a loopback address nobody listens on; the server is
// restarted on the same one so a fake's webhook URL stays valid.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Proc is `parley serve` as a subprocess, started and SIGKILLed at will;
// its output goes to a log file that failures quote.
type Proc struct {
	t      *testing.T
	bin    string
	addr   string
	env    []string
	log    *os.File
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// NewProc returns a stopped server of binary bin on addr with env; the
// test's cleanup kills it.
func NewProc(t *testing.T, bin, addr string, env []string) *Proc {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "parley.log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{t: t, bin: bin, addr: addr, env: env, log: f}
	t.Cleanup(func() {
		p.Kill()
		_ = f.Close()
	})
	return p
}

// Base is the server's base URL.
func (p *Proc) Base() string { return "http://" + p.addr }

// Run runs a parley CLI command on the same database and returns its
// standard output.
func (p *Proc) Run(args ...string) string {
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

// Start starts the server and waits until /readyz answers 200.
func (p *Proc) Start(ctx context.Context) {
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
		res, err := hc.Get(p.Base() + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			p.t.Fatalf("parley exited during start %d:\n%s", p.starts, p.LogTail())
		case <-ctx.Done():
			p.t.Fatalf("parley start %d: %v", p.starts, ctx.Err())
		case <-time.After(15 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("parley did not become ready within 60 s (start %d):\n%s", p.starts, p.LogTail())
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	fmt.Fprintf(p.log, "=== SIGKILL at %s\n", time.Now().Format(time.RFC3339Nano))
	p.cmd = nil
}

// LogTail is the end of the server's log, for a failure message.
func (p *Proc) LogTail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// API calls the REST API with a bearer token and fails the test unless
// the answer has status want; it returns the JSON object answered.
func API(t *testing.T, base, token, method, path string, body any, want int) map[string]any {
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

// Database is the server's database, read (and repaired) directly.
type Database struct {
	Driver, DSN string
}

// Open opens it with one connection.
func (d Database) Open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := testdb.OpenSQL(d.Driver, d.DSN)
	if err != nil {
		t.Fatalf("opening the database: %v", err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// Query runs a parameterless query and returns its rows as strings.
func Query(t *testing.T, db *sql.DB, q string) [][]string {
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

// Exec runs a parameterless statement and returns the rows it affected.
func Exec(t *testing.T, db *sql.DB, q string) int64 {
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

// Settled says whether a kill test's load has settled: every one of the
// want replies stored, read, and accepted by the fake Graph API g, and no
// inbox event left unhandled; the string says how far it got.
func Settled(t *testing.T, db *sql.DB, g *Graph, want int) (bool, string) {
	t.Helper()
	outs := Query(t, db, `SELECT id, status FROM messages WHERE direction = 'out'`)
	open := Query(t, db, `SELECT count(*) FROM contact_events WHERE handled_at IS NULL`)[0][0]
	acc := g.Accepted()
	notRead, missing := 0, 0
	for _, o := range outs {
		if o[1] != "read" {
			notRead++
		}
		if !acc[o[0]] {
			missing++
		}
	}
	return len(outs) == want && notRead == 0 && missing == 0 && open == "0",
		fmt.Sprintf("%d of %d replies stored, %d not yet read, %d not yet at the fake, %s inbox events unhandled",
			len(outs), want, notRead, missing, open)
}
