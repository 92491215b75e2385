package eventhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// processes is one database worked by several delivery services, as
// several parley processes would be, on the wall clock.
type processes struct {
	t   *testing.T
	st  store.Store
	box *secret.Box
}

func newProcesses(t *testing.T) *processes {
	t.Helper()
	st := testdb.Open(t, store.OpenOptions{})
	if _, err := st.ProjectCreate(context.Background(), store.ProjectCreateParams{ID: "p1", Name: "One", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return &processes{t: t, st: st, box: box}
}

// process is one process's delivery service with the given lease.
func (p *processes) process(lease time.Duration) *eventhook.Service {
	return eventhook.New(eventhook.Deps{Store: p.st, Box: p.box, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}, Workers: 2,
		HTTP: httpclient.New(httpclient.WithAllow(netip.MustParsePrefix("127.0.0.0/8"))), Lease: lease, PollEvery: 50 * time.Millisecond})
}

// queue subscribes url and records one event for it.
func (p *processes) queue(svc *eventhook.Service, url string) store.WebhookSubscription {
	p.t.Helper()
	ctx := context.Background()
	sub, _, err := svc.Create(ctx, "p1", eventhook.SubscriptionInput{URL: url, Events: []string{"*"}})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.st.InTx(ctx, func(q store.Queries) error {
		return svc.Recorder().Record(ctx, q, eventhook.Event{ProjectID: "p1", ContactID: "c1", Type: eventhook.FormCompleted, Data: map[string]any{}})
	}); err != nil {
		p.t.Fatal(err)
	}
	return sub
}

// TestDeadProcessDeliveryTakenOver: a process that claimed a delivery and
// died (its claim written, no attempt recorded, no heartbeat) holds it for
// one lease; another process's worker then delivers it. The lease is the
// operator's PARLEY_WORK_LEASE (10 s by default), not a fixed 2 minutes.
func TestDeadProcessDeliveryTakenOver(t *testing.T) {
	t.Parallel()
	const lease = time.Second
	got := make(chan time.Time, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got <- time.Now() }))
	defer srv.Close()
	p := newProcesses(t)
	live := p.process(lease)
	p.queue(live, srv.URL)
	// The dead process's claim: what its RunDue wrote before attempting.
	claimed := time.Now()
	due, err := p.st.WebhookDeliveriesClaim(context.Background(), store.WebhookDeliveriesClaimParams{Now: claimed, LeaseUntil: claimed.Add(lease), Limit: 10})
	if err != nil || len(due) != 1 {
		t.Fatalf("claim = %d, %v", len(due), err)
	}
	if err := live.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer live.Stop()
	select {
	case at := <-got:
		took := at.Sub(claimed)
		t.Logf("a dead process's delivery was taken over %v after its claim (lease %v, poll 50ms)", took.Round(time.Millisecond), lease)
		if took < lease-50*time.Millisecond || took > lease+2*time.Second {
			t.Fatalf("taken over after %v, want about the lease (%v)", took, lease)
		}
	case <-time.After(lease + 10*time.Second):
		t.Fatal("the dead process's delivery was never taken over")
	}
}

// TestLiveProcessKeepsItsDelivery: a process whose attempt outlasts
// several leases keeps its claim (its heartbeat renews it), so another
// process polling all the while never attempts it as well.
func TestLiveProcessKeepsItsDelivery(t *testing.T) {
	t.Parallel()
	const lease = 600 * time.Millisecond
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if calls.Add(1) == 1 {
			time.Sleep(4 * lease) // a slow receiver
		}
	}))
	defer srv.Close()
	p := newProcesses(t)
	one, two := p.process(lease), p.process(lease)
	sub := p.queue(one, srv.URL)
	if err := one.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer one.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := two.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer two.Stop()
	for time.Now().Before(deadline) {
		l, err := one.Deliveries(context.Background(), store.WebhookDeliveryListParams{ProjectID: "p1", SubscriptionID: sub.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 1 && l.Items[0].State == store.DeliveryDelivered {
			time.Sleep(2 * lease) // time for a wrong second attempt to show
			if n := calls.Load(); n != 1 {
				t.Fatalf("the receiver was called %d times, want once", n)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not delivered; the receiver was called %d times", calls.Load())
}
