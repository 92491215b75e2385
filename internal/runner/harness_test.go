package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/channel/webchat"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// countingSenders is the channel service of the tests: it reads channel
// rows from the store, hands out the web chat adapter and counts what it
// sent.
type countingSenders struct {
	st   store.Store
	mu   sync.Mutex
	sent map[string]int    // our message ID → sends
	to   map[string]string // our message ID → the address it went to
}

func (c *countingSenders) InProject(ctx context.Context, projectID, id string) (domain.Channel, error) {
	return c.st.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: id})
}

func (c *countingSenders) Adapter(context.Context, domain.Channel) (channel.Adapter, error) {
	return countingAdapter{Adapter: &webchat.Adapter{}, c: c}, nil
}

func (c *countingSenders) Limiter(context.Context, domain.Channel) *ratelimit.Limiter { return nil }

func (c *countingSenders) Limits(typ string) *channel.Limits { return webchat.Definition().Limits }

type countingAdapter struct {
	*webchat.Adapter
	c *countingSenders
}

func (a countingAdapter) Send(ctx context.Context, m channel.Outbound) (channel.SendResult, error) {
	a.c.mu.Lock()
	a.c.sent[m.OurID]++
	if a.c.to != nil {
		a.c.to[m.OurID] = m.To
	}
	a.c.mu.Unlock()
	return a.Adapter.Send(ctx, m)
}

// env is a runner on a real test database with real River workers.
type env struct {
	t       *testing.T
	st      store.Store
	r       *Runner
	flows   *chatflow.Service
	svc     *jobs.Service
	project domain.Project
	channel domain.Channel
	senders *countingSenders
	clock   *offsetClock
}

// offsetClock is the wall clock moved forward by a test.
type offsetClock struct{ d atomic.Int64 }

func (c *offsetClock) Now() time.Time {
	return domain.SystemClock{}.Now().Add(time.Duration(c.d.Load()))
}

func (c *offsetClock) advance(d time.Duration) { c.d.Add(int64(d)) }

func newEnv(t *testing.T, work bool, opts ...func(*Deps)) *env {
	t.Helper()
	return newEnvOn(t, work, func(o store.OpenOptions) store.Store { return testdb.Open(t, o) }, opts...)
}

// newEnvOn is newEnv on the store open returns.
func newEnvOn(t *testing.T, work bool, open func(store.OpenOptions) store.Store, opts ...func(*Deps)) *env {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock, ids := &offsetClock{}, domain.UUIDv7{}
	senders := &countingSenders{sent: map[string]int{}, to: map[string]string{}}
	d := Deps{Clock: clock, IDs: ids, Logger: logger}
	for _, o := range opts {
		o(&d)
	}
	st, r, flows := openRunner(t, open, senders, d)
	p, err := account.New(st, clock, ids, time.Hour).CreateProject(ctx, "Runner test", nil, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := st.ChannelCreate(ctx, domain.Channel{ID: ids.NewID(), ProjectID: p.ID, Type: webchat.Type, Name: "Web", Status: "active", CreatedAt: clock.Now(), UpdatedAt: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, r: r, flows: flows, project: p, channel: ch, senders: senders, clock: clock}
	if work {
		e.startJobs()
	}
	return e
}

// openRunner opens a store with the job client the application builds and
// the runner on it, as internal/app does: the River workers first, bound
// to the runner once it is built.
// senders is the channel service the runner is given, reading the store.
func openRunner(t *testing.T, open func(store.OpenOptions) store.Store, senders *countingSenders, d Deps) (store.Store, *Runner, *chatflow.Service) {
	t.Helper()
	var jobDeps jobs.Bound[jobs.Deps]
	var bound jobs.Bound[Runner]
	st := open(store.OpenOptions{Jobs: jobs.Config(&jobDeps, jobs.Options{Logger: d.Logger, Work: true, PollInterval: 20 * time.Millisecond,
		Register: []func(*river.Workers){Workers(&bound)}, Queues: Queues(8)})})
	senders.st = st
	d.Flows, d.Channels = chatflow.New(st, d.Clock, d.IDs), senders
	r, err := New(st, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(jobDeps.Set(&jobs.Deps{Store: st, Clock: d.Clock, IDs: d.IDs, Logger: d.Logger}), bound.Set(r)); err != nil {
		t.Fatal(err)
	}
	return st, r, d.Flows
}

func (e *env) startJobs() {
	e.svc = jobs.NewService(e.st.Jobs(), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := e.svc.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	svc := e.svc
	r := e.r
	if err := r.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		r.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
	})
}

// publish creates and publishes a flow from a graph.
func (e *env) publish(name string, graph string, opts ...func(*chatflow.CreateInput)) chatflow.Flow {
	e.t.Helper()
	logging := true
	in := chatflow.CreateInput{Name: name, FlowData: json.RawMessage(graph), IsActive: true, Logging: &logging}
	for _, o := range opts {
		o(&in)
	}
	f, err := e.flows.Create(context.Background(), e.project.ID, "test", in)
	if err != nil {
		e.t.Fatalf("publishing %s: %v", name, err)
	}
	return f
}

// receive stores an inbound web chat message from the contact at address.
func (e *env) receive(address, text string) inbox.Receipt {
	e.t.Helper()
	var rc inbox.Receipt
	err := e.st.InTx(context.Background(), func(q store.Queries) error {
		var err error
		rc, err = e.r.Inbox.Receive(context.Background(), q, e.inbound(address, text, ""))
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rc
}

func (e *env) inbound(address, text, providerID string) inbox.Inbound {
	content, _ := json.Marshal(map[string]string{"text": text})
	in := engine.Input{Kind: engine.InputText, Text: text}
	return inbox.Inbound{ProjectID: e.project.ID, ChannelID: e.channel.ID, Scheme: webchat.Type, Address: address, Name: "Ann",
		ProviderID: providerID, Type: "text", Content: content, Input: in}
}

// eventually polls cond until it holds or the test times out.
// headEvent is the contact's oldest unhandled event, store.ErrNotFound when
// its inbox is empty.
func (e *env) headEvent(contactID string) (domain.ContactEvent, error) {
	evs, err := e.st.ContactEventsNext(context.Background(), store.ContactEventsNextParams{ContactID: contactID, Limit: 1})
	if err != nil {
		return domain.ContactEvent{}, err
	}
	if len(evs) == 0 {
		return domain.ContactEvent{}, store.ErrNotFound
	}
	return evs[0], nil
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// conversation returns a contact's messages, oldest first.
func (e *env) conversation(contactID string) []domain.Message {
	e.t.Helper()
	l, err := e.st.MessageList(context.Background(), store.MessageListParams{ProjectID: e.project.ID, ContactID: contactID, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]domain.Message, len(l.Items))
	for i, m := range l.Items {
		out[len(out)-1-i] = m
	}
	return out
}

// texts are the outbound texts of a conversation, oldest first.
func texts(ms []domain.Message, direction string) []string {
	var out []string
	for _, m := range ms {
		if m.Direction != direction {
			continue
		}
		var c struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(m.Content, &c)
		out = append(out, c.Text)
	}
	return out
}

func (e *env) session(contactID string) domain.FlowSession {
	e.t.Helper()
	l, err := e.st.SessionList(context.Background(), store.SessionListParams{ProjectID: e.project.ID, ContactID: contactID})
	if err != nil || len(l.Items) == 0 {
		e.t.Fatalf("no session for contact %s: %v", contactID, err)
	}
	return l.Items[0]
}

func (e *env) vars(s domain.FlowSession) map[string]any {
	e.t.Helper()
	es, err := DecodeState(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return es.Vars
}

var seq atomic.Int64

func addr() string { return fmt.Sprintf("visitor-%d", seq.Add(1)) }
