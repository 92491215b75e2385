// Package calls runs voice calls: it claims the calls sessions queued
// (store.Calls), places each once through its voice number's provider,
// lets the AI agent (voice.Agent) talk with the callee, classifies the
// outcome, and feeds the result back to the waiting session as an inbound
// "call" message, in the same transaction that records the call's end. A
// call whose process died is never placed again: the next process to look
// ends it as failed, reason interrupted, and the session goes on.
package calls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
)

// Deliverer hands a call's result to its session (the runner's inbox).
type Deliverer interface {
	Deliver(ctx context.Context, q store.Queries, d inbox.Delivery) (inbox.Receipt, error)
}

// Deps are what the service needs.
type Deps struct {
	Store store.Store
	Inbox Deliverer
	// Providers finds the voice provider of a project's voice number.
	Providers func(ctx context.Context, projectID, channelID string) (voice.Provider, error)
	// Models finds the project's chat model; an error says why there is
	// none (e.g. no AI provider configured).
	Models func(ctx context.Context, projectID string) (voice.Model, error)
	// Speech finds the realtime speech engine of a project's calls whose
	// step chose the realtime engine (audio mode); nil: those calls fail
	// once answered, saying so.
	Speech func(ctx context.Context, projectID string) (voice.Speech, error)
	// Simulated places the simulator's calls, whatever number they name.
	Simulated voice.Provider
	Clock     domain.Clock
	IDs       domain.IDGen
	Logger    *slog.Logger
	// Owner names this process in the calls it holds.
	Owner string
	// Lease is how long a claim lasts without renewal (DefaultLease);
	// PollEvery how often queued and orphaned calls are looked for.
	Lease     time.Duration
	PollEvery time.Duration
	// MaxCalls bounds the calls this process runs at once (DefaultMaxCalls).
	MaxCalls int
	// ResultWait is how long to wait for a provider's final status after
	// the agent hung up (DefaultResultWait).
	ResultWait time.Duration
	// InboundTrigger says whether a published flow of the project starts
	// on a call to voice number channelID from a caller nobody awaits (its
	// Start has the inbound_call trigger); nil: none does.
	InboundTrigger func(ctx context.Context, projectID, channelID string) (bool, error)
	// InboundStart is how long an inbound call from a caller nobody
	// awaits waits for a flow its inbound_call trigger started to reach
	// its wait_inbound_call (DefaultInboundStart).
	InboundStart time.Duration
	// Pacing says how fast a voice number may place calls; nil paces
	// nothing. A call whose number's pacing cannot be read fails.
	Pacing func(ctx context.Context, projectID, channelID string) (Pacing, error)
	// HoldFor is how long a call held for the flow's voice_transfer waits
	// (DefaultHoldFor).
	HoldFor time.Duration
	// RecordingURL is where Parley serves a call's recording (behind
	// auth); nil keeps the provider's URL in the result.
	RecordingURL func(projectID, callID string) string
}

// Pacing bounds the calls one voice number places: at most MaxConcurrent
// under way at once and CallsPerSecond started per second (0: no bound).
// The bounds hold per process; the calls of one number are placed by the
// process that claims them, and a number's campaign runs at the pace set
// here whatever its batch settings.
type Pacing struct {
	MaxConcurrent  int
	CallsPerSecond float64
}

// Defaults of Deps.
const (
	DefaultLease        = 30 * time.Second
	DefaultPollEvery    = time.Second
	DefaultMaxCalls     = 100
	DefaultResultWait   = 30 * time.Second
	DefaultInboundStart = 10 * time.Second
)

// Service runs calls; Start and Stop it.
type Service struct {
	d    Deps
	wake chan struct{}
	// gates are the voice numbers' pacing state, by channel ID; only the
	// claim loop and the calls' ends touch them, under gmu.
	gmu   sync.Mutex
	gates map[string]*gate
	// ctx is the running service's (under gmu): inbound calls run under it.
	ctx     context.Context
	waking  *time.Timer
	cancel  context.CancelFunc
	done    chan struct{}
	calls   sync.WaitGroup
	running atomic.Int64
	// held are the calls on hold for their session's transfer, by
	// session (transfer.go).
	hmu  sync.Mutex
	held map[string]*held
}

// New returns the service.
func New(d Deps) *Service {
	if d.Lease <= 0 {
		d.Lease = DefaultLease
	}
	if d.PollEvery <= 0 {
		d.PollEvery = DefaultPollEvery
	}
	if d.MaxCalls <= 0 {
		d.MaxCalls = DefaultMaxCalls
	}
	if d.InboundStart <= 0 {
		d.InboundStart = DefaultInboundStart
	}
	if d.ResultWait <= 0 {
		d.ResultWait = DefaultResultWait
	}
	if d.HoldFor <= 0 {
		d.HoldFor = DefaultHoldFor
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d, wake: make(chan struct{}, 1), gates: map[string]*gate{}}
}

// gate is one voice number's pacing state.
type gate struct {
	pacing Pacing
	live   int
	// next is when the number may start its next call.
	next time.Time
}

// Wake makes the service look for queued calls now (a sprint queued one).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start runs the claim loop until Stop.
func (s *Service) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.gmu.Lock()
	s.ctx = ctx
	s.gmu.Unlock()
	s.done = make(chan struct{})
	go s.loop(ctx)
	return nil
}

// Stop ends the loop and every call under way; their sessions get the
// result "interrupted" now rather than after the lease runs out.
func (s *Service) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.calls.Wait()
	s.gmu.Lock()
	if s.waking != nil {
		s.waking.Stop()
	}
	s.gmu.Unlock()
}

// Running is how many calls this process has under way.
func (s *Service) Running() int { return int(s.running.Load()) }

func (s *Service) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.d.PollEvery)
	defer t.Stop()
	renewed := time.Time{}
	for {
		now := s.d.Clock.Now()
		if now.Sub(renewed) >= s.d.Lease/3 {
			if _, err := s.d.Store.CallRenew(ctx, store.CallRenewParams{Owner: s.d.Owner, LeaseUntil: now.Add(s.d.Lease)}); err != nil && ctx.Err() == nil {
				s.d.Logger.Warn("renewing the leases of voice calls", "err", err)
			} else {
				renewed = now
			}
		}
		s.reap(ctx)
		s.claim(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// ReleaseOrphans ends at once every call an earlier run left under way,
// whatever its lease: for a database only this process works (SQLite),
// where the previous owner is known to be dead. Their sessions go on
// through failed, reason interrupted. It returns how many it ended.
func (s *Service) ReleaseOrphans(ctx context.Context) (int, error) {
	stale, err := s.d.Store.CallListStale(ctx, store.CallStaleParams{Now: s.d.Clock.Now().Add(100 * 365 * 24 * time.Hour), Limit: 1000})
	if err != nil {
		return 0, fmt.Errorf("looking for the voice calls an earlier run left: %w", err)
	}
	n := 0
	for _, c := range stale {
		if c.Owner == s.d.Owner {
			continue
		}
		if err := s.interrupt(ctx, c); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// HoldStopped is the error of a voice_transfer step whose held call's
// process stopped before it took the request.
const HoldStopped = "process stopped during hold: the Parley process holding the call stopped before it could transfer it"

// interrupt ends a call whose process died, or a transfer queued for a
// process that stopped during the hold.
func (s *Service) interrupt(ctx context.Context, c store.Call) error {
	res := s.result(c)
	res.Status, res.EndReason = voice.StatusFailed, voice.EndInterrupted
	res.Error = "the process running the call stopped before it ended"
	if res.Direction == voice.Transferring {
		// Queued for the process holding the call, which stopped: the
		// line it held is gone with it.
		res.Error = HoldStopped
		var req engine.TransferMessage
		if json.Unmarshal(c.Request, &req) == nil {
			if t, err := voice.ParseTarget(req.To, voice.TransferMode(req.Mode)); err == nil {
				res.Transfer = &voice.Transfer{Target: t, RequestedBy: "flow"}
			}
		}
	}
	if err := s.finish(ctx, c, res); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("ending interrupted voice call %s: %w", c.ID, err)
	}
	return nil
}

// reap ends the calls whose process died.
func (s *Service) reap(ctx context.Context) {
	stale, err := s.d.Store.CallListStale(ctx, store.CallStaleParams{Now: s.d.Clock.Now()})
	if err != nil {
		if ctx.Err() == nil {
			s.d.Logger.Warn("looking for voice calls whose process died", "err", err)
		}
		return
	}
	for _, c := range stale {
		if err := s.interrupt(ctx, c); err != nil {
			s.d.Logger.Warn("ending an interrupted voice call", "call", c.ID, "err", err)
		}
	}
}

// claim starts the queued calls this process has room for, one at a time
// so that each voice number's pacing is honoured: a number with as many
// calls under way as it allows, or whose next start is not due, is
// skipped and its calls stay queued.
func (s *Service) claim(ctx context.Context) {
	for s.d.MaxCalls-s.Running() > 0 && ctx.Err() == nil {
		now := s.d.Clock.Now()
		skip := s.closedGates(now)
		cs, err := s.d.Store.CallClaim(ctx, store.CallClaimParams{Owner: s.d.Owner, Now: now, LeaseUntil: now.Add(s.d.Lease), Limit: 1, SkipChannels: skip})
		if err != nil {
			if ctx.Err() == nil {
				s.d.Logger.Warn("claiming queued voice calls", "err", err)
			}
			return
		}
		if len(cs) == 0 {
			return
		}
		c := cs[0]
		// The simulator's calls are a person trying a flow, and a
		// transfer places no call of its own: not paced.
		paced := !c.Simulated && c.Direction != string(voice.Transferring)
		if paced && !s.pass(ctx, c, now) {
			continue
		}
		s.running.Add(1)
		s.calls.Add(1)
		go func() {
			defer s.calls.Done()
			defer s.running.Add(-1)
			if paced {
				defer s.leave(c.ChannelID)
			}
			if c.Direction == string(voice.Transferring) {
				s.transfer(ctx, c)
				return
			}
			s.run(ctx, c)
		}()
	}
}

// closedGates lists the voice numbers that may not start a call now, and
// wakes the loop when the first of them opens again.
func (s *Service) closedGates(now time.Time) []string {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	var skip []string
	var soonest time.Duration
	for id, g := range s.gates {
		switch {
		case g.pacing.MaxConcurrent > 0 && g.live >= g.pacing.MaxConcurrent:
			skip = append(skip, id) // a call's end wakes the loop
		case g.next.After(now):
			skip = append(skip, id)
			if d := g.next.Sub(now); soonest == 0 || d < soonest {
				soonest = d
			}
		case g.live == 0:
			delete(s.gates, id) // idle: read its pacing afresh next time
		}
	}
	if soonest > 0 {
		if s.waking != nil {
			s.waking.Stop()
		}
		s.waking = time.AfterFunc(soonest, s.Wake)
	}
	return skip
}

// pass counts a claimed call against its number's pacing. The claim
// skipped the numbers known to be closed, so only the first call of a
// number not seen yet can find it closed: pacing that cannot be read
// fails the call rather than leaving it claimed and unplaced.
func (s *Service) pass(ctx context.Context, c store.Call, now time.Time) bool {
	s.gmu.Lock()
	g := s.gates[c.ChannelID]
	s.gmu.Unlock()
	if g == nil {
		g = &gate{}
		if s.d.Pacing != nil {
			p, err := s.d.Pacing(ctx, c.ProjectID, c.ChannelID)
			if err != nil {
				res := s.result(c)
				res.Status, res.EndReason, res.Error = voice.StatusFailed, voice.EndError, fmt.Sprintf("reading the pacing of voice number %s: %v", c.ChannelID, err)
				s.end(ctx, c, res)
				return false
			}
			g.pacing = p
		}
	}
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if cur := s.gates[c.ChannelID]; cur != nil {
		g = cur
	}
	s.gates[c.ChannelID] = g
	g.live++
	if g.pacing.CallsPerSecond > 0 {
		start := now
		if g.next.After(start) {
			start = g.next
		}
		g.next = start.Add(time.Duration(float64(time.Second) / g.pacing.CallsPerSecond))
	}
	return true
}

// leave releases a finished call's place in its number's pacing.
func (s *Service) leave(channelID string) {
	s.gmu.Lock()
	if g := s.gates[channelID]; g != nil && g.live > 0 {
		g.live--
	}
	s.gmu.Unlock()
	s.Wake()
}

func (s *Service) result(c store.Call) voice.Result {
	return voice.Result{CallID: c.ID, ProviderID: c.ProviderID, Direction: voice.Direction(c.Direction), From: c.From, To: c.To}
}

// run places one claimed call and sees it to its end.
func (s *Service) run(ctx context.Context, c store.Call) {
	res := s.result(c)
	fail := func(format string, args ...any) {
		res.Status, res.EndReason, res.Error = voice.StatusFailed, voice.EndError, fmt.Sprintf(format, args...)
		s.end(ctx, c, res)
	}
	var req engine.CallMessage
	if err := json.Unmarshal(c.Request, &req); err != nil {
		fail("reading the call's request: %v", err)
		return
	}
	var provider voice.Provider
	if c.Simulated {
		provider = s.d.Simulated
	} else {
		p, err := s.d.Providers(ctx, c.ProjectID, c.ChannelID)
		if err != nil {
			fail("finding voice number %s: %v", c.ChannelID, err)
			return
		}
		provider = p
	}
	// The model is looked for once someone answers (follow): a busy or
	// unanswered call needs none.
	var model voice.Model
	leg, err := provider.Place(ctx, voice.Dial{CallID: c.ID, To: c.To, RingTimeout: time.Duration(req.RingTimeoutSeconds) * time.Second,
		MaxDuration: time.Duration(req.MaxDurationSeconds) * time.Second, Record: req.Recording, DetectMachine: req.DetectMachine, Voice: req.Voice, Language: req.Language,
		Media: mediaOf(req.Engine)})
	if err != nil {
		fail("placing the call: %v", err)
		return
	}
	c.ProviderID, res.ProviderID = leg.ID(), leg.ID()
	s.progress(ctx, &c, string(voice.StatusRinging))
	s.follow(ctx, c, req, leg, model, res)
}

// follow sees a placed or answered call to its end: the agent talks once
// it is answered, the outcome is classified, the result recorded.
func (s *Service) follow(ctx context.Context, c store.Call, req engine.CallMessage, leg voice.Leg, model voice.Model, res voice.Result) {
	maxDur := time.Duration(req.MaxDurationSeconds) * time.Second
	placed := s.d.Clock.Now()
	var ar *voice.AgentResult
	var late <-chan time.Time // the provider's final status is overdue
	transferred := false
	for ended := false; !ended; {
		var e voice.Event
		var ok bool
		select {
		case <-late:
			if !transferred {
				_ = leg.Hangup(context.WithoutCancel(ctx))
			} else {
				res.Duration = s.d.Clock.Now().Sub(placed) - res.RingTime
			}
			res.Status = voice.StatusCompleted
			ended = true
			continue
		case e, ok = <-leg.Events():
		case <-ctx.Done():
			res.Status, res.EndReason, res.Error = voice.StatusFailed, voice.EndInterrupted, "Parley stopped during the call"
			_ = leg.Hangup(context.WithoutCancel(ctx))
			s.end(ctx, c, res)
			return
		}
		if !ok {
			break
		}
		switch e.Kind {
		case voice.EventAnswered:
			res.AnsweredBy, res.RingTime = e.AnsweredBy, e.At.Sub(placed)
			if c.Status != string(voice.StatusInProgress) {
				s.progress(ctx, &c, string(voice.StatusInProgress))
			}
			if e.AnsweredBy == voice.AnsweredMachine && req.DetectMachine {
				res.EndReason = voice.EndMachine
				_ = leg.Hangup(ctx)
				continue
			}
			m, err := s.d.Models(ctx, c.ProjectID)
			if err != nil {
				res.EndReason, res.Error = voice.EndError, err.Error()
				_ = leg.Hangup(ctx)
				continue
			}
			model = m
			cfg := voice.AgentConfig{SystemPrompt: req.Prompt, Greeting: req.Greeting, MaxDuration: maxDur, Context: contextText(req.Context),
				HoldForTransfer: req.HoldForTransfer && req.TransferTo == ""}
			if req.TransferTo != "" {
				t, err := voice.ParseTarget(req.TransferTo, voice.TransferMode(req.TransferMode))
				if err != nil {
					// A rendered transfer_to that is no target: the AI
					// talks but cannot transfer, and the result says why.
					res.Error = "the AI could not transfer: " + err.Error()
				} else {
					cfg.Transfer = &t
				}
			}
			talk, closeSpeech, err := s.speech(ctx, c.ProjectID, req, leg)
			if err != nil {
				res.EndReason, res.Error = voice.EndError, err.Error()
				_ = leg.Hangup(ctx)
				continue
			}
			r := (&voice.Agent{Model: model, Clock: s.d.Clock}).Run(ctx, talk, cfg)
			closeSpeech()
			ar = &r
			res.Transcript, res.Transfer = r.Transcript, r.Transfer
			if res.EndReason == "" {
				res.EndReason = r.EndReason
			}
			if r.Err != nil {
				res.Error = r.Err.Error()
			}
			if r.Transfer != nil && r.Transfer.Pending && r.EndReason == voice.EndTransferred {
				// Held for the flow: the session hears of it now; the line
				// stays open here until its voice_transfer takes it.
				res.Status, res.Duration = voice.StatusInProgress, s.d.Clock.Now().Sub(e.At)
				cl := voice.Classify(ctx, model, req.Outcomes, res.Transcript)
				res.Outcome, res.Summary = cl.Outcome, cl.Summary
				h := &held{callID: c.ID, leg: leg, reason: r.Transfer.Reason, transcript: r.Transcript, gone: make(chan struct{})}
				if c.SessionID != "" {
					s.hold(c.SessionID, h)
				}
				s.end(ctx, c, res)
				if c.SessionID == "" {
					_ = leg.Hangup(context.WithoutCancel(ctx))
					return
				}
				s.keepOnHold(ctx, c.SessionID, h)
				return
			}
			if r.EndReason == voice.EndTransferred {
				// The caller is with the target now, on the provider's
				// line, for as long as they talk: the result is recorded
				// when the provider says the call ended or after
				// ResultWait, whichever is first, and the call is not
				// hung up.
				transferred = true
			}
			// The provider's final status may come a little later.
			t := time.NewTimer(s.d.ResultWait)
			defer t.Stop()
			late = t.C
		case voice.EventEnded:
			res.Status, res.Duration, res.RecordingURL = e.Status, e.Duration, s.recordingURL(c, e.RecordingURL)
			ended = true
		}
	}
	if res.Status == "" {
		res.Status = voice.StatusCompleted
	}
	if ar != nil && len(res.Transcript) > 0 && res.EndReason != voice.EndMachine {
		cl := voice.Classify(ctx, model, req.Outcomes, res.Transcript)
		res.Outcome, res.Summary = cl.Outcome, cl.Summary
	} else if res.AnsweredBy == voice.AnsweredMachine {
		res.Outcome = "voicemail"
	}
	s.end(ctx, c, res)
}

// Answer takes a call a provider answered on voice number channelID
// (voice.InboundProvider's handler): the session waiting at
// wait_inbound_call for this caller gets it, the agent talks with its
// prompt, and the session goes on with the result. A caller nobody
// awaits hears so and is hung up on; the error says why.
func (s *Service) Answer(ctx context.Context, projectID, channelID string, call voice.InboundCall) error {
	s.gmu.Lock()
	sctx := s.ctx
	s.gmu.Unlock()
	if sctx == nil || sctx.Err() != nil {
		return domain.Errorf(domain.CodeUnavailable, "the voice calls service is not running")
	}
	c, err := s.answer(ctx, channelID, call)
	if errors.Is(err, store.ErrNotFound) {
		// Nobody awaits this caller: a flow whose Start has the
		// inbound_call trigger may start for them, and its first
		// wait_inbound_call answers.
		var started bool
		if started, err = s.startInbound(ctx, projectID, channelID, call); err == nil && started {
			c, err = s.awaitStart(ctx, channelID, call)
		} else if err == nil {
			err = store.ErrNotFound
		}
	}
	if err == nil && c.ProjectID != projectID {
		err = domain.NotFound("voice call", channelID)
	}
	var req engine.CallMessage
	if err == nil {
		if uerr := json.Unmarshal(c.Request, &req); uerr != nil {
			res := s.result(c)
			res.Status, res.EndReason, res.Error = voice.StatusFailed, voice.EndError, fmt.Sprintf("reading the call's request: %v", uerr)
			accept(call, voice.InboundAnswer{CallID: c.ID, Media: voice.MediaText})
			_ = call.Leg.Hangup(ctx)
			s.end(ctx, c, res)
			return nil
		}
	}
	if err != nil {
		// The caller is told so over a text relay.
		accept(call, voice.InboundAnswer{Media: voice.MediaText})
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = call.Leg.Conversation().Say(hctx, "Sorry, nobody is expecting your call on this number. Goodbye.")
		_ = call.Leg.Hangup(hctx)
		if errors.Is(err, store.ErrNotFound) {
			return domain.Errorf(domain.CodeNotFound, "no session awaits a call from %s on this voice number", call.From)
		}
		return fmt.Errorf("answering the call from %s: %w", call.From, err)
	}
	c.To = call.To
	res := s.result(c)
	// The provider connects the caller in the mode the step's engine
	// needs, recording if it asks.
	accept(call, voice.InboundAnswer{CallID: c.ID, Media: mediaOf(req.Engine), Record: req.Recording, Voice: req.Voice, Language: req.Language})
	model, err := s.d.Models(ctx, c.ProjectID)
	if err != nil {
		res.Status, res.EndReason, res.Error = voice.StatusFailed, voice.EndError, err.Error()
		_ = call.Leg.Hangup(ctx)
		s.end(ctx, c, res)
		return nil
	}
	s.running.Add(1)
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		defer s.running.Add(-1)
		s.follow(sctx, c, req, call.Leg, model, res)
	}()
	return nil
}

// accept tells a provider that waits for it how the inbound call is taken.
func accept(call voice.InboundCall, a voice.InboundAnswer) {
	if call.Accept != nil {
		call.Accept(a)
	}
}

// answer takes the call awaited from call.From on channelID.
func (s *Service) answer(ctx context.Context, channelID string, call voice.InboundCall) (store.Call, error) {
	now := s.d.Clock.Now()
	return s.d.Store.CallAnswer(ctx, store.CallAnswerParams{ChannelID: channelID, From: call.From, ProviderID: call.Leg.ID(), Owner: s.d.Owner,
		Now: now, LeaseUntil: now.Add(s.d.Lease)})
}

// receiver is the inbox's side that records a contact's inbound event and
// lets triggers start flows on it (the runner's inbox.Inbox).
type receiver interface {
	Receive(ctx context.Context, q store.Queries, in inbox.Inbound) (inbox.Receipt, error)
}

// startInbound records the call as the caller's inbound event with the
// inbound_call trigger fact, so that a flow with that trigger on this
// voice number starts for them (the runner matches it like Viber's
// conversation_started: never while the contact is in a flow). It
// reports whether the event was queued.
func (s *Service) startInbound(ctx context.Context, projectID, channelID string, call voice.InboundCall) (bool, error) {
	r, ok := s.d.Inbox.(receiver)
	if !ok || s.d.InboundTrigger == nil {
		return false, nil
	}
	if has, err := s.d.InboundTrigger(ctx, projectID, channelID); err != nil || !has {
		return false, err
	}
	content, err := json.Marshal(map[string]string{"from": call.From, "to": call.To, "provider_id": call.Leg.ID()})
	if err != nil {
		return false, err
	}
	err = s.d.Store.InTx(ctx, func(q store.Queries) error {
		_, err := r.Receive(ctx, q, inbox.Inbound{ProjectID: projectID, ChannelID: channelID, Scheme: "voice", Address: strings.TrimPrefix(call.From, "+"),
			Phone: call.From, ProviderID: "callin:" + call.Leg.ID(), Type: "call_incoming", Content: content,
			Input: engine.Input{Kind: engine.InputText}, Trigger: &sprint.TriggerFacts{Event: TriggerInboundCall}})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("recording the incoming call from %s: %w", call.From, err)
	}
	return true, nil
}

// TriggerInboundCall is the trigger (and trigger fact) of a call from a
// caller no session awaits.
const TriggerInboundCall = "inbound_call"

// awaitStart waits, while the caller hears the line ring, for a flow the
// call started to reach its wait_inbound_call, and takes that call.
func (s *Service) awaitStart(ctx context.Context, channelID string, call voice.InboundCall) (store.Call, error) {
	deadline := time.Now().Add(s.d.InboundStart)
	for {
		c, err := s.answer(ctx, channelID, call)
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return store.Call{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// progress records a call's status while it runs.
func (s *Service) progress(ctx context.Context, c *store.Call, status string) {
	c.Status, c.UpdatedAt = status, s.d.Clock.Now()
	lease := c.UpdatedAt.Add(s.d.Lease)
	c.LeaseUntil = &lease
	if err := s.d.Store.CallUpdate(ctx, *c); err != nil && ctx.Err() == nil {
		s.d.Logger.Warn("recording a voice call's progress", "call", c.ID, "err", err)
	}
}

// end records a call's result, with a context of its own: a stopping
// process still writes what its calls came to.
func (s *Service) end(ctx context.Context, c store.Call, res voice.Result) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := s.finish(wctx, c, res); err != nil {
		s.d.Logger.Error("recording the end of a voice call", "call", c.ID, "err", err)
	}
}

// finish records the end of a call and hands its result to the session,
// in one transaction: the session hears of the call exactly once.
func (s *Service) finish(ctx context.Context, c store.Call, res voice.Result) error {
	content, err := json.Marshal(res)
	if err != nil {
		return err
	}
	now := s.d.Clock.Now()
	c.Status, c.Result, c.EndedAt, c.LeaseUntil, c.UpdatedAt = string(res.Status), content, &now, nil, now
	return s.d.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.CallUpdate(ctx, c); err != nil {
			return err
		}
		if c.SessionID == "" {
			return nil
		}
		vars := Variables(res)
		if res.Direction == voice.Transferring {
			vars = TransferVariables(res)
		}
		_, err := s.d.Inbox.Deliver(ctx, q, inbox.Delivery{ProjectID: c.ProjectID, ContactID: c.ContactID, ChannelID: c.ChannelID, SessionID: c.SessionID,
			Type: "call", Content: content, ProviderID: "call:" + c.ID, Simulated: c.Simulated,
			Input: engine.Input{Kind: engine.InputCall, Token: c.Token, Data: vars}})
		return err
	})
}

// Variables is what a voice_call node's variable holds after the call,
// plus the exit to take.
func Variables(r voice.Result) map[string]any {
	lines := make([]any, len(r.Transcript))
	for i, l := range r.Transcript {
		lines[i] = map[string]any{"speaker": string(l.Speaker), "text": l.Text}
	}
	v := map[string]any{
		"exit": r.Exit(), "call_id": r.CallID, "status": string(r.Status), "answered_by": string(r.AnsweredBy), "end_reason": string(r.EndReason),
		"duration_seconds": int(r.Duration.Seconds()), "outcome": r.Outcome, "summary": r.Summary, "transcript": lines,
		"recording_url": r.RecordingURL, "error": r.Error,
	}
	if r.Transfer != nil {
		v["transfer"] = map[string]any{"to": r.Transfer.Target.String(), "mode": string(r.Transfer.Target.Mode), "reason": r.Transfer.Reason,
			"requested_by": r.Transfer.RequestedBy, "pending": r.Transfer.Pending, "dial_status": string(r.Transfer.DialStatus)}
	}
	return v
}

// contextText renders the session's variables for the agent, bounded.
func contextText(vars map[string]any) string {
	if len(vars) == 0 {
		return ""
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return ""
	}
	const max = 4000
	if len(b) > max {
		b = b[:max]
	}
	return string(b)
}
