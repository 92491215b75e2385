package sim

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
)

// Bounds of a live call: the person's lines not yet heard by the agent,
// and the events kept for whoever follows the call (the oldest go first).
const (
	LiveQueue = 16
	LiveLog   = 512
	// liveKept bounds the finished live calls a provider remembers.
	liveKept = 64
)

// LiveKind says what a LiveEvent is.
type LiveKind string

// The live events.
const (
	LiveRinging  LiveKind = "ringing"
	LiveAnswered LiveKind = "answered"
	// LiveAgent is a line the agent said; Interrupted when the callee
	// talked over it.
	LiveAgent LiveKind = "agent"
	// LiveCallee is a line the person said.
	LiveCallee LiveKind = "callee"
	// LiveTransfer is the call being handed to a person (Text says to
	// whom and how it went; Status is completed when they took it).
	LiveTransfer LiveKind = "transfer"
	LiveEnded    LiveKind = "ended"
)

// LiveEvent is one thing that happened on a live call.
type LiveEvent struct {
	Seq    int          `json:"seq"`
	Kind   LiveKind     `json:"kind"`
	Text   string       `json:"text,omitempty"`
	Status voice.Status `json:"status,omitempty"`
	At     time.Time    `json:"at"`
}

// Live is a callee played by a person: what they say is queued with Say
// (bounded: a person far ahead of the agent is told to wait), HangUp ends
// the call, and the call's events (ringing, answered, each line, ended)
// are kept for Wait. A Live serves one call.
type Live struct {
	lines  chan string
	hung   chan struct{}
	hangUp sync.Once

	mu      sync.Mutex
	events  []LiveEvent
	seq     int
	changed chan struct{} // closed on every event, then replaced
	ended   bool
	id      string
	callID  string
	legID   string
}

// NewLive returns a live callee waiting for its call.
func NewLive() *Live {
	return &Live{lines: make(chan string, LiveQueue), hung: make(chan struct{}), changed: make(chan struct{})}
}

// ID names the live call before it is placed (ExpectLive).
func (l *Live) ID() string { return l.id }

// CallID is Parley's ID of the call this Live answers ("" until placed);
// LegID the provider's.
func (l *Live) CallID() (callID, legID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.callID, l.legID
}

// Say queues what the person says next.
func (l *Live) Say(text string) error {
	l.mu.Lock()
	ended := l.ended
	l.mu.Unlock()
	if ended {
		return domain.Errorf(domain.CodeConflict, "the call has ended")
	}
	select {
	case l.lines <- text:
		return nil
	default:
		return domain.Errorf(domain.CodeConflict, "the agent has not heard your last %d lines yet: wait for its answer", LiveQueue)
	}
}

// HangUp ends the call as the person (once; later calls do nothing).
func (l *Live) HangUp() { l.hangUp.Do(func() { close(l.hung) }) }

// Ended reports whether the call has ended.
func (l *Live) Ended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

// Events returns the events after seq after (oldest first), whether the
// call has ended, and a channel closed when something new happens.
func (l *Live) Events(after int) ([]LiveEvent, bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LiveEvent
	for _, e := range l.events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out, l.ended, l.changed
}

// Wait returns the events after seq after, waiting up to wait (or until
// ctx ends) for one when there is none yet.
func (l *Live) Wait(ctx context.Context, after int, wait time.Duration) ([]LiveEvent, bool) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		evs, ended, changed := l.Events(after)
		if len(evs) > 0 || ended {
			return evs, ended
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-t.C:
			return nil, false
		case <-changed:
		}
	}
}

func (l *Live) publish(e LiveEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.seq++
	e.Seq = l.seq
	l.events = append(l.events, e)
	if len(l.events) > LiveLog {
		l.events = append([]LiveEvent(nil), l.events[len(l.events)-LiveLog:]...)
	}
	if e.Kind == LiveEnded {
		l.ended = true
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// cancel ends a live call that was never placed.
func (l *Live) cancel(at time.Time) {
	l.HangUp()
	l.publish(LiveEvent{Kind: LiveEnded, Status: voice.StatusCanceled, At: at})
}

func (l *Live) placed(callID, legID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.callID, l.legID = callID, legID
}

// ExpectLive makes the next call to number (only the next) a live call
// taken as scenario says; a person plays it through the returned Live.
func (p *Provider) ExpectLive(number string, scenario Scenario) *Live {
	lv := NewLive()
	lv.id = "LIVE" + p.IDs.NewID()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.once == nil {
		p.once = map[string]Script{}
	}
	// Bounded: a live call nobody places is dropped (hung up) to make room.
	for n, old := range p.once {
		if len(p.once) < liveKept {
			break
		}
		old.Live.cancel(p.Clock.Now())
		delete(p.once, n)
	}
	if old, ok := p.once[number]; ok {
		old.Live.cancel(p.Clock.Now()) // the newer expectation wins
	}
	p.once[number] = Script{Scenario: scenario, Live: lv}
	p.remember(lv)
	return lv
}

// Live finds a live call by its own ID, Parley's call ID or the
// provider's leg ID.
func (p *Provider) Live(id string) (*Live, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, lv := range p.lives {
		if c, l := lv.CallID(); id != "" && (c == id || l == id || lv.id == id) {
			return lv, true
		}
	}
	return nil, false
}

// remember keeps a live call findable, forgetting the oldest ended ones.
// p.mu is held.
func (p *Provider) remember(lv *Live) {
	p.lives = append(p.lives, lv)
	if len(p.lives) <= liveKept {
		return
	}
	for i, old := range p.lives {
		if old.Ended() {
			p.lives = append(p.lives[:i], p.lives[i+1:]...)
			return
		}
	}
	p.lives = p.lives[1:]
}

// Attended places calls as a person answering them: a number with a
// script of its own follows it, any other is a live call (scenario
// answer) found with Provider.Live by its call ID. The simulator places
// its calls through it, so the person testing a flow is the callee.
type Attended struct{ P *Provider }

// SimulatorNumber is the number the simulator's calls come from when the
// dial names none (the simulator places calls without the voice number's
// adapter, which would name its own).
const SimulatorNumber = "+15550000000"

// Place implements voice.Provider.
func (a Attended) Place(ctx context.Context, d voice.Dial) (voice.Leg, error) {
	if d.From == "" {
		d.From = SimulatorNumber
	}
	return a.P.place(ctx, d, true)
}
