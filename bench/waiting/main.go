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
// transaction). Nothing is written directly, but for -fire-rate's rewrite.
//
// Each session's timeout counts from its own start, so by default the rate
// timeouts fall due at follows the rate sessions were parked at. With
// -fire-rate R the sessions are parked with timeouts 12 hours ahead (none
// fires while parking or measuring), the sizes are measured as above, and
// then the harness sets the waiting sessions' flow_sessions.timeout_at
// itself, in chunked UPDATEs in a shuffled order, so that they fall due at
// exactly R per second from -fire-lead ahead; lateness is measured against
// those times. That UPDATE is the one direct write the harness makes, and
// it is sound because the timer loop reads timeout_at from the database
// at every poll (inbox.FireTimers → SessionTimersDue) and the engine
// checks only the wait's sequence number of a fired timer, not its time.
//
//	go run ./bench/waiting                                   # SQLite, 1,000,000 over 10 minutes
//	go run ./bench/waiting -sessions 100000 -spread 2m       # quick
//	go run ./bench/waiting -db postgres -pg-url postgres://postgres@127.0.0.1:5432/postgres -sessions 100000 -spread 2m
//	go run ./bench/waiting -sessions 100000 -fire-rate 2000  # timeouts due at 2,000/s
package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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

	"github.com/jackc/pgx/v5"
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
	"github.com/parleyhq/parley/internal/store/postgres"
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
	// fireRate, when positive, is the rate (timeouts per second) the
	// harness rewrites the parked sessions' timeouts to fall due at;
	// fireLead is how far ahead of the rewrite's start the first falls due.
	fireRate float64
	fireLead time.Duration
	// series, when set, is written with each session's timeout and end
	// (CSV), to see when in the run lateness grew.
	series string
	// statements, when positive on PostgreSQL, is how many statement texts
	// to list per fired timeout, counted over the firing phase.
	statements int
	// vacuumEvery, on a PostgreSQL server whose autovacuum is off, is how
	// often the harness vacuums the inbox itself, as autovacuum would.
	vacuumEvery time.Duration
}

// parkedTimeout is how far ahead sessions are parked with -fire-rate: far
// enough that none fires before the rewrite, short of the sessions'
// default expiry (engine.DefaultExpiry, 24 hours).
const parkedTimeout = 12 * time.Hour

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
	flag.Float64Var(&o.fireRate, "fire-rate", 0, "timeouts per second: park with timeouts 12 h ahead, then set them (a direct UPDATE) to fall due at this rate (0: each counts from its own start, -spread and -after)")
	flag.IntVar(&o.statements, "statements", 0, "PostgreSQL: list this many statement texts, the most frequent first, counted per fired timeout over the firing phase")
	flag.DurationVar(&o.vacuumEvery, "vacuum-every", time.Minute, "PostgreSQL with autovacuum off (as on this machine): VACUUM contact_events this often, as autovacuum would (its naptime's default; the inbox passes its threshold within seconds); 0: never, until the retention's end")
	flag.StringVar(&o.series, "series", "", "write each session's timeout and end, in seconds after the first timeout, to this CSV file")
	flag.DurationVar(&o.fireLead, "fire-lead", 0, "with -fire-rate, the first timeout falls due this long after the rewrite begins (0: 10 s plus 100 µs per session)")
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
	case o.fireRate < 0 || o.fireLead < 0:
		return errors.New("-fire-rate and -fire-lead must not be negative")
	}
	if o.after == 0 {
		// Parking, then the inbox's retention (the handled starts are
		// deleted after it, and measured again) and a few purge passes.
		// With -fire-rate no timeout falls due meanwhile, so the bound on
		// parking can be generous (PostgreSQL parks at ~400/s).
		perSecond := 1500.0
		if o.fireRate > 0 {
			perSecond = 200
		}
		o.after = time.Duration(float64(o.sessions)/perSecond*float64(time.Second)) + inbox.DefaultRetention + 15*time.Second
	}
	if o.fireRate > 0 && o.fireLead == 0 {
		// The rewrite itself takes time: it must end before the first
		// timeout, or its writes would compete with the firing.
		o.fireLead = 10*time.Second + time.Duration(o.sessions)*100*time.Microsecond
	}
	return nil
}

// flowAfter is the timeout of the flow's first branch: -after, or with
// -fire-rate far ahead (the harness sets the timeouts later).
func (o *options) flowAfter() time.Duration {
	if o.fireRate > 0 {
		return parkedTimeout
	}
	return o.after
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
	if err := p.setFlow(ctx, o.flowAfter(), o.spread, o.branches); err != nil {
		return err
	}
	m, err := openMeter(ctx, p, o.db, dbURL)
	if err != nil {
		return err
	}
	defer m.close()
	if err := m.printServerSettings(ctx); err != nil {
		return err
	}
	if stop, err := m.autovacuum(ctx, o.vacuumEvery); err != nil {
		return err
	} else if stop != nil {
		defer stop()
	}

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
	beforeLive, err := m.liveSize(ctx)
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
		n, err := m.live(ctx)
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
		if beforeLive != nil {
			live, err := m.liveSize(ctx)
			if err != nil {
				return err
			}
			printSizes("live rows only:    (pgstattuple: each relation's pages less their free space and dead rows;\n                   what the waiting sessions hold once vacuum has made the rest reusable)\n                  ",
				beforeLive, live, len(ids))
		}
	}

	// 3. Fire.
	var due map[string]time.Time
	busyUntil, busy := began.Add(parked), "parking ended (raise -after to keep them apart)"
	if o.fireRate > 0 {
		rewriting := time.Now()
		if due, err = m.reschedule(ctx, ids, o.fireRate, rewriting.Add(o.fireLead)); err != nil {
			return err
		}
		busyUntil, busy = time.Now(), "the rewrite ended (raise -fire-lead to keep them apart)"
		took := busyUntil.Sub(rewriting)
		fmt.Printf("rewrite:           the ONE DIRECT WRITE of this harness: UPDATE flow_sessions SET timeout_at, %d waiting sessions, shuffled, %d per transaction, in %.1f s (%.0f rows/s), so they fall due at %.0f/s\n",
			len(due), rescheduleChunk, took.Seconds(), float64(len(due))/took.Seconds(), o.fireRate)
	} else if due, err = m.timeouts(ctx); err != nil {
		return err
	}
	if len(due) != len(ids) {
		return fmt.Errorf("%d sessions waiting with a timeout, want %d", len(due), len(ids))
	}
	first, last := spanOf(due)
	early := 0
	for _, t := range due {
		if t.Before(busyUntil) {
			early++
		}
	}
	fmt.Printf("timeouts:          due from +%.0f s to +%.0f s after parking began; offered %.0f/s on average, %.0f/s in the busiest second\n",
		first.Sub(began).Seconds(), last.Sub(began).Seconds(), float64(len(due))/max(1, last.Sub(first).Seconds()), peakPerSecond(slices.Collect(mapsValues(due))))
	if early > 0 {
		fmt.Printf("                   %d fell due before %s\n", early, busy)
	}
	if o.cpuProfile != "" {
		stop, err := profileFrom(ctx, first, o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	pg, _ := p.app.Store().(*postgres.Store)
	if o.statements > 0 && pg != nil {
		if err := sleep(ctx, time.Until(first)); err != nil {
			return err
		}
		pg.CountStatementTexts(true)
	}
	var wal0 benchdb.WAL
	walRead := false
	for tick := time.Now(); ; {
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
		if !walRead && !time.Now().Before(first) {
			if wal0, err = m.serverWAL(ctx); err != nil {
				return err
			}
			walRead = true
		}
		more, err := m.anyLive(ctx)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if time.Since(tick) >= 15*time.Second {
			tick = time.Now()
			n, err := m.live(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("                   %s: %d still waiting\n", time.Now().Format("15:04:05"), n)
		}
		if time.Now().After(last.Add(5 * time.Minute)) {
			n, err := m.live(ctx)
			if err != nil {
				return err
			}
			return fmt.Errorf("%d sessions still waiting 5 minutes after the last timeout", n)
		}
	}
	wal1, err := m.serverWAL(ctx)
	if err != nil {
		return err
	}
	if walRead {
		m.printFiring(wal0, wal1, len(due), first, time.Now())
	}
	if o.statements > 0 && pg != nil {
		printTexts(pg, o.statements, len(due))
	}
	ended, err := m.ended(ctx)
	if err != nil {
		return err
	}
	if o.series != "" {
		if err := writeSeries(o.series, due, ended); err != nil {
			return err
		}
	}
	return report(due, ended, len(ids))
}

// printTexts lists the top statement texts counted since counting began,
// per fired timeout. The harness's own polls are among them.
func printTexts(s *postgres.Store, top, fired int) {
	texts := s.StatementTexts()
	s.CountStatementTexts(false)
	var all int64
	for _, t := range texts {
		all += t.N
	}
	fmt.Printf("statements:        %.2f per fired timeout, the most frequent first (count per timeout, of which pipelined with others, µs from send to answer each round trip it ended):\n", float64(all)/float64(max(1, fired)))
	benchdb.PrintStatements(texts, top, fired)
}

// writeSeries writes "due,ended" per session, in seconds after the first
// timeout, in due order.
func writeSeries(path string, due, ended map[string]time.Time) error {
	first, _ := spanOf(due)
	type row struct{ due, ended float64 }
	rows := make([]row, 0, len(due))
	for id, t := range due {
		rows = append(rows, row{t.Sub(first).Seconds(), ended[id].Sub(first).Seconds()})
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.due, b.due) })
	var b strings.Builder
	b.WriteString("due,ended\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%.3f,%.3f\n", r.due, r.ended)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing the series: %w", err)
	}
	return nil
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
	timeouts := fmt.Sprintf("timeouts over %s from +%s", o.spread, o.after)
	if o.fireRate > 0 {
		timeouts = fmt.Sprintf("parked with timeouts +%s, then set directly to fall due at %.0f/s from %s after the rewrite begins; parking may take %s",
			parkedTimeout, o.fireRate, o.fireLead, o.after)
	}
	fmt.Printf("Parley waiting-sessions benchmark: -db %s, %d sessions, %s, %d per transaction\n", o.db, o.sessions, timeouts, o.batch)
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
	// Production's IDs (UUIDv7, 36 characters): the rows and index entries
	// measured are the size a real contact's are.
	var ids7 domain.UUIDv7
	for i := 0; i < n; i += batch {
		err := st.InTx(ctx, func(q store.Queries) error {
			for j := i; j < min(n, i+batch); j++ {
				phone := fmt.Sprintf("+3519%08d", 10000000+j)
				c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p.projectID, Scheme: domain.SchemeTel, Path: phone,
					NewID: ids7.NewID(), Phone: phone, Now: now})
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
	// As the API and campaigns make a session's ID (see createContacts).
	var ids7 domain.UUIDv7
	for i := 0; i < len(contacts); i += batch {
		err := st.InTx(ctx, func(q store.Queries) error {
			for j := i; j < min(len(contacts), i+batch); j++ {
				id := ids7.NewID()
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

// meter reads what the benchmark measures, through its own connection
// (and writes the -fire-rate rewrite).
type meter struct {
	sqlite *sql.DB
	pg     *pgxpool.Pool
	// vacuums are the harness's inbox vacuums (autovacuum's stand-in), to
	// be set beside the lateness they may cause.
	vacMu   sync.Mutex
	vacuums []span
	// sqlitePath is the database file, for the rewrite's own writable
	// connection (sqlite is read-only).
	sqlitePath string
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
	return &meter{sqlite: d, sqlitePath: path}, nil
}

// rescheduleChunk is how many timeouts one transaction of the rewrite sets.
const rescheduleChunk = 5000

// reschedule sets the timeouts of the waiting sessions ids, in a shuffled
// order, to fall due at rate per second from first on, and returns them.
// This is the one direct write of the harness. The chunks go in due order,
// so that a rewrite outrunning -fire-lead still sets the earliest first.
func (m *meter) reschedule(ctx context.Context, ids []string, rate float64, first time.Time) (map[string]time.Time, error) {
	order := slices.Clone(ids)
	// A fixed seed: the same order every run.
	rand.New(rand.NewPCG(20, 2000)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	// Microseconds: what PostgreSQL's timestamptz keeps.
	first = first.UTC().Truncate(time.Microsecond)
	times := make([]time.Time, len(order))
	due := make(map[string]time.Time, len(order))
	for i, id := range order {
		times[i] = first.Add(time.Duration(float64(i) / rate * float64(time.Second))).Truncate(time.Microsecond)
		due[id] = times[i]
	}
	set, closeSet, err := m.timeoutSetter()
	if err != nil {
		return nil, err
	}
	defer closeSet()
	for i := 0; i < len(order); i += rescheduleChunk {
		j := min(len(order), i+rescheduleChunk)
		n, err := set(ctx, order[i:j], times[i:j])
		if err != nil {
			return nil, fmt.Errorf("setting the timeouts of sessions %d to %d: %w", i, j, err)
		}
		if n != int64(j-i) {
			return nil, fmt.Errorf("setting the timeouts of sessions %d to %d: %d were waiting with a timeout, want %d", i, j, n, j-i)
		}
	}
	return due, nil
}

// timeoutSetter returns a function setting, in one transaction, the
// timeout_at of the waiting sessions ids to times and reporting how many
// rows it changed.
func (m *meter) timeoutSetter() (func(ctx context.Context, ids []string, times []time.Time) (int64, error), func(), error) {
	if m.pg != nil {
		// One statement per chunk: the pairs as two arrays.
		return func(ctx context.Context, ids []string, times []time.Time) (int64, error) {
			tag, err := m.pg.Exec(ctx, `UPDATE flow_sessions AS s SET timeout_at = v.t
				FROM unnest($1::text[], $2::timestamptz[]) AS v(id, t)
				WHERE s.id = v.id AND s.status = 'waiting' AND s.timeout_at IS NOT NULL`, ids, times)
			return tag.RowsAffected(), err
		}, func() {}, nil
	}
	// The meter's connection is read-only; the server's writer may be
	// busy (the inbox's purge), so wait for the lock. _time_format as the
	// store's own connections: timeout_at is compared as text.
	d, err := sql.Open("sqlite", "file:"+m.sqlitePath+"?_pragma=busy_timeout(10000)&_txlock=immediate&_time_format=sqlite")
	if err != nil {
		return nil, nil, err
	}
	d.SetMaxOpenConns(1)
	return func(ctx context.Context, ids []string, times []time.Time) (int64, error) {
		tx, err := d.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(ctx, `UPDATE flow_sessions SET timeout_at = ? WHERE id = ? AND status = 'waiting' AND timeout_at IS NOT NULL`)
		if err != nil {
			return 0, err
		}
		var n int64
		for i, id := range ids {
			res, err := st.ExecContext(ctx, times[i], id)
			if err != nil {
				return 0, err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return 0, err
			}
			n += k
		}
		return n, tx.Commit()
	}, func() { d.Close() }, nil
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

// autovacuum stands in for PostgreSQL's autovacuum where the server runs
// none (this machine's): a production server, with PostgreSQL's defaults,
// vacuums the inbox about once a minute (its naptime; the handled events
// deleted after the retention pass its threshold within seconds), so the
// emptied pages of its indexes are reused by the next events rather than
// grow with every event ever queued. It vacuums contact_events every
// `every` until stop; nil stop when the server's autovacuum is on, every
// is 0, or the database is SQLite.
func (m *meter) autovacuum(ctx context.Context, every time.Duration) (stop func(), err error) {
	if m.pg == nil || every <= 0 {
		return nil, nil
	}
	var on string
	if err := m.pg.QueryRow(ctx, `SHOW autovacuum`).Scan(&on); err != nil {
		return nil, fmt.Errorf("reading the server's autovacuum setting: %w", err)
	}
	if on == "on" {
		fmt.Println("autovacuum:        on (the server's own)")
		return nil, nil
	}
	// Autovacuum's workers pace their reads and writes (its cost delay
	// and limit, PostgreSQL's defaults below); a plain VACUUM runs
	// unpaced, a burst of I/O on the cores the server under test needs.
	conn, err := m.pg.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquiring the vacuum's connection: %w", err)
	}
	if _, err := conn.Exec(ctx, `SET vacuum_cost_delay = '2ms'`); err != nil {
		conn.Release()
		return nil, fmt.Errorf("pacing the vacuum as autovacuum: %w", err)
	}
	if _, err := conn.Exec(ctx, `SET vacuum_cost_limit = 200`); err != nil {
		conn.Release()
		return nil, fmt.Errorf("pacing the vacuum as autovacuum: %w", err)
	}
	fmt.Printf("autovacuum:        off on this server; the harness runs VACUUM contact_events every %s in its place (-vacuum-every), paced as autovacuum is by default (cost delay 2 ms, limit 200)\n", every)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Release()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				began := time.Now()
				if _, err := conn.Exec(ctx, `VACUUM contact_events`); err != nil {
					if ctx.Err() == nil {
						fmt.Printf("                   vacuuming the inbox: %v\n", err)
					}
					continue
				}
				m.vacMu.Lock()
				m.vacuums = append(m.vacuums, span{began, time.Now()})
				m.vacMu.Unlock()
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}

// span is when something began and ended.
type span struct{ from, to time.Time }

// vacuumsIn are the harness's inbox vacuums that overlapped from–to.
func (m *meter) vacuumsIn(from, to time.Time) []span {
	m.vacMu.Lock()
	defer m.vacMu.Unlock()
	var in []span
	for _, v := range m.vacuums {
		if v.to.After(from) && v.from.Before(to) {
			in = append(in, v)
		}
	}
	return in
}

// serverWAL reads the server's log and checkpoint counters; zero on
// SQLite. With a small max_wal_size, checkpoints come every few seconds
// under load, and the first change of each page after one logs the whole
// page — the log grows, which brings the next checkpoint sooner.
func (m *meter) serverWAL(ctx context.Context) (benchdb.WAL, error) {
	if m.pg == nil {
		return benchdb.WAL{}, nil
	}
	return benchdb.ReadWAL(ctx, m.pg)
}

// printServerSettings prints the server settings that decide how often it
// checkpoints and how much a change logs.
func (m *meter) printServerSettings(ctx context.Context) error {
	if m.pg == nil {
		return nil
	}
	settings, err := benchdb.Settings(ctx, m.pg)
	if err != nil {
		return err
	}
	fmt.Printf("server:            %s\n", settings)
	return nil
}

// printFiring prints what the server logged and checkpointed while the
// timeouts fired, and the harness's vacuums meanwhile.
func (m *meter) printFiring(a, b benchdb.WAL, fired int, from, to time.Time) {
	if m.pg == nil || fired == 0 {
		return
	}
	n := float64(fired)
	fmt.Printf("server, firing:    %d checkpoints (%d requested by the WAL's volume), WAL %.0f MB: %.1f records, %.1f KB and %.2f full-page images per fired timeout\n",
		b.Checkpoints-a.Checkpoints, b.Requested-a.Requested, float64(b.Bytes-a.Bytes)/1e6,
		float64(b.Records-a.Records)/n, float64(b.Bytes-a.Bytes)/n/1e3, float64(b.FPI-a.FPI)/n)
	vs := m.vacuumsIn(from, to)
	if len(vs) == 0 {
		return
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("+%.0f s for %.1f s", v.from.Sub(from).Seconds(), v.to.Sub(v.from).Seconds())
	}
	fmt.Printf("inbox vacuums:     %s (after the first timeout)\n", strings.Join(parts, ", "))
}

// vacuumed says what waitEventsPurged did besides waiting.
func (m *meter) vacuumed() string {
	if m.pg != nil {
		return "; contact_events vacuumed"
	}
	return ""
}

// live counts the live (waiting or active) sessions through their partial
// index (flow_sessions_live_key): it runs every second while timeouts
// fire, and a count by status would read the whole table each time (on
// SQLite 5 % of the firing phase's CPU at 100,000 sessions).
func (m *meter) live(ctx context.Context) (int, error) {
	const q = `SELECT count(*) FROM flow_sessions WHERE status IN ('active', 'waiting') AND NOT simulated`
	var n int
	var err error
	if m.pg != nil {
		err = m.pg.QueryRow(ctx, q).Scan(&n)
	} else {
		err = m.sqlite.QueryRowContext(ctx, q).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("counting live sessions: %w", err)
	}
	return n, nil
}

// anyLive reports whether a session is still live, reading the first
// entry of the live sessions' partial index: the harness asks every
// second while timeouts fire, and on PostgreSQL a count (live) is a
// sequential scan of flow_sessions when most sessions are live (a million
// rows a second at the million, on the cores the server under test
// needs); live is asked every 15 s, for the progress line.
func (m *meter) anyLive(ctx context.Context) (bool, error) {
	const q = `SELECT contact_id FROM flow_sessions WHERE status IN ('active', 'waiting') AND NOT simulated ORDER BY contact_id LIMIT 1`
	var id string
	var err error
	if m.pg != nil {
		err = m.pg.QueryRow(ctx, q).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
	} else {
		err = m.sqlite.QueryRowContext(ctx, q).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
	}
	if err != nil {
		return false, fmt.Errorf("looking for a live session: %w", err)
	}
	return true, nil
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
		out, err := m.pgSizes(ctx, "measuring the tables", `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = current_schema()`)
		if err != nil {
			return nil, err
		}
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

// liveSize is, on PostgreSQL, the bytes of each table (its TOAST table
// and indexes counted with it) less the free space and dead rows in its
// pages, by pgstattuple (which reads heaps and B-trees; another kind of
// index, River's GIN, counts whole); nil on SQLite, whose dbstat size has no dead rows
// (an update rewrites in place) and whose deleted rows' pages go to the
// free list, out of the count. A PostgreSQL update or delete leaves the
// old row until vacuum, and vacuum makes the space reusable without giving
// it back, so the table's size alone counts space the next rows reuse.
func (m *meter) liveSize(ctx context.Context) (map[string]int64, error) {
	if m.pg == nil {
		return nil, nil
	}
	if _, err := m.pg.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pgstattuple`); err != nil {
		return nil, fmt.Errorf("installing pgstattuple (a contrib extension) to measure live rows: %w", err)
	}
	out, err := m.pgSizes(ctx, "measuring the tables' live rows", `WITH tables AS (
			SELECT c.oid, c.relname, c.reltoastrelid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname = current_schema()),
		rels AS (
			SELECT relname, oid AS rel, true AS heap FROM tables
			UNION ALL SELECT relname, reltoastrelid, true FROM tables WHERE reltoastrelid <> 0
			UNION ALL SELECT t.relname, i.indexrelid, am.amname = 'btree' FROM pg_index i JOIN tables t ON t.oid = i.indrelid
				JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam)
		SELECT relname, sum(CASE WHEN heap THEN (SELECT s.table_len - s.free_space - s.dead_tuple_len FROM pgstattuple(rel::regclass) s)
			ELSE pg_relation_size(rel) END)::bigint
		FROM rels GROUP BY relname`)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, n := range out {
		total += n
	}
	out["(total)"] = total
	return out, nil
}

// pgSizes runs a query of table names and byte counts into a map.
func (m *meter) pgSizes(ctx context.Context, doing, sql string) (map[string]int64, error) {
	rows, err := m.pg.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("%s: %w", doing, err)
		}
		out[name] = n
	}
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
	limitBody  = `{"session_id":"019ae0a5-3c1f-7d2e-8b4a-5f6e7d8c9b0a","seq":1}`
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
