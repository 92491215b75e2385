package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// Errors returned for host mistakes (flow failures are events, not errors).
var (
	// ErrNotWaiting is returned when resuming a session that is not
	// waiting (it ended, or was never started).
	ErrNotWaiting = errors.New("engine: session is not waiting")
	// ErrWrongFlow is returned when the flow given to Resume is not the
	// revision the session is pinned to.
	ErrWrongFlow = errors.New("engine: flow does not match the session's pinned revision")
	// ErrNoProgram is returned when a Flow has no compiled program.
	ErrNoProgram = errors.New("engine: flow has no program")
	// ErrServices is returned by New when a required service is missing.
	ErrServices = errors.New("engine: Clock and IDs are required")
)

// Engine runs sprints. It is immutable after New and safe for concurrent
// use; per-sprint scratch state comes from a pool.
type Engine struct {
	svc  Services
	lim  Limits
	pool sync.Pool
	// stopwatch is svc.Clock.Now, the expressions' duration limits'
	// clock (made once: a method value allocates).
	stopwatch func() time.Time
}

// Option configures an Engine.
type Option func(*Engine)

// WithLimits overrides the loop-protection, nesting and expiry limits; zero
// fields keep the defaults.
func WithLimits(l Limits) Option {
	return func(e *Engine) { e.lim = l }
}

// New returns an engine using the given services.
func New(svc Services, opts ...Option) (*Engine, error) {
	if svc.Clock == nil || svc.IDs == nil {
		return nil, ErrServices
	}
	e := &Engine{svc: svc, stopwatch: svc.Clock.Now}
	for _, o := range opts {
		o(e)
	}
	e.lim = e.lim.withDefaults()
	e.pool.New = func() any { return &sprint{e: e} }
	return e, nil
}

// Start begins a session of f for the contact and runs its first sprint.
// The returned session is owned by the caller; the contact's fields and
// trigger maps are copied, never modified.
func (e *Engine) Start(ctx context.Context, f Flow, c expr.Contact, t Trigger) (*Session, []Event, error) {
	return e.AppendStart(ctx, nil, f, c, t)
}

// AppendStart is Start appending the events to dst, so a caller can reuse
// one event buffer across sprints.
func (e *Engine) AppendStart(ctx context.Context, dst []Event, f Flow, c expr.Contact, t Trigger) (*Session, []Event, error) {
	if f.Program == nil {
		return nil, dst, ErrNoProgram
	}
	now := e.svc.Clock.Now().UTC().Round(0)
	s := &Session{ID: t.SessionID, FlowID: f.ID, Revision: f.Revision, Status: StatusActive, Node: f.Program.Start,
		CreatedAt: now, Contact: c}
	if s.ID == "" {
		s.ID = e.svc.IDs.NewID()
	}
	exp := f.ExpireAfter
	if exp <= 0 {
		exp = e.lim.DefaultExpiry
	}
	s.ExpiresAt = now.Add(exp)
	s.Contact.Fields = maps.Clone(c.Fields)
	s.Contact.Tags = cloneStrings(c.Tags)
	if len(t.Vars) > 0 {
		s.Vars = make(map[string]any, len(t.Vars)+4)
		for k, v := range t.Vars {
			s.Vars[k] = normalize(v)
		}
	}
	if len(t.Row) > 0 {
		s.Row = make(map[string]any, len(t.Row))
		for k, v := range t.Row {
			s.Row[k] = normalize(v)
		}
	}
	if t.Input != nil {
		s.Input = toExprInput(t.Input)
	}
	r := e.get(ctx, dst, s, now)
	defer e.put(r)
	r.rt = append(r.rt, frameRT{prog: f.Program, flow: f})
	r.enterFrame()
	r.guard(func() { r.run(f.Program.Start) })
	return s, r.ev, nil
}

// Resume runs the sprint an input causes. f must be the session's pinned
// root flow revision. The session is updated in place. An input the current
// wait does not accept yields an input_ignored event and leaves the session
// as it was.
func (e *Engine) Resume(ctx context.Context, f Flow, s *Session, in Input) ([]Event, error) {
	return e.AppendResume(ctx, nil, f, s, in)
}

// AppendResume is Resume appending the events to dst.
func (e *Engine) AppendResume(ctx context.Context, dst []Event, f Flow, s *Session, in Input) ([]Event, error) {
	if f.Program == nil {
		return dst, ErrNoProgram
	}
	if s == nil || s.Status != StatusWaiting {
		return dst, ErrNotWaiting
	}
	if f.ID != s.FlowID || f.Revision != s.Revision {
		return dst, fmt.Errorf("%w: session %s runs %s revision %d, got %s revision %d", ErrWrongFlow, s.ID, s.FlowID, s.Revision, f.ID, f.Revision)
	}
	if s.contactMissing {
		if in.Contact == nil {
			return dst, ErrContactHeld
		}
		s.contactMissing = false
	}
	now := e.svc.Clock.Now().UTC().Round(0)
	r := e.get(ctx, dst, s, now)
	defer e.put(r)
	r.rt = append(r.rt, frameRT{prog: f.Program, flow: f})
	r.guard(func() { r.resume(in) })
	return r.ev, nil
}

// Interrupt ends a session that has not ended (an agent or the API stopped
// it, or the contact was retriggered into another flow).
func (e *Engine) Interrupt(s *Session, reason string) []Event {
	if s == nil || s.Status.Ended() {
		return nil
	}
	s.Status, s.EndReason = StatusInterrupted, reason
	s.Wait = Wait{Seq: s.Wait.Seq}
	return []Event{{Kind: EventSessionEnded, Status: StatusInterrupted, Text: reason}}
}

func (e *Engine) get(ctx context.Context, dst []Event, s *Session, now time.Time) *sprint {
	r := e.pool.Get().(*sprint)
	r.ctx, r.ev, r.s, r.now, r.steps = ctx, dst, s, now, 0
	r.env.Contact, r.env.Vars, r.env.Row, r.env.Input, r.env.Now = s.Contact, s.Vars, s.Row, s.Input, now
	// Every sprint gets a fresh expression budget: a loop through costly
	// expressions stops within one sprint, and the next sprint starts clean.
	r.env.ResetBudget(expr.Budget{})
	r.env.Clock = e.stopwatch
	return r
}

func (e *Engine) put(r *sprint) {
	// Drop references so pooled scratch does not keep sessions alive.
	r.ctx, r.ev, r.s, r.prog = nil, nil, nil, nil
	r.env.Contact, r.env.Vars, r.env.Row, r.env.Input = expr.Contact{}, nil, nil, expr.Input{}
	clear(r.rt)
	r.rt = r.rt[:0]
	e.pool.Put(r)
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append(make([]string, 0, len(s)), s...)
}

func toExprInput(in *Input) expr.Input {
	x := expr.Input{Type: string(in.Kind), Text: in.Text, Button: in.Button, ListID: in.ListID, MediaURL: in.MediaURL}
	if len(in.Data) > 0 {
		x.Data, _ = normalize(in.Data).(map[string]any)
	}
	if x.Text == "" && in.Kind == InputButton {
		x.Text = in.Button
	}
	return x
}
