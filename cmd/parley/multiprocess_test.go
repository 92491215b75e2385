package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// buildBinary compiles parley once for tests that run it as a subprocess.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building parley: %v", err)
	}
	return bin
}

// TestServeProcessesShareJobs starts three `parley serve` processes on one
// PostgreSQL database, enqueues provisioning jobs while they run, and checks
// every job ran exactly once, spread over more than one process, and that
// all three stop cleanly on SIGTERM.
func TestServeProcessesShareJobs(t *testing.T) {
	t.Parallel()
	dbURL := testdb.PostgresURL(t) // skips without TEST_DATABASE_URL
	bin := buildBinary(t)
	key := strings.Repeat("ab", 32)

	type proc struct {
		cmd *exec.Cmd
		out *syncBuffer
	}
	var procs []proc
	listening := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for i := range 3 {
		out := &syncBuffer{}
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "PARLEY_SECRET_KEY="+key,
			"PARLEY_DATA_DIR="+filepath.Join(t.TempDir(), fmt.Sprint(i)), "PARLEY_LOG_LEVEL=warn", "PARLEY_JOB_POLL_INTERVAL=100ms")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		procs = append(procs, proc{cmd, out})
	}
	passwords := 0
	for _, p := range procs {
		var base string
		for deadline := time.Now().Add(60 * time.Second); base == ""; time.Sleep(50 * time.Millisecond) {
			if m := listening.FindStringSubmatch(p.out.String()); m != nil {
				base = m[1]
			} else if time.Now().After(deadline) {
				t.Fatalf("a process did not start: %s", p.out.String())
			}
		}
		if res, err := http.Get(base + "/readyz"); err != nil || res.StatusCode != 200 {
			t.Fatalf("readyz: %v %v", err, res)
		}
		if strings.Contains(p.out.String(), "log in as") {
			passwords++
		}
	}
	if passwords != 1 {
		t.Fatalf("%d processes printed a first-start admin password, want exactly 1", passwords)
	}

	// Enqueue from a fourth client, in batches, while the three work.
	ctx := context.Background()
	// This client only enqueues: its workers never run.
	st, err := postgres.Open(ctx, dbURL, store.OpenOptions{Jobs: jobs.Config(&jobs.Bound[jobs.Deps]{}, jobs.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deps := &jobs.Deps{Store: st, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}}
	accounts := account.New(st, deps.Clock, deps.IDs, time.Hour)
	const n = 200
	var ids []string
	for i := range n {
		p, err := accounts.CreateProject(ctx, fmt.Sprintf("project %03d", i), nil, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		if i%10 == 9 {
			time.Sleep(20 * time.Millisecond)
		}
	}

	pool := st.Pool()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var done int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM projects WHERE status = 'ready' AND id = ANY($1)`, ids).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d projects provisioned", done, n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// River records completions in batches just after the work commits.
	for {
		var open int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'project_provision' AND finalized_at IS NULL AND args->>'project_id' = ANY($1)`, ids).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d provisioning jobs never finished", open)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var jobsN, completedOnce, workers int
	if err := pool.QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE state = 'completed' AND attempt = 1 AND cardinality(attempted_by) = 1),
			count(DISTINCT attempted_by[1])
		FROM river_job WHERE kind = 'project_provision' AND args->>'project_id' = ANY($1)`, ids).Scan(&jobsN, &completedOnce, &workers); err != nil {
		t.Fatal(err)
	}
	if jobsN != n || completedOnce != n {
		t.Fatalf("%d jobs, %d completed on their first and only attempt; want %d and %d", jobsN, completedOnce, n, n)
	}
	if workers < 2 {
		t.Fatalf("all jobs ran in %d process; want them shared", workers)
	}
	var provisioned int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'project.provisioned' AND project_id = ANY($1)`, ids).Scan(&provisioned); err != nil {
		t.Fatal(err)
	}
	if provisioned != n {
		t.Fatalf("%d provisioning effects for %d projects; each must happen exactly once", provisioned, n)
	}
	t.Logf("%d jobs shared by %d processes, each run once", n, workers)

	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		errc := make(chan error, 1)
		go func() { errc <- p.cmd.Wait() }()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("process exited with %v after SIGTERM: %s", err, p.out.String())
			}
		case <-time.After(40 * time.Second):
			t.Errorf("process did not stop on SIGTERM")
		}
	}
}
