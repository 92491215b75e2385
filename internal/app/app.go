// Package app is the composition root: it opens the store, wires the job
// client, the services and the HTTP API, and starts and stops them in order.
// Only this package (and cmd/parley) knows the concrete implementations.
package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/receipt"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/waflow"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/campaign"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/metamsg"
	"github.com/parleyhq/parley/internal/channel/viber"
	"github.com/parleyhq/parley/internal/channel/webchat"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/dataset"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/webui"
)

// Store is a store that can migrate itself.
type Store interface {
	store.Store
	Migrate(ctx context.Context) error
}

// OpenStore opens the database the configuration names. With work false the
// job client only enqueues (for CLI commands). The job workers find their
// dependencies in deps, which the caller sets once the store is open and
// before the job client starts; register adds other packages' workers
// (the runner's), bound the same way.
func OpenStore(ctx context.Context, cfg config.Config, logger *slog.Logger, deps *jobs.Bound[jobs.Deps], work bool, register ...func(*river.Workers)) (Store, error) {
	opts := store.OpenOptions{
		Logger: logger,
		Jobs: jobs.Config(deps, jobs.Options{
			Logger: logger, Work: work, PollInterval: cfg.JobPollInterval, HousekeepingEvery: cfg.HousekeepingEvery,
			Register: register, Queues: runner.Queues(50),
		}),
	}
	var s Store
	var err error
	if cfg.UsesPostgres() {
		s, err = postgres.Open(ctx, cfg.DatabaseURL, opts)
	} else {
		s, err = sqlite.Open(ctx, cfg.SQLitePath(), opts)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// App is a running parley server.
type App struct {
	cfg      config.Config
	logger   *slog.Logger
	store    Store
	jobs     *jobs.Service
	runner   *runner.Runner
	receipts *receipt.Counters
	accounts *account.Service
	api      *httpapi.Server
	flows    *chatflow.Service
	channels *channels.Service
	chanlog  *channellog.Writer
	datasets *dataset.Service
	campaign *campaign.Service
	sandbox  atomic.Pointer[sandbox.Server]
	// AdminPassword is set when the first start created the admin.
	AdminPassword string
	// KeyCreated reports that the secret key was generated this start.
	KeyCreated bool
	front      *Front
	drain      time.Duration
	started    bool
}

// Option changes how New builds the server.
type Option func(*options)

type options struct {
	channelTypes []channel.Type
	front        *Front
	drain        time.Duration
}

// WithFront makes the App serve on a front that already listens (and
// answers not-ready while New migrates), instead of listening in Start.
func WithFront(f *Front) Option { return func(o *options) { o.front = f } }

// WithDrainDelay makes Stop answer /readyz not-ready for d before it stops
// accepting requests, so a load balancer has time to notice.
func WithDrainDelay(d time.Duration) Option { return func(o *options) { o.drain = d } }

// WithChannelType adds a channel type to the ones this build has (tests
// register fakes with it; a real channel is one line in ChannelTypes).
func WithChannelType(t channel.Type) Option {
	return func(o *options) { o.channelTypes = append(o.channelTypes, t) }
}

// ChannelTypes fills the registry with the channel types of this build:
// the one place that names the adapter packages.
func ChannelTypes(extra ...channel.Type) (*channel.Registry, error) {
	reg := channel.NewRegistry()
	for _, t := range append([]channel.Type{
		whatsapp.Definition(),
		webchat.Definition(),
		metamsg.MessengerDefinition(),
		metamsg.InstagramDefinition(),
		viber.Definition(),
	}, extra...) {
		if err := reg.Register(t); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// New opens and migrates the database, bootstraps a fresh installation and
// builds every service; nothing runs until Start.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	clock, ids := domain.SystemClock{}, domain.UUIDv7{}
	// A shared database must not get a key only this process knows: on
	// PostgreSQL the key is configured (or an existing key file is read),
	// never generated.
	var key []byte
	var created bool
	var err error
	if cfg.UsesPostgres() {
		key, err = secret.Load(cfg.SecretKey, cfg.DataDir)
	} else {
		key, created, err = secret.LoadOrCreate(cfg.SecretKey, cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	allow, err := httpclient.ParseAllowList(cfg.HTTPAllow)
	if err != nil {
		return nil, fmt.Errorf("PARLEY_HTTP_ALLOW: %w", err)
	}
	proxies, err := httpapi.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	channelTypes, err := ChannelTypes(o.channelTypes...)
	if err != nil {
		return nil, err
	}
	doer := httpclient.New(httpclient.WithAllow(allow...))
	// River needs its workers before the store opens; they get what they
	// need, built on the open store, through these once that exists.
	var jobDeps jobs.Bound[jobs.Deps]
	var boundRunner jobs.Bound[runner.Runner]
	st, err := OpenStore(ctx, cfg, logger, &jobDeps, true, runner.Workers(&boundRunner))
	if err != nil {
		return nil, err
	}
	flows := chatflow.New(st, clock, ids, chatflow.WithChannelTypes(channelTypes.Names()), chatflow.WithChannelLimits(func(typ string) *channel.Limits {
		if t, ok := channelTypes.Lookup(typ); ok {
			return t.Limits
		}
		return nil
	}))
	// The channel log: provider calls (through the clients the channel
	// service gives adapters) and webhooks (through the API), written in
	// batches, purged after the retention period.
	chanlog := channellog.NewWriter(st, channellog.WriterOptions{Clock: clock, IDs: ids, Logger: logger, Retention: cfg.ChannelLogRetention})
	// Provider calls (a channel's api_base_url) get the HTTP node's SSRF
	// policy and the same operator allowances, in a guard of their own
	// (the sandbox allows its fake Graph API there only).
	// The channel service learns the public URL from the App once it
	// listens (a test server's port is chosen then).
	var self *App
	chans := channels.New(channels.Deps{Registry: channelTypes, Store: st, Box: box, Clock: clock, IDs: ids, Logger: logger, Log: chanlog,
		PublicURL: func() string { return self.PublicURL() },
		Guard:     httpclient.NewGuard(allow...)})
	receipts := receipt.NewCounters()
	scripts := script.New(script.Limits{})
	run, err := runner.New(st, runner.Deps{Flows: flows, HTTP: doer, Scripts: scripts, Channels: chans, Clock: clock, IDs: ids, Logger: logger, Receipts: receipts,
		Lease: cfg.WorkLease, PollEvery: cfg.WorkPollInterval, InboxWorkers: cfg.InboxWorkers, SendWorkers: cfg.SendWorkers})
	if err == nil {
		err = errors.Join(jobDeps.Set(&jobs.Deps{Store: st, Clock: clock, IDs: ids, Logger: logger, Receipts: receipts}), boundRunner.Set(run))
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &App{cfg: cfg, logger: logger, store: st, KeyCreated: created, flows: flows, channels: chans, chanlog: chanlog, runner: run, receipts: receipts,
		front: o.front, drain: o.drain}
	self = a
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := checkKey(ctx, st, key, box, cfg); err != nil {
		st.Close()
		return nil, err
	}
	if o, ok := st.(interface {
		ReleaseOrphanedJobs(context.Context) (int, error)
	}); ok {
		// Only this process works an SQLite database: whatever a previous
		// run held is free now, without waiting for its leases.
		n, err := o.ReleaseOrphanedJobs(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		now := clock.Now()
		events, err := st.ContactEventsRelease(ctx, now)
		if err != nil {
			st.Close()
			return nil, err
		}
		msgs, err := st.MessagesRelease(ctx, now)
		if err != nil {
			st.Close()
			return nil, err
		}
		if n+events+msgs > 0 {
			logger.Info("resuming work the previous run left unfinished", "jobs", n, "inbox_events", events, "messages", msgs)
		}
	}
	a.accounts = account.New(st, clock, ids, cfg.SessionTTL)
	a.accounts.OnProjectUpdate(func(string) { run.ForgetProjects() }) // keyword settings apply at once
	if a.AdminPassword, err = a.accounts.Bootstrap(ctx, cfg.AdminEmail); err != nil {
		st.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(run.Collectors()...)
	reg.MustRegister(a.chanlog.Collectors()...)
	reg.MustRegister(a.receipts.Collectors()...)
	a.jobs = jobs.NewService(st.Jobs(), reg, logger)
	forms := waflow.New(waflow.Deps{Store: st, Channels: chans, Clock: clock, IDs: ids, Logger: logger})
	forms.SetEndpoint(waflow.EndpointDeps{Box: box, Waits: formWaits{run.Sprint}, Configs: chans, HTTP: doer})
	conv := conversation.New(st, run, flows, clock, ids, logger)
	a.datasets = dataset.New(st, clock, ids, logger, "")
	a.campaign = campaign.New(campaign.Deps{Store: st, Flows: flows, Starter: conv, Limiters: chans, Clock: clock, IDs: ids, Logger: logger})
	a.api = httpapi.New(httpapi.Deps{
		Store: st, Accounts: a.accounts, Clock: clock, IDs: ids, Logger: logger,
		Metrics: reg, Gatherer: reg, UI: webui.Handler(),
		MaxBodyBytes: cfg.MaxBodyBytes, SecureCookies: cfg.SecureCookies, PublicURL: cfg.PublicURL,
		Flows: flows, Runner: run, Conversations: conv, Channels: chans, HTTP: doer, Scripts: scripts, Datasets: a.datasets, Campaigns: a.campaign,
		ChannelLog: a.chanlog, TrustedProxies: proxies, Sandbox: sandboxConsole{a}, MetricsToken: cfg.MetricsToken,
		WhatsAppFlows: forms, AI: ai.New(ai.Deps{Store: st, Box: box, Clock: clock, IDs: ids}),
	})
	return a, nil
}

// formWaits finds, for a WhatsApp Flow's endpoint, the session waiting for
// the form send a flow_token names.
type formWaits struct{ h *sprint.Handler }

func (w formWaits) FormWait(ctx context.Context, projectID, token string) (waflow.Wait, error) {
	st, err := w.h.FormStep(ctx, projectID, token)
	if errors.Is(err, sprint.ErrNoFormWait) {
		return waflow.Wait{}, waflow.ErrNoWait
	}
	if err != nil {
		return waflow.Wait{}, err
	}
	return waflow.Wait{ExchangeURL: st.Config.ExchangeURL, Screen: st.Config.Screen, Vars: st.Vars}, nil
}

// AllowEndpoint lets channel adapters reach exactly the address and port
// of rawURL (an IP address) although it is internal: the sandbox's fake
// Graph API, or a test's. Operators use PARLEY_HTTP_ALLOW instead.
func (a *App) AllowEndpoint(rawURL string) error { return a.channels.AllowEndpoint(rawURL) }

// Handler is the HTTP API, for tests that serve it themselves.
func (a *App) Handler() http.Handler { return a.api }

// Store is the open database.
func (a *App) Store() Store { return a.store }

// ChannelLog is the channel log's writer (tests flush it).
func (a *App) ChannelLog() *channellog.Writer { return a.chanlog }

// Campaigns is the campaign service (tests and benchmarks drive its runner).
func (a *App) Campaigns() *campaign.Service { return a.campaign }

// Datasets is the dataset service (tests and benchmarks wait for uploads).
func (a *App) Datasets() *dataset.Service { return a.datasets }

// Accounts is the account service.
func (a *App) Accounts() *account.Service { return a.accounts }

// Addr is the address the server listens on, once started.
func (a *App) Addr() string {
	if a.front == nil {
		return ""
	}
	return a.front.Addr()
}

// Start listens and starts the job workers.
func (a *App) Start(ctx context.Context) error {
	if a.front == nil {
		f, err := Listen(a.cfg.Addr, a.logger)
		if err != nil {
			return err
		}
		a.front = f
	}
	a.started = true
	// The job client outlives ctx (the signal context): on Ctrl-C, Stop
	// lets running jobs finish instead of River stopping hard.
	if err := a.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := a.runner.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := a.chanlog.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	// Campaigns start rows through the runner: after it.
	if err := a.datasets.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := a.campaign.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	a.front.ready(a.api)
	return nil
}

// Wait blocks until ctx ends or the server fails.
func (a *App) Wait(ctx context.Context) error {
	var serveErr chan error
	if a.front != nil {
		serveErr = a.front.serveErr
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serving HTTP: %w", err)
	}
}

// Stop shuts down gracefully within the configured timeout: stop accepting
// requests and let in-flight ones finish, then let running jobs finish
// (unfinished ones are retried on the next start), then close the database.
func (a *App) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if fake := a.sandbox.Load(); fake != nil {
		fake.Stop()
	}
	if a.front != nil {
		a.front.NotReady("draining: shutting down")
		time.Sleep(a.drain)
		if err := a.front.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping HTTP: %w", err))
		}
	}
	if a.started {
		a.campaign.Stop() // before the runner it starts rows through
		a.datasets.Stop()
		a.runner.Stop()
		if err := a.jobs.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping jobs: %w", err))
		}
		a.chanlog.Stop() // after the senders: their last entries are written
	}
	if err := a.store.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Receipts are the counters of receipts kept for messages whose send's
// answer was not stored yet (held, applied, expired).
func (a *App) Receipts() *receipt.Counters { return a.receipts }
