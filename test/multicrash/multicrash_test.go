// Package multicrash_test is the kill -9 proof for many processes: three
// `parley serve` processes share one PostgreSQL database behind a load
// balancer (each webhook goes to a random live process) while customers of
// the fake Graph API write; processes are SIGKILLed at random and
// restarted. At the end every acknowledged inbound message must have been
// handled exactly once and got exactly its reply, in order per contact;
// a reply may reach the fake twice only when a kill fell between the fake
// accepting it and a commit (at-least-once send, docs/testing.md), and the
// test prints how many did. It also prints how long the work a dead
// process held waited for another process (takeover).
//
// It needs PostgreSQL (TEST_DATABASE_URL) and skips without it.
// PARLEY_MULTICRASH_KILLS (default 6) and PARLEY_MULTICRASH_CONTACTS
// (default 12, customers writing at once) make longer or heavier runs.
package multicrash_test

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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/test/killharness"
)

const (
	appSecret     = "multicrash-app-secret"
	accessToken   = "multicrash-access-token"
	phoneNumberID = "1000002"
	processes     = 3
	// lease is PARLEY_WORK_LEASE: a dead process's rows wait about this
	// long (plus a poll) for another process. Live processes renew theirs
	// every third of it.
	lease = 4 * time.Second
	// perContact messages per customer keeps each within the pair
	// limit's burst (see test/crash).
	perContact = 8
)

// kill is one SIGKILL and what was pending when it fell.
type kill struct {
	proc     int
	at       time.Time
	down     time.Duration   // until the process was started again
	events   []string        // unhandled inbox events (seq) just after the kill
	messages []string        // queued outbound messages just after the kill
	queued   map[string]bool // the same, as a set
}

func TestThreeProcessesKilledAtRandom(t *testing.T) {
	dbURL := testdb.PostgresURL(t) // skips without TEST_DATABASE_URL
	kills := killharness.EnvInt(t, "PARLEY_MULTICRASH_KILLS", 6)
	slots := killharness.EnvInt(t, "PARLEY_MULTICRASH_CONTACTS", 12)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute+time.Duration(kills)*4*time.Second)
	defer cancel()

	bin := killharness.BuildParley(t)
	built := time.Since(began)
	var procs []*killharness.Proc
	addrs := make([]string, processes)
	for i := range processes {
		addrs[i] = killharness.FreeAddr(t)
		env := append(os.Environ(), "DATABASE_URL="+dbURL, "PARLEY_SECRET_KEY="+strings.Repeat("6f", 32),
			"PARLEY_DATA_DIR="+filepath.Join(t.TempDir(), strconv.Itoa(i)),
			"PARLEY_JOB_POLL_INTERVAL=50ms", "PARLEY_LOG_LEVEL=warn", "PARLEY_SEND_WORKERS=20",
			"PARLEY_WORK_LEASE="+lease.String(), "PARLEY_INBOX_RETENTION=24h", "PARLEY_WORK_POLL_INTERVAL=200ms",
			"PARLEY_HTTP_ALLOW=127.0.0.1")
		procs = append(procs, killharness.NewProc(t, bin, addrs[i], env))
	}
	db := killharness.Database{Driver: "pgx", DSN: dbURL}

	// Meta, whose webhooks reach the processes through a load balancer
	// (each attempt to a random process) and are retried until a 200.
	m := newMeta(addrs)
	fake := sandbox.New(sandbox.Config{AppSecret: appSecret, AccessToken: accessToken, PhoneNumberID: phoneNumberID,
		StatusDelay: 20 * time.Millisecond, HTTPClient: &http.Client{Transport: m}})
	defer fake.Stop()
	g := &killharness.Graph{H: fake.Handler(), MaxDelay: 30 * time.Millisecond}
	graphURL := g.Serve(t)

	procs[0].Start(ctx) // migrates; the others find the schema ready
	for _, p := range procs[1:] {
		p.Start(ctx)
	}
	token := procs[0].Run("token", "create", "--project", "Default", "--name", "multicrash")
	ch := killharness.API(t, procs[0].Base(), token, "POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Multi", "config": map[string]any{
		"phone_number_id": phoneNumberID, "waba_id": "100000000000002", "access_token": accessToken, "app_secret": appSecret,
		"verify_token": "multicrash-verify", "api_base_url": graphURL, "messages_per_second": 1000}}, http.StatusCreated)
	fake.SetWebhookURL("http://parley.lb/webhooks/whatsapp/" + ch["id"].(string))
	killharness.API(t, procs[1].Base(), token, "POST", "/chat-flow/flows/", map[string]any{"name": "Multi", "is_active": true,
		"flow_data": json.RawMessage(killharness.BookFlow)}, http.StatusCreated)

	// The customers: "hi", "Book", "hi"… one message at a time.
	customers := &killharness.Customers{Fake: fake, Slots: slots, PerContact: perContact, Phone: "1556%07d", Tag: "MULTI"}
	customers.Start(ctx)

	// The kills: a random process, at a random moment, down for a random
	// while shorter than its lease (so a restarted process may find its own
	// rows still held: another process or itself takes them over when the
	// lease ends), while the other two go on.
	conn := db.Open(t)
	defer conn.Close()
	var ks []kill
	for range kills {
		select {
		case <-ctx.Done():
			t.Fatalf("ran out of time after %d kills", len(ks))
		case <-time.After(300*time.Millisecond + rand.N(time.Second)):
		}
		i := rand.N(processes)
		k := kill{proc: i, at: time.Now()}
		procs[i].Kill()
		k.events = column(killharness.Query(t, conn, `SELECT seq FROM contact_events WHERE handled_at IS NULL`))
		k.messages = column(killharness.Query(t, conn, `SELECT id FROM messages WHERE direction = 'out' AND status = 'queued'`))
		k.queued = map[string]bool{}
		for _, id := range k.messages {
			k.queued[id] = true
		}
		time.Sleep(rand.N(1500 * time.Millisecond))
		k.down = time.Since(k.at)
		ks = append(ks, k)
		procs[i].Start(ctx)
	}
	killPhase := time.Since(began) - built

	if err := customers.Stop(); err != nil {
		t.Fatalf("the load stopped: %v\n%s", err, tails(procs))
	}
	sent := customers.Sent()
	want := customers.SentCount()
	settled := func() (bool, string) { return killharness.Settled(t, conn, g, want) }
	settleFrom := time.Now()
	for deadline := time.Now().Add(90 * time.Second); ; {
		ok, state := settled()
		if ok {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("nothing moves any more: %s\n%s", state, tails(procs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	settle := time.Since(settleFrom)
	time.Sleep(time.Second) // a late duplicate would show up now

	// Exactly once in the database: each acknowledged inbound message is
	// stored once, handled once, and got exactly its reply, in order.
	ackedIn := map[string]bool{}
	m.Locked(func() {
		for id := range m.acked {
			ackedIn[id] = true
		}
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
	stored := map[string]int{}
	inboundOf := map[string]string{}
	for _, r := range killharness.Query(t, conn, `SELECT id, provider_id FROM messages WHERE direction = 'in'`) {
		stored[r[1]]++
		inboundOf[r[0]] = r[1]
	}
	steps := map[string]int{}
	for _, r := range killharness.Query(t, conn, `SELECT message_id, result FROM contact_events WHERE kind = 'message'`) {
		steps[inboundOf[r[0]]]++
		if !strings.HasPrefix(r[1], "started flow") && r[1] != "resumed session" {
			t.Errorf("inbox event of %s: result %q, want started or resumed", inboundOf[r[0]], r[1])
		}
	}
	for id := range ackedIn {
		if stored[id] != 1 || steps[id] != 1 {
			t.Errorf("acknowledged inbound %s is stored %d times and made %d flow steps, want 1 and 1", id, stored[id], steps[id])
		}
	}
	replies := map[string][]string{}
	outIDs := map[string]bool{}
	for _, r := range killharness.Query(t, conn, `SELECT id, contact_id, content FROM messages WHERE direction = 'out' ORDER BY contact_id, id`) {
		var content struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal([]byte(r[2]), &content)
		replies[phoneOf[r[1]]] = append(replies[phoneOf[r[1]]], content.Text)
		outIDs[r[0]] = true
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

	// At least once at the fake; a second copy only after a kill that fell
	// after the first copy was sent (or just before: it was still in the
	// socket) and found the message still queued; one per such kill.
	copies := map[string][]killharness.Copy{}
	for _, c := range g.Copies() {
		copies[c.OurID] = append(copies[c.OurID], c)
	}
	resends := 0
	for id, cs := range copies {
		if !outIDs[id] {
			t.Errorf("the fake got message %q, which Parley does not have", id)
			continue
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].Arrived.Before(cs[j].Arrived) })
		used := map[int]bool{}
		for i := 1; i < len(cs); i++ {
			resends++
			found := false
			for j, k := range ks {
				if !used[j] && k.queued[id] && k.at.Before(cs[i].Arrived) && k.at.After(cs[i-1].Arrived.Add(-time.Second)) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				t.Errorf("message %s reached the fake %d times; copy %d is not explained by a kill that found it queued", id, len(cs), i+1)
			}
		}
	}
	for id := range outIDs {
		if len(copies[id]) == 0 {
			t.Errorf("reply %s never reached the fake", id)
		}
	}

	// Takeover: how long the work pending at each kill waited. The live
	// processes' part is done at once; the dead one's waits for its lease.
	doneAt := map[string]time.Time{}
	for _, r := range killharness.Query(t, conn, `SELECT 'e' || seq, extract(epoch FROM handled_at) FROM contact_events WHERE handled_at IS NOT NULL`) {
		doneAt[r[0]] = epoch(r[1])
	}
	for _, r := range killharness.Query(t, conn, `SELECT 'm' || id, extract(epoch FROM sent_at) FROM messages WHERE direction = 'out' AND sent_at IS NOT NULL`) {
		doneAt[r[0]] = epoch(r[1])
	}
	var takeovers []time.Duration
	var lines []string
	for n, k := range ks {
		worst := time.Duration(0)
		for _, seq := range k.events {
			worst = max(worst, doneAt["e"+seq].Sub(k.at))
		}
		for _, id := range k.messages {
			worst = max(worst, doneAt["m"+id].Sub(k.at))
		}
		takeovers = append(takeovers, worst)
		lines = append(lines, fmt.Sprintf("  kill %2d: process %d, down %5s, %3d events and %3d sends pending, all done %s after the kill",
			n+1, k.proc, k.down.Round(10*time.Millisecond), len(k.events), len(k.messages), worst.Round(10*time.Millisecond)))
	}
	slices.Sort(takeovers)
	summary := fmt.Sprintf(`multi-process crash test on PostgreSQL: %d processes, %d kills in %s (build %s, settle %s, total %s)
  lease %s (renewed every %s by live processes), poll 200ms
  customers: %d; inbound messages acknowledged: %d (%d webhook POSTs, %d without a 200, retried)
  replies: %d stored, each exactly once and in order; %d copies at the fake, %d resends (at-least-once, each after a kill)
  takeover (pending work done after a kill): p50 %s, max %s
%s`,
		processes, len(ks), killPhase.Round(time.Millisecond), built.Round(time.Millisecond), settle.Round(time.Millisecond), time.Since(began).Round(time.Millisecond),
		lease, lease/3, len(sent), len(ackedIn), attempts, failures,
		len(outIDs), len(g.Copies()), resends,
		takeovers[len(takeovers)/2].Round(10*time.Millisecond), takeovers[len(takeovers)-1].Round(10*time.Millisecond),
		strings.Join(lines, "\n"))
	t.Log(summary)
	fmt.Println(summary)
}

func column(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[0]
	}
	return out
}

func epoch(s string) time.Time {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, int64(f*1e9))
}

func tails(procs []*killharness.Proc) string {
	var b strings.Builder
	for i, p := range procs {
		fmt.Fprintf(&b, "--- process %d:\n%s\n", i, p.LogTail())
	}
	return b.String()
}

// ---------------------------------------------------------------------
// Meta's side: every webhook attempt goes to a random process (a load
// balancer in front of them), and is retried until it gets a 200.

type meta struct {
	*killharness.Redeliverer
	acked map[string]int // inbound wamid → 200s received; under Locked
}

func newMeta(addrs []string) *meta {
	m := &meta{Redeliverer: killharness.NewRedeliverer(), acked: map[string]int{}}
	m.Route = func() string { return addrs[rand.N(len(addrs))] }
	m.Acked = func(h killharness.Webhook) {
		for _, id := range h.WAMIDs {
			m.acked[id]++
		}
	}
	return m
}

// ---------------------------------------------------------------------
// The Graph API: the sandbox behind a recorder that holds each answer back
// a little, widening the window between the fake accepting a message and
// Parley committing it was sent.
