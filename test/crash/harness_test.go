package crash_test

import (
	"github.com/parleyhq/parley/test/killharness"
)

// ---------------------------------------------------------------------
// Meta's side: webhooks are retried until they get a 200
// (killharness.Redeliverer); meta records what was in flight and what
// was acknowledged.

type meta struct {
	*killharness.Redeliverer

	// Guarded by the Redeliverer's lock (Locked).
	inFlight    [3]int
	acked       map[string]int            // inbound wamid → 200s received
	ackedStates map[string]map[string]int // our ID → state → 200s received
	ackedHooks  [3]int
}

func newMeta() *meta {
	m := &meta{Redeliverer: killharness.NewRedeliverer(), acked: map[string]int{}, ackedStates: map[string]map[string]int{}}
	m.Sending = func(h killharness.Webhook) func() {
		m.Locked(func() { m.inFlight[h.Kind]++ })
		return func() { m.Locked(func() { m.inFlight[h.Kind]-- }) }
	}
	m.Acked = func(h killharness.Webhook) {
		m.ackedHooks[h.Kind]++
		for _, id := range h.WAMIDs {
			m.acked[id]++
		}
		for _, s := range h.States {
			if m.ackedStates[s[0]] == nil {
				m.ackedStates[s[0]] = map[string]int{}
			}
			m.ackedStates[s[0]][s[1]]++
		}
	}
	return m
}

func (m *meta) snapshot() (inbound, status int) {
	m.Locked(func() { inbound, status = m.inFlight[killharness.KindInbound], m.inFlight[killharness.KindStatus] })
	return inbound, status
}

// The Graph API side is killharness.Graph: the sandbox behind a recorder
// that also holds each answer back a little, which widens the window
// between the fake accepting a message and Parley committing that it was
// sent.
