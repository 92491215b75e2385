package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// voiceCampaignFlow: a campaign calls each row; the AI may transfer to a
// person; every exit ends the session.
const voiceCampaignFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"campaign"}}},
 {"id":"call","type":"voice_call","position":{"x":0,"y":100},"data":{"channel_id":"VOICE","prompt":"Offer {{first_name}} a visit.","greeting":"Hi {{first_name}}, this is the clinic.","detect_machine":true,"transfer_to":"+15550009999","variable":"call","outcomes":["interested","callback"]}},
 {"id":"done","type":"end","position":{"x":0,"y":200},"data":{}},
 {"id":"missed","type":"end","position":{"x":200,"y":200},"data":{}},
 {"id":"failed","type":"end","position":{"x":400,"y":200},"data":{}},
 {"id":"handed","type":"end","position":{"x":600,"y":200},"data":{}}
],"edges":[
 {"id":"e1","source":"start","target":"call"},
 {"id":"e2","source":"call","sourceHandle":"completed","target":"done"},
 {"id":"e3","source":"call","sourceHandle":"no_answer","target":"missed"},
 {"id":"e4","source":"call","sourceHandle":"failed","target":"failed"},
 {"id":"e5","source":"call","sourceHandle":"transferred","target":"handed"}
]}`

// TestVoiceCampaignReport: a campaign on a paced voice number calls seven
// simulated people — two talk, one asks for a person (transferred), one is
// busy, one does not answer, one is an answering machine, one cannot be
// reached — never more than two at once; the report's voice metrics count
// each exactly, the average duration is that of the completed calls as
// stored, and the checklist asks for a voice number until one is assigned.
func TestVoiceCampaignReport(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000061"})
	c := &campaignRig{running: r}
	voiceCh := r.must("POST", "/channels/", map[string]any{"type": "voice", "name": "Campaign line",
		"config": map[string]any{"number": "+14155550160", "max_concurrent_calls": "2", "calls_per_second": "20"}}, http.StatusCreated)
	voiceID := voiceCh["id"].(string)
	llm := aitest.New("m")
	t.Cleanup(llm.Close)
	llm.Fallback(func(req aitest.Request) aitest.Reply {
		all := ""
		for _, m := range req.Messages {
			all += " " + m.Content
		}
		switch {
		case strings.Contains(string(req.ResponseFormat), "call_outcome") && strings.Contains(all, "manager"):
			return aitest.Reply{Content: `{"outcome":"callback","summary":"Wanted a person."}`}
		case strings.Contains(string(req.ResponseFormat), "call_outcome"):
			return aitest.Reply{Content: `{"outcome":"interested","summary":"Booked."}`}
		case strings.Contains(all, "manager"):
			return aitest.Reply{Content: `{"say":"Connecting you now.","action":"transfer","reason":"asked for a person"}`}
		case len(req.Messages) > 3:
			return aitest.Reply{Content: `{"say":"Booked. Goodbye!","action":"end_call","reason":"booked"}`}
		}
		return aitest.Reply{Content: `{"say":"Would Tuesday suit you?","action":"continue","reason":""}`}
	})
	r.must("POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m"}, http.StatusCreated)
	scripts := []sim.Script{
		{Scenario: sim.Answer, Lines: []string{"Hello?", "Tuesday works."}},
		{Scenario: sim.Answer, Lines: []string{"Hello?", "Yes please."}},
		{Scenario: sim.Answer, Lines: []string{"Can I talk to a manager?"}},
		{Scenario: sim.Busy},
		{Scenario: sim.NoAnswer},
		{Scenario: sim.Voicemail},
		{Scenario: sim.Failed},
	}
	var csv strings.Builder
	csv.WriteString("phone,first_name\n")
	for i, s := range scripts {
		phone := fmt.Sprintf("+35191500%04d", i)
		r.App.VoiceSim().Expect(phone, s)
		fmt.Fprintf(&csv, "%s,P%d\n", phone, i)
	}
	f := r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Calls", "is_active": true,
		"flow_data": json.RawMessage(strings.Replace(voiceCampaignFlow, "VOICE", voiceID, 1))}, http.StatusCreated)
	d := c.upload(csv.String(), nil)
	waID := r.whatsAppChannel("1000061")
	camp := c.must("POST", "/campaigns/", map[string]any{"name": "Calls", "flow_id": f["id"], "channel_ids": []string{waID},
		"dataset_ids": []string{d["id"].(string)}}, http.StatusCreated)
	id := camp["id"].(string)

	// The flow calls: a WhatsApp number alone does not do.
	check := c.must("GET", "/campaigns/"+id+"/checklist/", nil, http.StatusOK)
	if !strings.Contains(fmt.Sprint(check), "the flow sends on voice but no such channel is assigned") {
		t.Fatalf("checklist without a voice number: %v", check)
	}
	c.must("PUT", "/campaigns/"+id+"/", map[string]any{"name": "Calls", "flow_id": f["id"], "channel_ids": []string{voiceID},
		"dataset_ids": camp["dataset_ids"], "version": camp["version"]}, http.StatusOK)

	e := c.must("POST", "/campaigns/"+id+"/executions/", map[string]any{"batch_size": 10, "batch_delay_seconds": 0.1}, http.StatusCreated)
	c.waitExecution(id, e["id"].(string), "completed")
	var rep map[string]any
	c.eventually("every call ended", func() bool {
		rep = c.must("GET", "/campaigns/"+id+"/report/", nil, http.StatusOK)
		v := rep["voice"].(map[string]any)
		return v["placed"] == float64(len(scripts)) && v["in_progress"] == float64(0)
	})
	v := rep["voice"].(map[string]any)
	want := map[string]float64{"placed": 7, "in_progress": 0, "completed": 3, "transferred": 1, "failed": 4, "busy": 1, "no_answer": 1, "machine": 1,
		"errors": 1, "transfer_rate": 33.3}
	for k, n := range want {
		if v[k] != n {
			t.Errorf("voice %s = %v, want %v (report %v)", k, v[k], n, v)
		}
	}
	if got := fmt.Sprint(v["outcomes"]); got != "[map[count:2 outcome:interested] map[count:1 outcome:callback]]" {
		t.Errorf("outcomes %s", got)
	}
	// The average is over the completed calls' stored durations.
	calls, err := r.App.Store().CallList(context.Background(), store.CallListParams{ProjectID: r.ProjectID, Limit: 100})
	if err != nil || len(calls) != len(scripts) {
		t.Fatalf("stored calls %d, %v", len(calls), err)
	}
	var talk time.Duration
	for _, call := range calls {
		var res voice.Result
		if err := json.Unmarshal(call.Result, &res); err != nil {
			t.Fatal(err)
		}
		if x := res.Exit(); x == "completed" || x == "transferred" {
			talk += res.Duration
		}
	}
	if avg := float64(int64(talk.Seconds()/3*10+0.5)) / 10; v["avg_duration_seconds"] != avg {
		t.Errorf("avg_duration_seconds %v, want %v", v["avg_duration_seconds"], avg)
	}
	if peak := r.App.VoiceSim().Peak("+14155550160"); peak > 2 || peak < 1 {
		t.Errorf("%d calls were under way at once on a number that allows 2", peak)
	}
	// Each session goes on once its call's result is processed.
	c.eventually("every session ended", func() bool {
		rep = c.must("GET", "/campaigns/"+id+"/report/", nil, http.StatusOK)
		return rep["outcomes"].(map[string]any)["completed"] == float64(len(scripts))
	})
	if got := fmt.Sprint(rep["outcomes"].(map[string]any)["ends"]); got != "[map[count:3 node_id:missed] map[count:2 node_id:done] map[count:1 node_id:failed] map[count:1 node_id:handed]]" {
		t.Errorf("sessions ended on %s", got)
	}
}
