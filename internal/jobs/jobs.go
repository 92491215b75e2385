// Package jobs defines Parley's durable job kinds and their workers, and
// builds the River configuration both databases use. Jobs are enqueued with
// store.Queries.JobInsert, inside the transaction that creates the state they
// belong to, so a job exists exactly when its state does.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/receipt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Deps are what this package's workers need.
type Deps struct {
	Store  store.Store
	Clock  domain.Clock
	IDs    domain.IDGen
	Logger *slog.Logger
	// Receipts count the kept receipts housekeeping expires.
	Receipts *receipt.Counters
	// Databases creates each project's own database when the project is
	// provisioned; nil skips it (it is then created on first use).
	Databases DatabaseProvisioner
	// KeepReceipts is how long a receipt whose message was never matched
	// is kept (DefaultKeepReceipts when zero).
	KeepReceipts time.Duration
}

// DatabaseProvisioner creates a project's own database
// (internal/projectdb), recording its state, provisioning → ready or
// failed with the reason, where the project list shows it.
type DatabaseProvisioner interface {
	ProvisionDatabase(ctx context.Context, projectID string) error
}

// DefaultKeepReceipts is how long a receipt is kept waiting for its
// message's provider ID: a send's answer is stored within seconds, or the
// message is sent again under another ID.
const DefaultKeepReceipts = time.Hour

// Bound is a value River's workers need that exists only once the store
// is open, while opening the store needs the River config that holds the
// workers. So the workers are registered with an empty Bound, and the
// composition root sets it once, after building what it holds and before
// the job client starts; nothing is filled in after the fact on the value
// itself. A job worked before that (none can be: workers run once the
// client starts) fails with an error and River retries it.
type Bound[T any] struct{ p atomic.Pointer[T] }

// Set binds the value; it may be called once.
func (b *Bound[T]) Set(v *T) error {
	if v == nil || !b.p.CompareAndSwap(nil, v) {
		return errors.New("jobs: a worker's dependencies are bound once, to a value")
	}
	return nil
}

// Get is the bound value, or an error before Set.
func (b *Bound[T]) Get() (*T, error) {
	if v := b.p.Load(); v != nil {
		return v, nil
	}
	return nil, errors.New("jobs: the worker ran before its dependencies were bound")
}

// Options tune the River client.
type Options struct {
	// Logger receives River's warnings and errors.
	Logger *slog.Logger
	// Work is false for processes that only enqueue (CLI commands).
	Work bool
	// MaxWorkers is the number of jobs run at once per process.
	MaxWorkers int
	// PollInterval is how often idle workers look for jobs.
	PollInterval time.Duration
	// HousekeepingEvery is the period of the housekeeping job.
	HousekeepingEvery time.Duration
	// Register adds the workers of other packages (the runner's).
	Register []func(*river.Workers)
	// Queues are other packages' queues, worked besides the default one.
	Queues map[string]river.QueueConfig
}

// Queue names. Replies to contacts will get their own, ahead of bulk traffic.
const (
	QueueDefault = river.QueueDefault
)

// Config returns the River configuration with every worker registered;
// this package's workers get their dependencies from deps once it is set.
func Config(deps *Bound[Deps], o Options) *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, &provisionWorker{deps: deps})
	river.AddWorker(workers, &housekeepingWorker{deps: deps})
	for _, register := range o.Register {
		register(workers)
	}
	cfg := &river.Config{
		Workers:           workers,
		Logger:            riverLogger(o.Logger),
		FetchPollInterval: o.PollInterval,
		// A short cooldown lets a producer fetch again as soon as workers
		// free up: session timers come in bursts of short jobs.
		FetchCooldown: min(o.PollInterval, 10*time.Millisecond),
		// Jobs are short; a job a dead process had started is rescued two
		// minutes later rather than River's default hour. Session timers
		// are no longer jobs (the runner fires them from the sessions'
		// rows into the leased inbox, taken over within PARLEY_WORK_LEASE);
		// only timer jobs an earlier version queued still run here.
		JobTimeout:           time.Minute,
		RescueStuckJobsAfter: 2 * time.Minute,
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = 50 * time.Millisecond
		cfg.FetchCooldown = 10 * time.Millisecond
	}
	if o.Work {
		n := o.MaxWorkers
		if n <= 0 {
			n = 20
		}
		cfg.Queues = map[string]river.QueueConfig{QueueDefault: {MaxWorkers: n}}
		for name, q := range o.Queues {
			cfg.Queues[name] = q
		}
		every := o.HousekeepingEvery
		if every <= 0 {
			every = 10 * time.Minute
		}
		cfg.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(every),
				func() (river.JobArgs, *river.InsertOpts) { return HousekeepingArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true, ID: "housekeeping"}),
		}
	}
	return cfg
}

// Service runs the job client of a store and records job metrics.
type Service struct {
	client  store.JobClient
	logger  *slog.Logger
	total   *prometheus.CounterVec
	seconds *prometheus.HistogramVec
	stop    func()
	done    chan struct{}
}

// NewService returns a Service for client, registering its metrics on reg.
func NewService(client store.JobClient, reg prometheus.Registerer, logger *slog.Logger) *Service {
	s := &Service{
		client: client,
		logger: logger,
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_jobs_total", Help: "Jobs finished, by kind and outcome (completed, failed, cancelled, snoozed).",
		}, []string{"kind", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_job_duration_seconds", Help: "Time jobs spent running, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"kind"}),
	}
	reg.MustRegister(s.total, s.seconds)
	return s
}

// Start starts working jobs.
func (s *Service) Start(ctx context.Context) error {
	events, cancel := s.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	s.stop, s.done = cancel, make(chan struct{})
	go s.record(events)
	if err := s.client.Start(ctx); err != nil {
		cancel()
		<-s.done
		return fmt.Errorf("starting the job client: %w", err)
	}
	return nil
}

func (s *Service) record(events <-chan *river.Event) {
	defer close(s.done)
	for e := range events {
		if e == nil || e.Job == nil {
			continue
		}
		s.total.WithLabelValues(e.Job.Kind, string(e.Kind)[len("job_"):]).Inc()
		if e.JobStats != nil {
			s.seconds.WithLabelValues(e.Job.Kind).Observe(e.JobStats.RunDuration.Seconds())
		}
	}
}

// Stop lets running jobs finish until ctx ends, then cancels them; River
// retries cancelled jobs on the next start, so nothing is lost.
func (s *Service) Stop(ctx context.Context) error {
	err := s.client.Stop(ctx)
	if err != nil {
		s.logger.Warn("jobs did not finish in time; cancelling them (they will be retried)", "err", err)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = s.client.StopAndCancel(cctx)
	}
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	return err
}

// riverLogger passes on River's warnings and errors only: it reports
// routine counts at info level every few seconds.
func riverLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(minLevel{l.Handler(), slog.LevelWarn})
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Handle drops the errors River's maintenance services log when they are
// stopped mid-query: Client.Stop cancels their context, and the periodic job
// enqueuer (whose housekeeping job runs on start, right after this process
// is elected leader) logs the cancelled insert as "ERROR … context canceled"
// without checking why. A record whose own context was cancelled, reporting
// just that cancellation, is a clean stop, not an error.
func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil && errors.Is(ctx.Err(), context.Canceled) && recordSays(r, context.Canceled.Error()) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// recordSays reports whether an "error" or "err" attribute of r is msg.
func recordSays(r slog.Record, msg string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if (a.Key == "error" || a.Key == "err") && a.Value.Resolve().String() == msg {
			found = true
			return false
		}
		return true
	})
	return found
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
