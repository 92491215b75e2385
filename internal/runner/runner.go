// Package runner is the host side of the engine, in three parts, each a
// package with Start/Stop: inbox (events queued per contact, from webhooks,
// timers, API starts and agents, and each contact's inbox worked in
// order), sprint (one event: load the session, run the engine, commit its
// effects in one transaction) and outbox (send what a sprint or a person
// queued, paced, retried, with statuses). Runner composes them over one
// store and the channel service; it is what the application builds and
// starts.
package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/receipt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/runner/lease"
	"github.com/parleyhq/parley/internal/runner/outbox"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
)

// Channels is the channel service as the runner uses it: channel rows
// read through its short-lived cache, and each channel's live adapter and
// send limiter.
type Channels = outbox.Channels

// Deps are what a Runner needs besides the store.
type Deps struct {
	Flows *chatflow.Service
	HTTP  engine.HTTPDoer
	LLM   engine.LLM
	// Scripts runs code nodes (internal/script); without it they fail.
	Scripts engine.Scripts
	// Data runs data nodes (internal/projectdb); without it they fail.
	Data     engine.Data
	Channels Channels
	Clock    domain.Clock
	IDs      domain.IDGen
	Logger   *slog.Logger
	// SendAttempts bounds retries of a retryable send failure (default 8).
	SendAttempts int
	// Lease is how long the process that queued an inbox event or a message
	// holds it before any process's poller may take it (DefaultLease).
	Lease time.Duration
	// InboxWorkers and SendWorkers are how many contacts are processed and
	// messages sent at once (DefaultInboxWorkers, DefaultSendWorkers).
	InboxWorkers, SendWorkers int
	// PollEvery is how often the pollers look for rows whose holder died
	// or whose retry is due (DefaultPollEvery).
	PollEvery time.Duration
	// TimerEvery is how often due session timeouts and expiries are looked
	// for (inbox.DefaultTimerEvery).
	TimerEvery time.Duration
	// InboxRetention is how long handled inbox events are kept
	// (inbox.DefaultRetention).
	InboxRetention time.Duration
	// Receipts count receipts kept for messages whose send's answer was
	// not stored yet; nil counts nothing.
	Receipts *receipt.Counters
	// MaxDrafts bounds the simulator sessions whose compiled draft is kept
	// (sprint.DefaultMaxDrafts).
	MaxDrafts int
	// CallsQueued is told when a sprint's commit queued voice calls.
	CallsQueued func()
	// Events records event webhooks' events in the transactions that
	// cause them (internal/eventhook); nil records none.
	Events *eventhook.Recorder
	// Notices acts on the providers' account notices (inbox.Notices);
	// nil only logs them.
	Notices inbox.Notices
}

// Defaults of the runner's dispatchers (Deps overrides them).
const (
	DefaultLease = lease.DefaultLease
	// DefaultInboxWorkers is large for the reason DefaultSendWorkers is:
	// a sprint holds its worker through the group commit it waits for,
	// so the workers bound the rate at workers ÷ that latency. At 64,
	// timeouts falling due at 2,000/s on SQLite fell behind (p99 lateness
	// 5–10 s); at 256 they kept up (p99 171 ms), and the exchange did not
	// change on either database (docs/benchmarks.md, session 12).
	DefaultInboxWorkers = 256
	// DefaultSendWorkers is as large: a send holds its worker for the
	// provider's round trip and the commit of its answer, so a number
	// paced at 1,000 msg/s needs about 1,000 × that latency of them (a
	// quarter is kept for replies, see outbox).
	DefaultSendWorkers = 256
	DefaultPollEvery   = lease.DefaultPollEvery
)

// Runner hosts the engine: its three parts, built over an open store.
type Runner struct {
	// Inbox queues contact events and works each contact's inbox.
	Inbox *inbox.Inbox
	// Sprint handles one event at a time for the inbox.
	Sprint *sprint.Handler
	// Outbox sends the messages sprints and people queue.
	Outbox *outbox.Outbox
}

// New returns a Runner on the store; Start starts its workers.
func New(st store.Store, d Deps) (*Runner, error) {
	if d.Flows == nil {
		return nil, errors.New("runner: a flow service is required")
	}
	if d.SendWorkers <= 0 {
		d.SendWorkers = DefaultSendWorkers
	}
	if d.InboxWorkers <= 0 {
		d.InboxWorkers = DefaultInboxWorkers
	}
	out := outbox.New(st, outbox.Config{Channels: d.Channels, Clock: d.Clock, IDs: d.IDs, Logger: d.Logger, Receipts: d.Receipts,
		Attempts: d.SendAttempts, Settings: lease.Settings{Lease: d.Lease, Workers: d.SendWorkers, PollEvery: d.PollEvery}})
	sp, err := sprint.New(st, out, sprint.Config{Flows: d.Flows, HTTP: d.HTTP, LLM: d.LLM, Scripts: d.Scripts, Data: d.Data, Channels: d.Channels,
		Clock: d.Clock, IDs: d.IDs, Logger: d.Logger, MaxDrafts: d.MaxDrafts, CallsQueued: d.CallsQueued, Events: d.Events})
	if err != nil {
		return nil, err
	}
	in := inbox.New(st, sp, inbox.Config{Clock: d.Clock, IDs: d.IDs, Logger: d.Logger, Receipts: d.Receipts, Events: d.Events,
		Notices: d.Notices, Settings: lease.Settings{Lease: d.Lease, Workers: d.InboxWorkers, PollEvery: d.PollEvery},
		TimerEvery: d.TimerEvery, Retention: d.InboxRetention})
	return &Runner{Inbox: in, Sprint: sp, Outbox: out}, nil
}

// Start starts sending, writing flow counters and working inboxes, in the
// order that lets each find what it feeds running.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.Outbox.Start(ctx); err != nil {
		return err
	}
	if err := r.Sprint.Start(ctx); err != nil {
		r.Outbox.Stop()
		return err
	}
	if err := r.Inbox.Start(ctx); err != nil {
		r.Sprint.Stop()
		r.Outbox.Stop()
		return err
	}
	return nil
}

// Stop stops working inboxes, letting sprints under way finish, then
// sending, then writes the flow counters counted so far.
func (r *Runner) Stop() {
	r.Inbox.Stop()
	r.Outbox.Stop()
	r.Sprint.Stop()
}

// Engine is the engine the runner drives.
func (r *Runner) Engine() *engine.Engine { return r.Sprint.Engine() }

// ProcessContact handles the contact's queued events now, in order.
func (r *Runner) ProcessContact(ctx context.Context, projectID, contactID string) error {
	return r.Inbox.ProcessContact(ctx, projectID, contactID)
}

// FlushStats writes the flow counters added up so far (see
// sprint.Handler.FlushStats).
func (r *Runner) FlushStats(ctx context.Context) error { return r.Sprint.FlushStats(ctx) }

// DecodeState is the engine session s's row stores (its variables, its
// wait), for those who show a session.
func DecodeState(s domain.FlowSession) (*engine.Session, error) { return sprint.DecodeState(s) }

// StartFlow queues a flow start for a contact in the caller's transaction.
func (r *Runner) StartFlow(ctx context.Context, q store.Queries, p StartParams) (domain.ContactEvent, error) {
	return r.Inbox.StartFlow(ctx, q, p)
}

// IngestWebhook stores a verified webhook's events, routed to their
// channels, in one transaction (see inbox.Inbox.IngestWebhook).
func (r *Runner) IngestWebhook(ctx context.Context, batches []channels.Batch) error {
	return r.Inbox.IngestWebhook(ctx, batches)
}

// ForgetProjects drops the cached project settings; call it after changing
// a project's settings.
func (r *Runner) ForgetProjects() { r.Sprint.ForgetProjects() }

// Types of the parts that callers of the runner name.
type (
	// StartParams start a flow for a contact.
	StartParams = inbox.StartParams
)

// Backlog reports what the dispatchers hold in memory, for metrics,
// benchmarks and tests.
func (r *Runner) Backlog() (inbox, send dispatch.Stats) {
	return r.Inbox.Stats(), r.Outbox.Stats()
}

// Collectors are the dispatchers' gauges for /metrics: what waits in
// memory, what is being worked, and what was left to the pollers because
// memory was full.
func (r *Runner) Collectors() []prometheus.Collector {
	gauge := func(name, help, queue string, f func(dispatch.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"queue": queue}},
			func() float64 {
				in, out := r.Backlog()
				if queue == "inbox" {
					return f(in)
				}
				return f(out)
			})
	}
	var cs []prometheus.Collector
	for _, q := range []string{"inbox", "send"} {
		cs = append(cs,
			gauge("parley_dispatch_waiting", "Contacts (inbox) or messages (send) waiting in memory for a worker.", q, func(s dispatch.Stats) float64 { return float64(s.Waiting) }),
			gauge("parley_dispatch_running", "Contacts (inbox) or messages (send) being worked.", q, func(s dispatch.Stats) float64 { return float64(s.Running) }),
			gauge("parley_dispatch_dropped", "Notifications left to the poller because memory was full, since start.", q, func(s dispatch.Stats) float64 { return float64(s.Dropped) }),
		)
	}
	return cs
}
