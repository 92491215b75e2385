// Package app is the composition root: it opens the store, wires the job
// client, the services and the HTTP API, and starts and stops them in order.
// Only this package (and cmd/parley) knows the concrete implementations.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/projectdb"
	"github.com/parleyhq/parley/internal/receipt"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/waflow"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/calls"
	"github.com/parleyhq/parley/internal/campaign"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/metamsg"
	"github.com/parleyhq/parley/internal/channel/viber"
	"github.com/parleyhq/parley/internal/channel/voicenumber"
	"github.com/parleyhq/parley/internal/channel/webchat"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/dataset"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/signup"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/realtime"
	"github.com/parleyhq/parley/internal/voice/sim"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
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
	cfg    config.Config
	logger *slog.Logger
	store  Store
	// projectDB is each project's own database (internal/projectdb).
	projectDB *projectdb.Service
	jobs      *jobs.Service
	runner    *runner.Runner
	receipts  *receipt.Counters
	accounts  *account.Service
	api       *httpapi.Server
	flows     *chatflow.Service
	channels  *channels.Service
	chanlog   *channellog.Writer
	datasets  *dataset.Service
	campaign  *campaign.Service
	calls     *calls.Service
	voiceSim  *sim.Provider
	conv      *conversation.Service
	hooks     *eventhook.Service
	signups   *signup.Service
	// onboarding makes the signup's Graph calls (its URL moves to the
	// sandbox's fake with UseSandboxSignup).
	onboarding *onboardingGraph
	sandbox    atomic.Pointer[sandbox.Server]
	// sandboxTwilioFake is the sandbox's fake Twilio (sandbox_twilio.go).
	sandboxTwilioFake atomic.Pointer[twiliotest.Fake]
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
// voiceOpts give the voice numbers where their inbound calls and
// recordings go.
func ChannelTypes(voiceSim voice.Provider, logger *slog.Logger, voiceOpts []voicenumber.Option, extra ...channel.Type) (*channel.Registry, error) {
	reg := channel.NewRegistry()
	for _, t := range append([]channel.Type{
		whatsapp.Definition(),
		voicenumber.Definition(voiceSim, append([]voicenumber.Option{voicenumber.WithLogger(logger)}, voiceOpts...)...),
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
	// The simulated telephony provider: simulated voice numbers and the
	// simulator's calls place their calls here.
	voiceSim := sim.New(clock, ids)
	voiceSim.Default = sim.Script{Scenario: sim.Answer, Lines: []string{"Hello?", "Yes, that works for me.", "Thank you, goodbye."}}
	voiceSim.Logger = logger
	// Calls to Twilio numbers and calls' recordings reach the calls
	// service, bound below once it exists.
	host := &voiceHost{}
	channelTypes, err := ChannelTypes(voiceSim, logger, []voicenumber.Option{voicenumber.WithInbound(host.answer), voicenumber.WithRecordings(host.record)},
		o.channelTypes...)
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
	chanlog := channellog.NewWriter(st, channellog.WriterOptions{Clock: clock, IDs: ids, Logger: logger, Retention: cfg.ChannelLogRetention,
		FailuresOnly: cfg.ChannelLog == config.ChannelLogFailures})
	// Provider calls (a channel's api_base_url) get the HTTP node's SSRF
	// policy and the same operator allowances, in a guard of their own
	// (the sandbox allows its fake Graph API there only).
	// The channel service learns the public URL from the App once it
	// listens (a test server's port is chosen then).
	var self *App
	guard := httpclient.NewGuard(allow...)
	chans := channels.New(channels.Deps{Registry: channelTypes, Store: st, Box: box, Clock: clock, IDs: ids, Logger: logger, Log: chanlog,
		PublicURL: func() string { return self.PublicURL() },
		Guard:     guard})
	// Embedded signup: its Graph calls go through the channels' guard (the
	// sandbox's fake is allowed there).
	onboarding := &onboardingGraph{http: channels.SharedHTTPClient(guard)}
	onboarding.url.Store(&cfg.Meta.GraphURL)
	signups := signup.New(signup.Deps{Store: st, Graph: onboarding, Channels: chans, Box: box, Clock: clock, IDs: ids,
		Config: signup.Config{AppID: cfg.Meta.AppID, AppSecret: cfg.Meta.AppSecret, ConfigID: cfg.Meta.ConfigID, GraphURL: cfg.Meta.GraphURL}})
	receipts := receipt.NewCounters()
	// Each project's own database: a file under the data directory on
	// SQLite, a schema and role in Parley's database on PostgreSQL.
	pdbCfg := projectdb.Config{DataDir: cfg.DataDir, Secret: key}
	if cfg.UsesPostgres() {
		pdbCfg.PostgresURL = cfg.DatabaseURL
	}
	pdb, err := projectdb.New(ctx, pdbCfg, st, clock, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	built := false
	defer func() {
		if !built {
			_ = pdb.Close() // the store's error paths below close it
		}
	}()
	scripts := script.New(script.Limits{}, script.WithDB(pdb), script.WithHTTP(doer))
	// ai_agent nodes ask the project's AI provider through the same
	// service the API manages providers with.
	forms := waflow.New(waflow.Deps{Store: st, Channels: chans, Clock: clock, IDs: ids, Logger: logger})
	aiSvc := ai.New(ai.Deps{Store: st, Box: box, Clock: clock, IDs: ids, Flows: flows, Forms: forms})
	// Event webhooks: delivered through the HTTP node's guarded client
	// (PARLEY_HTTP_ALLOW lets local endpoints in); the runner and the
	// campaigns record events in their own transactions.
	hooks := eventhook.New(eventhook.Deps{Store: st, Box: box, HTTP: doer, Clock: clock, IDs: ids, Logger: logger,
		Lease: cfg.WorkLease})
	var callSvc *calls.Service // built on the runner's inbox, woken by its sprints
	// The campaigns, built on the conversation service (on the runner),
	// pause on the providers' account notices the runner's inbox reads.
	notices := &campaignNotices{}
	run, err := runner.New(st, runner.Deps{Flows: flows, HTTP: doer, Scripts: scripts, Data: pdb, LLM: aiSvc.Agent(), Channels: chans, Clock: clock, IDs: ids, Logger: logger, Receipts: receipts,
		Events: hooks.Recorder(), Notices: notices,
		Lease: cfg.WorkLease, PollEvery: cfg.WorkPollInterval, InboxWorkers: cfg.InboxWorkers, SendWorkers: cfg.SendWorkers,
		InboxRetention: cfg.InboxRetention, CallsQueued: func() { callSvc.Wake() }})
	if err == nil {
		err = errors.Join(jobDeps.Set(&jobs.Deps{Store: st, Clock: clock, IDs: ids, Logger: logger, Receipts: receipts, Databases: pdb}), boundRunner.Set(run))
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	forms.SetEndpoint(waflow.EndpointDeps{Box: box, Waits: formWaits{run.Sprint}, Configs: chans, HTTP: doer})
	callSvc = calls.New(calls.Deps{Store: st, Inbox: run.Inbox, Simulated: sim.Attended{P: voiceSim}, Clock: clock, IDs: ids, Logger: logger, Owner: ids.NewID(),
		// A call's lease is the work lease (shorter in tests), at most the
		// calls' default.
		Lease: min(cfg.WorkLease, calls.DefaultLease), PollEvery: cfg.WorkPollInterval,
		// A recording is served by Parley, behind auth: the call's
		// recording_url is that address.
		RecordingURL: func(projectID, callID string) string {
			return strings.TrimRight(self.PublicURL(), "/") + "/projects/" + url.PathEscape(projectID) + "/calls/" + url.PathEscape(callID) + "/recording"
		},
		Providers: func(ctx context.Context, projectID, channelID string) (voice.Provider, error) {
			ch, err := chans.InProject(ctx, projectID, channelID)
			if err != nil {
				return nil, err
			}
			ad, err := chans.Adapter(ctx, ch)
			if err != nil {
				return nil, err
			}
			p, ok := ad.(voice.Provider)
			if !ok {
				return nil, domain.Errorf(domain.CodeInvalid, "channel %q is a %s channel, not a voice number", ch.Name, ch.Type)
			}
			return p, nil
		},
		InboundTrigger: func(ctx context.Context, projectID, channelID string) (bool, error) {
			published, err := flows.Published(ctx, projectID)
			if err != nil {
				return false, err
			}
			for _, f := range published {
				if f.ChannelID != "" && f.ChannelID != channelID {
					continue
				}
				p, err := flows.Program(ctx, projectID, f.ID, f.LiveRevision)
				if err != nil {
					return false, err
				}
				if t := p.Trigger; t.Type == calls.TriggerInboundCall && (len(t.ChannelTypes) == 0 || slices.Contains(t.ChannelTypes, voicenumber.Type)) {
					return true, nil
				}
			}
			return false, nil
		},
		Pacing: func(ctx context.Context, projectID, channelID string) (calls.Pacing, error) {
			ch, err := chans.InProject(ctx, projectID, channelID)
			if err != nil {
				return calls.Pacing{}, err
			}
			var c voicenumber.Config
			if err := json.Unmarshal(ch.Config, &c); err != nil {
				return calls.Pacing{}, fmt.Errorf("reading voice number %s's settings: %w", ch.Name, err)
			}
			n, cps := c.Pacing()
			return calls.Pacing{MaxConcurrent: n, CallsPerSecond: cps}, nil
		},
		Speech: func(ctx context.Context, projectID string) (voice.Speech, error) {
			// The realtime model is reached at the project's default AI
			// provider (its base URL and key); PARLEY_REALTIME_MODEL names it.
			p, err := aiSvc.Pick(ctx, projectID, "")
			if err != nil {
				return nil, err
			}
			key := ""
			if p.APIKeySealed != "" {
				if key, err = box.Open(p.APIKeySealed); err != nil {
					return nil, fmt.Errorf("opening AI provider %s's API key: %w", p.Name, err)
				}
			}
			u, err := realtime.URLOf(p.BaseURL)
			if err != nil {
				return nil, err
			}
			return realtime.New(realtime.Config{URL: u, APIKey: key, Model: cfg.RealtimeModel, Clock: clock, Logger: logger})
		},
		Models: func(ctx context.Context, projectID string) (voice.Model, error) {
			p, err := aiSvc.Pick(ctx, projectID, "")
			if err != nil {
				return nil, err
			}
			return voice.ProviderModel{AI: aiSvc, Provider: p}, nil
		}})
	// The simulated callers' calls reach the voice number they dial; a
	// real provider's incoming-call webhook hands its answered calls to
	// the same handler (App.AnswerInbound).
	voiceSim.OnInbound(func(ctx context.Context, call voice.InboundCall) error { return answerInbound(ctx, st, callSvc, call) })
	voiceSim.OnRecording(callSvc.Record)
	host.bind(st, callSvc)
	a := &App{cfg: cfg, logger: logger, store: st, projectDB: pdb, KeyCreated: created, flows: flows, channels: chans, chanlog: chanlog, runner: run, receipts: receipts,
		front: o.front, drain: o.drain, calls: callSvc, voiceSim: voiceSim, hooks: hooks, signups: signups, onboarding: onboarding}
	self = a
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := checkKey(ctx, st, key, box, cfg); err != nil {
		st.Close()
		return nil, err
	}
	if pg, ok := st.(*postgres.Store); ok {
		// A server at its packaged sizes is the first limit under load
		// (docs/operations.md); saying so at start saves a benchmark.
		advice, err := pg.ServerAdvice(ctx)
		if err != nil {
			logger.Warn("reading PostgreSQL's settings", "err", err)
		}
		for _, a := range advice {
			logger.Warn(a, "docs", "docs/operations.md#postgresqls-memory-and-checkpoints")
		}
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
		calls, err := callSvc.ReleaseOrphans(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		if n+events+msgs+calls > 0 {
			logger.Info("resuming work the previous run left unfinished", "jobs", n, "inbox_events", events, "messages", msgs, "voice_calls", calls)
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
	conv := conversation.New(st, run, flows, clock, ids, logger)
	a.conv = conv
	a.datasets = dataset.New(st, clock, ids, logger, "")
	a.campaign = campaign.New(campaign.Deps{Store: st, Flows: flows, Starter: conv, Limiters: chans, Clock: clock, IDs: ids, Logger: logger,
		Events: hooks.Recorder()})
	notices.s.Store(a.campaign)
	a.api = httpapi.New(httpapi.Deps{
		Store: st, Accounts: a.accounts, Clock: clock, IDs: ids, Logger: logger,
		Metrics: reg, Gatherer: reg, UI: webui.Handler(),
		MaxBodyBytes: cfg.MaxBodyBytes, SecureCookies: cfg.SecureCookies, PublicURL: cfg.PublicURL,
		Flows: flows, Runner: run, Conversations: conv, Channels: chans, HTTP: doer, Scripts: scripts, Datasets: a.datasets, Campaigns: a.campaign,
		ProjectData: pdb,
		ChannelLog:  a.chanlog, TrustedProxies: proxies, Sandbox: sandboxConsole{a}, LiveCalls: voiceSim, MetricsToken: cfg.MetricsToken,
		WhatsAppFlows: forms, EventHooks: hooks, Signup: signups, AI: aiSvc,
	})
	built = true
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

// Runner is the engine's host (benchmarks start flows through its inbox,
// as the API and campaigns do).
func (a *App) Runner() *runner.Runner { return a.runner }

// Campaigns is the campaign service (tests and benchmarks drive its runner).
func (a *App) Campaigns() *campaign.Service { return a.campaign }

// AnswerInbound takes a call a voice provider answered on one of the
// voice numbers (voice.InboundHandler): the voice number is found by the
// number called, and the calls service gives the call to the session
// awaiting the caller, or to a flow its inbound_call trigger starts.
func (a *App) AnswerInbound(ctx context.Context, call voice.InboundCall) error {
	return answerInbound(ctx, a.store, a.calls, call)
}

func answerInbound(ctx context.Context, st store.Store, svc *calls.Service, call voice.InboundCall) error {
	ch, err := st.ChannelGetByAddress(ctx, store.ChannelGetByAddressParams{Type: voicenumber.Type, Address: call.To})
	if err != nil {
		return fmt.Errorf("finding the voice number %s: %w", call.To, err)
	}
	return svc.Answer(ctx, ch.ProjectID, ch.ID, call)
}

// VoiceSim is the simulated telephony provider (tests script its callees).
func (a *App) VoiceSim() *sim.Provider { return a.voiceSim }

// Datasets is the dataset service (tests and benchmarks wait for uploads).
func (a *App) Datasets() *dataset.Service { return a.datasets }

// EventHooks is the event webhooks' service (tests run its worker).
func (a *App) EventHooks() *eventhook.Service { return a.hooks }

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
	// Calls hand their results to the runner's inbox: after it.
	if err := a.calls.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	// Campaigns start rows through the runner: after it.
	if err := a.datasets.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := a.campaign.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := a.hooks.Start(context.WithoutCancel(ctx)); err != nil {
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
	if fake := a.sandboxTwilioFake.Load(); fake != nil {
		fake.Close()
	}
	if a.front != nil {
		a.front.NotReady("draining: shutting down")
		time.Sleep(a.drain)
		if err := a.front.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping HTTP: %w", err))
		}
	}
	if a.started {
		a.hooks.Stop()
		a.campaign.Stop() // before the runner it starts rows through
		a.datasets.Stop()
		a.calls.Stop() // records its calls' ends through the runner's inbox
		a.runner.Stop()
		if err := a.jobs.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping jobs: %w", err))
		}
		a.chanlog.Stop() // after the senders: their last entries are written
	}
	if err := a.projectDB.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing project databases: %w", err))
	}
	if err := a.store.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Receipts are the counters of receipts kept for messages whose send's
// answer was not stored yet (held, applied, expired).
func (a *App) Receipts() *receipt.Counters { return a.receipts }

// onboardingGraph makes embedded signup's Graph calls at the Graph URL of
// the signup's current configuration (Meta's, or the sandbox's fake).
type onboardingGraph struct {
	http *http.Client
	url  atomic.Pointer[string]
}

func (g *onboardingGraph) at() whatsapp.Onboarding {
	u := whatsapp.DefaultAPIBaseURL
	if p := g.url.Load(); p != nil && *p != "" {
		u = *p
	}
	return whatsapp.Onboarding{BaseURL: u, Version: whatsapp.DefaultAPIVersion, HTTP: g.http}
}

func (g *onboardingGraph) ExchangeCode(ctx context.Context, appID, appSecret, code string) (string, error) {
	return g.at().ExchangeCode(ctx, appID, appSecret, code)
}

func (g *onboardingGraph) SubscribeApp(ctx context.Context, token, wabaID, callbackURL, verifyToken string) error {
	return g.at().SubscribeApp(ctx, token, wabaID, callbackURL, verifyToken)
}

func (g *onboardingGraph) Register(ctx context.Context, token, phoneID, pin string) error {
	return g.at().Register(ctx, token, phoneID, pin)
}

// campaignNotices hands the inbox's account notices to the campaign
// service, which is built after the runner it depends on.
type campaignNotices struct {
	s atomic.Pointer[campaign.Service]
}

// AccountNotice implements inbox.Notices.
func (c *campaignNotices) AccountNotice(ctx context.Context, q store.Queries, ch domain.Channel, businessID string, n channel.AccountNotice) (int, error) {
	s := c.s.Load()
	if s == nil {
		return 0, errors.New("the campaign service is not built yet")
	}
	return s.AccountNotice(ctx, q, ch, businessID, n)
}
