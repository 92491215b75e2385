package engine_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
)

// transferGraph: the AI may hand the call to the flow (hold_for_transfer);
// on transferred, a voice_transfer step sends it to the agent the
// contact's variable names, warm, with its own briefing.
const transferGraph = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"manual"}}},
 {"id":"call","type":"voice_call","position":{"x":0,"y":100},"data":{"channel_id":"vn1","prompt":"Help","hold_for_transfer":true,"variable":"call"}},
 {"id":"xfer","type":"voice_transfer","position":{"x":0,"y":200},"data":{"to":"{{ contact.fields.agent }}","mode":"warm","message":"{{ contact.name }}: {{ call.transfer.reason }}","variable":"xfer"}},
 {"id":"ok","type":"end","position":{"x":0,"y":300},"data":{"text":"moved to {{ xfer.to }}"}},
 {"id":"ko","type":"end","position":{"x":200,"y":300},"data":{"text":"not moved: {{ xfer.error }}"}},
 {"id":"done","type":"end","position":{"x":400,"y":300},"data":{"text":"call over"}}],
 "edges":[
 {"id":"e1","source":"start","target":"call"},
 {"id":"e2","source":"call","sourceHandle":"transferred","target":"xfer"},
 {"id":"e3","source":"call","sourceHandle":"completed","target":"done"},
 {"id":"e4","source":"xfer","sourceHandle":"completed","target":"ok"},
 {"id":"e5","source":"xfer","sourceHandle":"failed","target":"ko"}]}`

func TestVoiceTransferNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := compile(t, "main", json.RawMessage(transferGraph))
	sent := func(evs []engine.Event) []*engine.Message {
		var out []*engine.Message
		for _, e := range evs {
			if e.Kind == engine.EventMessageOut {
				out = append(out, e.Message)
			}
		}
		return out
	}
	// held runs the call to its transferred exit and returns the
	// transfer request the flow then sent.
	held := func(t *testing.T, e *engine.Engine, agent string) (*engine.Session, *engine.TransferMessage) {
		t.Helper()
		s, evs, err := e.Start(ctx, f, expr.Contact{Name: "Ann", Phone: "+14155550123", Fields: map[string]any{"agent": agent}}, engine.Trigger{})
		if err != nil || !s.Waiting() {
			t.Fatalf("start: %v %v", err, s.Status)
		}
		m := sent(evs)
		if len(m) != 1 || m[0].Type != engine.MessageVoiceCall || !m[0].Call.HoldForTransfer {
			t.Fatalf("sent %+v, want a voice call the AI may hold for transfer", m)
		}
		evs, err = e.Resume(ctx, f, s, engine.Input{Kind: engine.InputCall, Token: m[0].Call.Token,
			Data: map[string]any{"exit": "transferred", "status": "in_progress", "transfer": map[string]any{"reason": "wants billing", "requested_by": "agent", "pending": true}}})
		if err != nil {
			t.Fatal(err)
		}
		m = sent(evs)
		if len(m) != 1 || m[0].Type != engine.MessageVoiceTransfer || m[0].Transfer == nil {
			return s, nil
		}
		return s, m[0].Transfer
	}

	t.Run("transferred exit leads to the transfer, completed", func(t *testing.T) {
		t.Parallel()
		e := newEngine(t, engine.Services{})
		s, tr := held(t, e, "agent:alice")
		if tr == nil || tr.To != "agent:alice" || tr.Mode != "warm" || tr.Message != "Ann: wants billing" || tr.Token == "" || !s.Waiting() {
			t.Fatalf("transfer request %+v (waiting %v)", tr, s.Waiting())
		}
		evs, err := e.Resume(ctx, f, s, engine.Input{Kind: engine.InputCall, Token: tr.Token,
			Data: map[string]any{"exit": "transferred", "status": "completed", "to": "agent:alice", "dial_status": "completed"}})
		if err != nil {
			t.Fatal(err)
		}
		if m := sent(evs); len(m) != 1 || m[0].Text != "moved to agent:alice" || s.Waiting() {
			t.Fatalf("after the transfer: %+v", m)
		}
	})
	t.Run("no held call: failed with the host's reason", func(t *testing.T) {
		t.Parallel()
		e := newEngine(t, engine.Services{})
		s, tr := held(t, e, "+14155550999")
		if tr == nil {
			t.Fatal("no transfer request")
		}
		// A result for another wait is ignored.
		if _, err := e.Resume(ctx, f, s, engine.Input{Kind: engine.InputCall, Token: "other", Data: map[string]any{"exit": "transferred"}}); err != nil || !s.Waiting() {
			t.Fatalf("a result for another wait resumed the session: %v", err)
		}
		evs, err := e.Resume(ctx, f, s, engine.Input{Kind: engine.InputCall, Token: tr.Token,
			Data: map[string]any{"exit": "failed", "status": "failed", "error": "no live call"}})
		if err != nil {
			t.Fatal(err)
		}
		if m := sent(evs); len(m) != 1 || m[0].Text != "not moved: no live call" {
			t.Fatalf("after the failure: %+v", m)
		}
	})
	t.Run("a destination that renders invalid fails at once", func(t *testing.T) {
		t.Parallel()
		e := newEngine(t, engine.Services{})
		s, tr := held(t, e, "sales desk")
		if tr != nil || s.Waiting() || s.Vars["xfer"].(map[string]any)["error"] == "" {
			t.Fatalf("an invalid destination was sent: %+v, vars %v", tr, s.Vars["xfer"])
		}
	})
	t.Run("timeout: failed", func(t *testing.T) {
		t.Parallel()
		e := newEngine(t, engine.Services{})
		s, _ := held(t, e, "+14155550999")
		evs, err := e.Resume(ctx, f, s, engine.Input{Kind: engine.InputTimer, Seq: s.Wait.Seq})
		if err != nil {
			t.Fatal(err)
		}
		if m := sent(evs); len(m) != 1 || m[0].Text != "not moved: the transfer's result never came back" {
			t.Fatalf("timeout sent %+v", m)
		}
	})
}
