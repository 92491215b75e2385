package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/waform"
)

// aiBaseFlow is the draft the edit tests change.
const aiBaseFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["news"],"match":"exact"}}},
 {"id":"ask","type":"message","position":{"x":0,"y":200},"data":{"text":"Newsletter?","buttons":["Yes","No"],"timeout_seconds":3600}},
 {"id":"end","type":"end","position":{"x":0,"y":400},"data":{}}],
 "edges":[{"id":"e1","source":"start","sourceHandle":"next","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Yes","target":"end"},
 {"id":"e3","source":"ask","sourceHandle":"No","target":"end"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"end"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"end"}]}`

const aiEditScript = `{"summary":"thank subscribers","operations":[
 {"op":"add_node","node":{"id":"thanks","type":"message","data":{"text":"Thanks!"}}},
 {"op":"remove_edge","id":"e2"},
 {"op":"add_edge","edge":{"id":"e6","source":"ask","source_handle":"Yes","target":"thanks"}},
 {"op":"add_edge","edge":{"id":"e7","source":"thanks","source_handle":"next","target":"end"}}]}`

func lastEvent(t *testing.T, body []byte) (aiEvent, []string) {
	t.Helper()
	evs := readAISSE(t, body)
	var stages []string
	for _, e := range evs[:len(evs)-1] {
		if e.name != "progress" {
			t.Fatalf("event %v before the last", e)
		}
		if s := e.data["stage"].(string); len(stages) == 0 || stages[len(stages)-1] != s {
			stages = append(stages, s)
		}
	}
	return evs[len(evs)-1], stages
}

func TestAIEditAndWhatsAppFlowsAPI(t *testing.T) {
	t.Parallel()
	h := aiHarness(t)
	owner := h.tenant("AI Edit")
	c := h.bearer(owner.token)
	fake := aitest.New("m")
	defer fake.Close()

	fl := c.do("POST", "/chat-flow/flows/", map[string]any{"name": "News", "flow_data": json.RawMessage(aiBaseFlow)}).want(201).json()
	flowID, version := fl["id"].(string), fl["version"].(float64)
	tpl, _ := waform.TemplateByID("lead_capture")
	wf := c.do("POST", "/whatsapp-flows/", map[string]any{"name": "Leads", "categories": []string{"LEAD_GENERATION"}, "flow_json": string(tpl.JSON)}).want(201).json()
	wfID := wf["id"].(string)

	// Without a provider: every model-calling entry point says how to add
	// one; the check, which calls no model, works.
	for _, r := range []struct {
		path string
		body map[string]any
	}{
		{"/ai/flows/" + flowID + "/edit", map[string]any{"instruction": "x"}},
		{"/ai/whatsapp-flows/generate", map[string]any{"description": "x"}},
		{"/ai/whatsapp-flows/" + wfID + "/update", map[string]any{"instruction": "x"}},
	} {
		p := c.do("POST", r.path, r.body).problem(409)
		if d := p["detail"].(string); !strings.Contains(d, "no AI provider configured") || !strings.Contains(d, "11434") {
			t.Errorf("%s: %q", r.path, d)
		}
	}
	if chk := c.do("POST", "/ai/whatsapp-flows/"+wfID+"/check", nil).want(200).json(); chk["valid"] != true || chk["summary"] == "" {
		t.Fatalf("check = %v", chk)
	}
	c.do("POST", "/ai/providers/", map[string]any{"name": "f", "base_url": fake.BaseURL(), "model": "m"}).want(201)

	// Edit: bad input and unknown flows are plain problems.
	c.do("POST", "/ai/flows/"+flowID+"/edit", map[string]any{"instruction": " "}).problem(422)
	c.do("POST", "/ai/flows/nope/edit", map[string]any{"instruction": "x"}).problem(404)

	fake.Script(aitest.Reply{Content: `{"summary":"x","operations":[{"op":"add_node","node":{"id":"s","type":"send_sms","data":{}}}]}`}, aitest.Reply{Content: aiEditScript})
	ev, stages := lastEvent(t, c.do("POST", "/ai/flows/"+flowID+"/edit", map[string]any{"instruction": "thank subscribers"}).want(200).body)
	if got := strings.Join(stages, ","); got != "planning,drafting,validating,repairing,validating,done" {
		t.Errorf("stages = %s", got)
	}
	if ev.name != "proposal" || ev.data["status"] != "ready" || ev.data["base_version"].(float64) != version || ev.data["rounds"].(float64) != 1 {
		t.Fatalf("proposal = %v", ev)
	}
	diff := ev.data["diff"].(map[string]any)
	if len(diff["nodes_added"].([]any)) != 1 || len(diff["edges_added"].([]any)) != 2 || len(diff["edges_removed"].([]any)) != 1 || len(diff["nodes_changed"].([]any)) != 0 {
		t.Fatalf("diff = %v", diff)
	}
	if e := diff["edges_added"].([]any)[0].(map[string]any); e["sourceHandle"] != "Yes" {
		t.Errorf("edge shape = %v", e)
	}
	// Nothing was saved; applying is the ordinary save with base_version,
	// and a second apply of the same proposal is refused (the draft moved).
	if now := c.do("GET", "/chat-flow/flows/"+flowID+"/", nil).want(200).json(); now["version"].(float64) != version {
		t.Fatalf("the edit saved: %v", now["version"])
	}
	apply := map[string]any{"version": ev.data["base_version"], "flow_data": ev.data["flow_data"]}
	saved := c.do("PUT", "/chat-flow/flows/"+flowID+"/", apply).want(200).json()
	if saved["version"].(float64) != version+1 || !strings.Contains(string(must(json.Marshal(saved["flow_data"]))), `"thanks"`) {
		t.Fatalf("applied = %v", saved)
	}
	if p := c.do("PUT", "/chat-flow/flows/"+flowID+"/", apply).problem(409); p["code"] != "conflict" {
		t.Fatalf("stale apply = %v", p)
	}

	// WhatsApp Flows: a valid answer is saved as a local draft.
	answer := string(must(json.Marshal(map[string]any{"name": "Lead form", "categories": []string{"LEAD_GENERATION"}, "flow": json.RawMessage(tpl.JSON)})))
	c.do("POST", "/ai/whatsapp-flows/generate", map[string]any{"description": ""}).problem(422)
	fake.Script(aitest.Reply{Content: answer})
	ev, stages = lastEvent(t, c.do("POST", "/ai/whatsapp-flows/generate", map[string]any{"description": "capture leads"}).want(200).body)
	if got := strings.Join(stages, ","); got != "planning,drafting,validating,saving,done" {
		t.Errorf("stages = %s", got)
	}
	saved = ev.data["flow"].(map[string]any)
	if ev.name != "whatsapp_flow" || ev.data["status"] != "ready" || saved["status"] != "DRAFT" || saved["meta_flow_id"] != "" || saved["name"] != "Lead form" {
		t.Fatalf("generated = %v", ev)
	}
	newID := saved["id"].(string)
	c.do("GET", "/whatsapp-flows/"+newID+"/", nil).want(200)
	// Invalid four times: the best attempt with its problems, not saved.
	bad := strings.Replace(answer, `Full name`, `Your full name as in your passport`, 1)
	fake.Script(aitest.Reply{Content: bad}, aitest.Reply{Content: bad}, aitest.Reply{Content: bad}, aitest.Reply{Content: bad})
	ev, _ = lastEvent(t, c.do("POST", "/ai/whatsapp-flows/generate", map[string]any{"description": "capture leads", "name": "Other"}).want(200).body)
	if ev.data["status"] != "has_problems" || ev.data["flow"] != nil || len(ev.data["problems"].([]any)) == 0 || ev.data["flow_json"] == "" {
		t.Fatalf("invalid = %v", ev)
	}
	if l := c.do("GET", "/whatsapp-flows/", nil).want(200).json()["results"].([]any); len(l) != 2 {
		t.Fatalf("%d WhatsApp Flows, want 2", len(l))
	}
	// A provider failure is an error event; nothing saved.
	fake.Script(aitest.Reply{Status: 500, Content: "model crashed"})
	ev, _ = lastEvent(t, c.do("POST", "/ai/whatsapp-flows/generate", map[string]any{"description": "x"}).want(200).body)
	if ev.name != "error" || ev.data["status"].(float64) != 503 || !strings.Contains(ev.data["detail"].(string), "model crashed") {
		t.Fatalf("error = %v", ev)
	}

	// Update keeps the flow's ID; the check reads the result.
	changed := strings.Replace(answer, `Get in touch`, `Talk to us`, 1)
	fake.Script(aitest.Reply{Content: changed})
	c.do("POST", "/ai/whatsapp-flows/"+newID+"/update", map[string]any{}).problem(422)
	ev, _ = lastEvent(t, c.do("POST", "/ai/whatsapp-flows/"+newID+"/update", map[string]any{"instruction": "title: Talk to us"}).want(200).body)
	up := ev.data["flow"].(map[string]any)
	if ev.data["status"] != "ready" || up["id"] != newID || !strings.Contains(up["flow_json"].(string), "Talk to us") || up["version"].(float64) <= ev.data["base_version"].(float64) {
		t.Fatalf("updated = %v", ev)
	}
	c.do("POST", "/ai/whatsapp-flows/nope/check", nil).problem(404)
	if chk := c.do("POST", "/ai/whatsapp-flows/"+newID+"/check", nil).want(200).json(); chk["valid"] != true || len(chk["problems"].([]any)) != 0 {
		t.Fatalf("check = %v", chk)
	}
}
