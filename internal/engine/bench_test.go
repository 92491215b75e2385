package engine_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
)

// benchSetup compiles the reference flow (testdata/reference.json): message
// with buttons that waits → set_variable with an expression → condition →
// templated message → end with a closing message.
func benchSetup(b *testing.B) (*engine.Engine, engine.Flow, expr.Contact, engine.Trigger, engine.Input) {
	b.Helper()
	sc := loadScenario(b, "testdata/reference.json")
	f := compile(b, "main", sc.Flow)
	eng, err := engine.New(engine.Services{Clock: &fakeClock{t: epoch}, IDs: fixedID("s1")})
	if err != nil {
		b.Fatal(err)
	}
	return eng, f, sc.Contact, engine.Trigger{Vars: sc.Trigger.Vars}, sc.Inputs[0].engine()
}

// fixedID returns the same session ID every time (no allocation).
type fixedID string

func (f fixedID) NewID() string { return string(f) }

// measure runs fn b.N times, fn returning the node steps it took, and
// reports steps/s and allocs/step beside the usual figures.
func measure(b *testing.B, fn func() int) {
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	start := time.Now()
	steps := 0
	for i := 0; i < b.N; i++ {
		steps += fn()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	if steps == 0 {
		b.Fatal("no steps")
	}
	b.ReportMetric(float64(steps)/elapsed.Seconds(), "steps/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(steps), "allocs/step")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(steps), "ns/step")
}

// BenchmarkEngineInMemory runs the reference flow start to end (two sprints,
// six node steps) with the session kept in memory.
func BenchmarkEngineInMemory(b *testing.B) {
	eng, f, c, trig, in := benchSetup(b)
	ctx := context.Background()
	buf := make([]engine.Event, 0, 64)
	measure(b, func() int {
		s, evs, err := eng.AppendStart(ctx, buf[:0], f, c, trig)
		if err != nil || !s.Waiting() {
			b.Fatalf("start: %v %v", err, s.Status)
		}
		evs, err = eng.AppendResume(ctx, evs[:0], f, s, in)
		if err != nil || s.Status != engine.StatusCompleted {
			b.Fatalf("resume: %v %v %v", err, s.Status, s.EndReason)
		}
		buf = evs
		return s.Steps
	})
}

// BenchmarkEngineSerialized is the same conversation with the session
// encoded after each sprint and decoded before the next, as the runner
// stores it.
func BenchmarkEngineSerialized(b *testing.B) {
	eng, f, c, trig, in := benchSetup(b)
	ctx := context.Background()
	buf := make([]engine.Event, 0, 64)
	state := make([]byte, 0, 1024)
	maxState := 0
	measure(b, func() int {
		s, evs, err := eng.AppendStart(ctx, buf[:0], f, c, trig)
		if err != nil {
			b.Fatal(err)
		}
		if state, err = s.AppendBinary(state[:0]); err != nil {
			b.Fatal(err)
		}
		maxState = max(maxState, len(state))
		var back engine.Session
		if err := back.UnmarshalBinary(state); err != nil {
			b.Fatal(err)
		}
		evs, err = eng.AppendResume(ctx, evs[:0], f, &back, in)
		if err != nil || back.Status != engine.StatusCompleted {
			b.Fatalf("resume: %v %v", err, back.Status)
		}
		if state, err = back.AppendBinary(state[:0]); err != nil {
			b.Fatal(err)
		}
		buf = evs
		return back.Steps
	})
	b.ReportMetric(float64(maxState), "wait-state-bytes")
}

// BenchmarkEngineLimit is the physical limit of the reference flow in this
// design: the same expression evaluations and template renders, the same
// variable write and the same number of events appended, hand-coded with no
// interpreter, session or dispatch around them.
func BenchmarkEngineLimit(b *testing.B) {
	sc := loadScenario(b, "testdata/reference.json")
	g, err := flow.DecodeGraph(sc.Flow)
	if err != nil {
		b.Fatal(err)
	}
	p, err := flow.Compile(g, flow.CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ask := p.Steps[1].Config.(*flow.MessageConfig)
	set := p.Steps[2].Config.(*flow.SetVariableConfig)
	cond := p.Steps[3].Config.(*flow.ConditionConfig)
	thanks := p.Steps[4].Config.(*flow.MessageConfig)
	bye := p.Steps[6].Config.(*flow.EndConfig)
	env := &expr.Env{Contact: sc.Contact, Now: epoch}
	evs := make([]engine.Event, 0, 64)
	measure(b, func() int {
		evs = evs[:0]
		env.Vars = map[string]any{"visits": 3}
		env.Input = expr.Input{}
		t1, _ := ask.Text.Render(env)
		evs = append(evs, engine.Event{Kind: engine.EventNodeEntered}, engine.Event{Kind: engine.EventNodeEntered},
			engine.Event{Kind: engine.EventMessageOut, Message: &engine.Message{Text: t1}}, engine.Event{Kind: engine.EventWaiting})
		env.Input = expr.Input{Type: "button", Text: "Yes", Button: "Yes"}
		v, _ := set.Assignments[0].Value.Value(env)
		env.Vars["score"] = v
		k, _ := cond.Choose(env)
		t2, _ := thanks.Text.Render(env)
		t3, _ := bye.Text.Render(env)
		evs = append(evs, engine.Event{Kind: engine.EventNodeEntered, Value: v}, engine.Event{Kind: engine.EventNodeEntered, Seq: uint32(k)},
			engine.Event{Kind: engine.EventNodeEntered}, engine.Event{Kind: engine.EventMessageOut, Message: &engine.Message{Text: t2}},
			engine.Event{Kind: engine.EventNodeEntered}, engine.Event{Kind: engine.EventMessageOut, Message: &engine.Message{Text: t3}})
		return 6
	})
}
