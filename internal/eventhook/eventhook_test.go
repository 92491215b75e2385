package eventhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/eventhook/verifyexample"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

var t0 = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

// clock is the injected clock: tests move it.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

type ids struct{ n atomic.Int64 }

func (i *ids) NewID() string {
	return time.Unix(0, i.n.Add(1)).UTC().Format("20060102T150405.000000000")
}

type env struct {
	t       *testing.T
	st      store.Store
	svc     *eventhook.Service
	clock   *clock
	project string
}

// newEnv is a store with a project and the service; allowLoopback lets the
// guarded client reach httptest servers (PARLEY_HTTP_ALLOW in production).
func newEnv(t *testing.T, now time.Time, allowLoopback bool) *env {
	t.Helper()
	st := testdb.Open(t, store.OpenOptions{})
	if _, err := st.ProjectCreate(context.Background(), store.ProjectCreateParams{ID: "p1", Name: "One", Now: now}); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	var opts []httpclient.Option
	if allowLoopback {
		opts = append(opts, httpclient.WithAllow(netip.MustParsePrefix("127.0.0.0/8")))
	}
	c := newClock(now)
	svc := eventhook.New(eventhook.Deps{Store: st, Box: box, HTTP: httpclient.New(opts...), Clock: c, IDs: &ids{}, Workers: 2})
	return &env{t: t, st: st, svc: svc, clock: c, project: "p1"}
}

func (e *env) subscribe(url string, events ...string) (store.WebhookSubscription, string) {
	e.t.Helper()
	sub, sec, err := e.svc.Create(context.Background(), e.project, eventhook.SubscriptionInput{URL: url, Events: events})
	if err != nil {
		e.t.Fatal(err)
	}
	return sub, sec
}

// emit records events the way the runner does: in a transaction.
func (e *env) emit(evs ...eventhook.Event) {
	e.t.Helper()
	if err := e.st.InTx(context.Background(), func(q store.Queries) error { return e.svc.Recorder().Record(context.Background(), q, evs...) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) runDue() int {
	e.t.Helper()
	n, err := e.svc.RunDue(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) deliveries(sub string) []store.WebhookDelivery {
	e.t.Helper()
	l, err := e.svc.Deliveries(context.Background(), store.WebhookDeliveryListParams{ProjectID: e.project, SubscriptionID: sub})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"e1","type":"message.received"}`)
	at := time.Unix(1764925200, 0)
	good := eventhook.Sign("whsec_abc", at, body)
	if !strings.HasPrefix(good, "t=1764925200,v1=") || len(good) != len("t=1764925200,v1=")+64 {
		t.Fatalf("header = %q", good)
	}
	tests := []struct {
		name   string
		header string
		secret string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", good, "whsec_abc", body, at.Add(time.Minute), nil},
		{"valid with a second signature", good + ",v1=00", "whsec_abc", body, at, nil},
		{"body changed", good, "whsec_abc", []byte(`{"id":"e2","type":"message.received"}`), at, eventhook.ErrSignature},
		{"other secret", good, "whsec_abd", body, at, eventhook.ErrSignature},
		{"timestamp changed", strings.Replace(good, "t=1764925200", "t=1764925800", 1), "whsec_abc", body, at.Add(10 * time.Minute), eventhook.ErrSignature},
		{"replayed after the window", good, "whsec_abc", body, at.Add(eventhook.DefaultTolerance + time.Second), eventhook.ErrStale},
		{"from the future", good, "whsec_abc", body, at.Add(-eventhook.DefaultTolerance - time.Second), eventhook.ErrStale},
		{"no timestamp", "v1=abcd", "whsec_abc", body, at, eventhook.ErrBadHeader},
		{"no signature", "t=1764925200", "whsec_abc", body, at, eventhook.ErrBadHeader},
		{"garbage", "nonsense", "whsec_abc", body, at, eventhook.ErrBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := eventhook.Verify(tc.header, tc.secret, tc.body, tc.now, eventhook.DefaultTolerance)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {7, 32 * time.Minute}, {8, time.Hour}, {30, time.Hour}} {
		if got := eventhook.Backoff(tc.n); got != tc.want {
			t.Errorf("Backoff(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

// TestDeliveryVerifiedByTheDocsReceiver delivers a real event over HTTP to
// the receiver docs/webhooks.md shows (verifyexample, compiled), which must
// accept it, and checks the page shows that very code.
func TestDeliveryVerifiedByTheDocsReceiver(t *testing.T) {
	t.Parallel()
	var secretKey atomic.Value
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := verifyexample.VerifyParley(r, secretKey.Load().(string))
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		p["event_header"] = r.Header.Get("Parley-Event")
		got <- p
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	// The docs receiver checks the age against the real time.
	e := newEnv(t, time.Now().UTC(), true)
	sub, sec := e.subscribe(srv.URL+"/hook", eventhook.MessageReceived)
	secretKey.Store(sec)
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.MessageReceived, Data: map[string]any{"text": "hello"}})
	if n := e.runDue(); n != 1 {
		t.Fatalf("tried %d deliveries, want 1", n)
	}
	p := <-got
	if p["type"] != "message.received" || p["event_header"] != "message.received" || p["contact_id"] != "c1" || p["data"].(map[string]any)["text"] != "hello" {
		t.Fatalf("received %v", p)
	}
	d := e.deliveries(sub.ID)
	if len(d) != 1 || d[0].State != store.DeliveryDelivered || d[0].Attempts != 1 || d[0].LastStatus != 200 {
		t.Fatalf("delivery = %+v", d)
	}
	_, attempts, err := e.svc.Delivery(context.Background(), store.Ref{ProjectID: "p1", ID: d[0].ID})
	if err != nil || len(attempts) != 1 || attempts[0].ResponseExcerpt != `{"ok":true}` || !strings.HasPrefix(attempts[0].Signature, "t=") {
		t.Fatalf("attempts = %+v, %v", attempts, err)
	}
	// A wrong secret is refused by the same receiver.
	secretKey.Store("whsec_wrong")
	if _, err := e.svc.Redeliver(context.Background(), store.Ref{ProjectID: "p1", ID: d[0].ID}); err != nil {
		t.Fatal(err)
	}
	_, attempts, _ = e.svc.Delivery(context.Background(), store.Ref{ProjectID: "p1", ID: d[0].ID})
	if len(attempts) != 2 || attempts[1].StatusCode != 401 || !attempts[1].Manual || !strings.Contains(attempts[1].ResponseExcerpt, "signature mismatch") {
		t.Fatalf("manual attempt with the wrong secret = %+v", attempts)
	}

	src, err := os.ReadFile("verifyexample/verify.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	code = code[strings.Index(code, "// --- docs/webhooks.md: Go ---")+len("// --- docs/webhooks.md: Go ---\n\n") : strings.Index(code, "// --- end ---")]
	code = strings.TrimSpace(code)
	if !strings.Contains(string(doc), code) {
		t.Fatalf("docs/webhooks.md does not show verifyexample's VerifyParley as it is:\n%s", code)
	}
}

// TestRetryBackoffAndGiveUp: a failing endpoint is retried at the back-off's
// times (not before), and given up once the next try would be past 24 h.
func TestRetryBackoffAndGiveUp(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	e := newEnv(t, t0, true)
	sub, _ := e.subscribe(srv.URL, "*")
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.SessionStarted, Data: map[string]any{}})

	e.runDue()
	d := e.deliveries(sub.ID)[0]
	if d.State != store.DeliveryPending || d.Attempts != 1 || d.LastStatus != 503 || !d.NextAttemptAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after the first failure: %+v", d)
	}
	e.clock.Add(29 * time.Second)
	if n := e.runDue(); n != 0 {
		t.Fatalf("retried %d before the back-off elapsed", n)
	}
	e.clock.Add(time.Second)
	if n := e.runDue(); n != 1 {
		t.Fatalf("not retried when due (%d)", n)
	}
	d = e.deliveries(sub.ID)[0]
	if d.Attempts != 2 || !d.NextAttemptAt.Equal(t0.Add(30*time.Second+time.Minute)) {
		t.Fatalf("after the second failure: %+v (next %s)", d, d.NextAttemptAt.Sub(t0))
	}
	// Keep retrying whenever due, until it gives up.
	for i := 0; i < 100 && d.State == store.DeliveryPending; i++ {
		e.clock.ns.Store(d.NextAttemptAt.UnixNano())
		e.runDue()
		d = e.deliveries(sub.ID)[0]
	}
	if d.State != store.DeliveryFailed {
		t.Fatalf("never gave up: %+v", d)
	}
	last := e.clock.Now().Sub(t0)
	if last > eventhook.RetryFor || last < eventhook.RetryFor-eventhook.MaxRetryWait {
		t.Fatalf("last attempt %s after the event, want within the last hour of 24 h", last)
	}
	if int64(d.Attempts) != calls.Load() || d.Attempts < 25 || d.Attempts > 40 {
		t.Fatalf("%d attempts recorded, %d requests made", d.Attempts, calls.Load())
	}
	_, attempts, _ := e.svc.Delivery(context.Background(), store.Ref{ProjectID: "p1", ID: d.ID})
	if len(attempts) != d.Attempts || attempts[0].ResponseExcerpt != "down for maintenance\n" || attempts[0].Error != "answered 503" {
		t.Fatalf("attempt log: %d entries, first %+v", len(attempts), attempts[0])
	}
}

// TestOrderPerContact: a contact's next event waits for the previous one,
// through its retries; other contacts' events do not wait.
func TestOrderPerContact(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	failFirst := map[string]bool{"alice-1": true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Data struct{ N string } `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, p.Data.N)
		if failFirst[p.Data.N] {
			delete(failFirst, p.Data.N)
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	e := newEnv(t, t0, true)
	sub, _ := e.subscribe(srv.URL, eventhook.MessageReceived)
	for _, ev := range []struct{ contact, n string }{{"alice", "alice-1"}, {"alice", "alice-2"}, {"bob", "bob-1"}, {"alice", "alice-3"}, {"bob", "bob-2"}} {
		e.emit(eventhook.Event{ProjectID: "p1", ContactID: ev.contact, Type: eventhook.MessageReceived, Data: map[string]string{"n": ev.n}})
	}
	for range 5 {
		e.runDue()
	}
	mu.Lock()
	if strings.Join(seen, " ") != "alice-1 bob-1 bob-2" && strings.Join(seen, " ") != "bob-1 alice-1 bob-2" {
		t.Fatalf("first round delivered %v: alice's later events must wait for her first, bob's must not", seen)
	}
	mu.Unlock()
	e.clock.Add(eventhook.FirstRetry)
	for range 5 {
		e.runDue()
	}
	mu.Lock()
	defer mu.Unlock()
	var alice []string
	for _, s := range seen {
		if strings.HasPrefix(s, "alice") {
			alice = append(alice, s)
		}
	}
	if strings.Join(alice, " ") != "alice-1 alice-1 alice-2 alice-3" {
		t.Fatalf("alice's deliveries in order %v", alice)
	}
	for _, d := range e.deliveries(sub.ID) {
		if d.State != store.DeliveryDelivered {
			t.Fatalf("not delivered: %+v", d)
		}
	}
}

// TestSSRFRefused: without PARLEY_HTTP_ALLOW a subscription to an internal
// address is never called; the attempt says why.
func TestSSRFRefused(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	e := newEnv(t, t0, false)
	for _, url := range []string{srv.URL, "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/"} {
		sub, _ := e.subscribe(url, "*")
		e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c-" + url, Type: eventhook.HandoffRequested, Data: map[string]any{}})
		e.runDue()
		d := e.deliveries(sub.ID)
		if len(d) == 0 {
			t.Fatalf("%s: no delivery", url)
		}
		last := d[0]
		if last.State != store.DeliveryPending || !strings.Contains(last.LastError, "not allowed") {
			t.Fatalf("%s: delivery %+v, want refused by the guard", url, last)
		}
		if err := e.svc.Delete(context.Background(), store.Ref{ProjectID: "p1", ID: sub.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("the internal server was called %d times", calls.Load())
	}
}

// TestNothingRecordedWithoutSubscribers and for inactive or other
// subscriptions; and a redelivery unblocks a contact's queue.
func TestSubscriptionsAndRedeliver(t *testing.T) {
	t.Parallel()
	var ok atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok.Load() {
			w.WriteHeader(502)
		}
	}))
	defer srv.Close()
	e := newEnv(t, t0, true)
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.MessageReceived, Data: map[string]any{}})
	if l, _ := e.svc.Deliveries(context.Background(), store.WebhookDeliveryListParams{ProjectID: "p1"}); len(l.Items) != 0 {
		t.Fatalf("recorded without subscribers: %+v", l.Items)
	}
	for _, bad := range []eventhook.SubscriptionInput{
		{URL: "ftp://example.com", Events: []string{"*"}},
		{URL: "https://example.com", Events: nil},
		{URL: "https://example.com", Events: []string{"message.sent"}},
		{URL: "https://example.com", Events: []string{"*", "message.received"}},
	} {
		_, _, err := e.svc.Create(context.Background(), "p1", bad)
		if domain.CodeOf(err) != domain.CodeInvalid {
			t.Errorf("Create(%+v) = %v, want invalid", bad, err)
		}
	}
	sub, sec := e.subscribe(srv.URL, eventhook.MessageReceived)
	if !strings.HasPrefix(sec, "whsec_") || strings.Contains(sub.SecretSealed, sec) {
		t.Fatalf("secret %q sealed as %q", sec, sub.SecretSealed)
	}
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.SessionEnded, Data: map[string]any{}}) // not asked for
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.MessageReceived, Data: map[string]any{"n": 1}})
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.MessageReceived, Data: map[string]any{"n": 2}})
	e.runDue()
	d := e.deliveries(sub.ID) // newest first
	if len(d) != 2 || d[1].Attempts != 1 || d[0].Attempts != 0 {
		t.Fatalf("deliveries = %+v", d)
	}
	ok.Store(true)
	a, err := e.svc.Redeliver(context.Background(), store.Ref{ProjectID: "p1", ID: d[1].ID})
	if err != nil || a.StatusCode != 200 || !a.Manual {
		t.Fatalf("redeliver = %+v, %v", a, err)
	}
	e.runDue() // the second is free now, without waiting for the first's back-off
	for _, x := range e.deliveries(sub.ID) {
		if x.State != store.DeliveryDelivered {
			t.Fatalf("after the redelivery: %+v", x)
		}
	}
	// Rotating the secret; deactivating stops new deliveries.
	_, sec2, err := e.svc.RotateSecret(context.Background(), store.Ref{ProjectID: "p1", ID: sub.ID})
	if err != nil || sec2 == sec {
		t.Fatalf("rotate = %q, %v", sec2, err)
	}
	off := false
	if _, err := e.svc.Update(context.Background(), store.Ref{ProjectID: "p1", ID: sub.ID}, eventhook.SubscriptionInput{URL: srv.URL, Events: []string{"*"}, Active: &off}); err != nil {
		t.Fatal(err)
	}
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.MessageReceived, Data: map[string]any{}})
	if n := len(e.deliveries(sub.ID)); n != 2 {
		t.Fatalf("an inactive subscription got a delivery (%d)", n)
	}
}

// TestWorkerStartStop: the worker delivers on its own once woken by a
// commit, and Stop returns.
func TestWorkerStartStop(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- struct{}{} }))
	defer srv.Close()
	e := newEnv(t, t0, true)
	e.subscribe(srv.URL, "*")
	if err := e.svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.emit(eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.FormCompleted, Data: map[string]any{}})
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not deliver")
	}
	e.svc.Stop()
}

// TestSubscriptionsSeenByTheRecorder: the recorder remembers a project's
// subscriptions for a second (events nobody wants cost no read each), yet a
// change made through the service applies to the next event, and one made
// by another process (straight in the store here) within the second. Fill
// runs only for a wanted event.
func TestSubscriptionsSeenByTheRecorder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), false)
	ctx := context.Background()
	fills := 0
	status := func() eventhook.Event {
		return eventhook.Event{ProjectID: e.project, Type: eventhook.MessageStatus, Fill: func(ev *eventhook.Event) error {
			fills++
			ev.ContactID, ev.Data = "c1", map[string]any{"status": "read"}
			return nil
		}}
	}
	count := func() int {
		l, err := e.svc.Deliveries(ctx, store.WebhookDeliveryListParams{ProjectID: e.project})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}

	e.emit(status()) // nobody subscribed: remembered as such
	if fills != 0 || count() != 0 {
		t.Fatalf("fills %d, deliveries %d with no subscription", fills, count())
	}
	sub, _ := e.subscribe("https://example.com/hook", eventhook.MessageStatus)
	e.emit(status()) // the service's change applies at once, clock unmoved
	if fills != 1 || count() != 1 {
		t.Fatalf("after subscribing: fills %d, deliveries %d", fills, count())
	}
	d := e.deliveries(sub.ID)[0]
	if d.OrderKey != "c1" || !strings.Contains(string(d.Payload), `"contact_id":"c1"`) {
		t.Fatalf("Fill's contact is not the order key or payload's: %+v %s", d, d.Payload)
	}

	// Another process deactivates it: seen once the second has passed.
	sub.Active = false
	if _, err := e.st.WebhookSubscriptionUpdate(ctx, sub); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	e.emit(status())
	if fills != 1 || count() != 1 {
		t.Fatalf("a deactivated subscription still got events after a second: fills %d, deliveries %d", fills, count())
	}
	// And one it creates is seen within the second too.
	other := sub
	other.ID, other.Active = "other-process", true
	if _, err := e.st.WebhookSubscriptionCreate(ctx, other); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	e.emit(status())
	if fills != 2 || count() != 2 {
		t.Fatalf("another process's subscription not seen after a second: fills %d, deliveries %d", fills, count())
	}
	// Deleted through the service: the next event goes nowhere.
	if err := e.svc.Delete(ctx, store.Ref{ProjectID: e.project, ID: other.ID}); err != nil {
		t.Fatal(err)
	}
	e.emit(status())
	if fills != 2 {
		t.Fatalf("an event was filled for a deleted subscription: %d", fills)
	}
}
