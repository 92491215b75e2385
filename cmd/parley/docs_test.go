package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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

// testedFence opens a shell block the docs test runs: ```sh tested, or
// ```sh tested postgres for one that needs a PostgreSQL database: it runs
// when TEST_DATABASE_URL is set, with pgPlaceholder replaced by the URL of
// a fresh database (one per file).
var testedFence = regexp.MustCompile("^(\\s*)```sh tested( postgres)?\\s*$")

// docsFileTimeout bounds the tested blocks of one file.
const docsFileTimeout = 4 * time.Minute

// pgPlaceholder is the database URL the docs write in PostgreSQL examples.
const pgPlaceholder = "postgres://parley@db.internal:5432/parley"

// docBlock is one tested block of a Markdown file.
type docBlock struct {
	file string
	line int
	text string
	// postgres marks a block that needs PostgreSQL.
	postgres bool
}

// testedBlocks returns the ```sh tested blocks of path, unindented.
func testedBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	indent := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur == nil {
			if m := testedFence.FindStringSubmatch(line); m != nil {
				cur, indent = &docBlock{file: filepath.Base(path), line: n, postgres: m[2] != ""}, m[1]
			}
			continue
		}
		if strings.TrimSpace(line) == "```" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.text += strings.TrimPrefix(line, indent) + "\n"
	}
	if cur != nil {
		t.Fatalf("%s:%d: a tested block is not closed", path, cur.line)
	}
	return blocks
}

// TestDocsCommands runs every ```sh tested block of README.md and docs/*.md
// against a real `parley serve --sandbox` started here, so the documented
// commands cannot drift from the binary. The blocks of one file run in
// order in one shell (a TOKEN set in one is there in the next), with
// `go run ./cmd/parley` replaced by the binary built for the test, the
// default address by the server's, the sandbox channel placeholders by its
// channel, and curl made to fail on an HTTP error.
func TestDocsCommands(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed: the docs' commands use it")
		}
	}
	bin := buildBinary(t)
	binDir := filepath.Dir(bin)
	work := t.TempDir()
	dataDir := filepath.Join(work, "data")
	out := &syncBuffer{}
	srv := exec.Command(bin, "serve", "--sandbox", "--addr", "127.0.0.1:0")
	srv.Dir = work
	srv.Env = append(os.Environ(), "PARLEY_DATA_DIR="+dataDir, "PARLEY_LOG_LEVEL=warn", "PARLEY_JOB_POLL_INTERVAL=100ms")
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	})
	channelRe := regexp.MustCompile(`--to-channel ([0-9a-f-]{36})`)
	passwordRe := regexp.MustCompile(`with password (\S+)`)
	var base, channel, password string
	for deadline := time.Now().Add(60 * time.Second); password == ""; time.Sleep(50 * time.Millisecond) {
		s := out.String()
		if m, c, p := listeningRe.FindStringSubmatch(s), channelRe.FindStringSubmatch(s), passwordRe.FindStringSubmatch(s); m != nil && c != nil && p != nil {
			base, channel, password = m[1], c[1], p[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", s)
		}
	}
	// The printed command carries the address, since it is not the default.
	if !strings.Contains(out.String(), "sandbox send --server "+base+" --to-channel "+channel) {
		t.Errorf("the printed sandbox send command lacks --server %s:\n%s", base, out)
	}
	subst := strings.NewReplacer(
		"go run ./cmd/parley", "parley",
		"http://127.0.0.1:8080", base,
		"<channel_id printed above>", channel,
		"<channel_id>", channel,
		"curl ", "curl --fail-with-body -sS ",
	)
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	mustHave := map[string]bool{"README.md": false, "deploy.md": false, "whatsapp.md": false}
	for _, path := range files {
		blocks := testedBlocks(t, path)
		if len(blocks) == 0 {
			continue
		}
		var script strings.Builder
		script.WriteString("set -euo pipefail\n")
		pgURL := ""
		for _, b := range blocks {
			mustHave[b.file] = true
			text := subst.Replace(b.text)
			if b.postgres {
				if os.Getenv(testdb.EnvVar) == "" {
					t.Logf("%s:%d needs PostgreSQL: skipped (set %s to run it)", b.file, b.line, testdb.EnvVar)
					continue
				}
				if pgURL == "" {
					pgURL = testdb.PostgresURL(t)
				}
				text = strings.ReplaceAll(text, pgPlaceholder, pgURL)
			}
			script.WriteString(fmt.Sprintf("echo '--- %s:%d'\n", b.file, b.line))
			script.WriteString(text)
		}
		dir := t.TempDir()
		// A block that hangs (a loop waiting for something that never
		// comes) fails its file with the output so far instead of the
		// whole test binary timing out: the script and whatever it started
		// in the background are one process group, killed at the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), docsFileTimeout)
		cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
			"PARLEY_DATA_DIR="+dataDir, "PARLEY_URL="+base, "PARLEY_ADMIN_PASSWORD="+password, "HOME="+dir)
		res, err := cmd.CombinedOutput()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%v: still running after %s", err, docsFileTimeout)
		}
		cancel()
		if err != nil {
			t.Errorf("%s: a tested block failed (%v); the output, each block headed by its file:line:\n%s\nscript:\n%s", path, err, res, script.String())
		}
	}
	for f, ok := range mustHave {
		if !ok {
			t.Errorf("%s has no ```sh tested block; its commands would go untested", f)
		}
	}
}
