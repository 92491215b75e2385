package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/bench/benchdb"
)

// processesFlag is -processes: a list of process counts (e.g. "1,2,3") for
// the exchange against that many `parley serve` processes on one
// PostgreSQL database, each count on a fresh database.
var processesFlag = flag.String("processes", "", "PostgreSQL: run the exchange against N `parley serve` processes (subprocesses of a binary built from ./cmd/parley) sharing one fresh database, for each N of the comma-separated list (e.g. 1,2,3), instead of the in-process server's ingest and exchange")

// processPool is pool_max_conns of each server process in the -processes
// sweep: three processes of Parley's default 32 would take most of a
// default max_connections of 100.
var processPool = flag.Int("process-pool", 16, "-processes: pool_max_conns of each server process")

// sweepRow is one process count's exchange.
type sweepRow struct {
	n        int
	st       Stats
	cores    []float64 // CPU used by each server process, in cores
	timeouts int64
	backlog  int
	// commit is the raw commit rate (one small row per transaction)
	// measured on the same fresh database just before the exchange.
	commit Stats
	load   string // load average before the count
	// self is the CPU this process (customers and fake) used, in cores.
	self float64
}

// processCounts parses -processes.
func processCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			return nil, fmt.Errorf("-processes %q: each count must be a whole number from 1 to 16", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// processesPhase runs the exchange against N server processes for each
// count of -processes and prints the table beside the raw commit rate of
// the same database measured just before (the machine's load changes
// during a run; each row has its own limit and load average).
//
//	go run ./bench/whatsapp -db postgres -pg-url postgres://postgres@127.0.0.1:5432/postgres -phases limits -processes 1,2,3
func processesPhase(ctx context.Context, o options, hc *http.Client, g *graph, work string, r *report) error {
	counts, err := processCounts(*processesFlag)
	if err != nil {
		return err
	}
	if o.db != "postgres" {
		return errors.New("-processes needs -db postgres: SQLite is one process's database")
	}
	bin := filepath.Join(work, "parley")
	t0 := time.Now()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/parley")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building ./cmd/parley (run the bench from the repository root): %w", err)
	}
	fmt.Printf("processes: `parley serve` subprocesses built from ./cmd/parley in %s, pool_max_conns=%d each, one fresh database per count;\n",
		time.Since(t0).Round(time.Millisecond), *processPool)
	fmt.Printf("           customer w writes to process w mod N (a load balancer's round robin), %d customers, %d business numbers\n", o.exchangeConc, o.numbers)
	var rows []sweepRow
	for _, n := range counts {
		row, err := exchangeOnProcesses(ctx, o, hc, g, bin, work, n)
		if err != nil {
			return fmt.Errorf("%d processes: %w", n, err)
		}
		line(fmt.Sprintf("(b) raw commits before %d process(es)", n), row.commit, "tx/s")
		line(fmt.Sprintf("exchange on %d process(es)", n), row.st, "/s")
		fmt.Printf("  server CPU (cores) per process: %s; bench process (customers + fake): %.2f; replies timed out: %d; inbox events and sends left: %d\n",
			coresList(row.cores), row.self, row.timeouts, row.backlog)
		rows = append(rows, row)
	}
	fmt.Println()
	fmt.Println("processes sweep (same run):")
	fmt.Printf("  %-9s %12s %10s %10s %14s %16s %s\n", "processes", "exchange/s", "p50", "p99", "server cores", "raw commit tx/s", "load average before")
	for _, row := range rows {
		total := 0.0
		for _, c := range row.cores {
			total += c
		}
		fmt.Printf("  %-9d %12s %10s %10s %14.2f %16s %s", row.n, num(row.st.Rate()), ms(row.st.P50), ms(row.st.P99), total,
			num(row.commit.Rate()), row.load)
		if rows[0].st.Rate() > 0 && row.n != rows[0].n {
			fmt.Printf("; %.2f× %d process(es)", row.st.Rate()/rows[0].st.Rate(), rows[0].n)
		}
		fmt.Println()
	}
	fmt.Println()
	return nil
}

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func coresList(cs []float64) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%.2f", c)
	}
	return strings.Join(parts, ", ")
}

// exchangeOnProcesses starts n server processes on a fresh database, sets
// the bench channels and flow up through the first, and runs the exchange
// against all of them.
func exchangeOnProcesses(ctx context.Context, o options, hc *http.Client, g *graph, bin, work string, n int) (sweepRow, error) {
	row := sweepRow{n: n}
	dbURL, drop, err := benchdb.Fresh(ctx, o.pgURL)
	if err != nil {
		return row, err
	}
	defer drop()
	row.load = loadAverage()
	cl, err := openCommitLimit(ctx, dbURL, work)
	if err != nil {
		return row, fmt.Errorf("raw commit limit: %w", err)
	}
	labelled(ctx, "client", func(ctx context.Context) {
		row.commit = closedLoop(ctx, "commit", o.ingestConc, o.warmup, o.limitDuration, cl.op(1))
	})
	cl.close()
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(*processPool))
	u.RawQuery = q.Encode()
	env := append(os.Environ(), "DATABASE_URL="+u.String(), "PARLEY_SECRET_KEY="+strings.Repeat("be", 32),
		"PARLEY_LOG_LEVEL=warn", "PARLEY_HTTP_ALLOW=127.0.0.1", "PARLEY_CHANNEL_LOG="+o.channelLog)
	var procs []*serverProc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for i := range n {
		// The first migrates the fresh database before the others start.
		p, err := startServer(ctx, bin, filepath.Join(work, fmt.Sprintf("p%d-%d", n, i)), env)
		if err != nil {
			return row, err
		}
		procs = append(procs, p)
	}
	tok := exec.CommandContext(ctx, bin, "token", "create", "--project", "Default", "--name", "bench")
	tok.Env = append(env, "PARLEY_DATA_DIR="+procs[0].dir)
	out, err := tok.Output()
	if err != nil {
		return row, fmt.Errorf("parley token create: %w", err)
	}
	token := strings.TrimSpace(string(out))
	var targets []target
	for i := range max(1, o.numbers) {
		var ch struct {
			ID string `json:"id"`
		}
		if err := apiCall(ctx, procs[0].base, token, "POST", "/channels/", map[string]any{"type": "whatsapp", "name": fmt.Sprintf("Bench %d", i), "config": map[string]any{
			"phone_number_id": numberID(i), "waba_id": wabaID, "access_token": accessToken, "app_secret": appSecret,
			"verify_token": "bench", "api_base_url": g.url, "api_version": apiVersion, "messages_per_second": 1000}}, &ch); err != nil {
			return row, err
		}
		for _, p := range procs {
			targets = append(targets, target{url: p.base + "/webhooks/whatsapp/" + ch.ID, pnid: numberID(i)})
		}
	}
	if err := apiCall(ctx, procs[0].base, token, "POST", "/chat-flow/flows/", map[string]any{"name": "Bench reply", "is_active": true,
		"flow_data": json.RawMessage(replyFlow)}, nil); err != nil {
		return row, err
	}
	// targets[i] is process i mod n: customer w goes to process w mod n.
	var timeouts atomic.Int64
	g.reset()
	cpu0 := make([]time.Duration, n)
	for i, p := range procs {
		cpu0[i] = procCPU(p.cmd.Process.Pid)
	}
	t0, self0 := time.Now(), selfCPU()
	labelled(ctx, "client", func(ctx context.Context) {
		row.st = closedLoop(ctx, fmt.Sprintf("exchange x%d", n), o.exchangeConc, o.warmup, o.duration, exchangeOp(hc, targets, g, 10+n, &timeouts))
	})
	took := time.Since(t0).Seconds()
	row.self = (selfCPU() - self0).Seconds() / took
	for i, p := range procs {
		row.cores = append(row.cores, (procCPU(p.cmd.Process.Pid)-cpu0[i]).Seconds()/took)
	}
	row.timeouts = timeouts.Load()
	row.backlog, _ = countBacklog(ctx, dbURL)
	g.reset()
	return row, nil
}

// countBacklog is parley.backlog on a database URL.
func countBacklog(ctx context.Context, dbURL string) (int, error) {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	var n int
	err = c.QueryRow(ctx, `SELECT (SELECT count(*) FROM contact_events WHERE handled_at IS NULL) + (SELECT count(*) FROM messages WHERE status = 'queued')`).Scan(&n)
	return n, err
}

// serverProc is one `parley serve` subprocess.
type serverProc struct {
	cmd    *exec.Cmd
	dir    string
	base   string
	log    *bytes.Buffer
	exited chan struct{}
}

// startServer starts `parley serve` on a free loopback port with its own
// data directory and waits until /readyz answers 200.
func startServer(ctx context.Context, bin, dir string, env []string) (*serverProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := &serverProc{dir: dir, base: "http://" + addr, log: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--addr", addr)
	p.cmd.Env = append(env, "PARLEY_DATA_DIR="+dir)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting parley serve: %w", err)
	}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if p.log.Len() < 64<<10 {
				p.log.WriteString(sc.Text() + "\n")
			}
		}
	}()
	go func() {
		<-logged
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	for deadline := time.Now().Add(90 * time.Second); ; {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("parley serve exited at start:\n%s", p.log.String())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("parley serve was not ready within 90 s")
		}
	}
}

// stop ends the process with SIGTERM (a graceful stop), SIGKILL after 30 s.
func (p *serverProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// apiCall is an authenticated API request to base; out may be nil.
func apiCall(ctx context.Context, base, token, method, path string, body, out any) error {
	p := &parley{base: base, token: token}
	return p.call(ctx, method, path, body, out)
}
