package calls_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/calls"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// transferModel: the agent transfers once the caller asks for a person.
func transferModel(r *rig) {
	r.llm.Fallback(func(req aitest.Request) aitest.Reply {
		last := req.Messages[len(req.Messages)-1].Content
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			return aitest.Reply{Content: `{"outcome":"callback","summary":"Wants a person."}`}
		case strings.Contains(last, "person"):
			return aitest.Reply{Content: `{"say":"Of course.","action":"transfer_call","reason":"asked for a person about billing"}`}
		}
		return aitest.Reply{Content: `{"say":"How can I help?","action":"continue","reason":""}`}
	})
}

// queueTransfer queues a voice_transfer step's request for session
// "s-"+callID, addressed as the sprint addresses it.
func (r *rig) queueTransfer(t *testing.T, id, callID, token string, m engine.TransferMessage) {
	t.Helper()
	m.Token = token
	b, _ := json.Marshal(m)
	now := time.Now()
	c := store.Call{ID: id, ProjectID: r.proj, ChannelID: "voice-1", ContactID: "c-" + callID, SessionID: "s-" + callID, Token: token,
		Direction: string(voice.Transferring), To: m.To, Request: b, Status: store.CallQueued, Owner: "me", CreatedAt: now, UpdatedAt: now}
	if err := r.st.CallCreate(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	r.svc.Wake()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHeldTransfers: a call whose AI chose to transfer with
// hold_for_transfer is held; the flow's voice_transfer hands it on (blind
// to a number, warm to an agent), tries elsewhere when nobody took it,
// fails clearly when no call is held, and a hold that runs out hangs up.
func TestHeldTransfers(t *testing.T) {
	t.Parallel()
	req := engine.CallMessage{ChannelID: "voice-1", Prompt: "Help.", Greeting: "Hello, Acme.", MaxDurationSeconds: 60, RingTimeoutSeconds: 30, HoldForTransfer: true}
	held := func(t *testing.T, r *rig, to string) *sim.Leg {
		t.Helper()
		transferModel(r)
		r.sim.Expect(to, sim.Script{Scenario: sim.Answer, Lines: []string{"I want a person."}})
		r.queue(t, "k1", "voice-1", to, req)
		d := r.result(t, "s-k1.1")
		v := d.Input.Data
		tr, _ := v["transfer"].(map[string]any)
		if v["exit"] != "transferred" || tr == nil || tr["pending"] != true || tr["reason"] != "asked for a person about billing" || v["outcome"] != "callback" {
			t.Fatalf("the call's result %v, want transferred with the pending transfer and its reason", v)
		}
		waitFor(t, "the call held", func() bool { return r.svc.Held() == 1 })
		leg := r.sim.Legs()[0]
		if h := leg.Heard(); h[len(h)-1] != voice.HoldLine {
			t.Fatalf("the caller heard %q, want to be told to hold", h)
		}
		return leg
	}

	t.Run("blind to a number", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		leg := held(t, r, "+14155550301")
		r.queueTransfer(t, "x1", "k1", "s-k1.2", engine.TransferMessage{To: "+14155550777", Mode: "blind"})
		v := r.result(t, "s-k1.2").Input.Data
		if v["exit"] != "transferred" || v["to"] != "+14155550777" || v["mode"] != "blind" || v["reason"] != "asked for a person about billing" || v["error"] != "" {
			t.Fatalf("transfer result %v", v)
		}
		if got := leg.Transferred(); got == nil || got.Kind != voice.TargetNumber || got.To != "+14155550777" {
			t.Fatalf("the call went to %+v", got)
		}
		waitFor(t, "the hold released", func() bool { return r.svc.Held() == 0 })
	})
	t.Run("warm to an agent, briefed with the message", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		leg := held(t, r, "+14155550302")
		r.queueTransfer(t, "x1", "k1", "s-k1.2", engine.TransferMessage{To: "agent:alice", Mode: "warm", Message: "Ann, billing."})
		v := r.result(t, "s-k1.2").Input.Data
		if v["exit"] != "transferred" || v["to"] != "agent:alice" || v["mode"] != "warm" {
			t.Fatalf("transfer result %v", v)
		}
		if got := leg.Transferred(); got == nil || got.Kind != voice.TargetAgent || got.To != "alice" || got.Mode != voice.TransferWarm {
			t.Fatalf("the call went to %+v", got)
		}
		if b := r.sim.Briefed("agent:alice"); !slices.Equal(b, []string{"Ann, billing."}) {
			t.Fatalf("the agent heard %q first", b)
		}
	})
	t.Run("not taken: the caller keeps holding for the next try", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		r.sim.ExpectTransfer("+14155550888", voice.StatusBusy)
		leg := held(t, r, "+14155550303")
		r.queueTransfer(t, "x1", "k1", "s-k1.2", engine.TransferMessage{To: "+14155550888", Mode: "blind"})
		v := r.result(t, "s-k1.2").Input.Data
		if v["exit"] != "failed" || v["dial_status"] != "busy" || !strings.Contains(v["error"].(string), "did not take the call") {
			t.Fatalf("transfer result %v, want failed, busy", v)
		}
		if h := leg.Heard(); h[len(h)-1] != calls.ReholdLine || leg.Transferred() != nil || r.svc.Held() != 1 {
			t.Fatalf("after a busy target the caller heard %q, transferred %+v, held %d", h, leg.Transferred(), r.svc.Held())
		}
		r.queueTransfer(t, "x2", "k1", "s-k1.3", engine.TransferMessage{To: "agent:bob", Mode: "warm"})
		v = r.result(t, "s-k1.3").Input.Data
		if v["exit"] != "transferred" || leg.Transferred() == nil {
			t.Fatalf("second transfer %v", v)
		}
		// Without a message the agent hears the reason and the caller's words.
		if b := r.sim.Briefed("agent:bob"); len(b) != 1 || !strings.Contains(b[0], "billing") || !strings.Contains(b[0], "I want a person.") {
			t.Fatalf("the agent heard %q first", b)
		}
	})
	t.Run("no call on hold: failed, saying why", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		r.queueTransfer(t, "x1", "nobody", "s-nobody.2", engine.TransferMessage{To: "+14155550777", Mode: "blind"})
		v := r.result(t, "s-nobody.2").Input.Data
		if v["exit"] != "failed" || !strings.Contains(v["error"].(string), "no call on hold") {
			t.Fatalf("transfer result %v", v)
		}
	})
	t.Run("the hold runs out: the caller is told and hung up on", func(t *testing.T) {
		t.Parallel()
		r := newPacedRig(t, false, nil, func(d *calls.Deps) { d.HoldFor = 200 * time.Millisecond })
		leg := held(t, r, "+14155550304")
		waitFor(t, "the hold to run out", func() bool { return r.svc.Held() == 0 })
		waitFor(t, "the caller told", func() bool { h := leg.Heard(); return h[len(h)-1] == voice.DeclinedLine })
		r.queueTransfer(t, "x1", "k1", "s-k1.2", engine.TransferMessage{To: "+14155550777", Mode: "blind"})
		if v := r.result(t, "s-k1.2").Input.Data; v["exit"] != "failed" {
			t.Fatalf("a transfer after the hold ran out: %v", v)
		}
	})
}

// TestAgentTransfers: with transfer_to the AI hands the caller over
// itself, blind or warm; the result says where and why.
func TestAgentTransfers(t *testing.T) {
	t.Parallel()
	for i, tc := range []struct{ to, mode, kind string }{{"+14155550777", "", "number"}, {"agent:alice", "warm", "agent"}} {
		t.Run(tc.to, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, false)
			transferModel(r)
			to := "+1415555040" + string(rune('0'+i))
			r.sim.Expect(to, sim.Script{Scenario: sim.Answer, Lines: []string{"Put me through to a person."}})
			r.queue(t, "k1", "voice-1", to, engine.CallMessage{ChannelID: "voice-1", Prompt: "Help.", MaxDurationSeconds: 60, RingTimeoutSeconds: 30,
				TransferTo: tc.to, TransferMode: tc.mode})
			v := r.result(t, "s-k1.1").Input.Data
			tr, _ := v["transfer"].(map[string]any)
			if v["exit"] != "transferred" || tr == nil || tr["to"] != tc.to || tr["requested_by"] != "agent" || tr["pending"] != false {
				t.Fatalf("result %v", v)
			}
			if got := r.sim.Legs()[0].Transferred(); got == nil || string(got.Kind) != tc.kind {
				t.Fatalf("transferred to %+v", got)
			}
			if r.svc.Held() != 0 {
				t.Fatal("a call the AI transferred itself is held")
			}
		})
	}
}

// TestTransferQueuedForStoppedProcess: a voice_transfer request addressed
// to a process that stopped during the hold (its lease ran out, or it has
// none and is old) is ended by the next process, failed with
// calls.HoldStopped, so the flow's failed exit runs; one whose lease still
// runs is left to its process.
func TestTransferQueuedForStoppedProcess(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	ctx := context.Background()
	now := time.Now()
	past, future, old := now.Add(-time.Second), now.Add(time.Hour), now.Add(-2*store.AddressedLease)
	for _, c := range []struct {
		id    string
		lease *time.Time
		at    time.Time
	}{{"x-expired", &past, now}, {"x-nolease", nil, old}, {"x-alive", &future, now}} {
		b, _ := json.Marshal(engine.TransferMessage{To: "agent:alice", Mode: "warm", Token: "s-" + c.id + ".2"})
		call := store.Call{ID: c.id, ProjectID: r.proj, ChannelID: "voice-1", ContactID: "c-" + c.id, SessionID: "s-" + c.id, Token: "s-" + c.id + ".2",
			Direction: string(voice.Transferring), To: "agent:alice", Request: b, Status: store.CallQueued, Owner: "stopped-process",
			LeaseUntil: c.lease, CreatedAt: c.at, UpdatedAt: c.at}
		if err := r.st.CallCreate(ctx, call); err != nil {
			t.Fatal(err)
		}
	}
	r.svc.Wake()
	for _, id := range []string{"x-expired", "x-nolease"} {
		d := r.result(t, "s-"+id+".2")
		v := d.Input.Data
		if v["exit"] != "failed" || v["error"] != calls.HoldStopped || v["to"] != "agent:alice" || v["mode"] != "warm" {
			t.Fatalf("%s: result %v, want failed with %q", id, v, calls.HoldStopped)
		}
		// The delivery is written in the transaction that ends the row.
		waitFor(t, id+" ended failed", func() bool {
			c, err := r.st.CallGet(ctx, store.Ref{ProjectID: r.proj, ID: id})
			return err == nil && c.EndedAt != nil && c.Status == string(voice.StatusFailed)
		})
	}
	time.Sleep(100 * time.Millisecond) // more polls find nothing more to do
	if n := len(r.out.list()); n != 2 {
		t.Fatalf("%d deliveries, want the two stopped transfers' only", n)
	}
	if c, err := r.st.CallGet(ctx, store.Ref{ProjectID: r.proj, ID: "x-alive"}); err != nil || c.Status != store.CallQueued {
		t.Fatalf("the transfer whose process still renews it: %+v %v, want it queued", c, err)
	}
}

// TestReleaseOrphanedTransfers: on a database only this process works
// (SQLite), a start ends at once the transfers an earlier run left
// queued for itself, whatever their lease.
func TestReleaseOrphanedTransfers(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	ctx := context.Background()
	r.svc.Stop()
	now := time.Now()
	lease := now.Add(time.Hour)
	b, _ := json.Marshal(engine.TransferMessage{To: "+14155550999", Token: "s-y.2"})
	if err := r.st.CallCreate(ctx, store.Call{ID: "y", ProjectID: r.proj, ChannelID: "voice-1", ContactID: "c-y", SessionID: "s-y", Token: "s-y.2",
		Direction: string(voice.Transferring), To: "+14155550999", Request: b, Status: store.CallQueued, Owner: "earlier-run", LeaseUntil: &lease,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	svc := calls.New(calls.Deps{Store: r.st, Inbox: r.out, Simulated: r.sim, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}, Owner: "this-run"})
	n, err := svc.ReleaseOrphans(ctx)
	if err != nil || n != 1 {
		t.Fatalf("released %d, %v; want the queued transfer", n, err)
	}
	if v := r.result(t, "s-y.2").Input.Data; v["exit"] != "failed" || v["error"] != calls.HoldStopped {
		t.Fatalf("result %v", v)
	}
}
