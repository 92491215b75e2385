// Command waiting benchmarks sessions parked on wait_for_response: it
// starts a real Parley server in this process (app.New + Start, on SQLite
// or PostgreSQL), creates -sessions contacts and starts, for each, a
// published flow that waits for a reply with a timeout, so that the
// timeouts fall uniformly over -spread starting -after the parking began;
// then it lets every timeout fire and prints:
//
//   - how fast the sessions were parked (contacts created, sessions waiting);
//   - memory per waiting session (Go heap in use and process RSS, after a
//     GC, against the same figures before the starts);
//   - database size per waiting session beyond its contact (the database
//     after the starts against the database after the contacts alone,
//     per table);
//   - timer lateness (a session's end, committed by the sprint its timeout
//     caused, minus the timeout it was parked with): p50, p90, p99, max;
//   - the rate timeouts were due at and the rate they were processed at;
//
// beside the physical limits measured in the same run on the same
// database: the raw insert rate (small rows, 1,000 per transaction, one
// writer) and the raw commit rate (one small row per transaction, 64
// goroutines).
//
// Sessions are parked through the product's own paths: contacts with
// store.Queries.ContactEnsure (as webhooks create them), starts with
// runner.Runner.StartFlow in batches of -batch per transaction (as the
// API and campaigns queue them); the runner's inbox then works each
// contact's start event (a sprint: the session, its timer and trace in one
// transaction). Nothing is written directly.
//
//	go run ./bench/waiting                                   # SQLite, 1,000,000 over 10 minutes
//	go run ./bench/waiting -sessions 100000 -spread 2m       # quick
//	go run ./bench/waiting -db postgres -pg-url postgres://postgres@127.0.0.1:5432/postgres -sessions 100000 -spread 2m
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"

	"github.com/parleyhq/parley/bench/benchdb"
	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

type options struct {
	db       string
	pgURL    string
	sessions int
	spread   time.Duration
	after    time.Duration
	batch    int
	branches int
	// cpuProfile, when set, is written with a CPU profile of the firing
	// phase (first timeout due → last session ended).
	cpuProfile string
}

func main() {
	var o options
	flag.StringVar(&o.db, "db", "sqlite", "database: sqlite or postgres")
	flag.StringVar(&o.pgURL, "pg-url", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL server URL (a fresh database is created on it and dropped after)")
	flag.IntVar(&o.sessions, "sessions", 1_000_000, "sessions to park")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the firing phase to this file")
	flag.DurationVar(&o.spread, "spread", 10*time.Minute, "the timeouts fall uniformly over this long")
	flag.DurationVar(&o.after, "after", 0, "the first timeout is this long after parking begins (0: sessions ÷ 1,500/s plus the inbox's retention and 15 s, so parking ends and the handled starts are deleted first)")
	flag.IntVar(&o.batch, "batch", 1000, "contacts created and starts queued per transaction")
	flag.IntVar(&o.branches, "branches", 60, "wait nodes the flow splits the sessions over, one timeout each (the spread's steps)")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/waiting:", err)
		os.Exit(2)
	}
	// Ctrl-C stops the run through ctx, so that the deferred clean-up
	// (the benchmark database on PostgreSQL) still runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "bench/waiting:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	switch {
	case o.db != "sqlite" && o.db != "postgres":
		return fmt.Errorf("-db %q: must be sqlite or postgres", o.db)
	case o.db == "postgres" && o.pgURL == "":
		return errors.New("-db postgres needs -pg-url or TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)")
	case o.sessions <= 0:
		return fmt.Errorf("-sessions %d: must be positive", o.sessions)
	case o.spread < 0 || o.after < 0:
		return errors.New("-spread and -after must not be negative")
	case o.batch <= 0:
		return fmt.Errorf("-batch %d: must be positive", o.batch)
	case o.branches <= 0 || o.branches > 1000:
		return fmt.Errorf("-branches %d: must be 1 to 1,000", o.branches)
	}
	if o.after == 0 {
		// Parking, then the inbox's retention (the handled starts are
		// deleted after it, and measured again) and a few purge passes.
		o.after = time.Duration(float64(o.sessions)/1500*float64(time.Second)) + inbox.DefaultRetention + 15*time.Second
	}
	return nil
}

func run(ctx context.Context, o options) error {
	printMachine(o)
	work, err := os.MkdirTemp("", "parley-bench-waiting-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dbURL := ""
	if o.db == "postgres" {
		var drop func()
		if dbURL, drop, err = benchdb.Fresh(ctx, o.pgURL); err != nil {
			return err
		}
		defer drop()
	}

	// Physical limits, before Parley starts, on the same database.
	lim, err := measureLimits(ctx, dbURL, work)
	if err != nil {
		return fmt.Errorf("measuring the limits: %w", err)
	}
	fmt.Printf("limit: raw insert  %9.0f rows/s (one writer, 1,000 small rows per transaction)\n", lim.insert)
	fmt.Printf("limit: raw commit  %9.0f tx/s   (64 goroutines, one small row per transaction)\n\n", lim.commit)

	p, err := startParley(ctx, work, dbURL)
	if err != nil {
		return err
	}
	defer func() { _ = p.app.Stop() }()
	if err := p.setFlow(ctx, o.after, o.spread, o.branches); err != nil {
		return err
	}
	m, err := openMeter(ctx, p, o.db, dbURL)
	if err != nil {
		return err
	}
	defer m.close()

	// 1. Contacts.
	began := time.Now()
	contacts, err := p.createContacts(ctx, o.sessions, o.batch)
	if err != nil {
		return err
	}
	took := time.Since(began)
	fmt.Printf("contacts created:  %d in %.1f s (%.0f/s, ContactEnsure, %d per transaction)\n", len(contacts), took.Seconds(), float64(len(contacts))/took.Seconds(), o.batch)
	before, err := m.size(ctx)
	if err != nil {
		return err
	}
	heap0, rss0 := memory()

	// 2. Park.
	began = time.Now()
	ids, err := p.park(ctx, contacts, o.batch)
	if err != nil {
		return err
	}
	queued := time.Since(began)
	for {
		n, err := m.count(ctx, "waiting")
		if err != nil {
			return err
		}
		if n >= len(ids) {
			break
		}
		if time.Since(began) > o.after {
			return fmt.Errorf("only %d of %d sessions waiting %s after parking began: raise -after", n, len(ids), o.after)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	parked := time.Since(began)
	fmt.Printf("starts queued:     %d in %.1f s (%.0f/s, StartFlow, %d per transaction)\n", len(ids), queued.Seconds(), float64(len(ids))/queued.Seconds(), o.batch)
	fmt.Printf("sessions waiting:  %d in %.1f s (%.0f/s, each its own sprint)\n", len(ids), parked.Seconds(), float64(len(ids))/parked.Seconds())
	heap1, rss1 := memory()
	fmt.Printf("memory:            Go heap %+.1f MB (%.0f B per waiting session); RSS %+.1f MB (%.0f B per waiting session; %.0f MB in all)\n",
		float64(heap1-heap0)/1e6, float64(heap1-heap0)/float64(len(ids)), float64(rss1-rss0)/1e6, float64(rss1-rss0)/float64(len(ids)), float64(rss1)/1e6)
	after, err := m.size(ctx)
	if err != nil {
		return err
	}
	printSizes("database:", before, after, len(ids))

	// 2b. The handled start events are deleted once older than the inbox's
	// retention (inbox.DefaultRetention): measure again then, before the
	// first timeout. On PostgreSQL the deleted rows' space is free for
	// new rows once vacuumed; VACUUM now does what autovacuum would.
	purgedBy := began.Add(o.after).Add(-5 * time.Second)
	left, err := m.waitEventsPurged(ctx, purgedBy)
	if err != nil {
		return err
	}
	if left > 0 {
		fmt.Printf("                   %d handled start events still kept at +%.0f s (raise -after to see them go)\n", left, time.Since(began).Seconds())
	} else {
		purged, err := m.size(ctx)
		if err != nil {
			return err
		}
		printSizes(fmt.Sprintf("after retention:   (+%.0f s, start events deleted%s)\n                  ", time.Since(began).Seconds(), m.vacuumed()),
			before, purged, len(ids))
	}

	// 3. Fire.
	due, err := m.timeouts(ctx)
	if err != nil {
		return err
	}
	if len(due) != len(ids) {
		return fmt.Errorf("%d sessions waiting with a timeout, want %d", len(due), len(ids))
	}
	first, last := spanOf(due)
	early := 0
	for _, t := range due {
		if t.Before(began.Add(parked)) {
			early++
		}
	}
	fmt.Printf("timeouts:          due from +%.0f s to +%.0f s after parking began; offered %.0f/s on average, %.0f/s in the busiest second\n",
		first.Sub(began).Seconds(), last.Sub(began).Seconds(), float64(len(due))/max(1, last.Sub(first).Seconds()), peakPerSecond(slices.Collect(mapsValues(due))))
	if early > 0 {
		fmt.Printf("                   %d fell due before parking ended (raise -after to keep them apart)\n", early)
	}
	if o.cpuProfile != "" {
		stop, err := profileFrom(ctx, first, o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	for tick := time.Now(); ; {
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
		n, err := m.count(ctx, "waiting")
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if time.Since(tick) >= 15*time.Second {
			tick = time.Now()
			fmt.Printf("                   %s: %d still waiting\n", time.Now().Format("15:04:05"), n)
		}
		if time.Now().After(last.Add(5 * time.Minute)) {
			return fmt.Errorf("%d sessions still waiting 5 minutes after the last timeout", n)
		}
	}
	ended, err := m.ended(ctx)
	if err != nil {
		return err
	}
	return report(due, ended, len(ids))
}

// profileFrom writes a CPU profile to path from at (or now, if past)
// until the returned stop is called.
func profileFrom(ctx context.Context, at time.Time, path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := sleep(ctx, time.Until(at)); err != nil {
		f.Close()
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// report prints lateness and the processing rate.
func report(due, ended map[string]time.Time, n int) error {
	late := make([]time.Duration, 0, len(due))
	ends := make([]time.Time, 0, len(due))
	for id, t := range due {
		e, ok := ended[id]
		if !ok {
			return fmt.Errorf("session %s waited for a timeout and never ended", id)
		}
		late = append(late, e.Sub(t))
		ends = append(ends, e)
	}
	if len(late) != n {
		return fmt.Errorf("%d sessions ended of %d", len(late), n)
	}
	slices.Sort(late)
	q := func(f float64) time.Duration { return late[min(len(late)-1, int(f*float64(len(late))))] }
	fmt.Printf("lateness:          p50 %s, p90 %s, p99 %s, max %s (end committed − timeout; %d sessions)\n",
		q(0.50).Round(time.Millisecond), q(0.90).Round(time.Millisecond), q(0.99).Round(time.Millisecond), late[len(late)-1].Round(time.Millisecond), len(late))
	first, last := spanOf(due)
	e0, e1 := ends[0], ends[0]
	for _, e := range ends {
		if e.Before(e0) {
			e0 = e
		}
		if e.After(e1) {
			e1 = e
		}
	}
	fmt.Printf("processed:         %.0f timeouts/s on average (first due → last end, %.1f s), %.0f/s in the busiest second; due at %.0f/s\n",
		float64(n)/max(0.001, e1.Sub(first).Seconds()), e1.Sub(first).Seconds(), peakPerSecond(ends), float64(n)/max(1, last.Sub(first).Seconds()))
	return nil
}

// spanOf is the earliest and latest time of m.
func spanOf(m map[string]time.Time) (first, last time.Time) {
	for _, t := range m {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return first, last
}

func mapsValues(m map[string]time.Time) func(func(time.Time) bool) {
	return func(yield func(time.Time) bool) {
		for _, t := range m {
			if !yield(t) {
				return
			}
		}
	}
}

// peakPerSecond is the most times falling in one whole second.
func peakPerSecond(ts []time.Time) float64 {
	counts := map[int64]int{}
	best := 0
	for _, t := range ts {
		s := t.Unix()
		counts[s]++
		best = max(best, counts[s])
	}
	return float64(best)
}

// memory is the Go heap in use and the process's RSS, after a GC.
func memory() (heap, rss int64) {
	// FreeOSMemory collects and returns freed pages to the kernel, so the
	// RSS of both readings holds live memory rather than garbage.
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			rss = kb * 1024
		}
	}
	return int64(ms.HeapAlloc), rss
}

func printMachine(o options) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("Parley waiting-sessions benchmark: -db %s, %d sessions, timeouts over %s from +%s, %d per transaction\n", o.db, o.sessions, o.spread, o.after, o.batch)
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), load average %s, %s %s/%s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0),
		strings.Join(strings.Fields(string(load))[:3], " "), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// parley is a real server in this process with one published flow: a
// random split over o.branches wait_for_response nodes, each with its own
// timeout, whose timeout exits end the session.
type parley struct {
	app       *app.App
	run       *runner.Runner
	projectID string
	flowID    string
	token     string
	dataDir   string
}

func startParley(ctx context.Context, work, dbURL string) (*parley, error) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(work, "data")
	cfg.DatabaseURL = dbURL
	cfg.SecretKey = strings.Repeat("be", 32)
	cfg.ShutdownTimeout = 10 * time.Second
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop()
		return nil, err
	}
	proj, err := a.Accounts().ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		_ = a.Stop()
		return nil, err
	}
	tok, err := a.Accounts().CreateToken(ctx, proj.ID, "bench", domain.RoleOwner, "bench")
	if err != nil {
		_ = a.Stop()
		return nil, err
	}
	return &parley{app: a, run: a.Runner(), projectID: proj.ID, token: tok.Secret, dataDir: cfg.DataDir}, nil
}

// setFlow publishes the flow whose branch k waits after + k·spread/branches.
func (p *parley) setFlow(ctx context.Context, after, spread time.Duration, branches int) error {
	var nodes, edges []string
	var split []string
	nodes = append(nodes, `{"id":"start","type":"start","position":{"x":0,"y":0},"data":{}}`)
	edges = append(edges, `{"id":"e0","source":"start","target":"split"}`)
	for k := range branches {
		secs := int((after + time.Duration(k)*spread/time.Duration(branches)).Seconds())
		split = append(split, fmt.Sprintf(`{"id":"b%d","label":"B%d","weight":1}`, k, k))
		nodes = append(nodes,
			fmt.Sprintf(`{"id":"wait%d","type":"wait_for_response","position":{"x":%d,"y":200},"data":{"variable":"answer","timeout_seconds":%d}}`, k, k*200, secs),
			fmt.Sprintf(`{"id":"end%d","type":"end","position":{"x":%d,"y":300},"data":{}}`, k, k*200))
		edges = append(edges,
			fmt.Sprintf(`{"id":"s%d","source":"split","sourceHandle":"b%d","target":"wait%d"}`, k, k, k),
			fmt.Sprintf(`{"id":"t%d","source":"wait%d","sourceHandle":"timeout","target":"end%d"}`, k, k, k),
			fmt.Sprintf(`{"id":"r%d","source":"wait%d","sourceHandle":"reply","target":"end%d"}`, k, k, k))
	}
	nodes = append(nodes, `{"id":"split","type":"split","position":{"x":0,"y":100},"data":{"branches":[`+strings.Join(split, ",")+`]}}`)
	graph := `{"nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
	body, _ := json.Marshal(map[string]any{"name": "Bench waiting", "is_active": true, "flow_data": json.RawMessage(graph)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.app.Addr()+"/chat-flow/flows/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("creating the flow: %w", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var f struct {
		ID string `json:"id"`
	}
	if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &f) != nil || f.ID == "" {
		return fmt.Errorf("creating the flow: %d: %.500s", res.StatusCode, raw)
	}
	p.flowID = f.ID
	return nil
}

// createContacts makes n contacts, batch per transaction, as webhooks do.
func (p *parley) createContacts(ctx context.Context, n, batch int) ([]string, error) {
	ids := make([]string, 0, n)
	st := p.app.Store()
	now := time.Now()
	for i := 0; i < n; i += batch {
		err := st.InTx(ctx, func(q store.Queries) error {
			for j := i; j < min(n, i+batch); j++ {
				phone := fmt.Sprintf("+3519%08d", 10000000+j)
				c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p.projectID, Scheme: domain.SchemeTel, Path: phone,
					NewID: fmt.Sprintf("bwc%09d", j), Phone: phone, Now: now})
				if err != nil {
					return fmt.Errorf("creating contact %d: %w", j, err)
				}
				ids = append(ids, c.ID)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// park queues a start of the flow for every contact, batch per
// transaction, as the API and campaigns do; it returns the session IDs.
func (p *parley) park(ctx context.Context, contacts []string, batch int) ([]string, error) {
	ids := make([]string, 0, len(contacts))
	st := p.app.Store()
	for i := 0; i < len(contacts); i += batch {
		err := st.InTx(ctx, func(q store.Queries) error {
			for j := i; j < min(len(contacts), i+batch); j++ {
				id := fmt.Sprintf("bws%09d", j)
				if _, err := p.run.StartFlow(ctx, q, runner.StartParams{ProjectID: p.projectID, FlowID: p.flowID, ContactID: contacts[j], SessionID: id}); err != nil {
					return fmt.Errorf("starting session %d: %w", j, err)
				}
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// meter reads what the benchmark measures, through its own connection.
type meter struct {
	sqlite *sql.DB
	pg     *pgxpool.Pool
}

func openMeter(ctx context.Context, p *parley, db, dbURL string) (*meter, error) {
	if db == "postgres" {
		pool, err := pgxpool.New(ctx, dbURL)
		if err != nil {
			return nil, err
		}
		return &meter{pg: pool}, nil
	}
	path := filepath.Join(p.dataDir, "parley.db")
	d, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(1)
	return &meter{sqlite: d}, nil
}

func (m *meter) close() {
	if m.pg != nil {
		m.pg.Close()
	}
	if m.sqlite != nil {
		m.sqlite.Close()
	}
}

// waitEventsPurged waits until the inbox holds no event (the starts,
// handled, deleted after the retention) or until by; it returns how many
// are left. On PostgreSQL it then vacuums the inbox.
func (m *meter) waitEventsPurged(ctx context.Context, by time.Time) (int, error) {
	const q = `SELECT count(*) FROM contact_events`
	for {
		var n int
		var err error
		if m.pg != nil {
			err = m.pg.QueryRow(ctx, q).Scan(&n)
		} else {
			err = m.sqlite.QueryRowContext(ctx, q).Scan(&n)
		}
		if err != nil {
			return 0, fmt.Errorf("counting inbox events: %w", err)
		}
		if n == 0 || time.Now().After(by) {
			if n == 0 && m.pg != nil {
				if _, err := m.pg.Exec(ctx, `VACUUM contact_events`); err != nil {
					return 0, fmt.Errorf("vacuuming the inbox: %w", err)
				}
			}
			return n, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return 0, err
		}
	}
}

// vacuumed says what waitEventsPurged did besides waiting.
func (m *meter) vacuumed() string {
	if m.pg != nil {
		return "; contact_events vacuumed"
	}
	return ""
}

func (m *meter) count(ctx context.Context, status string) (int, error) {
	const q = `SELECT count(*) FROM flow_sessions WHERE status = `
	var n int
	var err error
	if m.pg != nil {
		err = m.pg.QueryRow(ctx, q+`$1`, status).Scan(&n)
	} else {
		err = m.sqlite.QueryRowContext(ctx, q+`?`, status).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("counting %s sessions: %w", status, err)
	}
	return n, nil
}

// times reads (id, time) rows.
func (m *meter) times(ctx context.Context, query string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if m.pg != nil {
		rows, err := m.pg.Query(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var t time.Time
			if err := rows.Scan(&id, &t); err != nil {
				return nil, err
			}
			out[id] = t
		}
		return out, rows.Err()
	}
	rows, err := m.sqlite.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var t time.Time
		if err := rows.Scan(&id, &t); err != nil {
			return nil, err
		}
		out[id] = t
	}
	return out, rows.Err()
}

func (m *meter) timeouts(ctx context.Context) (map[string]time.Time, error) {
	out, err := m.times(ctx, `SELECT id, timeout_at FROM flow_sessions WHERE status = 'waiting' AND timeout_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("reading the sessions' timeouts: %w", err)
	}
	return out, nil
}

func (m *meter) ended(ctx context.Context) (map[string]time.Time, error) {
	out, err := m.times(ctx, `SELECT id, ended_at FROM flow_sessions WHERE ended_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("reading the sessions' ends: %w", err)
	}
	return out, nil
}

// size is the database's bytes by table (indexes counted with their
// table), and "(total)".
func (m *meter) size(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	if m.pg != nil {
		// Dead rows left by updates are part of the size until vacuumed.
		rows, err := m.pg.Query(ctx, `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = current_schema()`)
		if err != nil {
			return nil, fmt.Errorf("measuring the tables: %w", err)
		}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[name] = n
		}
		rows.Close()
		var total int64
		if err := m.pg.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&total); err != nil {
			return nil, err
		}
		out["(total)"] = total
		return out, nil
	}
	// dbstat: every page of each table and index, by name; an index is
	// counted with its table.
	rows, err := m.sqlite.QueryContext(ctx, `SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d
		LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("measuring the tables (dbstat): %w", err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] += n
		total += n
	}
	out["(total)"] = total
	return out, rows.Err()
}

// printSizes prints what the starts added, by table, per waiting session.
func printSizes(label string, before, after map[string]int64, n int) {
	type row struct {
		name  string
		delta int64
	}
	var rs []row
	for name, a := range after {
		if d := a - before[name]; d != 0 && name != "(total)" {
			rs = append(rs, row{name, d})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].delta > rs[j].delta })
	total := after["(total)"] - before["(total)"]
	fmt.Printf("%-18s %+.1f MB for the waiting sessions = %.0f B per waiting session beyond its contact (contacts alone: %.1f MB)\n",
		label, float64(total)/1e6, float64(total)/float64(n), float64(before["(total)"])/1e6)
	for _, r := range rs {
		fmt.Printf("                   %-22s %+8.1f MB  %6.0f B per session\n", r.name, float64(r.delta)/1e6, float64(r.delta)/float64(n))
	}
}

// limits are the physical limits measured in the same run.
type limits struct{ insert, commit float64 }

const (
	limitTable = `CREATE TABLE bench_limit (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL)`
	limitBody  = `{"session_id":"bws000000001","seq":1}`
)

func measureLimits(ctx context.Context, pgURL, dir string) (limits, error) {
	var exec func(ctx context.Context, id string, rows int) error
	if pgURL != "" {
		pool, err := pgxpool.New(ctx, pgURL)
		if err != nil {
			return limits{}, err
		}
		defer pool.Close()
		if _, err := pool.Exec(ctx, limitTable); err != nil {
			return limits{}, err
		}
		defer pool.Exec(context.WithoutCancel(ctx), `DROP TABLE bench_limit`)
		exec = func(ctx context.Context, id string, rows int) error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			for i := range rows {
				if _, err := tx.Exec(ctx, `INSERT INTO bench_limit VALUES ($1, $2, $3, $4)`, id+"."+strconv.Itoa(i), "p", limitBody, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
					_ = tx.Rollback(ctx)
					return err
				}
			}
			return tx.Commit(ctx)
		}
	} else {
		s, err := sqlite.Open(ctx, filepath.Join(dir, "limit.db"), store.OpenOptions{})
		if err != nil {
			return limits{}, err
		}
		defer s.Close()
		db := s.DB()
		if _, err := db.ExecContext(ctx, limitTable); err != nil {
			return limits{}, err
		}
		exec = func(ctx context.Context, id string, rows int) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			for i := range rows {
				if _, err := tx.ExecContext(ctx, `INSERT INTO bench_limit VALUES (?, ?, ?, ?)`, id+"."+strconv.Itoa(i), "p", limitBody, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
					_ = tx.Rollback()
					return err
				}
			}
			return tx.Commit()
		}
	}
	var l limits
	// Inserts: one writer, 1,000 rows per transaction, for 3 s.
	began, n := time.Now(), 0
	for time.Since(began) < 3*time.Second {
		if err := exec(ctx, "i"+strconv.Itoa(n), 1000); err != nil {
			return l, err
		}
		n += 1000
	}
	l.insert = float64(n) / time.Since(began).Seconds()
	// Commits: 64 goroutines, one row per transaction, for 3 s.
	var done atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	began = time.Now()
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Since(began) < 3*time.Second; i++ {
				if err := exec(ctx, fmt.Sprintf("c%d.%d", w, i), 1); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return l, *e
	}
	l.commit = float64(done.Load()) / time.Since(began).Seconds()
	return l, nil
}
