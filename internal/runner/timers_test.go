package runner

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestTimeoutFiresOnceFromTheSessionRow: a waiting session's timeout is
// its row's timeout_at; FireTimers queues it when due (not before), once,
// without writing the row, and the timeout exit runs once.
func TestTimeoutFiresOnceFromTheSessionRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	c := e.receive(addr(), "hi").ContactID
	e.process(c)
	s := e.session(c)
	if s.Status != domain.SessionWaiting || s.TimeoutAt == nil {
		t.Fatalf("session = %+v", s)
	}
	fire := func(want int) {
		t.Helper()
		n, err := e.r.Inbox.FireTimers(ctx, 10)
		if err != nil || n != want {
			t.Fatalf("FireTimers = %d, %v; want %d", n, err, want)
		}
	}
	fire(0) // not due
	e.clock.advance(61 * time.Second)
	fire(1)
	fire(0) // read: never again
	if got := e.session(c); got.Status != domain.SessionWaiting || got.TimeoutAt == nil || got.Version != s.Version {
		t.Fatalf("after firing, before its event is handled, the row is as it was: %+v", got)
	}
	e.process(c)
	if got, want := texts(e.conversation(c), "out"), []string{"Hi Ann! Pick one", "Timed out"}; !slices.Equal(got, want) {
		t.Fatalf("bot said %q, want %q", got, want)
	}
	if got := e.session(c); got.Status != domain.SessionCompleted {
		t.Fatalf("status = %s", got.Status)
	}
}

// TestTimerLoopFiresDueTimeouts: the running inbox fires due timeouts by
// itself, through the injected clock.
func TestTimerLoopFiresDueTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	var contacts []string
	for range 3 {
		c := e.receive(addr(), "hi").ContactID
		contacts = append(contacts, c)
		e.eventually("the session waits", func() bool { return len(e.conversation(c)) == 2 })
	}
	time.Sleep(300 * time.Millisecond) // several passes of the loop: nothing is due
	for _, c := range contacts {
		if s := e.session(c); s.Status != domain.SessionWaiting {
			t.Fatalf("fired early: %+v", s)
		}
	}
	e.clock.advance(61 * time.Second)
	for _, c := range contacts {
		e.eventually("the timeout exit", func() bool { return e.session(c).Status == domain.SessionCompleted })
		if got, want := texts(e.conversation(c), "out"), []string{"Hi Ann! Pick one", "Timed out"}; !slices.Equal(got, want) {
			t.Fatalf("bot said %q, want %q", got, want)
		}
	}
}

// stuckStatistics is a store whose StatisticsRefresh takes until the
// timer loop stops, as an ANALYZE of a large table on a busy machine
// takes seconds.
type stuckStatistics struct {
	store.Store
	called chan struct{}
	once   sync.Once
}

func (s *stuckStatistics) StatisticsRefresh(ctx context.Context) ([]string, error) {
	s.once.Do(func() { close(s.called) })
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestTimeoutsFireWhileStatisticsRefresh: the timer loop's upkeep runs
// beside the firing, so a slow statistics refresh delays no timeout.
func TestTimeoutsFireWhileStatisticsRefresh(t *testing.T) {
	t.Parallel()
	stuck := &stuckStatistics{called: make(chan struct{})}
	e := newEnvOn(t, true, func(o store.OpenOptions) store.Store {
		stuck.Store = testdb.Open(t, o)
		return stuck
	})
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	c := e.receive(addr(), "hi").ContactID
	e.eventually("the session waits", func() bool { return len(e.conversation(c)) == 2 })
	select {
	case <-stuck.called:
	case <-time.After(10 * time.Second):
		t.Fatal("the timer loop never refreshed the statistics")
	}
	e.clock.advance(61 * time.Second)
	e.eventually("the timeout exit while the refresh runs", func() bool { return e.session(c).Status == domain.SessionCompleted })
}

// TestLegacyTimerJobAndLoopFireOnce: a wait timer job queued by an earlier
// version and the timer loop fire the same timeout once, in either order.
func TestLegacyTimerJobAndLoopFireOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	var bound jobs.Bound[Runner]
	if err := bound.Set(e.r); err != nil {
		t.Fatal(err)
	}
	w := &timerWorker{r: &bound}
	e.clock.advance(61 * time.Second) // every session below is due at once
	for _, jobFirst := range []bool{true, false} {
		c := e.receive(addr(), "hi").ContactID
		e.process(c)
		s := e.session(c)
		job := func() {
			t.Helper()
			if err := w.Work(ctx, &river.Job[TimerArgs]{Args: TimerArgs{ProjectID: e.project.ID, ContactID: c, SessionID: s.ID, Seq: uint32(s.WaitSeq)}}); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.advance(61 * time.Second)
		if jobFirst {
			job()
			if n, err := e.r.Inbox.FireTimers(ctx, 10); err != nil || n != 0 {
				t.Fatalf("job first: FireTimers = %d, %v; want 0", n, err)
			}
		} else {
			if n, err := e.r.Inbox.FireTimers(ctx, 10); err != nil || n != 1 {
				t.Fatalf("loop first: FireTimers = %d, %v; want 1", n, err)
			}
			job()
		}
		e.process(c)
		if got, want := texts(e.conversation(c), "out"), []string{"Hi Ann! Pick one", "Timed out"}; !slices.Equal(got, want) {
			t.Fatalf("job first %v: bot said %q, want %q", jobFirst, got, want)
		}
	}
}

// TestTimerQueuedAlreadyIsNotDoubled: a due timeout whose event is in the
// inbox already (queued by other means) is passed over without failing the
// batch (on PostgreSQL too): the other session's timeout fires, and each
// exit runs once.
func TestTimerQueuedAlreadyIsNotDoubled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	var cs []string
	for range 2 {
		c := e.receive(addr(), "hi").ContactID
		e.process(c)
		cs = append(cs, c)
	}
	s := e.session(cs[0])
	err := e.st.InTx(ctx, func(q store.Queries) error {
		_, err := e.r.Inbox.Queue(ctx, q, domain.ContactEvent{ProjectID: e.project.ID, ContactID: cs[0], Kind: domain.EventTimer,
			DedupeKey: fmt.Sprintf("timer:%s:%d", s.ID, s.WaitSeq), Payload: sprint.Payload{SessionID: s.ID, Seq: uint32(s.WaitSeq)}.Raw()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.advance(61 * time.Second)
	if n, err := e.r.Inbox.FireTimers(ctx, 10); err != nil || n != 2 {
		t.Fatalf("FireTimers = %d, %v; want 2", n, err)
	}
	if n, err := e.r.Inbox.FireTimers(ctx, 10); err != nil || n != 0 {
		t.Fatalf("again: FireTimers = %d, %v; want 0", n, err)
	}
	for _, c := range cs {
		e.process(c)
		if got, want := texts(e.conversation(c), "out"), []string{"Hi Ann! Pick one", "Timed out"}; !slices.Equal(got, want) {
			t.Fatalf("bot said %q, want %q", got, want)
		}
	}
}

// TestDeadProcessTimersTakenOver: a process that took due timeouts and
// expiries into its contacts' inboxes and died before handling them (no
// worker, no heartbeat) holds them for one lease (PARLEY_WORK_LEASE, 10 s
// by default; 1 s here); another process's poller then takes them over
// and the sessions move on — seconds, not River's two-minute rescue.
func TestDeadProcessTimersTakenOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const lease = time.Second
	short := func(d *Deps) { d.Lease, d.PollEvery = lease, 50*time.Millisecond }
	dead := newEnv(t, false, short)
	minute := 60
	dead.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"), func(in *chatflow.CreateInput) { in.ExpireAfterSeconds = &minute })
	var cs []string
	for range 3 {
		c := dead.receive(addr(), "hi").ContactID
		dead.process(c)
		cs = append(cs, c)
	}
	dead.clock.advance(61 * time.Second)
	taken := time.Now()
	// The earliest session's expiry, then every timeout, then the other
	// expiries: both kinds of event wait in the inboxes.
	if n, err := dead.r.Inbox.FireExpiries(ctx, 1); err != nil || n != 1 {
		t.Fatalf("FireExpiries = %d, %v", n, err)
	}
	if n, err := dead.r.Inbox.FireTimers(ctx, 10); err != nil || n != 3 {
		t.Fatalf("FireTimers = %d, %v", n, err)
	}
	// The other sessions' expiries too, so that the live process has
	// nothing due of its own to take.
	if n, err := dead.r.Inbox.FireExpiries(ctx, 10); err != nil || n != 2 {
		t.Fatalf("FireExpiries = %d, %v", n, err)
	}
	// The other process, on the same database.
	live := dead.another(t, short)
	if err := live.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer live.Stop()
	for _, c := range cs {
		dead.eventually("the session moves on", func() bool { return !domain.SessionLive(dead.session(c).Status) })
	}
	took := time.Since(taken)
	t.Logf("a dead process's %d fired timers were handled by another %v after they were taken (lease %v, poll 50ms)", len(cs), took.Round(time.Millisecond), lease)
	if took > lease+3*time.Second {
		t.Fatalf("taken over after %v, want about the lease (%v)", took, lease)
	}
	got := map[string]int{}
	for _, c := range cs {
		got[dead.session(c).Status]++
	}
	// Past its expiry a session expires whatever input comes first.
	if got[domain.SessionExpired] != 3 {
		t.Fatalf("sessions ended %v, want 3 expired", got)
	}
}

// TestRestartedTimerLoopDoesNotRefire: the timer loop's cursor is in
// memory, so a restarted process (here a second runner on the same
// database) reads again the timeouts fired but not handled yet; their
// events are queued already, so nothing is queued twice, and each timeout
// exit runs once.
func TestRestartedTimerLoopDoesNotRefire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	var cs []string
	for range 3 {
		c := e.receive(addr(), "hi").ContactID
		e.process(c)
		cs = append(cs, c)
	}
	e.clock.advance(61 * time.Second)
	if n, err := e.r.Inbox.FireTimers(ctx, 2); err != nil || n != 2 {
		t.Fatalf("FireTimers = %d, %v; want 2", n, err)
	}
	again := e.another(t)
	if n, err := again.Inbox.FireTimers(ctx, 10); err != nil || n != 3 {
		t.Fatalf("the new process's FireTimers = %d, %v; want all 3 read", n, err)
	}
	for _, c := range cs {
		var timers int
		check := func(q store.Queries) error {
			evs, err := q.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: c, Limit: 10})
			for _, ev := range evs {
				if ev.Kind == domain.EventTimer {
					timers++
				}
			}
			return err
		}
		if err := e.st.InTx(ctx, check); err != nil {
			t.Fatal(err)
		}
		if timers != 1 {
			t.Fatalf("contact %s has %d timer events queued, want 1", c, timers)
		}
		e.process(c)
		if got, want := texts(e.conversation(c), "out"), []string{"Hi Ann! Pick one", "Timed out"}; !slices.Equal(got, want) {
			t.Fatalf("bot said %q, want %q", got, want)
		}
	}
}

// another is a second runner (another process) on e's database, flows
// and senders, not started.
func (e *env) another(t *testing.T, opts ...func(*Deps)) *Runner {
	t.Helper()
	d := Deps{Clock: e.clock, IDs: domain.UUIDv7{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Flows: e.flows, Channels: e.senders}
	for _, o := range opts {
		o(&d)
	}
	r, err := New(e.st, d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lateFlow's timeout exit calls a webhook before it ends the session.
const lateFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Pick one","buttons":["Book"],"timeout_seconds":60}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked"}},
 {"id":"call","type":"http_request","position":{"x":400,"y":200},"data":{"url":"http://hooks.example/late"}},
 {"id":"late","type":"end","position":{"x":400,"y":300},"data":{"text":"Timed out"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"other","target":"booked"},
 {"id":"e4","source":"ask","sourceHandle":"timeout","target":"call"},
 {"id":"e5","source":"call","sourceHandle":"success","target":"late"},
 {"id":"e6","source":"call","sourceHandle":"failure","target":"late"}
]}`

// countingHTTP answers every http_request node with 200 and counts them.
type countingHTTP struct {
	mu    sync.Mutex
	calls int
}

func (h *countingHTTP) Do(context.Context, engine.HTTPRequest) (engine.HTTPResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	return engine.HTTPResponse{Status: 200, ContentType: "application/json", Body: []byte(`{}`)}, nil
}

func (h *countingHTTP) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// countingReads is a store that counts the sprints' session reads and the
// inbox passes' reads.
type countingReads struct {
	store.Store
	reads atomic.Int64
	// inboxReads are the inbox passes' reads of a contact's events.
	inboxReads atomic.Int64
}

func (s *countingReads) SessionWithFlow(ctx context.Context, r store.Ref) (store.SessionFlow, error) {
	s.reads.Add(1)
	return s.Store.SessionWithFlow(ctx, r)
}

func (s *countingReads) SessionLiveWithFlow(ctx context.Context, contactID string) (store.SessionFlow, error) {
	s.reads.Add(1)
	return s.Store.SessionLiveWithFlow(ctx, contactID)
}

func (s *countingReads) ContactEventsNextWithContact(ctx context.Context, p store.ContactEventsNextParams) (store.ContactInbox, error) {
	s.inboxReads.Add(1)
	return s.Store.ContactEventsNextWithContact(ctx, p)
}

// TestInboxReadWithMessage: on PostgreSQL the transaction that queues a
// message reads the contact's inbox with it, and the pass its commit asks
// for reads none of its own (SQLite's pass reads it: no round trip to
// save). Two messages queued before the pass each lack the other's event
// as far as their reads know: neither read is used. A read gone stale (the
// event handled meanwhile elsewhere) makes the sprint give way and the
// pass read again, and nothing is said twice.
func TestInboxReadWithMessage(t *testing.T) {
	t.Parallel()
	var st *countingReads
	e := newEnvOn(t, false, func(o store.OpenOptions) store.Store {
		st = &countingReads{Store: testdb.Open(t, o)}
		return st
	})
	want := int64(1)
	if os.Getenv(testdb.EnvVar) != "" {
		want = 0
	}
	e.publish("Late", lateFlow)
	to := addr()
	c := e.receive(to, "hi").ContactID
	pass := func(what string, want int64) {
		t.Helper()
		before := st.inboxReads.Load()
		e.process(c)
		if got := st.inboxReads.Load() - before; got != want {
			t.Errorf("%s: the pass read the inbox %d times, want %d", what, got, want)
		}
	}
	pass("the first message", want)
	e.receive(to, "Book")
	pass("the reply", want)
	e.receive(to, "hi")
	e.receive(to, "Book")
	pass("two messages", 1)
	stale := e.receive(to, "hi")
	if err := st.ContactEventDone(context.Background(), store.ContactEventDoneParams{Seq: stale.Seq, Result: "handled elsewhere", Now: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.process(c)
	if got, want := texts(e.conversation(c), "out"), []string{"Pick one", "Booked", "Pick one", "Booked"}; !slices.Equal(got, want) {
		t.Fatalf("bot said %q, want %q", got, want)
	}
	// An event queued without a read after a message's: the pass must not
	// take the message's read, which does not know the later event.
	e.receive(to, "hi")
	if err := e.st.InTx(context.Background(), func(q store.Queries) error {
		_, err := e.r.Inbox.Queue(context.Background(), q, domain.ContactEvent{ProjectID: e.project.ID, ContactID: c, Kind: domain.EventTimer,
			DedupeKey: "timer:none:1", Payload: sprint.Payload{SessionID: "none", Seq: 1}.Raw()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.process(c)
	if left, err := st.ContactEventsNext(context.Background(), store.ContactEventsNextParams{ContactID: c, Limit: 5}); err != nil || len(left) != 0 {
		t.Fatalf("events left after the pass: %+v, %v", left, err)
	}
}

// TestMessageReadsSessionWithInbox: a message's sprint takes the contact's
// live session (or its having none) from the inbox's read of its events,
// and reads no session of its own: the first message starts the flow, the
// reply resumes the session it left waiting.
func TestMessageReadsSessionWithInbox(t *testing.T) {
	t.Parallel()
	var st *countingReads
	e := newEnvOn(t, false, func(o store.OpenOptions) store.Store {
		st = &countingReads{Store: testdb.Open(t, o)}
		return st
	})
	e.publish("Late", lateFlow)
	to := addr()
	c := e.receive(to, "hi").ContactID
	e.receive(to, "Book") // a second event in the same pass reads its own
	before := st.reads.Load()
	e.process(c)
	if got := st.reads.Load() - before; got != 1 {
		t.Errorf("two messages' sprints read the contact's session %d times, want 1 (the second event's)", got)
	}
	for _, text := range []string{"hi", "Book", "hi"} {
		e.receive(to, text)
		before = st.reads.Load()
		e.process(c)
		if got := st.reads.Load() - before; got != 0 {
			t.Errorf("the sprint of %q read the contact's session %d times, want 0 (read with its inbox)", text, got)
		}
	}
	if got, want := texts(e.conversation(c), "out"), []string{"Pick one", "Booked", "Pick one", "Booked", "Pick one"}; !slices.Equal(got, want) {
		t.Fatalf("bot said %q, want %q", got, want)
	}
}

// TestTimeoutReadAhead: the timer loop reads each due session for the
// sprint of its timer event, which then reads no session of its own; a
// copy that a reply's sprint made stale after it was read is not run (its
// timeout exit's webhook would have been called before the commit found
// the session moved on).
func TestTimeoutReadAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hooks := &countingHTTP{}
	var st *countingReads
	e := newEnvOn(t, false, func(o store.OpenOptions) store.Store {
		st = &countingReads{Store: testdb.Open(t, o)}
		return st
	}, func(d *Deps) { d.HTTP = hooks })
	e.publish("Late", lateFlow)
	timedOut, replied := addr(), addr()
	a := e.receive(timedOut, "hi").ContactID
	b := e.receive(replied, "hi").ContactID
	e.process(a)
	e.process(b)
	e.receive(replied, "Book") // queued before the timeout fires, handled after it is read
	e.clock.advance(61 * time.Second)
	if n, err := e.r.Inbox.FireTimers(ctx, 10); err != nil || n != 2 {
		t.Fatalf("FireTimers = %d, %v; want 2", n, err)
	}
	before := st.reads.Load()
	e.process(a)
	if got := st.reads.Load() - before; got != 0 {
		t.Errorf("the timed-out session's sprint read its session %d times, want 0 (read ahead)", got)
	}
	if got, want := texts(e.conversation(a), "out"), []string{"Pick one", "Timed out"}; !slices.Equal(got, want) {
		t.Fatalf("timed out: bot said %q, want %q", got, want)
	}
	if got := hooks.count(); got != 1 {
		t.Fatalf("timeout webhook called %d times, want 1", got)
	}
	e.process(b)
	if got, want := texts(e.conversation(b), "out"), []string{"Pick one", "Booked"}; !slices.Equal(got, want) {
		t.Fatalf("replied: bot said %q, want %q", got, want)
	}
	if got := hooks.count(); got != 1 {
		t.Fatalf("timeout webhook called %d times, want 1: the stale copy of the replied session ran its timeout", got)
	}
}

// TestFirstTraceInSessionRow: the sprint that creates a session keeps its
// trace in the session's row, not in a trace row of its own; a later
// sprint's trace is a row; the trace lists both, in order.
func TestFirstTraceInSessionRow(t *testing.T) {
	t.Parallel()
	var db *sql.DB
	e := newEnvOn(t, false, func(o store.OpenOptions) store.Store {
		s := testdb.OpenSQLite(t, o)
		db = s.DB()
		return s
	})
	e.publish("Late", lateFlow)
	to := addr()
	c := e.receive(to, "hi").ContactID
	e.process(c)
	count := func() (inRow, rows int) {
		t.Helper()
		if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM flow_sessions WHERE contact_id = ? AND trace IS NOT NULL),
			(SELECT COUNT(*) FROM session_traces t JOIN flow_sessions s ON s.id = t.session_id WHERE s.contact_id = ?)`, c, c).Scan(&inRow, &rows); err != nil {
			t.Fatal(err)
		}
		return inRow, rows
	}
	if inRow, rows := count(); inRow != 1 || rows != 0 {
		t.Fatalf("after the first sprint: %d sessions with their trace in the row, %d trace rows; want 1 and 0", inRow, rows)
	}
	e.receive(to, "Book")
	e.process(c)
	if inRow, rows := count(); inRow != 1 || rows != 1 {
		t.Fatalf("after the reply: %d sessions with their trace in the row, %d trace rows; want 1 and 1", inRow, rows)
	}
	s := e.session(c)
	tr, err := e.st.TraceList(context.Background(), store.Ref{ProjectID: e.project.ID, ID: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range tr {
		kinds = append(kinds, ev.Kind+":"+ev.NodeID)
	}
	if len(tr) < 4 || tr[0].NodeID != "start" || tr[len(tr)-1].Kind != "session_ended" {
		t.Fatalf("trace = %q, want the first sprint's from start, then the reply's to the end", kinds)
	}
}
