package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
)

func newEngine(t testing.TB, svc engine.Services, opts ...engine.Option) *engine.Engine {
	t.Helper()
	if svc.Clock == nil {
		svc.Clock = &fakeClock{t: epoch}
	}
	if svc.IDs == nil {
		svc.IDs = &seqIDs{}
	}
	e, err := engine.New(svc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func referenceFlow(t testing.TB) engine.Flow {
	t.Helper()
	return compile(t, "main", loadScenario(t, "testdata/reference.json").Flow)
}

func TestWaitingStateUnder1KB(t *testing.T) {
	t.Parallel()
	sc := loadScenario(t, "testdata/reference.json")
	e := newEngine(t, engine.Services{})
	s, _, err := e.Start(context.Background(), referenceFlow(t), sc.Contact, engine.Trigger{Vars: sc.Trigger.Vars})
	if err != nil || !s.Waiting() {
		t.Fatalf("start: %v %v", err, s.Status)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1024 {
		t.Errorf("waiting state is %d bytes, want <= 1024", len(b))
	}
}

func TestNewRequiresClockAndIDs(t *testing.T) {
	t.Parallel()
	for name, svc := range map[string]engine.Services{
		"none":     {},
		"no ids":   {Clock: &fakeClock{}},
		"no clock": {IDs: &seqIDs{}},
	} {
		if _, err := engine.New(svc); !errors.Is(err, engine.ErrServices) {
			t.Errorf("%s: err = %v, want ErrServices", name, err)
		}
	}
}

func TestHostMistakes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEngine(t, engine.Services{})
	f := referenceFlow(t)
	s, _, err := e.Start(ctx, f, expr.Contact{ID: "c1"}, engine.Trigger{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    engine.Flow
		s    *engine.Session
		want error
	}{
		{"no program", engine.Flow{ID: "main", Revision: 1}, s, engine.ErrNoProgram},
		{"other revision", engine.Flow{ID: "main", Revision: 2, Program: f.Program}, s, engine.ErrWrongFlow},
		{"other flow", engine.Flow{ID: "x", Revision: 1, Program: f.Program}, s, engine.ErrWrongFlow},
		{"nil session", f, nil, engine.ErrNotWaiting},
		{"ended session", f, &engine.Session{Status: engine.StatusCompleted, FlowID: "main", Revision: 1}, engine.ErrNotWaiting},
	}
	for _, tt := range tests {
		if _, err := e.Resume(ctx, tt.f, tt.s, engine.Input{Kind: engine.InputText, Text: "x"}); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, _, err := e.Start(ctx, engine.Flow{ID: "x"}, expr.Contact{}, engine.Trigger{}); !errors.Is(err, engine.ErrNoProgram) {
		t.Errorf("start without program: %v", err)
	}
}

func TestStartDoesNotModifyHostData(t *testing.T) {
	t.Parallel()
	g := json.RawMessage(`{"nodes":[{"id":"start","type":"start"},
		{"id":"t","type":"action","data":{"action":"add_tag","tag":"new"}},
		{"id":"f","type":"action","data":{"action":"set_field","field":"city","value":"Porto"}},
		{"id":"ask","type":"message","data":{"text":"?","buttons":["A"]}},
		{"id":"end","type":"end"}],
		"edges":[{"id":"e1","source":"start","target":"t"},{"id":"e2","source":"t","target":"f"},{"id":"e3","source":"f","target":"ask"},{"id":"e4","source":"ask","sourceHandle":"A","target":"end"}]}`)
	f := compile(t, "main", g)
	c := expr.Contact{ID: "c1", Fields: map[string]any{"city": "Lisbon"}, Tags: make([]string, 1, 8)}
	c.Tags[0] = "vip"
	vars := map[string]any{"n": 1}
	s, _, err := newEngine(t, engine.Services{}).Start(context.Background(), f, c, engine.Trigger{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	if c.Fields["city"] != "Lisbon" || len(c.Tags) != 1 || c.Tags[:2][1] != "" {
		t.Errorf("host contact modified: %+v", c)
	}
	if s.Contact.Fields["city"] != "Porto" || !reflect.DeepEqual(s.Contact.Tags, []string{"vip", "new"}) {
		t.Errorf("session contact = %+v", s.Contact)
	}
	s.Vars["n"] = 2
	if vars["n"] != 1 {
		t.Error("trigger vars shared with the session")
	}
}

func TestInterrupt(t *testing.T) {
	t.Parallel()
	e := newEngine(t, engine.Services{})
	s, _, err := e.Start(context.Background(), referenceFlow(t), expr.Contact{}, engine.Trigger{})
	if err != nil {
		t.Fatal(err)
	}
	evs := e.Interrupt(s, "agent took over")
	if len(evs) != 1 || evs[0].Kind != engine.EventSessionEnded || evs[0].Status != engine.StatusInterrupted || s.Status != engine.StatusInterrupted {
		t.Fatalf("interrupt: %+v, session %v", evs, s.Status)
	}
	if evs := e.Interrupt(s, "again"); evs != nil {
		t.Errorf("interrupting an ended session: %+v", evs)
	}
}

type panicRandom struct{}

func (panicRandom) Float64() float64 { panic("broken random source") }

func TestPanicFailsTheSession(t *testing.T) {
	t.Parallel()
	g := json.RawMessage(`{"nodes":[{"id":"start","type":"start"},{"id":"s","type":"split","data":{"branches":[{"id":"a","weight":1}]}},{"id":"end","type":"end"}],
		"edges":[{"id":"e1","source":"start","target":"s"},{"id":"e2","source":"s","sourceHandle":"a","target":"end"}]}`)
	s, evs, err := newEngine(t, engine.Services{Random: panicRandom{}}).Start(context.Background(), compile(t, "main", g), expr.Contact{}, engine.Trigger{})
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if s.Status != engine.StatusFailed || last.Kind != engine.EventSessionEnded || !strings.Contains(last.Text, "broken random source") {
		t.Errorf("status %v, last event %+v", s.Status, last)
	}
}

func TestDefaultRandomIsDeterministicPerSession(t *testing.T) {
	t.Parallel()
	g := json.RawMessage(`{"nodes":[{"id":"start","type":"start"},{"id":"s","type":"split","data":{"branches":[{"id":"a","weight":1},{"id":"b","weight":1}]}},{"id":"end","type":"end"}],
		"edges":[{"id":"e1","source":"start","target":"s"},{"id":"e2","source":"s","sourceHandle":"a","target":"end"},{"id":"e3","source":"s","sourceHandle":"b","target":"end"}]}`)
	f := compile(t, "main", g)
	e := newEngine(t, engine.Services{})
	branch := func(id string) string {
		_, evs, err := e.Start(context.Background(), f, expr.Contact{}, engine.Trigger{SessionID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Kind == engine.EventEdgeTaken && ev.Node == "s" {
				return ev.Exit
			}
		}
		t.Fatal("no split exit")
		return ""
	}
	seen := map[string]bool{}
	for i := 0; i < 40; i++ {
		id := "session-" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		b := branch(id)
		if again := branch(id); again != b {
			t.Fatalf("session %s split %s then %s", id, b, again)
		}
		seen[b] = true
	}
	if len(seen) != 2 {
		t.Errorf("40 sessions all took %v", seen)
	}
}

func TestSubflowDepthLimit(t *testing.T) {
	t.Parallel()
	// A flow calling itself: the depth limit stops the recursion through
	// the failed exits instead of looping.
	g := json.RawMessage(`{"nodes":[{"id":"start","type":"start"},{"id":"sub","type":"subflow","data":{"flow_id":"self"}},{"id":"end","type":"end"},{"id":"fail","type":"end","data":{"text":"too deep"}}],
		"edges":[{"id":"e1","source":"start","target":"sub"},{"id":"e2","source":"sub","sourceHandle":"completed","target":"end"},{"id":"e3","source":"sub","sourceHandle":"failed","target":"fail"}]}`)
	f := compile(t, "self", g)
	e := newEngine(t, engine.Services{Flows: fakeFlows{"self": f}}, engine.WithLimits(engine.Limits{MaxDepth: 3}))
	s, evs, err := e.Start(context.Background(), f, expr.Contact{}, engine.Trigger{})
	if err != nil {
		t.Fatal(err)
	}
	started, errs := 0, 0
	for _, ev := range evs {
		switch ev.Kind {
		case engine.EventSubflowStarted:
			started++
		case engine.EventError:
			errs++
		}
	}
	if s.Status != engine.StatusCompleted || started != 3 || errs != 1 || len(s.Frames) != 0 {
		t.Errorf("status %v (%s), %d subflows started, %d errors, frames %v", s.Status, s.EndReason, started, errs, s.Frames)
	}
}

func TestResumeInSubflowNeedsPinnedRevision(t *testing.T) {
	t.Parallel()
	child := json.RawMessage(`{"nodes":[{"id":"start","type":"start"},{"id":"ask","type":"message","data":{"text":"?","buttons":["A"]}},{"id":"end","type":"end"}],
		"edges":[{"id":"e1","source":"start","target":"ask"},{"id":"e2","source":"ask","sourceHandle":"A","target":"end"}]}`)
	parent := json.RawMessage(`{"nodes":[{"id":"start","type":"start"},{"id":"sub","type":"subflow","data":{"flow_id":"child"}},{"id":"end","type":"end"}],
		"edges":[{"id":"e1","source":"start","target":"sub"},{"id":"e2","source":"sub","sourceHandle":"completed","target":"end"}]}`)
	flows := fakeFlows{"child": compile(t, "child", child)}
	e := newEngine(t, engine.Services{Flows: flows})
	root := compile(t, "main", parent)
	s, _, err := e.Start(context.Background(), root, expr.Contact{}, engine.Trigger{})
	if err != nil || !s.Waiting() || len(s.Frames) != 1 {
		t.Fatalf("start: %v %v %v", err, s.Status, s.Frames)
	}
	// The child was republished: revision 1 is gone.
	c2 := flows["child"]
	c2.Revision = 2
	flows["child"] = c2
	evs, err := e.Resume(context.Background(), root, s, engine.Input{Kind: engine.InputButton, Button: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != engine.StatusFailed || !strings.Contains(s.EndReason, "revision 1") {
		t.Errorf("status %v (%s), events %+v", s.Status, s.EndReason, evs)
	}
}

func TestEnumsTextRoundTrip(t *testing.T) {
	t.Parallel()
	for k := engine.EventNodeEntered; k <= engine.EventError; k++ {
		b, _ := k.MarshalText()
		var back engine.EventKind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("event kind %d: %s → %v %v", k, b, back, err)
		}
	}
	for st := engine.StatusActive; st <= engine.StatusInterrupted; st++ {
		b, _ := st.MarshalText()
		var back engine.Status
		if err := back.UnmarshalText(b); err != nil || back != st {
			t.Errorf("status %d: %s → %v %v", st, b, back, err)
		}
	}
	for w := engine.WaitNone; w <= engine.WaitHandoff; w++ {
		b, _ := w.MarshalText()
		var back engine.WaitKind
		if err := back.UnmarshalText(b); err != nil || back != w {
			t.Errorf("wait kind %d: %s → %v %v", w, b, back, err)
		}
	}
	var st engine.Status
	if err := st.UnmarshalText([]byte("nope")); err == nil {
		t.Error("unknown status accepted")
	}
}

// stamp makes a time value as the engine stores it.
func stamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t.UTC()
}

// TestConcurrentSprints shares one engine and program between goroutines,
// as the runner does (run with -race).
func TestConcurrentSprints(t *testing.T) {
	t.Parallel()
	sc := loadScenario(t, "testdata/reference.json")
	f := referenceFlow(t)
	e := newEngine(t, engine.Services{IDs: fixedID("s")})
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 50; i++ {
				s, _, err := e.Start(context.Background(), f, sc.Contact, engine.Trigger{Vars: map[string]any{"visits": i}})
				if err == nil {
					_, err = e.Resume(context.Background(), f, s, sc.Inputs[0].engine())
				}
				if err == nil && (s.Status != engine.StatusCompleted || s.Vars["score"] != i*2+10) {
					err = errors.New("wrong result: " + s.EndReason)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
