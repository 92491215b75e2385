package sprint

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// StatsEvery is how often a process writes the flow counters its sprints
// added up.
const StatsEvery = time.Second

// statsKey is one row of counters: a flow revision in an hour.
type statsKey struct {
	project, flow string
	revision      int
	hour          time.Time
}

// statsBuffer adds up the counters of committed sprints in memory; the
// flusher writes them once a second, one transaction for all. Writing them
// in every sprint made each sprint's commit update the same few rows: on
// PostgreSQL every commit of a busy flow waited for the previous one's
// row locks (a few hundred sprints a second at most), on SQLite it was a
// third of a sprint's statements. The price: counts of the last second are
// lost if the process dies (a graceful stop writes them).
type statsBuffer struct {
	mu   sync.Mutex
	rows map[statsKey]*store.FlowStatsAddParams
}

// add counts a committed sprint.
func (b *statsBuffer) add(p store.FlowStatsAddParams) {
	k := statsKey{p.ProjectID, p.FlowID, p.Revision, p.At.UTC().Truncate(time.Hour)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rows == nil {
		b.rows = map[statsKey]*store.FlowStatsAddParams{}
	}
	r := b.rows[k]
	if r == nil {
		r = &store.FlowStatsAddParams{ProjectID: p.ProjectID, FlowID: p.FlowID, Revision: p.Revision, At: k.hour,
			Nodes: map[string]store.NodeCounts{}, Edges: map[string]int64{}}
		b.rows[k] = r
	}
	r.Sessions.Started += p.Sessions.Started
	r.Sessions.Completed += p.Sessions.Completed
	r.Sessions.Expired += p.Sessions.Expired
	r.Sessions.Failed += p.Sessions.Failed
	for id, c := range p.Nodes {
		n := r.Nodes[id]
		n.Visits += c.Visits
		n.DropOffs += c.DropOffs
		n.LLM.Add(c.LLM)
		r.Nodes[id] = n
	}
	for id, n := range p.Edges {
		r.Edges[id] += n
	}
}

// take empties the buffer.
func (b *statsBuffer) take() map[statsKey]*store.FlowStatsAddParams {
	b.mu.Lock()
	defer b.mu.Unlock()
	rows := b.rows
	b.rows = nil
	return rows
}

// FlushStats writes the counters added up so far, including those of
// sprints whose commit is under way now; the analytics API calls it before
// reading, so everything this process committed is counted.
func (h *Handler) FlushStats(ctx context.Context) error {
	// A barrier: sprint commits hold the gate shared until their counters
	// are in the buffer.
	h.commitGate.Lock()
	h.commitGate.Unlock() //nolint:staticcheck // an empty critical section is the point
	return h.flushStats(ctx)
}

// flushStats writes the buffered counters.
func (h *Handler) flushStats(ctx context.Context) error {
	h.statsMu.Lock() // one flush at a time: a failed one puts its rows back
	defer h.statsMu.Unlock()
	rows := h.stats.take()
	if len(rows) == 0 {
		return nil
	}
	err := h.st.InTx(ctx, func(q store.Queries) error {
		for _, p := range rows {
			if err := q.FlowStatsAdd(ctx, *p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, p := range rows {
			h.stats.add(*p)
		}
	}
	return err
}

// flushStatsLoop writes the counters every StatsEvery until stop closes,
// and once more then.
func (h *Handler) flushStatsLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(StatsEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := h.flushStats(ctx); err != nil {
				h.c.Logger.Error("writing flow counters at stop failed; they are lost", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := h.flushStats(context.Background()); err != nil {
				h.c.Logger.Warn("writing flow counters failed; retrying", "err", err)
			}
		}
	}
}
