package sim_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
	"github.com/parleyhq/parley/internal/voice/voicetest"
)

// TestConformance: the simulated provider passes the voice provider suite.
func TestConformance(t *testing.T) {
	t.Parallel()
	p := sim.New(domain.SystemClock{}, domain.UUIDv7{})
	scenarios := map[voicetest.Scenario]sim.Scenario{voicetest.Answer: sim.Answer, voicetest.Busy: sim.Busy,
		voicetest.NoAnswer: sim.NoAnswer, voicetest.Machine: sim.Voicemail, voicetest.Silence: sim.Silence}
	voicetest.Run(t, voicetest.Suite{
		Provider: p, From: "+14155550100",
		Expect: func(number string, c voicetest.Callee) {
			p.Expect(number, sim.Script{Scenario: scenarios[c.Scenario], Lines: c.Lines, HangUpAfter: c.HangUpAfter})
		},
		Heard:       func(leg voice.Leg) []string { return leg.(*sim.Leg).Heard() },
		Transferred: func(leg voice.Leg) *voice.Target { return leg.(*sim.Leg).Transferred() },
		Briefed:     p.Briefed,
		Decline:     p.ExpectTransfer,
	})
}
