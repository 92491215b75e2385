package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestOrderingAcrossProcesses: two runners, each with its own connection
// pool, River client and dispatchers on one PostgreSQL database (as two
// parley processes would be), work the same contact's inbox at once — each
// is told of the messages it received, and with a short lease each poller
// also takes over the other's — : each of 50 messages is handled once, in
// arrival order.
func TestOrderingAcrossProcesses(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t) // skips without TEST_DATABASE_URL
	open := func() (*Runner, store.Store, *chatflow.Service) {
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		st, r, flows := openRunner(t, func(o store.OpenOptions) store.Store {
			st, err := postgres.Open(context.Background(), url, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return st
		}, &countingSenders{sent: map[string]int{}}, Deps{Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}, Logger: logger,
			Lease: 30 * time.Millisecond, PollEvery: 10 * time.Millisecond, InboxWorkers: 4})
		return r, st, flows
	}
	r1, st1, flows1 := open()
	r2, st2, flows2 := open()
	one := &env{t: t, st: st1, r: r1, flows: flows1}
	two := &env{t: t, st: st2, r: r2, flows: flows2}
	p, err := st1.ProjectCreate(context.Background(), store.ProjectCreateParams{ID: domain.UUIDv7{}.NewID(), Name: "Two processes", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	one.project, two.project = p, p
	one.channel, err = st1.ChannelCreate(context.Background(), domain.Channel{ID: domain.UUIDv7{}.NewID(), ProjectID: p.ID, Type: "webchat", Name: "Web",
		Status: "active", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	two.channel = one.channel
	one.publish("Loop", loopFlow)
	for i, st := range []store.Store{st1, st2} {
		svc := jobs.NewService(st.Jobs(), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := svc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := []*Runner{r1, r2}[i]
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			r.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = svc.Stop(ctx)
		})
	}

	a := addr()
	var mu sync.Mutex
	var receipts []inbox.Receipt
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := []*env{one, two}[i%2].receive(a, fmt.Sprintf("m%02d", i))
			mu.Lock()
			receipts = append(receipts, rc)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(receipts, func(i, j int) bool { return receipts[i].Seq < receipts[j].Seq })
	c := receipts[0].ContactID
	byID := map[string]string{}
	for _, m := range one.conversation(c) {
		byID[m.ID] = texts([]domain.Message{m}, "in")[0]
	}
	var want strings.Builder
	for _, rc := range receipts[1:] {
		want.WriteString(byID[rc.MessageID] + ",")
	}
	one.eventually("all 50 are handled", func() bool {
		evs, err := st1.ContactEventsNext(context.Background(), store.ContactEventsNextParams{ContactID: c, Limit: 1})
		return err == nil && len(evs) == 0
	})
	if got := one.vars(one.session(c))["log"]; got != want.String() {
		t.Fatalf("handled order\n got %v\nwant %v", got, want.String())
	}
}
