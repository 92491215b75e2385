// Package receipt owns the counters of receipts kept for messages whose
// send's answer was not stored yet (store.Runtime.ReceiptHold): how many
// were kept, applied when the provider ID was recorded, and expired
// unmatched. A receipt the provider acknowledged is never dropped
// silently: it is applied or, after the bounded time, counted as expired.
package receipt

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Counters count kept receipts; a nil *Counters counts nothing.
type Counters struct {
	total *prometheus.CounterVec
}

// NewCounters returns counters to register with Collectors.
func NewCounters() *Counters {
	return &Counters{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_receipts_kept_total",
		Help: "Receipts that arrived before their message's provider ID was stored, by outcome: held, applied, expired (never matched).",
	}, []string{"outcome"})}
}

func (c *Counters) add(outcome string, n int) {
	if c == nil || n <= 0 {
		return
	}
	c.total.WithLabelValues(outcome).Add(float64(n))
}

// Held counts n receipts kept for later.
func (c *Counters) Held(n int) { c.add("held", n) }

// Applied counts n kept receipts applied to their message.
func (c *Counters) Applied(n int) { c.add("applied", n) }

// Expired counts n kept receipts deleted unmatched.
func (c *Counters) Expired(n int) { c.add("expired", n) }

// Count is the number counted for outcome ("held", "applied",
// "expired"), for tests and the status page.
func (c *Counters) Count(outcome string) float64 {
	if c == nil {
		return 0
	}
	var m dto.Metric
	_ = c.total.WithLabelValues(outcome).Write(&m)
	return m.GetCounter().GetValue()
}

// Collectors are the counters, for the process registry.
func (c *Counters) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.total}
}
