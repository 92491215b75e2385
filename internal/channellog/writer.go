package channellog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// DefaultRetention is how long entries are kept unless configured.
const DefaultRetention = 7 * 24 * time.Hour

// WriterOptions configure a Writer.
type WriterOptions struct {
	Clock  domain.Clock
	IDs    domain.IDGen
	Logger *slog.Logger
	// Retention is how long entries are kept (0: DefaultRetention).
	Retention time.Duration
	// PurgeEvery is how often old entries are deleted (0: 10 minutes).
	PurgeEvery time.Duration
	// Buffer bounds the entries waiting to be written (0: 4096); past it,
	// entries are dropped and counted.
	Buffer int
	// FlushEvery is the longest an entry waits for its batch (0: 500ms).
	FlushEvery time.Duration
	// FailuresOnly keeps only the entries of failed calls and webhooks
	// (Failed); the others are not stored (PARLEY_CHANNEL_LOG=failures).
	FailuresOnly bool
}

// batchSize is the most entries written in one statement.
const batchSize = 256

// Writer stores entries in batches, off the path of the sends and webhooks
// that produce them, and purges them after the retention period.
type Writer struct {
	st      store.ChannelLogs
	o       WriterOptions
	queue   chan store.ChannelLogEntry
	flushes chan chan struct{}
	dropped *prometheus.CounterVec
	written prometheus.Counter
	// drops mirrors the dropped counter for Dropped.
	drops atomic.Int64

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
}

// NewWriter returns a writer to st; nothing is written until Start.
func NewWriter(st store.ChannelLogs, o WriterOptions) *Writer {
	if o.Clock == nil {
		o.Clock = domain.SystemClock{}
	}
	if o.IDs == nil {
		o.IDs = domain.UUIDv7{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.PurgeEvery <= 0 {
		o.PurgeEvery = 10 * time.Minute
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 500 * time.Millisecond
	}
	return &Writer{st: st, o: o, queue: make(chan store.ChannelLogEntry, o.Buffer), flushes: make(chan chan struct{}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_channel_log_dropped_total",
			Help: "Channel log entries not stored: the buffer was full, or writing them failed."}, []string{"reason"}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_channel_log_written_total",
			Help: "Channel log entries stored."}),
	}
}

// Collectors are the writer's metrics, for the process registry.
func (w *Writer) Collectors() []prometheus.Collector {
	return []prometheus.Collector{w.dropped, w.written}
}

// Record implements Sink: it stamps the entry and queues it, or drops it
// when the queue is full, so a slow database never slows a send.
func (w *Writer) Record(e store.ChannelLogEntry) {
	if !w.Keeps(e.Failed()) {
		return
	}
	if e.ID == "" {
		e.ID = w.o.IDs.NewID()
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = w.o.Clock.Now()
	}
	e.URL, e.Method, e.MessageID = clean(e.URL), clean(e.Method), clean(e.MessageID)
	select {
	case w.queue <- e:
	default:
		w.dropped.WithLabelValues("buffer_full").Inc()
		w.drops.Add(1)
	}
}

// Keeps implements Keeper.
func (w *Writer) Keeps(failed bool) bool { return failed || !w.o.FailuresOnly }

// Dropped is how many entries were not stored, for any reason.
func (w *Writer) Dropped() int64 { return w.drops.Load() }

// Start runs the writer until Stop.
func (w *Writer) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return nil
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	w.started = true
	go w.run(ctx)
	return nil
}

// Stop writes what is queued and stops; it waits for the last batch.
func (w *Writer) Stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.started = false
	w.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Flush writes everything queued before it returns (tests, shutdown).
func (w *Writer) Flush(ctx context.Context) {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		w.drain(ctx)
		return
	}
	ack := make(chan struct{})
	select {
	case w.flushes <- ack:
		select {
		case <-ack:
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
}

func (w *Writer) run(ctx context.Context) {
	defer close(w.done)
	flush := time.NewTicker(w.o.FlushEvery)
	defer flush.Stop()
	purge := time.NewTimer(0) // once at start, then every PurgeEvery
	defer purge.Stop()
	batch := make([]store.ChannelLogEntry, 0, batchSize)
	write := func(wctx context.Context) {
		if len(batch) == 0 {
			return
		}
		if err := w.st.ChannelLogAppend(wctx, batch); err != nil {
			w.dropped.WithLabelValues("write_error").Add(float64(len(batch)))
			w.drops.Add(int64(len(batch)))
			w.o.Logger.Warn("writing the channel log failed; entries dropped", "entries", len(batch), "err", err)
		} else {
			w.written.Add(float64(len(batch)))
		}
		batch = batch[:0]
	}
	for {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
			if len(batch) >= batchSize {
				write(ctx)
			}
		case <-flush.C:
			write(ctx)
		case ack := <-w.flushes:
			write(ctx)
			w.drainInto(ctx, &batch, write)
			close(ack)
		case <-purge.C:
			w.purge(ctx)
			purge.Reset(w.o.PurgeEvery)
		case <-ctx.Done():
			// The last entries outlive the cancelled context, briefly.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			write(sctx)
			w.drainInto(sctx, &batch, write)
			cancel()
			return
		}
	}
}

// drainInto writes every entry queued now, in batches.
func (w *Writer) drainInto(ctx context.Context, batch *[]store.ChannelLogEntry, write func(context.Context)) {
	for {
		select {
		case e := <-w.queue:
			*batch = append(*batch, e)
			if len(*batch) >= batchSize {
				write(ctx)
			}
		default:
			write(ctx)
			return
		}
	}
}

// drain writes what is queued from the caller's goroutine (not started).
func (w *Writer) drain(ctx context.Context) {
	var batch []store.ChannelLogEntry
	for {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
			continue
		default:
		}
		break
	}
	for len(batch) > 0 {
		n := min(len(batch), batchSize)
		if err := w.st.ChannelLogAppend(ctx, batch[:n]); err != nil {
			w.dropped.WithLabelValues("write_error").Add(float64(n))
			w.drops.Add(int64(n))
		} else {
			w.written.Add(float64(n))
		}
		batch = batch[n:]
	}
}

// purge deletes entries older than the retention period, in batches.
func (w *Writer) purge(ctx context.Context) {
	before := w.o.Clock.Now().Add(-w.o.Retention)
	total := 0
	for ctx.Err() == nil {
		n, err := w.st.ChannelLogPurge(ctx, store.ChannelLogPurgeParams{Before: before, Limit: 5000})
		if err != nil {
			w.o.Logger.Warn("purging the channel log failed", "err", err)
			return
		}
		total += n
		if n < 5000 {
			break
		}
	}
	if total > 0 {
		w.o.Logger.Info("channel log purged", "entries", total, "older_than", before)
	}
}

// PurgeNow deletes entries past the retention period at once.
func (w *Writer) PurgeNow(ctx context.Context) { w.purge(ctx) }
