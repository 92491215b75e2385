package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// inboundFlow: "callback" on WhatsApp → the flow asks the customer to
// call the clinic's voice number and waits for the call; the AI agent
// answers it; the flow then says on WhatsApp how it went.
const inboundFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["callback"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Call us at +1 415 555 0170."}},
 {"id":"wait","type":"wait_inbound_call","position":{"x":0,"y":200},"data":{"channel_id":"VOICE","timeout_seconds":3600,"prompt":"Help {{contact.name}} book a visit.","greeting":"Hi {{contact.name}}, thanks for calling the clinic.","variable":"call","outcomes":["interested","not_interested"]}},
 {"id":"done","type":"end","position":{"x":0,"y":300},"data":{"text":"Thanks for calling! {{vars.call.summary}} ({{vars.call.outcome}}, {{vars.call.end_reason}})"}},
 {"id":"late","type":"end","position":{"x":200,"y":300},"data":{"text":"We missed each other."}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","target":"wait"},
 {"id":"e3","source":"wait","sourceHandle":"answered","target":"done"},
 {"id":"e4","source":"wait","sourceHandle":"timeout","target":"late"}
]}`

// TestWaitInboundCallEndToEnd: a session waits at wait_inbound_call; a
// stranger's call is refused and changes nothing; the contact's call (a
// simulated caller) is answered by the AI agent with the node's greeting,
// two turns are talked, the call is classified and the session goes on
// through answered with the result in its variable; a second call finds
// nobody waiting.
func TestWaitInboundCallEndToEnd(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000071"})
	r.whatsAppChannel("1000071")
	voiceCh := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Clinic line", "config": map[string]any{"number": "+14155550170"}}, http.StatusCreated)
	addCallModel(t, r, "Which day suits you?", "Friday it is. Goodbye!", "Booked for Friday.")
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call back", "is_active": true,
		"flow_data": json.RawMessage(strings.Replace(inboundFlow, "VOICE", voiceCh["id"].(string), 1))}, http.StatusCreated)

	if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551230070", Name: "Ann", Text: "callback", ID: "wamid.CB1"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the flow asks for a call", func() bool { return len(r.fake.Messages()) == 1 })
	ctx := context.Background()
	sp := r.App.VoiceSim()
	r.eventually("the session awaits the call", func() bool {
		cs, err := r.App.Store().CallList(ctx, store.CallListParams{ProjectID: r.ProjectID})
		return err == nil && len(cs) == 1 && cs[0].Status == store.CallAwaiting && cs[0].From == "+15551230070"
	})

	stranger, err := sp.Call(ctx, "+15559990000", "+14155550170", sim.Script{Lines: []string{"Hello?"}})
	if err == nil || !strings.Contains(err.Error(), "no session awaits a call from +15559990000") {
		t.Fatalf("a stranger's call: %v, want refused", err)
	}
	if h := stranger.Heard(); len(h) != 1 || !strings.Contains(h[0], "nobody is expecting your call") {
		t.Fatalf("the stranger heard %q", h)
	}

	leg, err := sp.Call(ctx, "+15551230070", "+14155550170", sim.Script{Lines: []string{"Hi, I'd like to book.", "Friday please."}})
	if err != nil {
		t.Fatal(err)
	}
	r.eventually("the flow's answer after the call", func() bool { return len(r.fake.Messages()) == 2 })
	if body := string(r.fake.Messages()[1].Body); !strings.Contains(body, "Thanks for calling! Booked for Friday. (interested, agent_hangup)") {
		t.Fatalf("sent %s", body)
	}
	heard := leg.Heard()
	if len(heard) != 3 || heard[0] != "Hi Ann, thanks for calling the clinic." || heard[2] != "Friday it is. Goodbye!" {
		t.Fatalf("the caller heard %q", heard)
	}
	if _, err := sp.Call(ctx, "+15551230070", "+14155550170", sim.Script{Lines: []string{"Me again."}}); err == nil {
		t.Fatal("a second call was taken though no session waits any more")
	}
}

// inboundTriggerFlow starts on a call nobody awaits; its first step
// answers it.
const inboundTriggerFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"inbound_call"}}},
 {"id":"answer","type":"wait_inbound_call","position":{"x":0,"y":100},"data":{"channel_id":"VOICE","timeout_seconds":60,"prompt":"Take a message.","greeting":"Hello, you reached the clinic.","variable":"call"}},
 {"id":"done","type":"end","position":{"x":0,"y":200},"data":{}},
 {"id":"late","type":"end","position":{"x":200,"y":200},"data":{}}
],"edges":[
 {"id":"e1","source":"start","target":"answer"},
 {"id":"e2","source":"answer","sourceHandle":"answered","target":"done"},
 {"id":"e3","source":"answer","sourceHandle":"timeout","target":"late"}
]}`

// TestInboundCallTrigger: a call from an unknown number starts the flow
// whose Start has the inbound_call trigger; its wait_inbound_call answers
// with its greeting, the call is recorded for the new contact (found by
// the caller's number) and the session ends through answered.
func TestInboundCallTrigger(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000072"})
	voiceCh := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Front desk", "config": map[string]any{"number": "+14155550172"}}, http.StatusCreated)
	llm := aitest.New("m")
	t.Cleanup(llm.Close)
	llm.Fallback(func(req aitest.Request) aitest.Reply {
		if strings.Contains(string(req.ResponseFormat), "call_outcome") {
			return aitest.Reply{Content: `{"outcome":"callback","summary":"Wants a call back."}`}
		}
		return aitest.Reply{Content: `{"say":"I will pass it on. Goodbye!","action":"end_call","reason":"done"}`}
	})
	r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"}, http.StatusCreated)
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Front desk", "is_active": true,
		"flow_data": json.RawMessage(strings.Replace(inboundTriggerFlow, "VOICE", voiceCh["id"].(string), 1))}, http.StatusCreated)

	ctx := context.Background()
	leg, err := r.App.VoiceSim().Call(ctx, "+15557770001", "+14155550172", sim.Script{Lines: []string{"Please call me back tomorrow."}})
	if err != nil {
		t.Fatal(err)
	}
	var calls []store.Call
	r.eventually("the call's end is recorded", func() bool {
		calls, err = r.App.Store().CallList(ctx, store.CallListParams{ProjectID: r.ProjectID})
		return err == nil && len(calls) == 1 && calls[0].EndedAt != nil
	})
	if h := leg.Heard(); len(h) != 2 || h[0] != "Hello, you reached the clinic." {
		t.Fatalf("the caller heard %q", h)
	}
	c := calls[0]
	var res voice.Result
	if err := json.Unmarshal(c.Result, &res); err != nil || res.Outcome != "callback" || res.Direction != voice.Inbound || c.From != "+15557770001" {
		t.Fatalf("call %+v, result %s", c, c.Result)
	}
	r.eventually("the session ends through answered", func() bool {
		s := r.must("GET", "/sessions/"+c.SessionID+"/", nil, http.StatusOK)
		return s["status"] == "completed" && s["node_id"] == "done"
	})
	contact := r.must("GET", "/contacts/"+c.ContactID+"/", nil, http.StatusOK)
	if contact["phone"] != "+15557770001" {
		t.Fatalf("contact %v", contact)
	}
}
