package voice_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// timedModel measures the model's own latency: from handing it the
// request to its answer, over HTTP to the fake server.
type timedModel struct {
	voice.Model
	mu   sync.Mutex
	took []time.Duration
}

func (m *timedModel) Complete(ctx context.Context, req ai.Request) (ai.Completion, error) {
	t := time.Now()
	c, err := m.Model.Complete(ctx, req)
	m.mu.Lock()
	m.took = append(m.took, time.Since(t))
	m.mu.Unlock()
	return c, err
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkRelayLatency is the text relay's turn latency: from the end of
// the caller's speech (the provider's finished utterance) to the agent's
// line handed back to the provider, p50 and p99 over every turn, beside
// the fake LLM's own latency (the same requests, timed around the model
// call) measured in the same run; the difference is Parley's share.
// Each case is the fake LLM answering at once or after a fixed delay.
func BenchmarkRelayLatency(b *testing.B) {
	for _, delay := range []time.Duration{0, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("llm_delay=%v", delay), func(b *testing.B) {
			m, f := fakeModel(b)
			f.Fallback(func(aitest.Request) aitest.Reply {
				return aitest.Reply{Content: `{"say":"Sure, Tuesday at ten works. Anything else?","action":"continue","reason":""}`, Delay: delay}
			})
			tm := &timedModel{Model: m}
			lines := make([]string, 10)
			for i := range lines {
				lines[i] = fmt.Sprintf("This is what the caller says on turn %d.", i+1)
			}
			p := sim.New(domain.SystemClock{}, domain.UUIDv7{})
			p.Default = sim.Script{Scenario: sim.Answer, Lines: lines}
			var turns []time.Duration
			b.ResetTimer()
			for range b.N {
				leg, err := p.Place(context.Background(), voice.Dial{To: "+14155550101", From: "+14155550100"})
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for range leg.Events() {
					}
				}()
				r := (&voice.Agent{Model: tm, Clock: domain.SystemClock{}}).Run(context.Background(), leg, voice.AgentConfig{SystemPrompt: "Book a visit.", Greeting: "Hi!"})
				if r.Err != nil || len(r.Latencies) != len(lines) {
					b.Fatalf("call: %d turns, %v", len(r.Latencies), r.Err)
				}
				turns = append(turns, r.Latencies...)
			}
			b.StopTimer()
			b.ReportMetric(float64(percentile(turns, 0.5).Microseconds())/1000, "turn-p50-ms")
			b.ReportMetric(float64(percentile(turns, 0.99).Microseconds())/1000, "turn-p99-ms")
			b.ReportMetric(float64(percentile(tm.took, 0.5).Microseconds())/1000, "llm-p50-ms")
			b.ReportMetric(float64(percentile(tm.took, 0.99).Microseconds())/1000, "llm-p99-ms")
		})
	}
}
