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
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// transferFlow: "call" on WhatsApp → the AI calls; when the customer asks
// for a person it holds the call for the flow, whose voice_transfer sends
// it to the agent named on the contact, warm; if nobody takes it a second
// voice_transfer tries the front desk's number.
const transferFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["call"]}}},
 {"id":"call","type":"voice_call","position":{"x":0,"y":100},"data":{"channel_id":"VOICE","prompt":"Help {{contact.name}}.","greeting":"Hi {{contact.name}}.","hold_for_transfer":true,"variable":"call"}},
 {"id":"agent","type":"voice_transfer","position":{"x":0,"y":200},"data":{"to":"AGENT","mode":"warm","message":"{{contact.name}}: {{vars.call.transfer.reason}}","variable":"xfer"}},
 {"id":"desk","type":"voice_transfer","position":{"x":200,"y":300},"data":{"to":"+14155550999","variable":"xfer2"}},
 {"id":"moved","type":"end","position":{"x":0,"y":300},"data":{"text":"You were put through to {{vars.xfer.to}}."}},
 {"id":"desked","type":"end","position":{"x":200,"y":400},"data":{"text":"{{vars.xfer.to}} was {{vars.xfer.dial_status}}; the desk has you."}},
 {"id":"over","type":"end","position":{"x":400,"y":200},"data":{"text":"Call over: {{vars.call.status}}"}},
 {"id":"lost","type":"end","position":{"x":400,"y":400},"data":{"text":"Transfer failed: {{vars.xfer2.error}}"}}
],"edges":[
 {"id":"e1","source":"start","target":"call"},
 {"id":"e2","source":"call","sourceHandle":"transferred","target":"agent"},
 {"id":"e3","source":"call","sourceHandle":"completed","target":"over"},
 {"id":"e4","source":"agent","sourceHandle":"completed","target":"moved"},
 {"id":"e5","source":"agent","sourceHandle":"failed","target":"desk"},
 {"id":"e6","source":"desk","sourceHandle":"completed","target":"desked"},
 {"id":"e7","source":"desk","sourceHandle":"failed","target":"lost"}
]}`

// TestVoiceTransferEndToEnd: a flow's voice_call holds the call its AI
// chose to transfer, and the flow's voice_transfer steps hand it on,
// through the runner, the calls service and the simulated provider.
func TestVoiceTransferEndToEnd(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, agent string
		busy        bool
		reply       string
	}{
		{"warm to an agent", "agent:alice", false, "You were put through to agent:alice."},
		{"agent busy, the desk takes it", "agent:bob", true, "agent:bob was busy; the desk has you."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000001"})
			r.whatsAppChannel("1000001")
			vn := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Help line", "config": map[string]any{"number": "+14155550100"}}, http.StatusCreated)
			llm := aitest.New("m")
			t.Cleanup(llm.Close)
			llm.Fallback(func(req aitest.Request) aitest.Reply {
				last := req.Messages[len(req.Messages)-1].Content
				switch {
				case strings.Contains(string(req.ResponseFormat), "call_outcome"):
					return aitest.Reply{Content: `{"outcome":"callback","summary":"Wants a person."}`}
				case strings.Contains(last, "person"):
					return aitest.Reply{Content: `{"say":"Sure.","action":"transfer_call","reason":"billing question"}`}
				}
				return aitest.Reply{Content: `{"say":"How can I help?","action":"continue","reason":""}`}
			})
			r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"}, http.StatusCreated)
			vs := r.App.VoiceSim()
			vs.Expect("+15551234567", sim.Script{Scenario: sim.Answer, Lines: []string{"Hello?", "I need a person."}})
			if tc.busy {
				vs.ExpectTransfer(tc.agent, voice.StatusBusy)
			}
			flow := strings.NewReplacer("VOICE", vn["id"].(string), "AGENT", tc.agent).Replace(transferFlow)
			r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true, "flow_data": json.RawMessage(flow)}, http.StatusCreated)

			if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "call", ID: "wamid.CALL1"}); err != nil {
				t.Fatal(err)
			}
			r.eventually("the flow's answer after the transfer", func() bool { return len(r.fake.Messages()) == 1 })
			if body := string(r.fake.Messages()[0].Body); !strings.Contains(body, tc.reply) {
				t.Fatalf("sent %s, want %q", body, tc.reply)
			}
			legs := vs.Legs()
			if len(legs) != 1 {
				t.Fatalf("%d calls placed, want one", len(legs))
			}
			got := legs[0].Transferred()
			switch {
			case !tc.busy && (got == nil || got.To != "alice" || got.Mode != voice.TransferWarm):
				t.Fatalf("the call went to %+v, want alice, warm", got)
			case tc.busy && (got == nil || got.To != "+14155550999" || got.Mode != voice.TransferBlind):
				t.Fatalf("the call went to %+v, want the desk, blind", got)
			}
			if !tc.busy {
				if b := vs.Briefed("agent:alice"); len(b) != 1 || b[0] != "Ann: billing question" {
					t.Fatalf("alice heard %q first", b)
				}
			}
			contact := r.contactByPhone("15551234567")
			cs, err := r.App.Store().CallList(context.Background(), store.CallListParams{ProjectID: r.ProjectID, ContactID: contact})
			want := 2
			if tc.busy {
				want = 3
			}
			if err != nil || len(cs) != want {
				t.Fatalf("calls %+v %v, want the call and %d transfer request(s)", cs, err, want-1)
			}
			transfers := 0
			for _, m := range r.conversation(contact) {
				if m["type"] == "call" {
					transfers++
				}
			}
			if transfers != want {
				t.Errorf("the conversation shows %d call results, want %d", transfers, want)
			}
		})
	}
}

// TestVoiceTransferThroughTwilio: the held call and the flow's warm
// transfer on a Twilio number pointed at the fake Twilio: the agent is
// called into a conference with the briefing, and once they answer the
// caller's call is updated to join it. An agent whose line is busy fails
// the step with Twilio's status; the caller hears they keep holding, and
// the flow's fallback transfers them blind to the desk, whose <Dial>
// Twilio reports answered.
func TestVoiceTransferThroughTwilio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, agent string
		busy        bool
		reply       string
	}{
		{"warm to an agent", "agent:alice", false, "You were put through to agent:alice."},
		{"agent busy, the desk takes it", "agent:bob", true, "agent:bob was busy; the desk has you."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			twilioTransfer(t, tc.agent, tc.busy, tc.reply)
		})
	}
}

func twilioTransfer(t *testing.T, agentTarget string, busy bool, reply string) {
	const sid, token = "AC11111111111111111111111111111111", "0123456789abcdef0123456789abcdef"
	fake := twiliotest.New(sid, token)
	t.Cleanup(fake.Close)
	fake.Expect("+15551234567", twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hello?", "I need a person."}, StayOn: true})
	agentTo := "client:" + strings.TrimPrefix(agentTarget, "agent:")
	if busy {
		fake.Expect(agentTo, twiliotest.Script{Scenario: twiliotest.Busy})
	}
	r := startVoiceServer(t, "1000001")
	r.whatsAppChannel("1000001")
	vn := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Twilio line", "config": map[string]any{
		"number": "+14155550100", "provider": "twilio", "account_sid": sid, "auth_token": token, "api_base_url": fake.URL()}}, http.StatusCreated)
	llm := aitest.New("m")
	t.Cleanup(llm.Close)
	llm.Fallback(func(req aitest.Request) aitest.Reply {
		last := req.Messages[len(req.Messages)-1].Content
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			return aitest.Reply{Content: `{"outcome":"callback","summary":"Wants a person."}`}
		case strings.Contains(last, "person"):
			return aitest.Reply{Content: `{"say":"Sure.","action":"transfer_call","reason":"billing question"}`}
		}
		return aitest.Reply{Content: `{"say":"How can I help?","action":"continue","reason":""}`}
	})
	r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"}, http.StatusCreated)
	flow := strings.NewReplacer("VOICE", vn["id"].(string), "AGENT", agentTarget).Replace(transferFlow)
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Call me", "is_active": true, "flow_data": json.RawMessage(flow)}, http.StatusCreated)
	if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "call", ID: "wamid.CALL1"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the flow's answer after the transfer", func() bool { return len(r.fake.Messages()) == 1 })
	if body := string(r.fake.Messages()[0].Body); !strings.Contains(body, reply) {
		t.Fatalf("sent %s, want %q", body, reply)
	}
	var caller, agent *twiliotest.Call
	for _, c := range fake.Calls() {
		switch c.Params.Get("To") {
		case "+15551234567":
			caller = c
		case agentTo:
			agent = c
		}
	}
	if caller == nil || agent == nil {
		t.Fatalf("calls %v, want the caller's and one to %s", fake.Calls(), agentTo)
	}
	if tw := agent.Params.Get("Twiml"); !strings.Contains(tw, "<Say>Ann: billing question</Say>") || !strings.Contains(tw, "<Conference") || agent.Params.Get("From") != "+14155550100" {
		t.Fatalf("the agent's call %v", agent.Params)
	}
	docs := caller.TwiML()
	if busy {
		// The agent's line was busy: the caller was never moved to the
		// conference, and went to the desk.
		for _, d := range docs {
			if strings.Contains(d, "<Conference") {
				t.Fatalf("the caller's call ran %s though the agent was busy", d)
			}
		}
		// The keep-holding line (calls.ReholdLine, pinned by the calls
		// package's tests) is not checked here: the fallback's <Dial>
		// replaces the caller's TwiML at once, and like Twilio the fake
		// may drop a line still on the relay's socket when that happens.
		if d := caller.Dialled(); len(d) != 1 || d[0].To != "+14155550999" || d[0].Status == "busy" {
			t.Fatalf("the caller's <Dial>s rang %+v, want the desk, answered", d)
		}
		return
	}
	if h := caller.Heard(); len(h) == 0 || h[len(h)-1] != voice.HoldLine {
		t.Fatalf("the caller heard %q, want to be told to hold", h)
	}
	if last := docs[len(docs)-1]; !strings.Contains(last, "<Dial") || !strings.Contains(last, "<Conference") || !strings.Contains(last, "parley-") {
		t.Fatalf("the caller's call was updated with %s, want a <Dial><Conference>", last)
	}
}
