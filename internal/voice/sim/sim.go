// Package sim is the simulated telephony provider: a caller that speaks
// text, from a script or played by a chat model, with the scenarios real
// calls have (busy, no answer, an answering machine, a hang-up mid-call,
// silence, talking over the agent). Tests, the sandbox and the UI's
// simulator place calls through it exactly as through Twilio, and get the
// same status events.
package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
)

// Scenario is how the simulated callee takes the call.
type Scenario string

// The scenarios.
const (
	// Answer: a person answers and says the script's lines.
	Answer Scenario = "answer"
	Busy   Scenario = "busy"
	// NoAnswer rings until the dial's ring timeout.
	NoAnswer Scenario = "no_answer"
	// Voicemail: an answering machine picks up and plays its greeting.
	Voicemail Scenario = "voicemail"
	// Failed: the number cannot be reached.
	Failed Scenario = "failed"
	// Silence: a person answers and never says anything.
	Silence Scenario = "silence"
)

// Scenarios lists every scenario, for the UI and `parley sandbox call`.
var Scenarios = []Scenario{Answer, Busy, NoAnswer, Voicemail, Failed, Silence}

// Script is what a simulated callee does.
type Script struct {
	Scenario Scenario
	// Lines are what the caller says, one per turn, each after the agent
	// has spoken (or first, without a greeting). When they run out the
	// caller hangs up, unless Persona goes on.
	Lines []string
	// HangUpAfter, when > 0, hangs up after that many lines have been
	// said (mid-call).
	HangUpAfter int
	// BargeIn, when > 0, makes the caller talk over the agent's line
	// before caller line number BargeIn (1-based): the agent is
	// interrupted after half its words.
	BargeIn int
	// Persona, when set, plays the caller with a chat model once Lines
	// are said; PersonaPrompt says who they are.
	Persona       voice.Model
	PersonaPrompt string
	// MaxPersonaTurns bounds a persona's turns (default 6).
	MaxPersonaTurns int
	// RingFor is the simulated ring time before answering.
	RingFor time.Duration
	// Live, when set, is a person playing the callee: their lines come
	// from it instead of Lines and Persona, and it hears the call's
	// events (ExpectLive, Attended).
	Live *Live
}

// Provider is the simulated provider. Scripts are chosen by the number
// called; Default answers every other number.
type Provider struct {
	Clock domain.Clock
	IDs   domain.IDGen
	// Logger says when a recording could not be kept (nil: not logged).
	Logger *slog.Logger

	mu      sync.Mutex
	scripts map[string]Script
	Default Script
	legs    []*Leg
	// live and peak count, per calling number, the calls under way now
	// and the most there ever were at once (campaign pacing tests read it).
	live map[string]int
	peak map[string]int
	// inbound takes the simulated callers' calls (voice.InboundProvider).
	inbound voice.InboundHandler
	// recordings keeps recorded calls' audio (voice.Recorder).
	recordings voice.RecordingSink
	once       map[string]Script // ExpectLive: the next call to a number
	lives      []*Live
	// declines are the transfer targets (as Target.String) whose agent
	// does not take the call, with how their leg ends.
	declines map[string]voice.Status
	// briefed is what each warm transfer's agent heard before the
	// caller joined, by target.
	briefed map[string][]string
}

// ExpectTransfer makes transfers to target (a number, or agent:NAME) end
// as status says: completed (the default) is taken, busy, no_answer or
// failed is not, and the transfer fails with a *voice.TransferError.
func (p *Provider) ExpectTransfer(target string, status voice.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.declines == nil {
		p.declines = map[string]voice.Status{}
	}
	if status == voice.StatusCompleted || status == "" {
		delete(p.declines, target)
		return
	}
	p.declines[target] = status
}

// Briefed is what the agents of warm transfers to target heard before the
// caller joined, oldest first.
func (p *Provider) Briefed(target string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.briefed[target]...)
}

// OnInbound implements voice.InboundProvider.
func (p *Provider) OnInbound(h voice.InboundHandler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inbound = h
}

// OnRecording implements voice.Recorder: a call placed with Dial.Record
// hands the sink a synthesized WAV of its lines as it ends.
func (p *Provider) OnRecording(s voice.RecordingSink) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recordings = s
}

// Call has a simulated person call number to from number from and talk
// as s says (its Lines, after the agent's greeting; Persona after them).
// The call is answered at once and handed to the inbound handler; the
// returned Leg shows what was heard. An error says nobody took the call.
func (p *Provider) Call(ctx context.Context, from, to string, s Script) (*Leg, error) {
	if from == "" || to == "" {
		return nil, domain.Errorf(domain.CodeInvalid, "a simulated call needs a number to call from and a number to call")
	}
	p.mu.Lock()
	h := p.inbound
	now := p.Clock.Now()
	l := &Leg{p: p, id: "SIM" + p.IDs.NewID(), dial: voice.Dial{From: from, To: to}, script: s, events: make(chan voice.Event, 8),
		wake: make(chan struct{}, 1), placedAt: now, answeredAt: now, inbound: true}
	p.legs = append(p.legs, l)
	p.live[from]++
	p.peak[from] = max(p.peak[from], p.live[from])
	p.mu.Unlock()
	if h == nil {
		l.finish(voice.Event{Kind: voice.EventEnded, Status: voice.StatusFailed, Raw: "failed", At: now})
		return l, fmt.Errorf("calling %s: nothing answers calls to simulated numbers", to)
	}
	l.emit(voice.Event{Kind: voice.EventAnswered, Status: voice.StatusInProgress, AnsweredBy: voice.AnsweredHuman, Raw: "in-progress", At: now})
	if err := h(ctx, voice.InboundCall{From: from, To: to, Leg: l, Accept: l.accept}); err != nil {
		l.mu.Lock()
		l.endLocked(voice.StatusFailed, "failed")
		l.mu.Unlock()
		return l, fmt.Errorf("calling %s: %w", to, err)
	}
	return l, nil
}

// New returns a provider whose unscripted numbers answer with Default.
func New(clock domain.Clock, ids domain.IDGen) *Provider {
	return &Provider{Clock: clock, IDs: ids, scripts: map[string]Script{}, Default: Script{Scenario: Answer}, live: map[string]int{}, peak: map[string]int{}}
}

// Peak is the most calls from number that were under way at once.
func (p *Provider) Peak(number string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak[number]
}

// ended counts a call from number as over.
func (p *Provider) ended(number string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live[number]--
}

// Expect makes calls to number follow s.
func (p *Provider) Expect(number string, s Script) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scripts[number] = s
}

// Legs returns the calls placed so far, oldest first.
func (p *Provider) Legs() []*Leg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Leg(nil), p.legs...)
}

// Place implements voice.Provider.
func (p *Provider) Place(ctx context.Context, d voice.Dial) (voice.Leg, error) {
	return p.place(ctx, d, false)
}

// place places a call; attended makes a number without a script of its
// own a live call.
func (p *Provider) place(ctx context.Context, d voice.Dial, attended bool) (voice.Leg, error) {
	if d.To == "" || d.From == "" {
		return nil, domain.Errorf(domain.CodeInvalid, "a call needs a number to call and a number to call from")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	s, ok := p.once[d.To]
	if ok {
		delete(p.once, d.To)
	} else if s, ok = p.scripts[d.To]; !ok {
		s = p.Default
		if attended {
			s = Script{Scenario: Answer, Live: NewLive()}
		}
	}
	now := p.Clock.Now()
	l := &Leg{p: p, id: "SIM" + p.IDs.NewID(), dial: d, script: s, events: make(chan voice.Event, 8), wake: make(chan struct{}, 1), placedAt: now}
	p.legs = append(p.legs, l)
	p.live[d.From]++
	p.peak[d.From] = max(p.peak[d.From], p.live[d.From])
	if s.Live != nil {
		s.Live.placed(d.CallID, l.id)
		if s.Live.id == "" { // ExpectLive remembered it already
			p.remember(s.Live)
		}
	}
	p.mu.Unlock()

	l.emit(voice.Event{Kind: voice.EventRinging, Status: voice.StatusRinging, Raw: "ringing", At: now})
	switch s.Scenario {
	case Busy:
		l.finish(voice.Event{Kind: voice.EventEnded, Status: voice.StatusBusy, Raw: "busy", At: now.Add(s.RingFor)})
	case NoAnswer:
		ring := d.RingTimeout
		if ring <= 0 {
			ring = 60 * time.Second
		}
		l.finish(voice.Event{Kind: voice.EventEnded, Status: voice.StatusNoAnswer, Raw: "no-answer", At: now.Add(ring)})
	case Failed:
		l.finish(voice.Event{Kind: voice.EventEnded, Status: voice.StatusFailed, Raw: "failed", At: now})
	default:
		by := voice.AnsweredHuman
		if s.Scenario == Voicemail {
			by = voice.AnsweredMachine
		}
		if !d.DetectMachine {
			by = voice.AnsweredUnknown
		}
		l.answeredAt = now.Add(s.RingFor)
		l.emit(voice.Event{Kind: voice.EventAnswered, Status: voice.StatusInProgress, AnsweredBy: by, Raw: "in-progress", At: l.answeredAt})
	}
	return l, nil
}

// Leg is a simulated call.
type Leg struct {
	p      *Provider
	id     string
	dial   voice.Dial
	events chan voice.Event
	wake   chan struct{}

	placedAt time.Time
	// inbound says the simulated person placed the call.
	inbound bool

	mu         sync.Mutex
	script     Script
	answeredAt time.Time
	ended      bool
	said       int // caller lines said
	persona    int // persona turns taken
	agentSpoke bool
	pending    []voice.Input
	// Heard is what the callee heard the agent say, in order.
	heard       []string
	transferred *voice.Target
	recording   strings.Builder
}

// ID implements voice.Leg.
func (l *Leg) ID() string { return l.id }

// accept is the simulated inbound call's voice.InboundCall.Accept: the
// caller is connected already and speaks text whatever the media mode; a
// step that records has the call recorded, under its call ID, as a placed
// one is.
func (l *Leg) accept(a voice.InboundAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dial.CallID, l.dial.Record = a.CallID, a.Record
}

// Inbound says the simulated person placed the call (Provider.Call).
func (l *Leg) Inbound() bool { return l.inbound }

// PlacedAt is when the call was placed.
func (l *Leg) PlacedAt() time.Time { return l.placedAt }

// Dial is what the call was placed with.
func (l *Leg) Dial() voice.Dial { return l.dial }

// Events implements voice.Leg.
func (l *Leg) Events() <-chan voice.Event { return l.events }

// Conversation implements voice.Leg.
func (l *Leg) Conversation() voice.Conversation { return (*conversation)(l) }

// Heard returns the agent's lines as the callee heard them.
func (l *Leg) Heard() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.heard...)
}

// Transferred returns where the call was transferred, or nil.
func (l *Leg) Transferred() *voice.Target {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.transferred
}

// Recording returns the call's recording (the simulated audio is text:
// both sides' lines) and whether the call was recorded.
func (l *Leg) Recording() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recording.String(), l.dial.Record
}

// RecordingURL is where a simulated recording is said to be.
func RecordingURL(callID string) string { return "sim://recordings/" + callID }

// Hangup implements voice.Leg.
func (l *Leg) Hangup(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return nil
	}
	l.endLocked(voice.StatusCompleted, "completed")
	return nil
}

// Transfer implements voice.Leg. The target's side answers unless
// ExpectTransfer said otherwise. Blind: the caller hears that they are
// connected and the call leaves us. Warm: the agent is called first and
// hears the summary while the caller holds, then the caller joins. A
// target that does not answer fails the transfer with a
// *voice.TransferError; the caller is still on the line.
func (l *Leg) Transfer(ctx context.Context, t voice.Target) error {
	if err := t.Validate(); err != nil {
		return domain.Errorf(domain.CodeInvalid, "%v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lv := l.script.Live; lv != nil && !l.ended {
		select {
		case <-lv.hung: // the person hung up while on hold
			l.endLocked(voice.StatusCompleted, "completed")
		default:
		}
	}
	if l.ended {
		return fmt.Errorf("transferring call %s: the call has ended", l.id)
	}
	l.p.mu.Lock()
	declined, no := l.p.declines[t.String()]
	if t.Mode == voice.TransferWarm && !no {
		if l.p.briefed == nil {
			l.p.briefed = map[string][]string{}
		}
		l.p.briefed[t.String()] = append(l.p.briefed[t.String()], t.Summary)
	}
	l.p.mu.Unlock()
	now := l.p.Clock.Now()
	if no {
		if lv := l.script.Live; lv != nil {
			lv.publish(LiveEvent{Kind: LiveTransfer, Text: fmt.Sprintf("%s did not take the call (%s)", t.String(), declined), Status: declined, At: now})
		}
		return &voice.TransferError{Target: t, Status: declined}
	}
	l.transferred = &t
	fmt.Fprintf(&l.recording, "transfer: %s (%s)\n", t.String(), t.Mode)
	if lv := l.script.Live; lv != nil {
		text := "You are connected to " + t.String()
		if t.Mode == voice.TransferWarm {
			text = t.String() + " was briefed and joins the call (warm transfer)"
		}
		lv.publish(LiveEvent{Kind: LiveTransfer, Text: text, Status: voice.StatusCompleted, At: now})
	}
	l.endLocked(voice.StatusCompleted, "completed")
	return nil
}

// emit tells the person playing the callee first, then the platform: the
// callee's view must never show a call's result (which the platform stores
// on its ended event) before its "ended".
func (l *Leg) emit(e voice.Event) {
	l.tell(e)
	l.events <- e
}

// tell publishes a call event to the person playing the callee.
func (l *Leg) tell(e voice.Event) {
	if l.script.Live == nil {
		return
	}
	switch e.Kind {
	case voice.EventRinging:
		l.script.Live.publish(LiveEvent{Kind: LiveRinging, Status: e.Status, At: e.At})
	case voice.EventAnswered:
		l.script.Live.publish(LiveEvent{Kind: LiveAnswered, Status: e.Status, At: e.At})
	case voice.EventEnded:
		l.script.Live.publish(LiveEvent{Kind: LiveEnded, Status: e.Status, At: e.At})
	}
}

// finish sends the last event of a call that never got answered.
func (l *Leg) finish(e voice.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = true
	l.tell(e) // before the platform hears of it, as in emit
	l.events <- e
	close(l.events)
	l.p.ended(l.dial.From)
}

// endLocked ends an answered call; l.mu is held.
func (l *Leg) endLocked(status voice.Status, raw string) {
	if l.ended {
		return
	}
	l.ended = true
	l.p.ended(l.dial.From)
	now := l.p.Clock.Now()
	e := voice.Event{Kind: voice.EventEnded, Status: status, Raw: raw, At: now, Duration: now.Sub(l.answeredAt)}
	if l.dial.Record {
		e.RecordingURL = RecordingURL(l.id)
		l.recordLocked()
	}
	l.tell(e) // before the platform hears of it, as in emit
	l.events <- e
	close(l.events)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// maxRecording bounds a simulated recording's length.
const maxRecording = 2 * time.Minute

// recordLocked hands the call's recording, a WAV synthesized from its
// lines, to the provider's sink before the call's end is told, so that
// the recording exists once the call's result does; l.mu is held.
func (l *Leg) recordLocked() {
	l.p.mu.Lock()
	sink := l.p.recordings
	l.p.mu.Unlock()
	if sink == nil || l.dial.CallID == "" {
		return
	}
	var lines []voice.Line
	for _, s := range strings.Split(l.recording.String(), "\n") {
		who, text, ok := strings.Cut(s, ": ")
		if ok {
			lines = append(lines, voice.Line{Speaker: voice.Speaker(who), Text: text})
		}
	}
	data := voice.SynthesizeWAV(lines, maxRecording)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sink(ctx, voice.Recording{CallID: l.dial.CallID, ProviderID: "SIMRE" + l.id, ContentType: voice.ContentWAV,
		Duration: voice.WAVDuration(data), Data: data}); err != nil {
		l.p.logRecording(l.dial.CallID, err)
	}
}

// logRecording reports a recording the sink did not keep.
func (p *Provider) logRecording(callID string, err error) {
	if p.Logger != nil {
		p.Logger.Error("keeping a simulated call's recording", "call", callID, "err", err)
	}
}

// conversation is a Leg's media.
type conversation Leg

// Say implements voice.Conversation.
func (c *conversation) Say(ctx context.Context, text string) error {
	l := (*Leg)(c)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return voice.ErrHungUp
	}
	if lv := l.script.Live; lv != nil {
		select {
		case <-lv.hung:
			l.endLocked(voice.StatusCompleted, "completed")
			return voice.ErrHungUp
		default:
		}
		lv.publish(LiveEvent{Kind: LiveAgent, Text: text, At: l.p.Clock.Now()})
	}
	l.agentSpoke = true
	fmt.Fprintf(&l.recording, "agent: %s\n", text)
	if l.script.BargeIn > 0 && l.said+1 == l.script.BargeIn && l.said < len(l.script.Lines) {
		words := strings.Fields(text)
		heard := strings.Join(words[:len(words)/2], " ")
		l.heard = append(l.heard, heard)
		l.pending = append(l.pending, voice.Input{Kind: voice.InputInterrupt, Heard: heard})
	} else {
		l.heard = append(l.heard, text)
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// Recv implements voice.Conversation.
func (c *conversation) Recv(ctx context.Context) (voice.Input, error) {
	l := (*Leg)(c)
	for {
		in, ok, err := l.next(ctx)
		if err != nil || ok {
			return in, err
		}
		var lines <-chan string
		var hung <-chan struct{}
		if lv := l.script.Live; lv != nil && l.script.Scenario != Silence && l.script.Scenario != Voicemail {
			lines, hung = lv.lines, lv.hung
		} else if lv != nil {
			hung = lv.hung
		}
		select {
		case <-ctx.Done():
			return voice.Input{}, ctx.Err()
		case <-l.wake:
		case <-hung:
			l.mu.Lock()
			l.endLocked(voice.StatusCompleted, "completed")
			l.mu.Unlock()
			return voice.Input{}, voice.ErrHungUp
		case line := <-lines:
			if in, ok := l.heardLive(line); ok {
				return in, nil
			}
			return voice.Input{}, voice.ErrHungUp
		}
	}
}

// heardLive takes a line the person said; false when the call has ended.
func (l *Leg) heardLive(line string) (voice.Input, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return voice.Input{}, false
	}
	l.said++
	l.agentSpoke = false
	fmt.Fprintf(&l.recording, "caller: %s\n", line)
	l.script.Live.publish(LiveEvent{Kind: LiveCallee, Text: line, At: l.p.Clock.Now()})
	return voice.Input{Kind: voice.InputSpeech, Text: line}, true
}

// next returns the caller's next input if there is one now.
func (l *Leg) next(ctx context.Context) (voice.Input, bool, error) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return voice.Input{}, false, voice.ErrHungUp
	}
	if len(l.pending) > 0 {
		in := l.pending[0]
		l.pending = l.pending[1:]
		l.mu.Unlock()
		return in, true, nil
	}
	s := l.script
	// The caller speaks after the agent (or first, when it says nothing
	// yet and is not waiting for a greeting it will not get).
	if !l.agentSpoke && l.said > 0 {
		l.mu.Unlock()
		return voice.Input{}, false, nil
	}
	switch s.Scenario {
	case Silence:
		l.mu.Unlock()
		return voice.Input{}, false, nil
	case Voicemail:
		if l.said == 0 {
			l.said++
			l.agentSpoke = false
			l.mu.Unlock()
			return voice.Input{Kind: voice.InputSpeech, Text: "You have reached the voicemail of this number. Please leave a message after the tone."}, true, nil
		}
		l.mu.Unlock()
		return voice.Input{}, false, nil
	}
	if s.Live != nil {
		l.mu.Unlock()
		return voice.Input{}, false, nil
	}
	if s.HangUpAfter > 0 && l.said >= s.HangUpAfter {
		l.endLocked(voice.StatusCompleted, "completed")
		l.mu.Unlock()
		return voice.Input{}, false, voice.ErrHungUp
	}
	if l.said < len(s.Lines) {
		line := s.Lines[l.said]
		l.said++
		l.agentSpoke = false
		fmt.Fprintf(&l.recording, "caller: %s\n", line)
		l.mu.Unlock()
		return voice.Input{Kind: voice.InputSpeech, Text: line}, true, nil
	}
	maxPersona := s.MaxPersonaTurns
	if maxPersona <= 0 {
		maxPersona = 6
	}
	if s.Persona == nil || l.persona >= maxPersona {
		l.endLocked(voice.StatusCompleted, "completed")
		l.mu.Unlock()
		return voice.Input{}, false, voice.ErrHungUp
	}
	l.persona++
	heard := append([]string(nil), l.heard...)
	l.mu.Unlock()

	line, hangUp, err := personaLine(ctx, s, heard)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || hangUp || line == "" {
		l.endLocked(voice.StatusCompleted, "completed")
		return voice.Input{}, false, voice.ErrHungUp
	}
	l.said++
	l.agentSpoke = false
	fmt.Fprintf(&l.recording, "caller: %s\n", line)
	return voice.Input{Kind: voice.InputSpeech, Text: line}, true, nil
}

// personaLine asks the persona's model what the caller says next.
func personaLine(ctx context.Context, s Script, heard []string) (string, bool, error) {
	schema := json.RawMessage(`{"type":"object","properties":{"say":{"type":"string"},"hang_up":{"type":"boolean"}},"required":["say","hang_up"],"additionalProperties":false}`)
	msgs := []ai.Message{{Role: "system", Content: "You play a person who receives a phone call. " + s.PersonaPrompt +
		` Answer with JSON {"say": your next short spoken line, "hang_up": true once you want to end the call}.`}}
	for _, h := range heard {
		msgs = append(msgs, ai.Message{Role: "user", Content: h})
	}
	c, err := s.Persona.Complete(ctx, ai.Request{Messages: msgs, Schema: schema, SchemaName: "caller_turn"})
	if err != nil {
		return "", false, err
	}
	var t struct {
		Say    string `json:"say"`
		HangUp bool   `json:"hang_up"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(c.Content)), &t); err != nil {
		return strings.TrimSpace(c.Content), false, nil
	}
	return strings.TrimSpace(t.Say), t.HangUp, nil
}
