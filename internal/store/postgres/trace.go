package postgres

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// statementCounter counts the statements the store sends, the round trips
// they took (a statement alone is one; a pgx batch of statements, see
// pipeline.go, is one) and the time each round trip took from send to
// answer (the server's work included), so benchmarks and metrics can say
// what an operation costs and where a connection's time goes. With byText
// on, it also counts statements per text (benchmarks' breakdowns). The
// preparation of a statement new to a connection is not counted.
type statementCounter struct {
	statements atomic.Int64
	roundTrips atomic.Int64
	waited     atomic.Int64 // nanoseconds
	byText     atomic.Bool
	texts      sync.Map // SQL → *textCount
}

// textCount is one statement text's count and time. A statement sent in a
// batch is counted in batched; the batch's time is charged to its last
// statement, the one whose answer was waited for.
type textCount struct {
	n, batched, ends, waited atomic.Int64
}

// batchTrace collects a batch's statement texts as pgx reports them.
type batchTrace struct {
	at    time.Time
	texts []string
}

type batchTraceKey struct{}

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
	c.roundTrips.Add(1)
	st, ok := ctx.Value(traceStartKey{}).(traceStart)
	if !ok {
		return
	}
	d := int64(time.Since(st.at))
	c.waited.Add(d)
	if c.byText.Load() {
		tc := c.text(st.sql)
		tc.n.Add(1)
		tc.ends.Add(1)
		tc.waited.Add(d)
	}
}

// text is sql's count, made on first use.
func (c *statementCounter) text(sql string) *textCount {
	v, ok := c.texts.Load(sql)
	if !ok {
		v, _ = c.texts.LoadOrStore(sql, &textCount{})
	}
	return v.(*textCount)
}

func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return context.WithValue(ctx, batchTraceKey{}, &batchTrace{at: time.Now()})
}

func (c *statementCounter) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	c.statements.Add(1)
	if bt, ok := ctx.Value(batchTraceKey{}).(*batchTrace); ok && c.byText.Load() {
		bt.texts = append(bt.texts, data.SQL)
	}
}

func (c *statementCounter) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	c.roundTrips.Add(1)
	bt, ok := ctx.Value(batchTraceKey{}).(*batchTrace)
	if !ok {
		return
	}
	d := int64(time.Since(bt.at))
	c.waited.Add(d)
	for i, sql := range bt.texts {
		tc := c.text(sql)
		tc.n.Add(1)
		tc.batched.Add(1)
		if i == len(bt.texts)-1 {
			tc.ends.Add(1)
			tc.waited.Add(d)
		}
	}
}

// StatementStats reports how many statements the store has run, in how
// many round trips, and the total time the round trips took from send to
// answer.
func (s *Store) StatementStats() (statements, roundTrips int64, waited time.Duration) {
	return s.counter.statements.Load(), s.counter.roundTrips.Load(), time.Duration(s.counter.waited.Load())
}

// StatementCount is how often one statement text ran, how many of those
// went in a batch with others, how many round trips it ended (alone, or
// last in a batch) and their total time from send to answer.
type StatementCount struct {
	SQL     string
	N       int64
	Batched int64
	Ends    int64
	Waited  time.Duration
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
		out = append(out, StatementCount{SQL: k.(string), N: tc.n.Load(), Batched: tc.batched.Load(), Ends: tc.ends.Load(), Waited: time.Duration(tc.waited.Load())})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].N > out[j].N })
	return out
}
