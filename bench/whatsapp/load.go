package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// op is one operation of a closed-loop load: worker w's seq-th call. It
// returns the operation's latency (which may end after the call returns,
// e.g. when the fake receives the reply) or an error.
type op func(ctx context.Context, w, seq int) (time.Duration, error)

// Stats summarise a measured phase.
type Stats struct {
	Name    string
	OK      int
	Errors  int
	Elapsed time.Duration
	P50     time.Duration
	P99     time.Duration
	Max     time.Duration
	// FirstErr is the first error seen, to print.
	FirstErr error
}

// Rate is completed operations per second.
func (s Stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.OK) / s.Elapsed.Seconds()
}

// closedLoop runs conc workers, each calling fn back to back, for warmup
// plus dur. Only operations started after the warm-up are counted; the rate
// is those completed divided by the measured window (the last operation in
// flight at the deadline is awaited and counted, bounded by its own
// timeout). It is bounded: no operation starts after the deadline.
// hooks, when given, are called when the measured window opens and once the
// last operation ended (to read counters over the window).
func closedLoop(ctx context.Context, name string, conc int, warmup, dur time.Duration, fn op, hooks ...func()) Stats {
	start := time.Now()
	measureFrom := start.Add(warmup)
	deadline := measureFrom.Add(dur)
	var opened chan struct{}
	if len(hooks) > 0 {
		opened = make(chan struct{})
		t := time.AfterFunc(warmup, func() { hooks[0](); close(opened) })
		defer t.Stop()
	}
	type acc struct {
		lat    []time.Duration
		errs   int
		first  error
		lastAt time.Time
	}
	accs := make([]acc, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &accs[w]
			a.lat = make([]time.Duration, 0, 4096)
			for seq := 0; ; seq++ {
				t0 := time.Now()
				if !t0.Before(deadline) || ctx.Err() != nil {
					return
				}
				d, err := fn(ctx, w, seq)
				if t0.Before(measureFrom) {
					continue
				}
				a.lastAt = time.Now()
				if err != nil {
					a.errs++
					if a.first == nil {
						a.first = err
					}
					continue
				}
				a.lat = append(a.lat, d)
			}
		}()
	}
	wg.Wait()
	if opened != nil {
		<-opened
		for _, h := range hooks[1:] {
			h()
		}
	}
	end := deadline
	var all []time.Duration
	st := Stats{Name: name}
	for i := range accs {
		all = append(all, accs[i].lat...)
		st.Errors += accs[i].errs
		if st.FirstErr == nil {
			st.FirstErr = accs[i].first
		}
		if accs[i].lastAt.After(end) {
			end = accs[i].lastAt
		}
	}
	st.OK = len(all)
	st.Elapsed = end.Sub(measureFrom)
	if len(all) > 0 {
		slices.Sort(all)
		st.P50 = all[len(all)/2]
		st.P99 = all[min(len(all)-1, len(all)*99/100)]
		st.Max = all[len(all)-1]
	}
	return st
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// num formats a rate with thousands separators.
func num(f float64) string {
	n := int64(f + 0.5)
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}
