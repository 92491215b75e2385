package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store/testdb"
)

// runEnv runs one parley command in-process with the given environment.
func runEnv(ctx context.Context, env map[string]string, args ...string) (stdout, stderr *syncBuffer, err error) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	root := newRoot(stdout, stderr, func(k string) string { return env[k] })
	root.SetArgs(args)
	return stdout, stderr, root.ExecuteContext(ctx)
}

var listeningRe = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// serveUntilListening runs serve in-process until it listens, and returns
// its address and a function that stops it and returns its error.
func serveUntilListening(t *testing.T, env map[string]string, extra ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	root := newRoot(out, errb, func(k string) string { return env[k] })
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0"}, extra...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(out.String()); m != nil && (len(extra) == 0 || strings.Contains(out.String(), "Sandbox:")) {
			return m[1], func() error { cancel(); return <-done }
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before listening: %v\n%s%s", err, out, errb)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s%s", out, errb)
		}
	}
}

// TestKeyMismatchRefusesToStart: the database records the fingerprint of
// the key that sealed its secrets, and a second process with another key
// refuses to start with one line that says what to do; on PostgreSQL no key
// is ever generated.
func TestKeyMismatchRefusesToStart(t *testing.T) {
	t.Parallel()
	keyA, keyB := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
	tests := []struct {
		name string
		env  func(t *testing.T) map[string]string
	}{
		{"sqlite", func(t *testing.T) map[string]string {
			return map[string]string{"PARLEY_DATA_DIR": t.TempDir(), "PARLEY_LOG_LEVEL": "warn"}
		}},
		{"postgres", func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "PARLEY_DATA_DIR": t.TempDir(), "PARLEY_LOG_LEVEL": "warn"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := tc.env(t)
			if tc.name == "postgres" {
				_, _, err := runEnv(context.Background(), env, "serve", "--addr", "127.0.0.1:0")
				if err == nil || !strings.Contains(err.Error(), "PARLEY_SECRET_KEY is required") || !strings.Contains(err.Error(), "parley key new") {
					t.Fatalf("serve on PostgreSQL without a key: %v", err)
				}
				if _, err := os.Stat(filepath.Join(env["PARLEY_DATA_DIR"], "secret.key")); !os.IsNotExist(err) {
					t.Fatalf("a key file was generated on PostgreSQL: %v", err)
				}
			}
			first := clone(env)
			first["PARLEY_SECRET_KEY"] = keyA
			_, stop := serveUntilListening(t, first)
			// A second process with the same key shares the database.
			sameDir := clone(first)
			sameDir["PARLEY_DATA_DIR"] = filepath.Join(t.TempDir(), "other")
			if tc.name == "sqlite" {
				sameDir["PARLEY_DATA_DIR"] = first["PARLEY_DATA_DIR"]
			}
			if err := stop(); err != nil {
				t.Fatalf("stopping the first server: %v", err)
			}
			_, stop = serveUntilListening(t, sameDir)
			if err := stop(); err != nil {
				t.Fatalf("same key: %v", err)
			}
			other := clone(first)
			other["PARLEY_SECRET_KEY"] = keyB
			_, _, err := runEnv(context.Background(), other, "serve", "--addr", "127.0.0.1:0")
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "sealed with a secret key whose fingerprint is") ||
				!strings.Contains(err.Error(), "start this process with the same PARLEY_SECRET_KEY") {
				t.Fatalf("serve with another key: %v; want one line saying to use the same PARLEY_SECRET_KEY", err)
			}
			fp, _, err := runEnv(context.Background(), first, "key", "fingerprint")
			if err != nil || !strings.Contains(errMsg(t, other), strings.TrimSpace(fp.String())) {
				t.Fatalf("key fingerprint printed %q (%v); the refusal must name it", fp, err)
			}
		})
	}
}

// TestKeyCheckedOnOlderDatabase: a database whose channels were sealed
// before fingerprints were recorded is not claimed by a process with
// another key: the key is tried on a sealed value first.
func TestKeyCheckedOnOlderDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"PARLEY_DATA_DIR": dir, "PARLEY_LOG_LEVEL": "warn", "PARLEY_SECRET_KEY": strings.Repeat("a1", 32)}
	_, stop := serveUntilListening(t, env, "--sandbox") // connects sandbox channels: sealed secrets
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	// As before the fingerprint existed.
	if _, err := db.Exec(`DELETE FROM parley_settings`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	other := clone(env)
	other["PARLEY_SECRET_KEY"] = strings.Repeat("b2", 32)
	if msg := errMsg(t, other); !strings.Contains(msg, "channel secrets cannot be opened with PARLEY_SECRET_KEY") {
		t.Fatalf("serve with another key on an older database: %s", msg)
	}
	_, stop = serveUntilListening(t, env)
	if err := stop(); err != nil {
		t.Fatalf("the sealing key must still start: %v", err)
	}
	if msg := errMsg(t, other); !strings.Contains(msg, "fingerprint is") {
		t.Fatalf("after the right key recorded its fingerprint: %s", msg)
	}
}

func errMsg(t *testing.T, env map[string]string) string {
	t.Helper()
	_, _, err := runEnv(context.Background(), env, "serve", "--addr", "127.0.0.1:0")
	if err == nil {
		t.Fatal("serve started with a wrong key")
	}
	return err.Error()
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestServeDrainsAndStopsCleanly runs the binary, sends SIGTERM and checks
// that /readyz answers 503 "draining" during the drain delay, that the
// process exits 0, and that it logged no error on the way (River used to log
// "ERROR … context canceled" on every stop).
func TestServeDrainsAndStopsCleanly(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	tests := []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return nil }},
		{"postgres", func(t *testing.T) []string { return []string{"DATABASE_URL=" + testdb.PostgresURL(t)} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := &syncBuffer{}
			cmd := exec.Command(bin, "serve", "--sandbox", "--addr", "127.0.0.1:0", "--drain-delay", "1500ms")
			cmd.Env = append(os.Environ(), append(tc.env(t), "PARLEY_SECRET_KEY="+strings.Repeat("cd", 32),
				"PARLEY_DATA_DIR="+t.TempDir(), "PARLEY_LOG_LEVEL=info", "PARLEY_JOB_POLL_INTERVAL=100ms")...)
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			var base string
			for deadline := time.Now().Add(60 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
				if m := listeningRe.FindStringSubmatch(out.String()); m != nil {
					base = m[1]
				} else if time.Now().After(deadline) {
					t.Fatalf("serve did not start: %s", out)
				}
			}
			// Let the sandbox's start-up work (jobs, webhooks) run a little.
			time.Sleep(time.Second)
			client := &http.Client{Timeout: 5 * time.Second}
			if code, body := get(t, client, base+"/readyz"); code != 200 {
				t.Fatalf("readyz before stop: %d %s", code, body)
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			sawDraining := false
			for deadline := time.Now().Add(1200 * time.Millisecond); time.Now().Before(deadline) && !sawDraining; time.Sleep(50 * time.Millisecond) {
				code, body := get(t, client, base+"/readyz")
				sawDraining = code == http.StatusServiceUnavailable && strings.Contains(body, "draining")
			}
			if !sawDraining {
				t.Errorf("readyz never answered 503 draining after SIGTERM")
			}
			errc := make(chan error, 1)
			go func() { errc <- cmd.Wait() }()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v\n%s", err, out)
				}
			case <-time.After(40 * time.Second):
				t.Fatalf("did not stop on SIGTERM: %s", out)
			}
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.Contains(line, "level=ERROR") || strings.Contains(line, "context canceled") {
					t.Errorf("a clean stop logged: %s", line)
				}
			}
		})
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
