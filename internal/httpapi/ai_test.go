package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/waflow"
)

// aiValidFlow is a generator answer that lints (as in internal/ai's tests).
const aiValidFlow = `{"name":"Opt-in","nodes":[
 {"id":"start","type":"start","data":{"trigger":{"type":"keyword","keywords":["news"],"match":"exact"}}},
 {"id":"ask","type":"message","data":{"text":"Newsletter?","buttons":["Yes","No"],"timeout_seconds":3600}},
 {"id":"end","type":"end","data":{}}],
 "edges":[{"id":"e1","source":"start","source_handle":"next","target":"ask"},
 {"id":"e2","source":"ask","source_handle":"Yes","target":"end"},
 {"id":"e3","source":"ask","source_handle":"No","target":"end"},
 {"id":"e4","source":"ask","source_handle":"other","target":"end"},
 {"id":"e5","source":"ask","source_handle":"timeout","target":"end"}],
 "tests":[{"name":"yes","messages":["news","Yes"],"expect":"completed"}]}`

func aiHarness(t *testing.T) *harness {
	box, _ := secret.NewBox([]byte(strings.Repeat("k", secret.KeySize)))
	return newHarnessWith(t, func(d *httpapi.Deps) {
		if d.WhatsAppFlows == nil {
			d.WhatsAppFlows = waflow.New(waflow.Deps{Store: d.Store, Channels: d.Channels, Clock: d.Clock, IDs: d.IDs})
		}
		d.AI = ai.New(ai.Deps{Store: d.Store, Box: box, Clock: d.Clock, IDs: d.IDs, Flows: d.Flows, Forms: d.WhatsAppFlows})
	})
}

type aiEvent struct {
	name string
	data map[string]any
}

func readAISSE(t *testing.T, body []byte) []aiEvent {
	t.Helper()
	var out []aiEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	var ev aiEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
				t.Fatalf("bad SSE data %q: %v", line, err)
			}
		case line == "":
			out = append(out, ev)
			ev = aiEvent{}
		}
	}
	return out
}

func TestAIProvidersAPI(t *testing.T) {
	t.Parallel()
	h := aiHarness(t)
	owner := h.tenant("AI Owner")
	c := h.bearer(owner.token)
	other := h.bearer(h.tenant("AI Other").token)
	fake := aitest.New("qwen2.5:7b")
	defer fake.Close()

	// Without a provider every AI entry point says so and how to add one.
	p := c.do("POST", "/ai/flows/generate", map[string]any{"description": "opt-in"}).problem(409)
	if d := p["detail"].(string); !strings.Contains(d, "no AI provider configured") || !strings.Contains(d, "POST /ai/providers/") {
		t.Fatalf("detail = %q", d)
	}
	c.do("POST", "/ai/providers/", map[string]any{"name": "x", "base_url": "nope", "model": "m"}).problem(422)
	c.do("POST", "/ai/providers/", `{"name":`).problem(400)

	created := c.do("POST", "/ai/providers/", map[string]any{"name": "local", "base_url": fake.BaseURL(), "model": "qwen2.5:7b", "api_key": "sk-secret-value"}).want(201)
	if strings.Contains(string(created.body), "sk-secret") || created.json()["has_api_key"] != true || created.json()["json_mode"] != "json_schema" {
		t.Fatalf("created = %s", created.body)
	}
	id := created.json()["id"].(string)
	c.do("POST", "/ai/providers/", map[string]any{"name": "local", "base_url": fake.BaseURL(), "model": "m"}).problem(409)
	other.do("GET", "/ai/providers/"+id+"/", nil).problem(404)
	if l := c.do("GET", "/ai/providers/", nil).want(200); strings.Contains(string(l.body), "sk-secret") || !strings.Contains(string(l.body), id) {
		t.Fatalf("list = %s", l.body)
	}
	up := c.do("PUT", "/ai/providers/"+id+"/", map[string]any{"name": "local", "base_url": fake.BaseURL(), "model": "qwen2.5:7b", "json_mode": "json_object"}).want(200).json()
	if up["json_mode"] != "json_object" || up["has_api_key"] != true {
		t.Fatalf("updated = %v", up)
	}

	fake.Script(aitest.Reply{Content: `{"ok":true}`}, aitest.Reply{Content: "hello"})
	chk := c.do("GET", "/ai/providers/"+id+"/check", nil).want(200).json()
	for _, k := range []string{"reachable", "model_exists", "json_mode", "streaming"} {
		if chk[k].(map[string]any)["ok"] != true {
			t.Errorf("check %s = %v", k, chk[k])
		}
	}
	if got := fake.Requests()[0].Authorization; got != "Bearer sk-secret-value" {
		t.Errorf("key sent = %q", got)
	}

	// Generation streams progress and the draft; nothing is saved.
	c.do("POST", "/ai/flows/generate", map[string]any{}).problem(422)
	fake.Script(aitest.Reply{Content: strings.Replace(aiValidFlow, `"target":"ask"`, `"target":"gone"`, 1)}, aitest.Reply{Content: aiValidFlow})
	res := c.do("POST", "/ai/flows/generate", map[string]any{"description": "newsletter opt-in", "language": "en",
		"trigger": map[string]any{"type": "keyword", "keywords": []string{"join"}, "match": "exact"}}).want(200)
	if ct := res.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	evs := readAISSE(t, res.body)
	var stages []string
	for _, e := range evs[:len(evs)-1] {
		if e.name != "progress" {
			t.Fatalf("event %v", e)
		}
		if s := e.data["stage"].(string); len(stages) == 0 || stages[len(stages)-1] != s {
			stages = append(stages, s)
		}
	}
	if got := strings.Join(stages, ","); got != "planning,drafting,validating,repairing,validating,test-running,done" {
		t.Errorf("stages = %s", got)
	}
	last := evs[len(evs)-1]
	if last.name != "draft" || last.data["status"] != "ready" || last.data["lints"] != true || last.data["rounds"].(float64) != 1 {
		t.Fatalf("draft = %v", last)
	}
	if !strings.Contains(string(must(json.Marshal(last.data["flow_data"]))), `"join"`) {
		t.Errorf("the caller's trigger is not in the draft: %v", last.data["flow_data"])
	}
	tests := last.data["tests"].([]any)
	if len(tests) != 1 || tests[0].(map[string]any)["passed"] != true {
		t.Errorf("tests = %v", tests)
	}
	// The draft is accepted as is by the ordinary create.
	fd := last.data["flow_data"]
	c.do("POST", "/chat-flow/flows/", map[string]any{"name": "from AI", "flow_data": fd}).want(201)

	// A provider failure mid-stream is an error event saying what the provider said.
	fake.Script(aitest.Reply{Status: http.StatusTooManyRequests, Content: "Rate limit reached for requests"})
	evs = readAISSE(t, c.do("POST", "/ai/flows/generate", map[string]any{"description": "x"}).want(200).body)
	last = evs[len(evs)-1]
	if last.name != "error" || last.data["status"].(float64) != 429 || !strings.Contains(last.data["detail"].(string), "Rate limit reached") {
		t.Fatalf("error event = %v", last)
	}
	l, err := h.store.FlowList(context.Background(), store.FlowListParams{ProjectID: owner.project.ID})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("flows = %v %d (only the one created explicitly)", err, len(l.Items))
	}

	c.do("DELETE", "/ai/providers/"+id+"/", nil).want(204)
	c.do("GET", "/ai/providers/"+id+"/check", nil).problem(404)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestAIGenerateStreamsLive checks progress reaches the client while the
// model is still answering, not all at once at the end.
func TestAIGenerateStreamsLive(t *testing.T) {
	t.Parallel()
	h := aiHarness(t)
	owner := h.tenant("AI Live")
	fake := aitest.New("m")
	defer fake.Close()
	h.bearer(owner.token).do("POST", "/ai/providers/", map[string]any{"name": "f", "base_url": fake.BaseURL(), "model": "m"}).want(201)
	fake.Script(aitest.Reply{Content: aiValidFlow, Delay: time.Minute})
	req, _ := http.NewRequest("POST", h.srv.URL+"/ai/flows/generate", strings.NewReader(`{"description":"opt-in"}`))
	req.Header.Set("Authorization", "Bearer "+owner.token)
	req.Header.Set("Content-Type", "application/json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := h.srv.Client().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "event: progress\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	// Leaving (the user closed the page) cancels the model call.
	cancel()
}
