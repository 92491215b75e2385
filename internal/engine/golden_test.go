package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/script"
)

var update = flag.Bool("update", false, "rewrite the golden files of the engine scenarios")

// scenario is a testdata/*.json file: a flow, who runs it and the inputs;
// its expected output is the matching *.golden file.
type scenario struct {
	Description string `json:"description"`
	// Flow is a graph; Template names a built-in flow template instead.
	Flow     json.RawMessage            `json:"flow"`
	Template string                     `json:"template"`
	Subflows map[string]json.RawMessage `json:"subflows"`
	Contact  expr.Contact               `json:"contact"`
	Trigger  struct {
		Input *input         `json:"input"`
		Vars  map[string]any `json:"vars"`
		Row   map[string]any `json:"row"`
	} `json:"trigger"`
	ExpireAfterSeconds int              `json:"expire_after_seconds"`
	Limits             engine.Limits    `json:"limits"`
	HTTP               map[string]route `json:"http"`
	LLM                *fakeLLM         `json:"llm"`
	// Scripts runs code nodes on the real runner (internal/script); code
	// nodes fail without it.
	Scripts bool    `json:"scripts"`
	Seed    uint64  `json:"seed"`
	Inputs  []input `json:"inputs"`
	// Final is the status the session must end the scenario in.
	Final string `json:"final"`
}

// input is one resume. A timer without seq fires the current wait's timer
// (advancing the clock to it); stale fires the previous one.
type input struct {
	Kind     engine.InputKind `json:"kind"`
	Text     string           `json:"text,omitempty"`
	Button   string           `json:"button,omitempty"`
	ListID   string           `json:"list_id,omitempty"`
	MediaURL string           `json:"media_url,omitempty"`
	Data     map[string]any   `json:"data,omitempty"`
	Seq      uint32           `json:"seq,omitempty"`
	Token    string           `json:"token,omitempty"`
	Stale    bool             `json:"stale,omitempty"`
	// Advance moves the clock forward before the input (seconds).
	Advance int           `json:"advance,omitempty"`
	Contact *expr.Contact `json:"contact,omitempty"`
}

func (in input) engine() engine.Input {
	return engine.Input{Kind: in.Kind, Text: in.Text, Button: in.Button, ListID: in.ListID, MediaURL: in.MediaURL, Data: in.Data, Seq: in.Seq, Token: in.Token, Contact: in.Contact}
}

// sprintOut is one sprint of a golden file.
type sprintOut struct {
	Input  *input         `json:"input,omitempty"`
	At     time.Time      `json:"at"`
	Events []engine.Event `json:"events"`
	Status engine.Status  `json:"status"`
	Wait   *engine.Wait   `json:"wait,omitempty"`
	// StateBytes is the size of the encoded session after the sprint.
	StateBytes int    `json:"state_bytes"`
	Error      string `json:"error,omitempty"`
}

type golden struct {
	Sprints []sprintOut    `json:"sprints"`
	Final   engine.Status  `json:"final"`
	Reason  string         `json:"end_reason,omitempty"`
	Vars    map[string]any `json:"vars,omitempty"`
	Contact expr.Contact   `json:"contact"`
}

func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := runScenario(t, file)
			goldenFile := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(goldenFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/engine -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (review, then -update):\n%s", goldenFile, diffLines(string(want), string(got)))
			}
		})
	}
}

func loadScenario(t testing.TB, file string) scenario {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sc scenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if sc.Template != "" {
		bt, ok := flow.Template(sc.Template)
		if !ok {
			t.Fatalf("no built-in template %q", sc.Template)
		}
		if sc.Flow, err = json.Marshal(bt.Graph); err != nil {
			t.Fatal(err)
		}
	}
	return sc
}

// runScenario plays a scenario and returns its golden output. Between
// sprints the session goes through MarshalBinary/UnmarshalBinary, as in
// production, and must come back identical.
func runScenario(t *testing.T, file string) []byte {
	sc := loadScenario(t, file)
	root := compile(t, "main", sc.Flow)
	root.ExpireAfter = time.Duration(sc.ExpireAfterSeconds) * time.Second
	flows := fakeFlows{}
	for id, g := range sc.Subflows {
		flows[id] = compile(t, id, g)
	}
	clock := &fakeClock{t: epoch}
	svc := engine.Services{Clock: clock, IDs: &seqIDs{}, Random: newRand(sc.Seed), Flows: flows}
	if sc.HTTP != nil {
		svc.HTTP = newHTTPDoer(t, sc.HTTP)
	}
	if sc.Scripts {
		svc.Scripts = script.New(script.Limits{})
	}
	if sc.LLM != nil {
		svc.LLM = sc.LLM
	}
	eng, err := engine.New(svc, engine.WithLimits(sc.Limits))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	trig := engine.Trigger{Vars: sc.Trigger.Vars, Row: sc.Trigger.Row}
	if sc.Trigger.Input != nil {
		in := sc.Trigger.Input.engine()
		trig.Input = &in
	}
	var out golden
	s, evs, err := eng.Start(ctx, root, sc.Contact, trig)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	s = record(t, &out, nil, clock.t, s, evs, nil)
	for i := range sc.Inputs {
		in := sc.Inputs[i]
		clock.t = clock.t.Add(time.Duration(in.Advance) * time.Second)
		if in.Kind == engine.InputTimer && in.Seq == 0 {
			in.Seq = s.Wait.Seq
			if in.Stale {
				in.Seq--
			} else if !s.Wait.TimeoutAt.IsZero() && clock.t.Before(s.Wait.TimeoutAt) {
				clock.t = s.Wait.TimeoutAt
			}
		}
		evs, err := eng.Resume(ctx, root, s, in.engine())
		s = record(t, &out, &in, clock.t, s, evs, err)
	}
	out.Final, out.Reason, out.Vars, out.Contact = s.Status, s.EndReason, s.Vars, s.Contact
	if sc.Final != "" && sc.Final != s.Status.String() {
		t.Errorf("final status %s (%s), want %s", s.Status, s.EndReason, sc.Final)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func record(t *testing.T, out *golden, in *input, at time.Time, s *engine.Session, evs []engine.Event, err error) *engine.Session {
	t.Helper()
	b, merr := s.MarshalBinary()
	if merr != nil {
		t.Fatalf("marshal: %v", merr)
	}
	var back engine.Session
	if uerr := back.UnmarshalBinary(b); uerr != nil {
		t.Fatalf("unmarshal: %v", uerr)
	}
	if !reflect.DeepEqual(&back, s) {
		t.Fatalf("session does not round-trip:\n got %+v\nwant %+v", back, *s)
	}
	so := sprintOut{Input: in, At: at, Events: evs, Status: s.Status, StateBytes: len(b)}
	if s.Waiting() {
		w := s.Wait
		so.Wait = &w
	}
	if err != nil {
		so.Error = err.Error()
	}
	if so.Events == nil {
		so.Events = []engine.Event{}
	}
	out.Sprints = append(out.Sprints, so)
	return &back
}

// diffLines shows the first differing lines of two texts.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + "\n  want: " + wl + "\n  got:  " + gl + "\n")
			shown++
		}
	}
	return b.String()
}
