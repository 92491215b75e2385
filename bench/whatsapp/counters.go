package main

import (
	"context"
	"fmt"
	"runtime/metrics"
	"time"

	"github.com/parleyhq/parley/bench/benchdb"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// counters are what a phase cost: the process's CPU, Parley's group-commit
// calls and transactions, and on PostgreSQL the server's commits and WAL
// flushes.
type counters struct {
	cpu time.Duration
	// allocs and allocBytes are the heap allocations of this process
	// (client, fake and Parley), gcs its collections: unlike CPU time
	// they do not move with what else the machine runs, so two trees
	// compare on a noisy machine.
	allocs, allocBytes, gcs uint64
	calls, txs              int64
	// xactCommit is pg_stat_database.xact_commit of the bench's database:
	// every transaction committed, including single statements outside
	// one (reads too).
	xactCommit int64
	// wal is the whole server's log: its flushes, and the records, bytes
	// and full-page images the phase wrote, a measure of the database's
	// work that, unlike its CPU time, does not move with the machine's
	// load.
	wal benchdb.WAL
	// statements, roundTrips and waited are the store's statements, the
	// round trips they took (a pipelined batch is one) and the round
	// trips' time from send to answer (postgres.Store.StatementStats).
	statements, roundTrips int64
	waited                 time.Duration
	pg                     bool
}

func (p *parley) counters(ctx context.Context) counters {
	c := counters{cpu: selfCPU()}
	c.allocs, c.allocBytes, c.gcs = heapCounts()
	c.calls, c.txs = p.groupCommit()
	if s, ok := p.app.Store().(*postgres.Store); ok {
		c.pg = true
		c.statements, c.roundTrips, c.waited = s.StatementStats()
		// Backends publish their counts at most once a second, so both
		// ends of a phase lag by up to that: small beside a 10 s phase.
		_ = s.Pool().QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.xactCommit)
		c.wal, _ = benchdb.ReadWAL(ctx, s.Pool())
	}
	return c
}

// printCost prints what one operation of a phase cost, from the counters
// at its start and end and the operations done in between.
func printCost(what string, a, b counters, ops int) {
	if ops < 100 {
		// A handful of operations (a phase that timed out) would make
		// the whole phase's background work look like their cost.
		fmt.Printf("  per %s: %d done, too few to divide the phase's cost by\n", what, ops)
		return
	}
	n := float64(ops)
	fmt.Printf("  per %s: %.0f µs CPU of this process (client + fake + Parley); %.0f heap allocations, %.1f KB allocated, %.3f collections",
		what, float64((b.cpu-a.cpu).Microseconds())/n, float64(b.allocs-a.allocs)/n, float64(b.allocBytes-a.allocBytes)/n/1e3, float64(b.gcs-a.gcs)/n)
	if b.txs > a.txs {
		fmt.Printf("; group commit %.2f calls per transaction, %.2f group-commit transactions per %s",
			float64(b.calls-a.calls)/float64(b.txs-a.txs), float64(b.txs-a.txs)/n, what)
	}
	if b.pg {
		fmt.Printf("; PostgreSQL commits (xact_commit, reads included) %.2f, WAL flushes (wal_sync, whole server: other databases too) %.2f per %s",
			float64(b.xactCommit-a.xactCommit)/n, float64(b.wal.Syncs-a.wal.Syncs)/n, what)
		fmt.Printf("; WAL %.1f records, %.0f B (%.2f full-page images) per %s", float64(b.wal.Records-a.wal.Records)/n,
			float64(b.wal.Bytes-a.wal.Bytes)/n, float64(b.wal.FPI-a.wal.FPI)/n, what)
		if st, rt := b.statements-a.statements, b.roundTrips-a.roundTrips; st > 0 && rt > 0 {
			fmt.Printf("; %.1f statements in %.1f round trips per %s, %.0f µs from send to answer each round trip", float64(st)/n, float64(rt)/n, what,
				float64((b.waited-a.waited).Microseconds())/float64(rt))
		}
	}
	fmt.Println()
}

// heapCounts is this process's heap allocations so far (objects and
// bytes) and its completed collections.
func heapCounts() (objects, bytes, gcs uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	for i := range s {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0, 0, 0
		}
	}
	return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
}

// countTexts starts counting statements per text (PostgreSQL) when on.
func (p *parley) countTexts(on bool) {
	if s, ok := p.app.Store().(*postgres.Store); ok {
		s.CountStatementTexts(on)
	}
}

// printTexts lists the top statement texts counted since countTexts, per
// operation of the phase.
func (p *parley) printTexts(top int, what string, ops int) {
	s, ok := p.app.Store().(*postgres.Store)
	if !ok || top <= 0 || ops == 0 {
		return
	}
	texts := s.StatementTexts()
	s.CountStatementTexts(false)
	fmt.Printf("  statements per %s, the most frequent first (count per %s, of which pipelined with others, µs from send to answer each round trip it ended):\n", what, what)
	benchdb.PrintStatements(texts, top, ops)
}
