package postgres

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// statementCounter counts the statements the store sends and the time
// each took from send to answer (a round trip, the server's work
// included), so benchmarks and metrics can say what an operation costs in
// statements and where a connection's time goes. With byText on, it also
// counts them per statement text (benchmarks' breakdowns).
type statementCounter struct {
	statements atomic.Int64
	waited     atomic.Int64 // nanoseconds
	byText     atomic.Bool
	texts      sync.Map // SQL → *textCount
}

// textCount is one statement text's count and time.
type textCount struct {
	n, waited atomic.Int64
}

type traceStart struct {
	at  time.Time
	sql string
}

type traceStartKey struct{}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traceStartKey{}, traceStart{at: time.Now(), sql: data.SQL})
}

func (c *statementCounter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	c.statements.Add(1)
	st, ok := ctx.Value(traceStartKey{}).(traceStart)
	if !ok {
		return
	}
	d := int64(time.Since(st.at))
	c.waited.Add(d)
	if c.byText.Load() {
		v, ok := c.texts.Load(st.sql)
		if !ok {
			v, _ = c.texts.LoadOrStore(st.sql, &textCount{})
		}
		tc := v.(*textCount)
		tc.n.Add(1)
		tc.waited.Add(d)
	}
}

// StatementStats reports how many statements the store has run and the
// total time they took from send to answer.
func (s *Store) StatementStats() (statements int64, waited time.Duration) {
	return s.counter.statements.Load(), time.Duration(s.counter.waited.Load())
}

// StatementCount is how often one statement text ran, and its total time
// from send to answer.
type StatementCount struct {
	SQL    string
	N      int64
	Waited time.Duration
}

// CountStatementTexts starts (or stops) counting statements per text and
// clears the counts: benchmarks read them with StatementTexts.
func (s *Store) CountStatementTexts(on bool) {
	s.counter.texts.Clear()
	s.counter.byText.Store(on)
}

// StatementTexts reports the per-text counts since CountStatementTexts,
// the most frequent first.
func (s *Store) StatementTexts() []StatementCount {
	var out []StatementCount
	s.counter.texts.Range(func(k, v any) bool {
		tc := v.(*textCount)
		out = append(out, StatementCount{SQL: k.(string), N: tc.n.Load(), Waited: time.Duration(tc.waited.Load())})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].N > out[j].N })
	return out
}
