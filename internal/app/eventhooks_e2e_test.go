package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/sandbox"
)

const hookFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"set","type":"set_variable","position":{"x":0,"y":50},"data":{"assignments":[{"variable":"greeting","value":"hello {{contact.name}}"}]}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Pick one","buttons":["Book","Agent"],"timeout_seconds":60}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked"}},
 {"id":"agent","type":"handoff","position":{"x":200,"y":200},"data":{"message":"A person will answer","assignee":"sales"}}
],"edges":[
 {"id":"e1","source":"start","target":"set"},
 {"id":"e0","source":"set","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"Agent","target":"agent"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"booked"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"booked"},
 {"id":"e6","source":"agent","sourceHandle":"released","target":"booked"}
]}`

// TestEventWebhooksEndToEnd: a real server, a conversation on the fake
// WhatsApp number, and a local receiver (let in by PARLEY_HTTP_ALLOW) that
// verifies every delivery's signature: the conversation's events arrive
// signed, each once, in the contact's order; the delivery log shows them.
func TestEventWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var secret string
	var got []eventhook.Payload
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := eventhook.Verify(r.Header.Get(eventhook.SignatureHeader), secret, body, time.Now(), eventhook.DefaultTolerance); err != nil {
			t.Errorf("delivery not verified: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p eventhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("delivery body: %v", err)
		}
		got = append(got, p)
	}))
	defer recv.Close()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{StatusDelay: 5 * time.Millisecond}, HTTPAllow: "127.0.0.1/32"})
	s.WhatsAppChannel(nil)
	s.Publish("Hooks", hookFlow)
	sub := s.Must("POST", "/event-subscriptions/", map[string]any{"url": recv.URL + "/events", "events": []string{"*"}, "description": "e2e"}, http.StatusCreated)
	mu.Lock()
	secret = sub["secret"].(string)
	mu.Unlock()
	if again := s.Must("GET", "/event-subscriptions/"+sub["id"].(string)+"/", nil, http.StatusOK); again["secret"] != nil {
		t.Fatalf("the secret was shown again: %v", again)
	}

	ctx := context.Background()
	if _, err := s.Fake.SendInbound(ctx, sandbox.Inbound{From: "15557654321", Name: "Bo", Text: "hi", ID: "wamid.HOOK1"}); err != nil {
		t.Fatal(err)
	}
	s.Eventually("the question is sent", func() bool { return len(s.Fake.Messages()) == 1 })
	if _, err := s.Fake.SendInbound(ctx, sandbox.Inbound{From: "15557654321", Name: "Bo", ID: "wamid.HOOK2", ButtonReply: &channel.Reply{ID: "b1", Title: "Agent"}}); err != nil {
		t.Fatal(err)
	}
	types := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, p := range got {
			out = append(out, p.Type)
		}
		return out
	}
	has := func(want ...string) bool {
		ts := strings.Join(types(), " ")
		for _, w := range want {
			if !strings.Contains(ts, w) {
				return false
			}
		}
		return true
	}
	s.Eventually("the conversation's events are delivered", func() bool {
		return has("message.received", "session.started", "variable.captured", "handoff.requested", "message.status")
	})
	// The contact's order: first message, its session, the variable, then
	// the second message and the handoff it led to.
	order := []string{}
	for _, ty := range types() {
		if ty != "message.status" {
			order = append(order, ty)
		}
	}
	if want := "message.received session.started variable.captured message.received handoff.requested"; strings.Join(order, " ") != want {
		t.Fatalf("events in order %v, want %s", order, want)
	}
	mu.Lock()
	for _, p := range got {
		if p.ProjectID != s.ProjectID || p.ContactID == "" || p.ID == "" {
			t.Errorf("payload %+v", p)
		}
		if p.Type == "variable.captured" && (p.Data.(map[string]any)["name"] != "greeting" || p.Data.(map[string]any)["value"] != "hello Bo") {
			t.Errorf("variable.captured data = %v", p.Data)
		}
		if p.Type == "handoff.requested" && p.Data.(map[string]any)["assignee"] != "sales" {
			t.Errorf("handoff.requested data = %v", p.Data)
		}
	}
	n := len(got)
	mu.Unlock()

	// The delivery log: every event delivered at the first attempt.
	s.Eventually("the log shows them delivered", func() bool {
		l := s.Must("GET", "/event-subscriptions/"+sub["id"].(string)+"/deliveries/?limit=100", nil, http.StatusOK)["results"].([]any)
		if len(l) < n {
			return false
		}
		for _, d := range l {
			if d.(map[string]any)["state"] != "delivered" {
				return false
			}
		}
		return true
	})
	all := s.Must("GET", "/event-subscriptions/"+sub["id"].(string)+"/deliveries/?limit=100", nil, http.StatusOK)["results"].([]any)
	first := all[len(all)-1].(map[string]any) // the oldest: the first message
	if first["event_type"] != "message.received" {
		t.Fatalf("oldest delivery = %v", first)
	}
	detail := s.Must("GET", "/event-deliveries/"+first["id"].(string)+"/", nil, http.StatusOK)
	log := detail["attempt_log"].([]any)
	if len(log) != 1 || log[0].(map[string]any)["status_code"] != float64(200) || !strings.HasPrefix(log[0].(map[string]any)["signature"].(string), "t=") {
		t.Fatalf("attempt log = %v", log)
	}
	s.Must("POST", "/event-deliveries/"+first["id"].(string)+"/redeliver", nil, http.StatusOK)
	s.Eventually("the redelivery arrives", func() bool {
		mu.Lock()
		defer mu.Unlock()
		seen := 0
		for _, p := range got {
			if p.ID == first["event_id"] {
				seen++
			}
		}
		return seen == 2
	})
}
