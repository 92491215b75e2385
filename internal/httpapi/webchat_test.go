package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// webchatGraph answers any web chat message with buttons and a list.
const webchatGraph = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"inbound","channel_types":["webchat"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Hello! Pick one","buttons":["Book","Track"]}},
 {"id":"pick","type":"message","position":{"x":0,"y":200},"data":{"text":"Which size?","list":{"button":"Sizes","sections":[{"title":"All","rows":[{"id":"s","title":"Small"},{"id":"l","title":"Large"}]}]}}},
 {"id":"done","type":"end","position":{"x":0,"y":300},"data":{"text":"Done: {{ last_input }}"}},
 {"id":"track","type":"end","position":{"x":200,"y":200},"data":{"text":"Tracking"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"pick"},
 {"id":"e3","source":"ask","sourceHandle":"Track","target":"track"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"track"},
 {"id":"e5","source":"pick","sourceHandle":"s","target":"done"},
 {"id":"e6","source":"pick","sourceHandle":"l","target":"done"},
 {"id":"e7","source":"pick","sourceHandle":"other","target":"done"}
]}`

// wcCall is one call to a web chat endpoint as a browser on origin makes it.
func (h *harness) wcCall(method, path, origin, token, body string) (*http.Response, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data map[string]any
}

// stream reads the visitor's stream until want says it has what it waits
// for, or fails after a while.
func (h *harness) stream(channelID, token, after string, want func([]sseEvent) bool) []sseEvent {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	url := h.srv.URL + "/webchat/" + channelID + "/stream"
	if after != "" {
		url += "?after=" + after
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		h.t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var evs []sseEvent
	sc := bufio.NewScanner(res.Body)
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data)
		case line == "":
			evs = append(evs, cur)
			cur = sseEvent{}
			if want(evs) {
				return evs
			}
		}
	}
	h.t.Fatalf("the stream ended (%v) before it had what was expected: %v", ctx.Err(), evs)
	return nil
}

func outTexts(evs []sseEvent) []string {
	var out []string
	for _, e := range evs {
		if e.name == "message" && e.data["direction"] == "out" {
			out = append(out, fmt.Sprint(e.data["text"]))
		}
	}
	return out
}

func hasOut(n int) func([]sseEvent) bool {
	return func(evs []sseEvent) bool { return len(outTexts(evs)) >= n }
}

// TestWebchatConversation holds a conversation through the widget's
// endpoints with a published flow: text, a button, a list row, and the
// history again on reconnect; CORS, tokens, validation and the per-visitor
// allowance are enforced.
func TestWebchatConversation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.runner.Stop(); cancel() })
	a := h.tenant("Alpha")
	c := h.bearer(a.token)
	ch := c.do("POST", "/channels/", map[string]any{"type": "webchat", "name": "Site",
		"config": map[string]any{"allowed_origins": "https://shop.example.com", "messages_per_minute": 20}}).want(http.StatusCreated).json()
	id := ch["id"].(string)
	c.do("POST", "/chat-flow/flows/", map[string]any{"name": "Web", "is_active": true, "flow_data": json.RawMessage(webchatGraph)}).want(http.StatusCreated)
	shop := "https://shop.example.com"

	// The widget script and the test page.
	res, _ := h.wcCall("GET", "/webchat/widget.js", "", "", "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("widget.js: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res, _ = h.wcCall("GET", "/webchat/"+id+"/test", "", "", "")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("test page: %d %v", res.StatusCode, res.Header)
	}

	// CORS: the allowed origin, and nobody else.
	res, _ = h.wcCall("OPTIONS", "/webchat/"+id+"/messages", shop, "", "")
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != shop || !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
	for _, path := range []string{"/visitors", "/messages"} {
		res, p := h.wcCall("POST", "/webchat/"+id+path, "https://evil.example.com", "", `{}`)
		if res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(fmt.Sprint(p["detail"]), "allowed origins") {
			t.Fatalf("%s from another origin: %d %v", path, res.StatusCode, p)
		}
	}
	res, v := h.wcCall("POST", "/webchat/"+id+"/visitors", shop, "", "")
	if res.StatusCode != 201 || res.Header.Get("Access-Control-Allow-Origin") != shop {
		t.Fatalf("new visitor: %d %v", res.StatusCode, v)
	}
	token := v["token"].(string)

	// Wrong channels and tokens.
	if res, _ := h.wcCall("POST", "/webchat/nope/visitors", "", "", ""); res.StatusCode != 404 {
		t.Fatalf("unknown channel: %d", res.StatusCode)
	}
	for _, tok := range []string{"", "wcv_forged", v["visitor"].(string)} {
		if res, _ := h.wcCall("POST", "/webchat/"+id+"/messages", shop, tok, `{"id":"abcdefgh","text":"hi"}`); res.StatusCode != 401 {
			t.Fatalf("token %q: %d", tok, res.StatusCode)
		}
	}
	// Bad bodies: what and where.
	for _, tc := range []struct {
		body    string
		status  int
		pointer string
	}{
		{`{"id":"abcdefgh","text":`, 400, ""},
		{`{"id":"abcdefgh","text":"hi","extra":1}`, 400, ""},
		{`{"id":"short","text":"hi"}`, 422, "/id"},
		{`{"id":"abcdefgh"}`, 422, ""},
		{`{"id":"abcdefgh","text":"hi","button":"Book"}`, 422, ""},
		{`{"id":"abcdefgh","text":"   "}`, 422, "/text"},
		{`{"id":"abcdefgh","text":"` + strings.Repeat("x", 4097) + `"}`, 422, "/text"},
		{`{"id":"abcdefgh","text":"` + strings.Repeat("x", 20000) + `"}`, 413, ""},
		{"{\"id\":\"abcdefgh\",\"text\":\"\xff\"}", 400, ""},
	} {
		res, p := h.wcCall("POST", "/webchat/"+id+"/messages", shop, token, tc.body)
		if res.StatusCode != tc.status || tc.pointer != "" && !strings.Contains(fmt.Sprint(p["errors"]), tc.pointer) {
			t.Fatalf("body %.60q: %d %v", tc.body, res.StatusCode, p)
		}
	}

	// The conversation: a first message starts the flow, which offers buttons.
	send := func(body string) {
		t.Helper()
		if res, p := h.wcCall("POST", "/webchat/"+id+"/messages", shop, token, body); res.StatusCode != 202 {
			t.Fatalf("send %s: %d %v", body, res.StatusCode, p)
		}
	}
	send(`{"id":"msg-0001","text":"hello"}`)
	send(`{"id":"msg-0001","text":"hello"}`) // a retry of the same message is one message
	evs := h.stream(id, token, "", hasOut(1))
	if evs[0].name != "ready" {
		t.Fatalf("first event %v", evs[0])
	}
	var ins, outs []map[string]any
	for _, e := range evs {
		if e.name == "message" && e.data["direction"] == "in" {
			ins = append(ins, e.data)
		} else if e.name == "message" {
			outs = append(outs, e.data)
		}
	}
	if len(ins) != 1 || ins[0]["client_id"] != "msg-0001" || ins[0]["text"] != "hello" {
		t.Fatalf("visitor's messages = %v", ins)
	}
	if outs[0]["text"] != "Hello! Pick one" || fmt.Sprint(outs[0]["buttons"]) != "[Book Track]" {
		t.Fatalf("bot's message = %v", outs[0])
	}
	last := outs[0]["id"].(string)
	send(`{"id":"msg-0002","button":"Book"}`)
	evs = h.stream(id, token, last, hasOut(1))
	list := evs[len(evs)-1].data
	if list["text"] != "Which size?" || !strings.Contains(fmt.Sprint(list["list"]), "Large") {
		t.Fatalf("after Book: %v", evs)
	}
	send(`{"id":"msg-0003","list_reply":{"id":"l","title":"Large"}}`)
	evs = h.stream(id, token, list["id"].(string), hasOut(1))
	if got := outTexts(evs); len(got) != 1 || !strings.HasPrefix(got[0], "Done") {
		t.Fatalf("after Large: %v", evs)
	}
	// History on reconnect: the whole conversation, in order.
	evs = h.stream(id, token, "", hasOut(3))
	if got := outTexts(evs); fmt.Sprint(got[:2]) != "[Hello! Pick one Which size?]" {
		t.Fatalf("history = %v", got)
	}
	// Another visitor sees none of it.
	_, v2 := h.wcCall("POST", "/webchat/"+id+"/visitors", "", "", "")
	evs = h.stream(id, v2["token"].(string), "", func(evs []sseEvent) bool { return len(evs) >= 1 })
	if len(evs) != 1 || evs[0].name != "ready" {
		t.Fatalf("another visitor's stream = %v", evs)
	}

	// The per-visitor allowance (20 a minute; 4 used above, plus the
	// refused bodies that were read after it was taken).
	limited := false
	for i := range 30 {
		res, _ := h.wcCall("POST", "/webchat/"+id+"/messages", shop, token, fmt.Sprintf(`{"id":"flood-%04d","text":"x"}`, i))
		if res.StatusCode == 429 {
			limited = res.Header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Fatal("a visitor flooding the chat was never refused with Retry-After")
	}
	// The other visitor still may write.
	if res, _ := h.wcCall("POST", "/webchat/"+id+"/messages", "", v2["token"].(string), `{"id":"other-001","text":"hi"}`); res.StatusCode != 202 {
		t.Fatalf("another visitor after the flood: %d", res.StatusCode)
	}
}

// TestContactMerge: a web visitor and a contact reached on another channel
// become one contact whose conversation holds both channels' messages; the
// visitor's widget still sees only its own channel's.
func TestContactMerge(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.runner.Stop(); cancel() })
	a := h.tenant("Alpha")
	c := h.bearer(a.token)
	web := c.do("POST", "/channels/", map[string]any{"type": "webchat", "name": "Site"}).want(http.StatusCreated).json()["id"].(string)
	other := c.do("POST", "/channels/", map[string]any{"type": "webchat", "name": "Shop"}).want(http.StatusCreated).json()["id"].(string)
	c.do("POST", "/chat-flow/flows/", map[string]any{"name": "Web", "is_active": true, "flow_data": json.RawMessage(webchatGraph)}).want(http.StatusCreated)

	// The same person: a visitor of Site and a contact on Shop (with a phone).
	_, v := h.wcCall("POST", "/webchat/"+web+"/visitors", "", "", "")
	token := v["token"].(string)
	h.wcCall("POST", "/webchat/"+web+"/messages", "", token, `{"id":"merge-001","text":"hello"}`)
	h.stream(web, token, "", hasOut(1))
	f := c.do("POST", "/chat-flow/flows/", map[string]any{"name": "Manual", "is_active": true, "flow_data": json.RawMessage(
		`{"nodes":[{"id":"s","type":"start","data":{"trigger":{"type":"manual"}}},{"id":"e","type":"end","data":{"text":"Your order shipped"}}],"edges":[{"id":"e1","source":"s","target":"e"}]}`)}).want(http.StatusCreated).json()
	started := c.do("POST", "/chat-flow/flows/"+f["id"].(string)+"/start/", map[string]any{"phone": "+351912345678", "channel_id": other, "name": "Ana"}).want(http.StatusOK).json()
	ana := started["contact_id"].(string)
	visitors := c.do("GET", "/contacts/?search=web%20visitor", nil).want(http.StatusOK).json()["results"].([]any)
	if len(visitors) != 1 {
		t.Fatalf("visitors = %v", visitors)
	}
	visitor := visitors[0].(map[string]any)["id"].(string)

	// Bad merges: what and where.
	p := c.do("POST", "/contacts/"+ana+"/merge/", map[string]any{"contact_id": ana}).problem(http.StatusUnprocessableEntity)
	if !strings.Contains(fmt.Sprint(p), "itself") {
		t.Fatalf("merge into itself = %v", p)
	}
	p = c.do("POST", "/contacts/"+ana+"/merge/", map[string]any{"contact_id": "nobody"}).problem(http.StatusUnprocessableEntity)
	if !strings.Contains(fmt.Sprint(p["errors"]), "/contact_id") {
		t.Fatalf("merge of an unknown contact = %v", p)
	}
	b := h.tenant("Bravo")
	h.bearer(b.token).do("POST", "/contacts/"+ana+"/merge/", map[string]any{"contact_id": visitor}).problem(http.StatusNotFound)
	h.bearer(b.token).do("POST", "/contacts/nobody/merge/", map[string]any{"contact_id": visitor}).problem(http.StatusNotFound)

	merged := c.do("POST", "/contacts/"+ana+"/merge/", map[string]any{"contact_id": visitor}).want(http.StatusOK).json()
	if merged["name"] != "Ana" || merged["phone"] != "+351912345678" || len(merged["urns"].([]any)) != 2 {
		t.Fatalf("merged contact = %v", merged)
	}
	c.do("GET", "/contacts/"+visitor+"/", nil).problem(http.StatusNotFound)
	msgs := c.do("GET", "/conversations/"+ana+"/messages/", nil).want(http.StatusOK).json()["results"].([]any)
	channelsSeen := map[string]int{}
	for _, m := range msgs {
		channelsSeen[m.(map[string]any)["channel_id"].(string)]++
	}
	if channelsSeen[web] != 2 || channelsSeen[other] != 1 {
		t.Fatalf("one timeline of both channels: %v", channelsSeen)
	}
	// The visitor goes on talking on Site, as the merged contact.
	h.wcCall("POST", "/webchat/"+web+"/messages", "", token, `{"id":"merge-002","button":"Track"}`)
	evs := h.stream(web, token, "", hasOut(2))
	for _, e := range evs {
		if e.name == "message" && strings.Contains(fmt.Sprint(e.data["text"]), "shipped") {
			t.Fatalf("the widget shows another channel's message: %v", e.data)
		}
	}
	if got := outTexts(evs); got[1] != "Your order is on its way" && got[1] != "Tracking" {
		t.Fatalf("after the merge the visitor's answer = %v", got)
	}
}

// TestWebchatTyping: while the visitor's message waits for the bot, the
// stream says typing; the answer then arrives on the stream.
func TestWebchatTyping(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // the runner is not started: the message waits
	a := h.tenant("Alpha")
	c := h.bearer(a.token)
	id := c.do("POST", "/channels/", map[string]any{"type": "webchat", "name": "Site"}).want(http.StatusCreated).json()["id"].(string)
	c.do("POST", "/chat-flow/flows/", map[string]any{"name": "Web", "is_active": true, "flow_data": json.RawMessage(webchatGraph)}).want(http.StatusCreated)
	_, v := h.wcCall("POST", "/webchat/"+id+"/visitors", "", "", "")
	token := v["token"].(string)
	if res, p := h.wcCall("POST", "/webchat/"+id+"/messages", "", token, `{"id":"typing-01","text":"hello"}`); res.StatusCode != 202 {
		t.Fatalf("send: %d %v", res.StatusCode, p)
	}
	typing := func(evs []sseEvent) bool {
		for _, e := range evs {
			if e.name == "typing" && e.data["typing"] == true {
				return true
			}
		}
		return false
	}
	h.stream(id, token, "", typing)
	visitors := c.do("GET", "/contacts/?search=web%20visitor", nil).want(http.StatusOK).json()["results"].([]any)
	if err := h.runner.ProcessContact(context.Background(), a.project.ID, visitors[0].(map[string]any)["id"].(string)); err != nil {
		t.Fatal(err)
	}
	evs := h.stream(id, token, "", hasOut(1))
	if typing(evs) {
		t.Fatalf("typing after the answer: %v", evs)
	}
}
