package calls_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/calls"
	"github.com/parleyhq/parley/internal/channel/voicenumber"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// deliveries records what the service handed to sessions.
type deliveries struct {
	mu  sync.Mutex
	got []inbox.Delivery
}

func (d *deliveries) Deliver(_ context.Context, _ store.Queries, x inbox.Delivery) (inbox.Receipt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, x)
	return inbox.Receipt{}, nil
}

func (d *deliveries) list() []inbox.Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]inbox.Delivery(nil), d.got...)
}

type rig struct {
	st   store.Store
	sim  *sim.Provider
	out  *deliveries
	llm  *aitest.Server
	svc  *calls.Service
	proj string
}

// newRig runs a calls service on the test database with the simulated
// provider and a fake model; noModel leaves the project without one.
func newRig(t *testing.T, noModel bool) *rig {
	t.Helper()
	return newPacedRig(t, noModel, nil)
}

// newPacedRig is newRig whose voice number voice-1 is paced.
func newPacedRig(t *testing.T, noModel bool, pacing *calls.Pacing, opts ...func(*calls.Deps)) *rig {
	t.Helper()
	st := testdb.Open(t, store.OpenOptions{})
	ctx := context.Background()
	p, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "P", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, sim: sim.New(domain.SystemClock{}, domain.UUIDv7{}), out: &deliveries{}, proj: p.ID}
	r.llm = aitest.New("m")
	t.Cleanup(r.llm.Close)
	r.llm.Fallback(func(req aitest.Request) aitest.Reply {
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			return aitest.Reply{Content: `{"outcome":"interested","summary":"Booked for Tuesday."}`}
		case len(req.Messages) > 3:
			return aitest.Reply{Content: `{"say":"Booked for Tuesday. Goodbye!","action":"end_call","reason":"booked"}`}
		}
		return aitest.Reply{Content: `{"say":"When would suit you?","action":"continue","reason":""}`}
	})
	aiSvc := ai.New(ai.Deps{Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}})
	deps := calls.Deps{Store: st, Inbox: r.out, Simulated: r.sim, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}, Owner: "me",
		PollEvery: 10 * time.Millisecond, Lease: time.Second,
		Providers: func(_ context.Context, _, channelID string) (voice.Provider, error) {
			if channelID != "voice-1" {
				return nil, domain.Errorf(domain.CodeNotFound, "channel %q not found", channelID)
			}
			a, err := voicenumber.Definition(r.sim).New([]byte(`{"number":"+14155550199","provider":"simulated"}`), nil)
			if err != nil {
				return nil, err
			}
			return a.(voice.Provider), nil
		},
		Pacing: func(_ context.Context, _, channelID string) (calls.Pacing, error) {
			if pacing == nil || channelID != "voice-1" {
				return calls.Pacing{}, nil
			}
			return *pacing, nil
		},
		Models: func(context.Context, string) (voice.Model, error) {
			if noModel {
				return nil, ai.ErrNoProvider
			}
			return voice.ProviderModel{AI: aiSvc, Provider: store.AIProvider{Name: "fake", BaseURL: r.llm.BaseURL(), Model: "m", TimeoutSeconds: 5}}, nil
		}}
	for _, o := range opts {
		o(&deps)
	}
	r.svc = calls.New(deps)
	if err := r.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.svc.Stop)
	return r
}

func (r *rig) queue(t *testing.T, id, channel, to string, req engine.CallMessage) {
	t.Helper()
	b, _ := json.Marshal(req)
	now := time.Now()
	c := store.Call{ID: id, ProjectID: r.proj, ChannelID: channel, ContactID: "c-" + id, SessionID: "s-" + id, Token: "s-" + id + ".1",
		Direction: "outbound", To: to, Request: b, Status: store.CallQueued, CreatedAt: now, UpdatedAt: now}
	if err := r.st.CallCreate(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	r.svc.Wake()
}

func (r *rig) result(t *testing.T, token string) inbox.Delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range r.out.list() {
			if d.Input.Token == token {
				return d
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no result was delivered for %s", token)
	return inbox.Delivery{}
}

func TestCalls(t *testing.T) {
	t.Parallel()
	req := engine.CallMessage{ChannelID: "voice-1", Prompt: "Book a visit.", Greeting: "Hi, this is the clinic.", Recording: true,
		MaxDurationSeconds: 60, RingTimeoutSeconds: 30, Outcomes: []string{"interested", "not_interested"}}
	cases := []struct {
		name    string
		channel string
		script  *sim.Script
		noModel bool
		req     func(engine.CallMessage) engine.CallMessage
		exit    string
		check   func(t *testing.T, v map[string]any)
	}{
		{name: "answered: greeting, two turns, classified", channel: "voice-1", script: &sim.Script{Scenario: sim.Answer, Lines: []string{"Hello?", "Tuesday works."}},
			exit: "completed", check: func(t *testing.T, v map[string]any) {
				if v["outcome"] != "interested" || v["summary"] != "Booked for Tuesday." || v["end_reason"] != "agent_hangup" || v["recording_url"] == "" {
					t.Errorf("variables %v", v)
				}
				if tr := v["transcript"].([]any); len(tr) != 5 || tr[0].(map[string]any)["text"] != "Hi, this is the clinic." {
					t.Errorf("transcript %v", tr)
				}
			}},
		{name: "busy", channel: "voice-1", script: &sim.Script{Scenario: sim.Busy}, exit: "no_answer",
			check: func(t *testing.T, v map[string]any) {
				if v["status"] != "busy" || v["outcome"] != "" {
					t.Errorf("variables %v", v)
				}
			}},
		{name: "no answer", channel: "voice-1", script: &sim.Script{Scenario: sim.NoAnswer}, exit: "no_answer"},
		{name: "an answering machine is hung up on", channel: "voice-1", script: &sim.Script{Scenario: sim.Voicemail},
			req: func(m engine.CallMessage) engine.CallMessage { m.DetectMachine = true; return m }, exit: "no_answer",
			check: func(t *testing.T, v map[string]any) {
				if v["answered_by"] != "machine" || v["end_reason"] != "machine" || v["outcome"] != "voicemail" {
					t.Errorf("variables %v", v)
				}
			}},
		{name: "the number cannot be reached", channel: "voice-1", script: &sim.Script{Scenario: sim.Failed}, exit: "failed"},
		{name: "the voice number is gone", channel: "voice-9", exit: "failed",
			check: func(t *testing.T, v map[string]any) {
				if !strings.Contains(v["error"].(string), "voice-9") {
					t.Errorf("error %q should name the channel", v["error"])
				}
			}},
		{name: "no AI provider", channel: "voice-1", noModel: true, exit: "failed",
			check: func(t *testing.T, v map[string]any) {
				if !strings.Contains(v["error"].(string), "no AI provider configured") {
					t.Errorf("error %q should say how to add a provider", v["error"])
				}
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tc.noModel)
			to := "+1415555010" + string(rune('0'+i))
			if tc.script != nil {
				r.sim.Expect(to, *tc.script)
			}
			m := req
			m.ChannelID = tc.channel
			if tc.req != nil {
				m = tc.req(m)
			}
			r.queue(t, "k1", tc.channel, to, m)
			d := r.result(t, "s-k1.1")
			if d.Input.Kind != engine.InputCall || d.Type != "call" || d.ProviderID != "call:k1" || d.SessionID != "s-k1" || d.ContactID != "c-k1" {
				t.Fatalf("delivery %+v", d)
			}
			if got := d.Input.Data["exit"]; got != tc.exit {
				t.Fatalf("exit %v, want %s (result %v)", got, tc.exit, d.Input.Data)
			}
			if tc.check != nil {
				tc.check(t, d.Input.Data)
			}
			// The delivery is recorded inside the transaction that ends the
			// call: wait for its commit.
			c, err := r.st.CallGet(context.Background(), store.Ref{ProjectID: r.proj, ID: "k1"})
			for deadline := time.Now().Add(5 * time.Second); err == nil && c.EndedAt == nil && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
				c, err = r.st.CallGet(context.Background(), store.Ref{ProjectID: r.proj, ID: "k1"})
			}
			if err != nil || c.EndedAt == nil || len(c.Result) == 0 || c.Owner != "me" {
				t.Fatalf("stored call %+v, %v", c, err)
			}
			var res voice.Result
			if err := json.Unmarshal(c.Result, &res); err != nil || res.Exit() != tc.exit {
				t.Fatalf("stored result %s: %v", c.Result, err)
			}
			if n := len(r.sim.Legs()); tc.channel == "voice-1" && !tc.noModel && n != 1 {
				t.Errorf("%d calls placed, want one", n)
			}
		})
	}
}

// A call whose process died mid-call is never placed again: it ends as
// failed (interrupted) and its session hears so, once.
func TestInterruptedCalls(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	ctx := context.Background()
	now := time.Now()
	dead := now.Add(-time.Minute)
	// The rig's own service stops before the call exists: were it still
	// polling, it could claim the call before the dead process does.
	r.svc.Stop()
	c := store.Call{ID: "k9", ProjectID: r.proj, ChannelID: "voice-1", ContactID: "c9", SessionID: "s9", Token: "s9.3", Direction: "outbound",
		To: "+14155550109", Request: json.RawMessage(`{}`), Status: store.CallQueued, CreatedAt: dead, UpdatedAt: dead}
	if err := r.st.CallCreate(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Another process claimed it and died while it was in progress.
	claimed, err := r.st.CallClaim(ctx, store.CallClaimParams{Owner: "dead-process", Now: dead, LeaseUntil: dead.Add(time.Second)})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim %v %v", claimed, err)
	}
	c = claimed[0]
	c.Status = string(voice.StatusInProgress)
	if err := r.st.CallUpdate(ctx, c); err != nil {
		t.Fatal(err)
	}
	svc := calls.New(calls.Deps{Store: r.st, Inbox: r.out, Simulated: r.sim, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}, Owner: "next",
		PollEvery: 10 * time.Millisecond,
		Providers: func(context.Context, string, string) (voice.Provider, error) { return r.sim, nil },
		Models:    func(context.Context, string) (voice.Model, error) { return nil, errors.New("unused") }})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	d := r.result(t, "s9.3")
	if d.Input.Data["exit"] != "failed" || d.Input.Data["end_reason"] != "interrupted" {
		t.Fatalf("result %v, want failed / interrupted", d.Input.Data)
	}
	time.Sleep(100 * time.Millisecond) // more polls find nothing more to do
	if n := len(r.out.list()); n != 1 {
		t.Fatalf("%d deliveries, want exactly one", n)
	}
	if n := len(r.sim.Legs()); n != 0 {
		t.Fatalf("the interrupted call was placed again (%d calls)", n)
	}
}

// TestPacing: a voice number never has more calls under way than its
// concurrency allows, and starts them no faster than its calls per second;
// every queued call is still placed, once.
func TestPacing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		pacing calls.Pacing
		calls  int
	}{
		{"two at once", calls.Pacing{MaxConcurrent: 2}, 6},
		{"one at once, 20 per second", calls.Pacing{MaxConcurrent: 1, CallsPerSecond: 20}, 4},
		{"20 per second", calls.Pacing{CallsPerSecond: 20}, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newPacedRig(t, false, &tc.pacing)
			// Each call lasts a few turns, so calls overlap unless paced.
			r.sim.Default = sim.Script{Scenario: sim.Answer, Lines: []string{"Hello?", "Tuesday works."}}
			req := engine.CallMessage{ChannelID: "voice-1", Prompt: "Book a visit.", Greeting: "Hi.", MaxDurationSeconds: 60}
			for i := range tc.calls {
				r.queue(t, fmt.Sprintf("k%d", i), "voice-1", fmt.Sprintf("+1415555020%d", i), req)
			}
			for i := range tc.calls {
				if d := r.result(t, fmt.Sprintf("s-k%d.1", i)); d.Input.Data["exit"] != "completed" {
					t.Fatalf("call %d: %v", i, d.Input.Data)
				}
			}
			legs := r.sim.Legs()
			if len(legs) != tc.calls {
				t.Fatalf("%d calls placed, want %d", len(legs), tc.calls)
			}
			peak := r.sim.Peak("+14155550199")
			if tc.pacing.MaxConcurrent > 0 && peak > tc.pacing.MaxConcurrent {
				t.Fatalf("%d calls were under way at once, the number allows %d", peak, tc.pacing.MaxConcurrent)
			}
			if tc.pacing.MaxConcurrent == 0 && tc.pacing.CallsPerSecond == 0 && peak < 2 {
				t.Fatalf("peak %d: the calls never overlapped, the test proves nothing", peak)
			}
			if cps := tc.pacing.CallsPerSecond; cps > 0 {
				gap := time.Duration(float64(time.Second) / cps)
				span := legs[len(legs)-1].PlacedAt().Sub(legs[0].PlacedAt())
				// The starts are granted a gap apart, but each placement
				// runs after its grant on a goroutine a loaded machine may
				// delay (the first by more than the last): allow one gap.
				// Unpaced, the calls all start within milliseconds.
				if want := time.Duration(tc.calls-2) * gap; span < want {
					t.Fatalf("%d calls started within %v; at %v per second they take at least %v", tc.calls, span, cps, want)
				}
			}
		})
	}
}
