// Package crash_test is the kill -9 proof: `parley serve` runs as a
// subprocess against the fake Graph API while signed webhooks pour in, is
// SIGKILLed at random moments and restarted on the same database, and at
// the end every acknowledged webhook must have been processed exactly once
// and every reply must have reached the fake, with duplicates only where a
// kill fell between the fake accepting a send and Parley's commit.
//
// PARLEY_CRASH_KILLS (default 50) makes longer runs and
// PARLEY_CRASH_CONTACTS (default 12, customers writing at once) more load;
// TEST_DATABASE_URL runs it on PostgreSQL.
package crash_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/test/killharness"
)

const (
	appSecret     = "crash-app-secret"
	accessToken   = "crash-access-token"
	phoneNumberID = "1000001"
	// sendWorkers is how many sends one process runs at once
	// (PARLEY_SEND_WORKERS, set below): a kill can catch at most that many
	// between the fake's answer and the commit.
	sendWorkers = 20
)

// kill is one SIGKILL and what it hit.
type kill struct {
	at        time.Time
	restarted time.Time // when the next process was started
	inbound   int       // inbound webhooks in flight
	status    int       // status webhooks in flight
	sends     int       // sends in flight at the fake
	pending   int       // acknowledged inbound messages whose reply had not reached the fake
	window    map[string]bool
	orphans   map[string]int // jobs left "running" by the dead process, by kind
}

func TestKillNine(t *testing.T) {
	kills := killharness.EnvInt(t, "PARLEY_CRASH_KILLS", 50)
	slots := killharness.EnvInt(t, "PARLEY_CRASH_CONTACTS", 12)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+time.Duration(kills)*3*time.Second)
	defer cancel()

	bin := killharness.BuildParley(t)
	built := time.Since(began)
	dataDir := filepath.Join(t.TempDir(), "data")
	env := append(os.Environ(), "PARLEY_DATA_DIR="+dataDir, "PARLEY_SECRET_KEY="+strings.Repeat("5e", 32),
		"PARLEY_JOB_POLL_INTERVAL=50ms", "PARLEY_LOG_LEVEL=warn", fmt.Sprintf("PARLEY_SEND_WORKERS=%d", sendWorkers),
		// A dead process's inbox events and sends are taken over when its
		// lease ends (SQLite frees them at start anyway).
		"PARLEY_WORK_LEASE=3s", "PARLEY_WORK_POLL_INTERVAL=200ms",
		// Handled inbox events are kept so the check below can count them.
		"PARLEY_INBOX_RETENTION=24h",
		// The fake Graph API listens on loopback, which channels may not
		// reach unless the operator allows it.
		"PARLEY_HTTP_ALLOW=127.0.0.1")
	db := killharness.Database{Driver: "sqlite", DSN: "file:" + filepath.Join(dataDir, "parley.db") + "?_pragma=busy_timeout(10000)"}
	if os.Getenv(testdb.EnvVar) != "" {
		u := testdb.PostgresURL(t)
		env = append(env, "DATABASE_URL="+u)
		db = killharness.Database{Driver: "pgx", DSN: u}
	}
	// On SQLite the server itself releases the timer jobs a dead process
	// left running, at start; on PostgreSQL River rescues them after two
	// minutes (other processes may still be working), which the harness
	// shortens. Inbox events and sends are not jobs: their lease above
	// covers both databases.
	strict := os.Getenv("PARLEY_CRASH_STRICT") != "" || db.Driver == "sqlite"

	srv := killharness.NewProc(t, bin, killharness.FreeAddr(t), env)

	// Meta: the fake Graph API, whose webhooks (and ours, as the
	// customers) are retried until they get a 200.
	m := newMeta()
	fake := sandbox.New(sandbox.Config{AppSecret: appSecret, AccessToken: accessToken, PhoneNumberID: phoneNumberID,
		StatusDelay: 20 * time.Millisecond, HTTPClient: &http.Client{Transport: m}})
	defer fake.Stop() // before the graph server shuts down (cleanups run later)
	g := &killharness.Graph{H: fake.Handler(), MaxDelay: 30 * time.Millisecond}
	graphURL := g.Serve(t)

	srv.Start(ctx)
	token := srv.Run("token", "create", "--project", "Default", "--name", "crash")
	ch := killharness.API(t, srv.Base(), token, "POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Crash", "config": map[string]any{
		"phone_number_id": phoneNumberID, "waba_id": "100000000000001", "access_token": accessToken, "app_secret": appSecret,
		"verify_token": "crash-verify", "api_base_url": graphURL, "messages_per_second": 1000}}, http.StatusCreated)
	fake.SetWebhookURL(srv.Base() + "/webhooks/whatsapp/" + ch["id"].(string))
	killharness.API(t, srv.Base(), token, "POST", "/chat-flow/flows/", map[string]any{"name": "Crash", "is_active": true,
		"flow_data": json.RawMessage(killharness.BookFlow)}, http.StatusCreated)

	// The customers: each sends "hi", then taps "Book", then "hi"… one
	// message at a time (the next once the previous was acknowledged), at
	// most perContact messages, then the next customer takes the slot.
	// (Parley paces replies to one person like Meta's pair limit — a burst
	// of 10, then one per 6 s — so each customer stays within the burst.)
	const perContact = 8
	customers := &killharness.Customers{Fake: fake, Slots: slots, PerContact: perContact, Phone: "1555%07d", Tag: "CRASH"}
	customers.Start(ctx)
	acked := func() (n int) {
		m.Locked(func() { n = len(m.acked) })
		return n
	}

	// The kills: at random moments, including right after a start (while
	// the new process picks up the dead one's work).
	var ks []kill
	for k := range kills {
		up := rand.N(400 * time.Millisecond)
		if k%2 == 1 {
			up = 400*time.Millisecond + rand.N(1200*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("ran out of time after %d kills", k)
		case <-time.After(up):
		}
		in, st := m.snapshot()
		kl := kill{at: time.Now(), inbound: in, status: st, sends: g.InFlight(), pending: acked() - len(g.Accepted())}
		srv.Kill()
		// A request the dead process had written may still be in the
		// fake's socket buffer; give it a moment to be read before
		// waiting for the sends under way to finish.
		time.Sleep(50 * time.Millisecond)
		for deadline := time.Now().Add(2 * time.Second); g.InFlight() > 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		kl.window, kl.orphans = afterKill(t, db, g.Accepted(), strict)
		kl.restarted = time.Now()
		ks = append(ks, kl)
		srv.Start(ctx)
	}
	killPhase := time.Since(began) - built

	// Quiet: the customers finish the message they are on, then everything
	// must settle.
	if err := customers.Stop(); err != nil {
		t.Fatalf("the load stopped: %v\n%s", err, srv.LogTail())
	}
	sent := customers.Sent()
	want := customers.SentCount()
	conn := db.Open(t)
	defer conn.Close()
	settled := func() (bool, string) { return killharness.Settled(t, conn, g, want) }
	for deadline := time.Now().Add(90 * time.Second); ; {
		ok, state := settled()
		if ok {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Errorf("nothing moves any more: %s", state)
			for _, r := range killharness.Query(t, conn, `SELECT kind, state, attempt, coalesce(errors, '') FROM river_job WHERE state NOT IN ('completed', 'discarded', 'cancelled')`) {
				if r[0] != "housekeeping" {
					t.Logf("open job: %v", r)
				}
			}
			t.Fatalf("log tail:\n%s", srv.LogTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // a late duplicate would show up now

	// Exactly once: each acknowledged inbound message is stored once, is
	// handled once as an inbox event, and got exactly one reply, in order.
	ackedIn := map[string]bool{}
	var ackedStates map[string]map[string]int
	var hooks [3]int
	m.Locked(func() {
		for id := range m.acked {
			ackedIn[id] = true
		}
		ackedStates, hooks = m.ackedStates, m.ackedHooks
	})
	attempts, failures, refused := m.Stats()
	if len(refused) > 0 {
		t.Errorf("%d valid webhooks were refused with a 4xx, e.g. %s", len(refused), refused[0])
	}
	if len(ackedIn) != want {
		t.Errorf("%d inbound messages acknowledged, but the customers sent %d", len(ackedIn), want)
	}
	phoneOf := map[string]string{}
	for _, r := range killharness.Query(t, conn, `SELECT contact_id, path FROM contact_urns WHERE scheme = 'whatsapp'`) {
		phoneOf[r[0]] = r[1]
	}
	if len(phoneOf) != len(sent) {
		t.Errorf("%d contacts stored, want %d", len(phoneOf), len(sent))
	}
	inRows := killharness.Query(t, conn, `SELECT id, provider_id, contact_id FROM messages WHERE direction = 'in'`)
	stored := map[string]int{}
	inboundOf := map[string]string{} // message ID → wamid
	for _, r := range inRows {
		stored[r[1]]++
		inboundOf[r[0]] = r[1]
		if !ackedIn[r[1]] {
			t.Errorf("inbound %s is stored but was never acknowledged", r[1])
		}
	}
	for id := range ackedIn {
		if stored[id] != 1 {
			t.Errorf("acknowledged inbound %s is stored %d times, want once", id, stored[id])
		}
	}
	steps := map[string]int{}
	for _, r := range killharness.Query(t, conn, `SELECT message_id, CASE WHEN handled_at IS NULL THEN 0 ELSE 1 END, result FROM contact_events WHERE kind = 'message'`) {
		steps[inboundOf[r[0]]]++
		if r[1] != "1" || !(strings.HasPrefix(r[2], "started flow") || r[2] == "resumed session") {
			t.Errorf("inbox event of %s: handled=%s result=%q, want handled, started or resumed", inboundOf[r[0]], r[1], r[2])
		}
	}
	for id := range ackedIn {
		if steps[id] != 1 {
			t.Errorf("acknowledged inbound %s made %d flow steps, want 1", id, steps[id])
		}
	}
	replies := map[string][]string{} // phone → reply texts, in order
	outStatus := map[string]string{}
	for _, r := range killharness.Query(t, conn, `SELECT id, contact_id, content, status FROM messages WHERE direction = 'out' ORDER BY contact_id, id`) {
		var content struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal([]byte(r[2]), &content)
		replies[phoneOf[r[1]]] = append(replies[phoneOf[r[1]]], content.Text)
		outStatus[r[0]] = r[3]
	}
	for phone, ids := range sent {
		var want []string
		for i := range ids {
			want = append(want, map[bool]string{true: "Pick one", false: "Booked"}[i%2 == 0])
		}
		if !slices.Equal(replies[phone], want) {
			t.Errorf("contact %s sent %d messages and got replies %q, want %q", phone, len(ids), replies[phone], want)
		}
	}

	// Statuses: every acknowledged status is reflected (monotonically: the
	// final one is the highest acknowledged).
	rank := map[string]int{"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}
	for id, states := range ackedStates {
		top := ""
		for s := range states {
			if rank[s] > rank[top] {
				top = s
			}
		}
		if got, ok := outStatus[id]; !ok {
			t.Errorf("an acknowledged status names message %s, which is not stored", id)
		} else if rank[got] < rank[top] {
			t.Errorf("message %s is %s, but a %s status was acknowledged", id, got, top)
		}
	}

	// At least once at the fake, and any second copy only after a kill
	// that fell between the fake accepting the first and our commit.
	copies := map[string][]killharness.Copy{}
	for _, c := range g.Copies() {
		copies[c.OurID] = append(copies[c.OurID], c)
	}
	for id := range outStatus {
		if len(copies[id]) == 0 {
			t.Errorf("reply %s never reached the fake", id)
		}
	}
	dupPerKill := make([]int, len(ks))
	var dupLines []string
	extra := 0
	for id, cs := range copies {
		if _, ok := outStatus[id]; !ok {
			t.Errorf("the fake got message %q, which Parley does not have", id)
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].Arrived.Before(cs[j].Arrived) })
		used := map[int]bool{}
		for i := 1; i < len(cs); i++ {
			extra++
			k := -1
			for j := range ks {
				if !ks[j].restarted.After(cs[i].Arrived) {
					k = j
				}
			}
			switch {
			case k < 0:
				t.Errorf("message %s was sent twice without any kill", id)
			case !ks[k].window[id]:
				t.Errorf("message %s was sent again after kill %d, but it was not in that kill's window (accepted by the fake, not committed)", id, k+1)
			case used[k]:
				t.Errorf("message %s was sent more than once again after kill %d", id, k+1)
			default:
				used[k] = true
				dupPerKill[k]++
				dupLines = append(dupLines, fmt.Sprintf("  %s: copy %d, %s after the fake accepted copy %d, re-sent after kill %d",
					id, i+1, cs[i].Arrived.Sub(cs[i-1].Accepted).Round(time.Millisecond), i, k+1))
			}
		}
	}

	// The summary.
	var hit struct{ receive, sprint, send, status int }
	orphans := map[string]int{}
	windowTotal := 0
	for i, k := range ks {
		if k.inbound > 0 {
			hit.receive++
		}
		if k.pending > 0 {
			hit.sprint++
		}
		if k.sends > 0 {
			hit.send++
		}
		if k.status > 0 {
			hit.status++
		}
		for kind, n := range k.orphans {
			orphans[kind] += n
		}
		windowTotal += len(k.window)
		if dupPerKill[i] > len(k.window) {
			t.Errorf("kill %d: %d duplicates but only %d messages were in its window", i+1, dupPerKill[i], len(k.window))
		}
		if len(k.window) > sendWorkers {
			t.Errorf("kill %d: %d messages accepted and not committed, more than the %d sends that can be under way", i+1, len(k.window), sendWorkers)
		}
	}
	sort.Strings(dupLines)
	dbName := "SQLite"
	if db.Driver == "pgx" {
		dbName = "PostgreSQL"
	}
	orphanNote := "requeued by the harness (River would rescue them after 2 min; see docs/testing.md)"
	if strict {
		orphanNote = "released by the server at start (SQLite) or left to River (PARLEY_CRASH_STRICT)"
	}
	summary := fmt.Sprintf(`crash test on %s: %d kills in %s (build %s, total %s)
  kills that hit: receive %d, sprint/queue %d, send %d, status %d
  customers: %d
  webhooks acknowledged: %d inbound messages, %d status webhooks (%d POSTs, %d without a 200, retried)
  inbound messages stored: %d (each once, each one flow step)
  replies: %d stored, %d copies at the fake, %d duplicates (messages in a kill's window: %d in all)
  jobs left running by killed processes: %v, %s`,
		dbName, len(ks), killPhase.Round(time.Millisecond), built.Round(time.Millisecond), time.Since(began).Round(time.Millisecond),
		hit.receive, hit.sprint, hit.send, hit.status,
		len(sent), hooks[killharness.KindInbound], hooks[killharness.KindStatus], attempts, failures,
		len(inRows), len(outStatus), len(g.Copies()), extra, windowTotal,
		orphans, orphanNote)
	if len(dupLines) > 0 {
		summary += "\n  duplicates:\n" + strings.Join(dupLines, "\n")
	}
	t.Log(summary)
	fmt.Println(summary)
}

// afterKill runs while no process is up: it records which messages the
// fake had accepted but Parley had not committed as sent (the window), and
// counts the jobs the dead process left "running". On PostgreSQL River
// rescues those only after RescueStuckJobsAfter (2 min), so unless strict
// the harness makes them available again, as a rescuer for a dead process
// would; on SQLite the server does it at start.
func afterKill(t *testing.T, d killharness.Database, accepted map[string]bool, strict bool) (map[string]bool, map[string]int) {
	t.Helper()
	db := d.Open(t)
	defer db.Close()
	window := map[string]bool{}
	for _, r := range killharness.Query(t, db, `SELECT id FROM messages WHERE direction = 'out' AND status = 'queued'`) {
		if accepted[r[0]] {
			window[r[0]] = true
		}
	}
	orphans := map[string]int{}
	for _, r := range killharness.Query(t, db, `SELECT kind FROM river_job WHERE state = 'running'`) {
		orphans[r[0]]++
	}
	if !strict && len(orphans) > 0 {
		killharness.Exec(t, db, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	}
	return window, orphans
}
