package ai

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
)

// MaxTests and MaxTestMessages bound the test conversations run per draft.
const (
	MaxTests        = 5
	MaxTestMessages = 20
)

// TestCase is a test conversation the model wrote for its flow.
type TestCase struct {
	Name     string   `json:"name"`
	Messages []string `json:"messages"`
	// Expect is the session's state after the last message: completed or
	// waiting.
	Expect string `json:"expect"`
}

// TestTurn is one message of a test conversation run.
type TestTurn struct {
	// From is "contact" or "bot".
	From    string   `json:"from"`
	Text    string   `json:"text"`
	Buttons []string `json:"buttons,omitempty"`
}

// TestRun is a test conversation run through the engine the simulator
// uses, with its outcome.
type TestRun struct {
	Name   string `json:"name"`
	Expect string `json:"expect"`
	// Status is the session's state at the end: completed, waiting,
	// failed...
	Status string     `json:"status"`
	Passed bool       `json:"passed"`
	Detail string     `json:"detail"`
	Turns  []TestTurn `json:"turns"`
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

type seqIDs struct{ n int }

func (s *seqIDs) NewID() string { s.n++; return fmt.Sprintf("test-%06d", s.n) }

// runTests runs up to MaxTests test conversations through the engine with
// no outside services (HTTP calls and AI steps fail, as in a sandbox).
func runTests(ctx context.Context, g flow.Graph, cases []TestCase) []TestRun {
	out := []TestRun{}
	prog, err := flow.Compile(g, flow.CompileOptions{Env: noRefs{}})
	if err != nil {
		return out
	}
	f := engine.Flow{ID: "draft", Name: "draft", Revision: 1, Program: prog}
	for i, tc := range cases {
		if i == MaxTests {
			break
		}
		out = append(out, runTest(ctx, f, tc))
	}
	return out
}

func runTest(ctx context.Context, f engine.Flow, tc TestCase) TestRun {
	r := TestRun{Name: tc.Name, Expect: tc.Expect, Turns: []TestTurn{}}
	if r.Expect == "" {
		r.Expect = "completed"
	}
	e, err := engine.New(engine.Services{Clock: fixedClock{time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}, IDs: &seqIDs{}})
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	var buttons []string
	record := func(evs []engine.Event) (errs []string) {
		for _, ev := range evs {
			switch {
			case ev.Kind == engine.EventMessageOut && ev.Message != nil:
				r.Turns = append(r.Turns, TestTurn{From: "bot", Text: ev.Message.Text, Buttons: ev.Message.Buttons})
				buttons = ev.Message.Buttons
			case ev.Kind == engine.EventError:
				errs = append(errs, ev.Text)
			}
		}
		return errs
	}
	input := func(text string) engine.Input {
		if slices.Contains(buttons, text) {
			return engine.Input{Kind: engine.InputButton, Text: text, Button: text}
		}
		return engine.Input{Kind: engine.InputText, Text: text}
	}
	msgs := tc.Messages
	if len(msgs) > MaxTestMessages {
		msgs = msgs[:MaxTestMessages]
	}
	first := ""
	if len(msgs) > 0 {
		first = msgs[0]
		r.Turns = append(r.Turns, TestTurn{From: "contact", Text: first})
	}
	in := input(first)
	s, evs, err := e.Start(ctx, f, expr.Contact{ID: "test-contact", Name: "Test"}, engine.Trigger{Input: &in})
	if err != nil {
		r.Detail = "the flow could not start: " + err.Error()
		return r
	}
	errs := record(evs)
	for _, m := range msgs[min(1, len(msgs)):] {
		if !s.Waiting() {
			errs = append(errs, fmt.Sprintf("the session had already %s when the contact sent %q", s.Status, m))
			break
		}
		r.Turns = append(r.Turns, TestTurn{From: "contact", Text: m})
		evs, err := e.Resume(ctx, f, s, input(m))
		if err != nil {
			errs = append(errs, err.Error())
			break
		}
		errs = append(errs, record(evs)...)
	}
	r.Status = s.Status.String()
	r.Passed = len(errs) == 0 && r.Status == r.Expect
	switch {
	case len(errs) > 0:
		r.Detail = strings.Join(errs, "; ")
	case r.Passed:
		r.Detail = "ended " + r.Status + " as expected"
	default:
		r.Detail = fmt.Sprintf("expected the session to be %s, it is %s", r.Expect, r.Status)
	}
	return r
}
