// Command whatsapp measures Parley's WhatsApp path beside the physical
// limits of the same run: signed webhooks are driven at a real Parley
// server (app.New + Start in this process) whose WhatsApp channel talks to
// the fake Graph API (internal/sandbox), all on loopback, on SQLite or
// PostgreSQL.
//
// Phases, each a closed loop of concurrent clients for a bounded time:
//
//   - limits: (a) a bare net/http handler that verifies the signature and
//     decodes the JSON, (b) raw database commits (one small-row INSERT +
//     COMMIT per transaction, Parley's driver settings), (c) raw POSTs to the
//     fake's messages endpoint;
//   - ingest: webhooks accepted per second, 3 statuses : 1 inbound message,
//     with p50/p99 acknowledgement latency;
//   - exchange: an inbound "hi" → the published flow's step → the reply's
//     request at the fake, per second, with p50/p99 from posting the inbound
//     to the fake receiving the reply (matched by "to": every exchange comes
//     from a new customer number);
//   - nodered: the same exchange on Node-RED as the peer, installed from npm
//     into a temporary directory when npm is there (skipped with a note
//     otherwise).
//
// Usage:
//
//	go run ./bench/whatsapp -db sqlite -duration 20s
//	go run ./bench/whatsapp -db postgres -pg-url postgres://postgres@127.0.0.1:5432/postgres -duration 20s
//
// PostgreSQL runs on a fresh database created on the server -pg-url (or
// TEST_DATABASE_URL) names, dropped at the end. -cpuprofile DIR writes a CPU
// profile of each Parley phase; the server's own samples carry the label
// role=parley (go tool pprof -tagfocus role=parley -top FILE).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parleyhq/parley/bench/benchdb"
	"github.com/parleyhq/parley/internal/config"
)

// batchRows is the rows per transaction of the group-commit variant of
// limit (b).
const batchRows = 16

type options struct {
	db            string
	pgURL         string
	duration      time.Duration
	warmup        time.Duration
	limitDuration time.Duration
	ingestConc    int
	exchangeConc  int
	numbers       int
	jobPoll       time.Duration
	channelLog    string
	seed          int
	phases        map[string]bool
	nodered       string
	noderedDir    string
	cpuprofile    string
	pgPool        int
	sweep         []int
	// statements is how many statement texts to list per phase
	// (PostgreSQL), the most frequent first.
	statements int
}

func main() {
	var o options
	var phases string
	flag.StringVar(&o.db, "db", "sqlite", "database: sqlite or postgres")
	flag.StringVar(&o.pgURL, "pg-url", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL server URL (a fresh database is created on it); default $TEST_DATABASE_URL")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measured time of each Parley and Node-RED phase")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each phase")
	flag.DurationVar(&o.limitDuration, "limit-duration", 5*time.Second, "measured time of each physical limit")
	flag.IntVar(&o.ingestConc, "ingest-conc", 64, "concurrent webhook senders for ingest and limits (a), (b)")
	flag.IntVar(&o.exchangeConc, "exchange-conc", 256, "concurrent customers for the exchanges (Parley and Node-RED alike) and limit (c): a closed loop is bounded by customers ÷ latency, so too few leave the server idle")
	flag.IntVar(&o.numbers, "numbers", 4, "business phone numbers (channels, each paced at Meta's top tier of 1,000 messages/s) the exchange's customers write to")
	flag.DurationVar(&o.jobPoll, "job-poll", config.Default().JobPollInterval, "PARLEY_JOB_POLL_INTERVAL of the server (SQLite polls for jobs; PostgreSQL is notified)")
	flag.StringVar(&o.channelLog, "channel-log", config.ChannelLogAll, "PARLEY_CHANNEL_LOG of the server: all, or failures (the channel log keeps only failed calls and webhooks)")
	flag.IntVar(&o.seed, "seed", 20000, "outbound messages stored before ingest for its status webhooks to move")
	flag.StringVar(&phases, "phases", "limits,ingest,exchange,nodered", "phases to run, comma-separated")
	flag.StringVar(&o.nodered, "nodered", "auto", "auto: run the Node-RED peer when npm is available; off: skip it")
	flag.StringVar(&o.noderedDir, "nodered-dir", "", "reuse a directory where node-red@"+NodeREDVersion+" is installed (npm --prefix DIR)")
	flag.IntVar(&o.pgPool, "pg-pool", 0, "PostgreSQL: pool_max_conns for Parley and the raw commit limit (0: 32, Parley's default unless DATABASE_URL says otherwise)")
	flag.IntVar(&o.statements, "statements", 0, "PostgreSQL: list this many statement texts per phase, the most frequent first, with their count per operation and time from send to answer")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "directory for CPU, mutex and block profiles of the ingest and exchange phases")
	var sweep string
	flag.StringVar(&sweep, "sweep", "", "after the exchange, run it again with each of these customer counts (e.g. 256,1024,2048,4096) and print throughput, latency and cost per count: a closed loop's rate is bounded by customers ÷ latency, so only a rate that stops rising with customers is capacity")
	flag.Parse()
	for _, f := range strings.Split(sweep, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "-sweep: %q is not a positive number of customers\n", f)
			os.Exit(2)
		}
		o.sweep = append(o.sweep, n)
	}
	o.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		o.phases[strings.TrimSpace(p)] = true
	}
	if o.db != "sqlite" && o.db != "postgres" {
		fmt.Fprintln(os.Stderr, "-db must be sqlite or postgres")
		os.Exit(2)
	}
	if o.db == "postgres" && o.pgURL == "" {
		fmt.Fprintln(os.Stderr, "-db postgres needs -pg-url or TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report collects the figures of a run.
type report struct {
	bare, commit, client *Stats
	commitBatch          *Stats
	ingest, exchange, nr *Stats
	nrNote               string
	nrCPU                float64
	ingestBacklog        int
	ingestDrain          time.Duration
	exchangeBacklog      int
	strays               int
}

func run(ctx context.Context, o options) error {
	printMachine(o)
	work, err := os.MkdirTemp("", "parley-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dbURL := ""
	if o.db == "postgres" {
		var drop func()
		dbURL, drop, err = benchdb.Fresh(ctx, o.pgURL)
		if err != nil {
			return err
		}
		defer drop()
		printPostgres(ctx, dbURL)
		if o.pgPool == 0 {
			o.pgPool = 32 // Parley's own default (internal/store/postgres) when the URL names none
		}
		if o.pgPool > 0 {
			u, _ := url.Parse(dbURL)
			q := u.Query()
			q.Set("pool_max_conns", fmt.Sprint(o.pgPool))
			u.RawQuery = q.Encode()
			dbURL = u.String()
		}
		pc, err := pgxpool.ParseConfig(dbURL)
		if err != nil {
			return err
		}
		fmt.Printf("           pgx pool: pool_max_conns=%d (Parley's and the raw commit limit's)\n", pc.MaxConns)
	} else {
		fmt.Printf("database:  SQLite (modernc.org/sqlite) WAL, synchronous=NORMAL, one write connection, in %s\n", work)
	}
	fmt.Println()

	// One client for every phase: keep-alive connections, enough of them.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second, DisableCompression: true}}
	defer hc.CloseIdleConnections()

	var g *graph
	labelled(ctx, "fake", func(ctx context.Context) { g, err = startGraph(ctx) })
	if err != nil {
		return err
	}
	defer g.stop()

	var r report
	if o.phases["limits"] {
		if err := limits(ctx, o, hc, g, dbURL, work, &r); err != nil {
			return err
		}
	}
	if *processesFlag != "" {
		return processesPhase(ctx, o, hc, g, work, &r) // processes.go
	}
	if o.phases["ingest"] || o.phases["exchange"] {
		if err := parleyPhases(ctx, o, hc, g, dbURL, work, &r); err != nil {
			return err
		}
	}
	if o.phases["nodered"] {
		nodeREDPhase(ctx, o, hc, g, &r)
	}
	summary(o, &r)
	return nil
}

// labelled runs fn with a pprof label naming who does the work; goroutines
// started inside inherit it.
func labelled(ctx context.Context, role string, fn func(ctx context.Context)) {
	pprof.Do(ctx, pprof.Labels("role", role), fn)
}

func limits(ctx context.Context, o options, hc *http.Client, g *graph, dbURL, work string, r *report) error {
	fmt.Printf("physical limits, %s each after %s warm-up:\n", o.limitDuration, o.warmup)
	var bare *bareServer
	var err error
	labelled(ctx, "bare", func(context.Context) { bare, err = startBare() })
	if err != nil {
		return err
	}
	labelled(ctx, "client", func(ctx context.Context) {
		st := closedLoop(ctx, "bare handler", o.ingestConc, o.warmup, o.limitDuration, ingestOp(hc, bare.url, nil, o.ingestConc, 0))
		r.bare = &st
	})
	bare.stop()
	line("(a) bare net/http: verify HMAC + decode JSON", *r.bare, "req/s")

	cl, err := openCommitLimit(ctx, dbURL, work)
	if err != nil {
		return fmt.Errorf("raw commit limit: %w", err)
	}
	labelled(ctx, "client", func(ctx context.Context) {
		one := closedLoop(ctx, "commit", o.ingestConc, o.warmup, o.limitDuration, cl.op(1))
		r.commit = &one
		batch := closedLoop(ctx, "commit batch", o.ingestConc, o.warmup, o.limitDuration, cl.op(batchRows))
		batch.OK *= batchRows // rows
		r.commitBatch = &batch
	})
	cl.close()
	line("(b) raw DB: 1 small-row INSERT + COMMIT", *r.commit, "tx/s")
	line(fmt.Sprintf("    same, %d rows per COMMIT (group commit)", batchRows), *r.commitBatch, "rows/s")

	labelled(ctx, "client", func(ctx context.Context) {
		st := closedLoop(ctx, "fake", o.exchangeConc, o.warmup, o.limitDuration, fakeOp(hc, g))
		r.client = &st
	})
	g.reset()
	line("(c) raw HTTP client → fake /messages", *r.client, "req/s")
	fmt.Println()
	return nil
}

func line(what string, st Stats, unit string) {
	fmt.Printf("  %-44s %10s %-10s p50 %8s  p99 %8s", what, num(st.Rate()), unit, ms(st.P50), ms(st.P99))
	if st.Errors > 0 {
		fmt.Printf("  (%d errors, first: %v)", st.Errors, st.FirstErr)
	}
	fmt.Println()
}

// ingestOp posts webhooks in the ratio 3 statuses : 1 inbound. Statuses move
// the seeded messages (worker w's round k takes message k*conc+w, and sends
// sent, delivered, read in order); inbound texts come from new customers
// and match no flow (they are stored and queued, their processing finds
// nothing to start). Without seeds (the bare handler) statuses name made-up
// messages.
func ingestOp(hc *http.Client, url string, seeds []seeded, conc, phase int) op {
	nonce := time.Now().UnixNano()
	states := [3]string{"sent", "delivered", "read"}
	return func(ctx context.Context, w, seq int) (time.Duration, error) {
		var body []byte
		round := seq / 4
		if seq%4 == 3 {
			from := customer(phase, w, round)
			body = inboundBody(phoneNumberID, from, "Ingest", fmt.Sprintf("wamid.BENCHIN%d.%d.%d", nonce, w, round), "just saying hello")
		} else {
			s := seeded{ID: fmt.Sprintf("made-up-%d-%d", w, round), WAMID: fmt.Sprintf("wamid.X%d.%d", w, round), To: customer(8, w, round)}
			if len(seeds) > 0 {
				s = seeds[(round*conc+w)%len(seeds)]
			}
			body = statusBody(s.WAMID, s.ID, s.To, states[seq%4])
		}
		t0 := time.Now()
		err := postSigned(ctx, hc, url, body)
		return time.Since(t0), err
	}
}

// exchangeOp is one customer's "hi" and the wait for the reply at the fake.
// Customer w writes to business number w mod len(targets).
func exchangeOp(hc *http.Client, targets []target, g *graph, phase int, timeouts *atomic.Int64) op {
	nonce := time.Now().UnixNano()
	return func(ctx context.Context, w, seq int) (time.Duration, error) {
		to := customer(phase, w, seq)
		wait := g.expect(to)
		tg := targets[w%len(targets)]
		url := tg.url
		body := inboundBody(tg.pnid, to, "Ann", fmt.Sprintf("wamid.BENCHEX%d.%d.%d", nonce, w, seq), "hi")
		t0 := time.Now()
		if err := postSigned(ctx, hc, url, body); err != nil {
			g.forget(to)
			return 0, err
		}
		select {
		case at := <-wait:
			return at.Sub(t0), nil
		case <-time.After(30 * time.Second):
			g.forget(to)
			timeouts.Add(1)
			return 0, errors.New("no reply at the fake within 30 s")
		case <-ctx.Done():
			g.forget(to)
			return 0, ctx.Err()
		}
	}
}

func parleyPhases(ctx context.Context, o options, hc *http.Client, g *graph, dbURL, work string, r *report) error {
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var p *parley
	var err error
	labelled(ctx, "parley", func(ctx context.Context) {
		p, err = startParley(ctx, filepath.Join(work, "data"), dbURL, o.jobPoll, o.channelLog, o.numbers, logger, g)
	})
	if err != nil {
		return fmt.Errorf("starting Parley: %w", err)
	}
	defer func() {
		if err := p.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping Parley:", err)
		}
	}()
	fmt.Printf("Parley: in-process server on %s, job poll %s, channel log: %s, logs at info level (discarded)\n", p.base, o.jobPoll, o.channelLog)

	if o.phases["ingest"] {
		t0 := time.Now()
		seeds, err := p.seed(ctx, o.seed)
		if err != nil {
			return fmt.Errorf("seeding messages: %w", err)
		}
		fmt.Printf("  seeded %d outbound messages in %s\n", len(seeds), time.Since(t0).Round(time.Millisecond))
		stopProf := profile(o, "ingest")
		var c0, c1 counters
		labelled(ctx, "client", func(ctx context.Context) {
			st := closedLoop(ctx, "ingest", o.ingestConc, o.warmup, o.duration, ingestOp(hc, p.webhookURL, seeds, o.ingestConc, 1),
				func() { c0 = p.counters(ctx); p.countTexts(o.statements > 0) }, func() { c1 = p.counters(ctx) })
			r.ingest = &st
		})
		stopProf()
		line("ingest: webhooks acked (3 statuses : 1 inbound)", *r.ingest, "/s")
		printCost("webhook", c0, c1, r.ingest.OK)
		p.printTexts(o.statements, "webhook", r.ingest.OK)
		r.ingestBacklog, _ = p.backlog(ctx)
		left, took, err := p.drain(ctx, 2*time.Minute)
		r.ingestDrain = took
		fmt.Printf("  inbox events and sends queued by ingest and not yet done at its end: %d (drained in %s, %d left)\n", r.ingestBacklog, took.Round(100*time.Millisecond), left)
		if err != nil {
			return err
		}
	}
	if o.phases["exchange"] {
		var timeouts atomic.Int64
		g.reset()
		conns0 := g.conns.Load()
		stopProf := profile(o, "exchange")
		calls0, tx0 := p.groupCommit()
		var c0, c1 counters
		labelled(ctx, "client", func(ctx context.Context) {
			st := closedLoop(ctx, "exchange", o.exchangeConc, o.warmup, o.duration, exchangeOp(hc, p.targets, g, 2, &timeouts),
				func() { c0 = p.counters(ctx); p.countTexts(o.statements > 0) }, func() { c1 = p.counters(ctx) })
			r.exchange = &st
		})
		stopProf()
		line("exchange: inbound → flow → reply at the fake", *r.exchange, "/s")
		if calls, tx := p.groupCommit(); tx > tx0 {
			fmt.Printf("  %s group commit: %d writes in %d transactions (%.1f per commit)\n", dbName(o.db), calls-calls0, tx-tx0, float64(calls-calls0)/float64(tx-tx0))
		}
		printCost("exchange", c0, c1, r.exchange.OK)
		p.printTexts(o.statements, "exchange", r.exchange.OK)
		r.exchangeBacklog, _ = p.backlog(ctx)
		opened := g.conns.Load() - conns0
		fmt.Printf("  TCP connections Parley opened to the fake: %d for %d replies (%.2f per reply)\n",
			opened, r.exchange.OK, float64(opened)/float64(max(1, r.exchange.OK)))
		retried, _ := p.retried(ctx)
		fmt.Printf("  inbox events and sends left at the end: %d; replies timed out: %d; events and sends retried after an error (whole run): %d\n",
			r.exchangeBacklog, timeouts.Load(), retried)
		g.reset()
		if len(o.sweep) > 0 {
			if err := sweepExchange(ctx, o, hc, g, p, r); err != nil {
				return err
			}
		}
	}
	fmt.Println()
	return nil
}

// sweepExchange runs the exchange once per customer count of -sweep and
// prints a line for each, beside the raw commit limit of the same run.
func sweepExchange(ctx context.Context, o options, hc *http.Client, g *graph, p *parley, r *report) error {
	fmt.Printf("  concurrency sweep (%s each after %s warm-up):\n", o.duration, o.warmup)
	if r.commit != nil {
		fmt.Printf("    raw commit limit of this run: %s tx/s single, %s rows/s %d per commit\n", num(r.commit.Rate()), num(r.commitBatch.Rate()), batchRows)
	}
	for _, conc := range o.sweep {
		if _, _, err := p.drain(ctx, 2*time.Minute); err != nil {
			return err
		}
		var timeouts atomic.Int64
		g.reset()
		var c0, c1 counters
		var st Stats
		labelled(ctx, "client", func(ctx context.Context) {
			st = closedLoop(ctx, "exchange", conc, o.warmup, o.duration, exchangeOp(hc, p.targets, g, 2, &timeouts),
				func() { c0 = p.counters(ctx) }, func() { c1 = p.counters(ctx) })
		})
		line(fmt.Sprintf("exchange, %d customers", conc), st, "/s")
		printCost("exchange", c0, c1, st.OK)
		if n := timeouts.Load(); n > 0 {
			fmt.Printf("    replies timed out: %d\n", n)
		}
		g.reset()
	}
	return nil
}

func dbName(db string) string {
	if db == "postgres" {
		return "PostgreSQL"
	}
	return "SQLite"
}

// profile measures the process's CPU use over a phase and, when asked,
// writes a CPU profile of it plus a goroutine snapshot half-way through
// the measured window (where the waiting goroutines wait).
func profile(o options, phase string) func() {
	cpu0, t0 := selfCPU(), time.Now()
	busy0, all0 := machineCPU()
	done := func() {
		self := (selfCPU() - cpu0).Seconds() / time.Since(t0).Seconds()
		fmt.Printf("  this process used %.2f cores during %s (client + fake + Parley)\n", self, phase)
		// The database on the same machine competes for the same cores:
		// a machine with no idle time is the limit, whoever uses it.
		if busy1, all1 := machineCPU(); all1 > all0 {
			machine := float64(busy1-busy0) / float64(all1-all0) * float64(runtime.NumCPU())
			fmt.Printf("  the machine's %d cores were %.0f%% busy: %.2f cores, of which %.2f outside this process (the database's backends, when nothing else runs)\n",
				runtime.NumCPU(), 100*machine/float64(runtime.NumCPU()), machine, max(machine-self, 0))
		}
	}
	if o.cpuprofile == "" {
		return done
	}
	_ = os.MkdirAll(o.cpuprofile, 0o755)
	path := filepath.Join(o.cpuprofile, o.db+"-"+phase+".pprof")
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return done
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		f.Close()
		return done
	}
	snap := time.AfterFunc(o.warmup+o.duration/2, func() {
		g, err := os.Create(filepath.Join(o.cpuprofile, o.db+"-"+phase+"-goroutines.txt"))
		if err == nil {
			_ = pprof.Lookup("goroutine").WriteTo(g, 1)
			g.Close()
		}
	})
	// The allocations so far, the base the phase's are told from
	// (go tool pprof -sample_index=alloc_space -diff_base).
	if w, err := os.Create(filepath.Join(o.cpuprofile, o.db+"-"+phase+"-allocs-base.pprof")); err == nil {
		_ = pprof.Lookup("allocs").WriteTo(w, 0)
		w.Close()
	}
	// Where goroutines wait on locks and channels: the serial step of a
	// phase shows here rather than in CPU time.
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(int(100 * time.Microsecond))
	return func() {
		snap.Stop()
		pprof.StopCPUProfile()
		f.Close()
		for _, kind := range []string{"mutex", "block", "allocs"} {
			if w, err := os.Create(filepath.Join(o.cpuprofile, o.db+"-"+phase+"-"+kind+".pprof")); err == nil {
				_ = pprof.Lookup(kind).WriteTo(w, 0)
				w.Close()
			}
		}
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
		done()
		fmt.Printf("  CPU profile: %s (go tool pprof -tagfocus role=parley -top %s); mutex, block and allocation profiles beside it (the phase's allocations: -sample_index=alloc_space -diff_base %s-allocs-base.pprof %s-allocs.pprof)\n",
			path, path, strings.TrimSuffix(path, ".pprof"), strings.TrimSuffix(path, ".pprof"))
	}
}

// machineCPU is the whole machine's busy and total CPU time so far, in
// clock ticks of all CPUs (/proc/stat; zeros elsewhere).
func machineCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// selfCPU is this process's user + system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func nodeREDPhase(ctx context.Context, o options, hc *http.Client, g *graph, r *report) {
	if o.nodered == "off" {
		r.nrNote = "skipped (-nodered off)"
		return
	}
	install, made, err := installNodeRED(ctx, o.noderedDir)
	if err != nil {
		r.nrNote = "skipped: " + err.Error()
		fmt.Printf("Node-RED %s: %s\n\n", NodeREDVersion, r.nrNote)
		return
	}
	if made {
		defer os.RemoveAll(install)
	}
	n, err := startNodeRED(ctx, install, g.messagesURL())
	if err != nil {
		r.nrNote = "skipped: starting node-red: " + err.Error()
		fmt.Printf("Node-RED %s: %s\n\n", NodeREDVersion, r.nrNote)
		return
	}
	defer n.stop()
	if err := n.ready(ctx, hc, g, 60*time.Second); err != nil {
		r.nrNote = "skipped: " + err.Error()
		fmt.Printf("Node-RED %s: %s\n\n", NodeREDVersion, r.nrNote)
		return
	}
	fmt.Printf("Node-RED %s: headless on %s (http in → function: HMAC + JSON → http request → http response); nothing stored\n", NodeREDVersion, n.url)
	var timeouts atomic.Int64
	g.reset()
	conns0 := g.conns.Load()
	cpu0 := procCPU(n.cmd.Process.Pid)
	t0 := time.Now()
	labelled(ctx, "client", func(ctx context.Context) {
		st := closedLoop(ctx, "node-red", o.exchangeConc, o.warmup, o.duration, exchangeOp(hc, []target{{url: n.url, pnid: phoneNumberID}}, g, 3, &timeouts))
		r.nr = &st
	})
	r.nrCPU = (procCPU(n.cmd.Process.Pid) - cpu0).Seconds() / time.Since(t0).Seconds()
	line("exchange: inbound → flow → reply at the fake", *r.nr, "/s")
	fmt.Printf("  Node-RED process CPU: %.2f cores; replies timed out: %d; TCP connections it opened to the fake: %d\n\n",
		r.nrCPU, timeouts.Load(), g.conns.Load()-conns0)
	g.reset()
}

func summary(o options, r *report) {
	fmt.Println("summary (same run):")
	if r.ingest != nil {
		target := "met"
		if r.ingest.Rate() < 5000 || r.ingest.P99 >= 250*time.Millisecond {
			target = "NOT met"
		}
		fmt.Printf("  ingest   %s webhooks/s, p50 %s, p99 %s", num(r.ingest.Rate()), ms(r.ingest.P50), ms(r.ingest.P99))
		if r.bare != nil {
			fmt.Printf("; %.1f%% of the bare handler", 100*r.ingest.Rate()/r.bare.Rate())
		}
		if r.commit != nil {
			fmt.Printf(", %.2f webhooks per raw commit/s", r.ingest.Rate()/r.commit.Rate())
		}
		if o.db == "sqlite" {
			fmt.Printf("; target ≥ 5,000/s at p99 < 250 ms on SQLite: %s", target)
		}
		fmt.Println()
	}
	if r.exchange != nil {
		target := "met"
		if r.exchange.Rate() < 2000 {
			target = "NOT met"
		}
		fmt.Printf("  exchange %s /s, p50 %s, p99 %s", num(r.exchange.Rate()), ms(r.exchange.P50), ms(r.exchange.P99))
		if r.client != nil {
			fmt.Printf("; %.1f%% of the raw client rate to the fake", 100*r.exchange.Rate()/r.client.Rate())
		}
		if o.db == "sqlite" {
			fmt.Printf("; target ≥ 2,000/s on SQLite: %s", target)
		}
		fmt.Println()
	}
	switch {
	case r.nr != nil && r.exchange != nil:
		fmt.Printf("  Node-RED %s exchange %s /s, p50 %s, p99 %s → Parley/Node-RED = %.2f×\n", NodeREDVersion,
			num(r.nr.Rate()), ms(r.nr.P50), ms(r.nr.P99), r.exchange.Rate()/r.nr.Rate())
		fmt.Println("  (Parley is durable: the inbound, the session and the reply with its send job are committed before")
		fmt.Println("   the webhook is acked and before the send; Node-RED keeps nothing — a crash loses what is in flight.)")
	case r.nr != nil:
		fmt.Printf("  Node-RED %s exchange %s /s, p50 %s, p99 %s\n", NodeREDVersion, num(r.nr.Rate()), ms(r.nr.P50), ms(r.nr.P99))
	case r.nrNote != "":
		fmt.Printf("  Node-RED %s: %s\n", NodeREDVersion, r.nrNote)
	}
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the PostgreSQL URL"
	}
	return p.Redacted()
}

func printPostgres(ctx context.Context, dbURL string) {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return
	}
	defer c.Close(ctx)
	var version, syncCommit, fsync string
	_ = c.QueryRow(ctx, "SHOW server_version").Scan(&version)
	_ = c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&syncCommit)
	_ = c.QueryRow(ctx, "SHOW fsync").Scan(&fsync)
	fmt.Printf("database:  PostgreSQL %s on %s (synchronous_commit=%s, fsync=%s), pgx pool with Parley's defaults, fresh database\n",
		version, redact(dbURL), syncCommit, fsync)
	if settings, err := benchdb.Settings(ctx, c); err == nil {
		fmt.Printf("           %s\n", settings)
	}
}

func printMachine(o options) {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("Parley WhatsApp benchmark: -db %s, %s per phase (+%s warm-up), limits %s; ingest %d senders, exchange %d customers over %d business numbers\n",
		o.db, o.duration, o.warmup, o.limitDuration, o.ingestConc, o.exchangeConc, o.numbers)
	fmt.Printf("machine:   %s, nproc %d, GOMAXPROCS %d, Linux %s, %s %s/%s; load average at start %s\n", model, runtime.NumCPU(),
		runtime.GOMAXPROCS(0), strings.TrimSpace(string(kernel)), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Println("layout:    client, fake Graph API and Parley share this process and its cores; all traffic on loopback")
}

// procCPU is a process's user + system CPU time so far (Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}
