package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/sandbox"
)

// running is a real parley server with the fake Graph API (apptest), with
// the short helper names these tests use.
type running struct {
	*apptest.Server
	t    *testing.T
	base string
	fake *sandbox.Server
}

func start(t *testing.T, fakeCfg sandbox.Config) *running {
	t.Helper()
	s := apptest.Start(t, apptest.Options{Fake: fakeCfg})
	return &running{Server: s, t: t, base: s.Base, fake: s.Fake}
}

func (r *running) call(method, path string, body any) (int, map[string]any) {
	r.t.Helper()
	status, out, _ := r.Call(method, path, body)
	return status, out
}

func (r *running) must(method, path string, body any, status int) map[string]any {
	r.t.Helper()
	return r.Must(method, path, body, status)
}

func (r *running) eventually(what string, cond func() bool) {
	r.t.Helper()
	r.Eventually(what, cond)
}

const booking = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Hi {{contact.name}}! Pick one","buttons":["Book","Track"],"timeout_seconds":60}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked"}},
 {"id":"track","type":"end","position":{"x":200,"y":200},"data":{"text":"Tracking"}},
 {"id":"late","type":"end","position":{"x":400,"y":200},"data":{"text":"Timed out"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"Track","target":"track"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"track"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"late"}
]}`

// whatsAppChannel connects a WhatsApp channel of the fake's number.
func (r *running) whatsAppChannel(string) string { return r.WhatsAppChannel(nil) }

func (r *running) conversation(contactID string) []map[string]any {
	out := r.must("GET", "/conversations/"+contactID+"/messages/", nil, http.StatusOK)
	var ms []map[string]any
	for i := len(out["results"].([]any)) - 1; i >= 0; i-- {
		ms = append(ms, out["results"].([]any)[i].(map[string]any))
	}
	return ms
}

func (r *running) contactByPhone(phone string) string {
	out := r.must("GET", "/contacts/?search="+phone, nil, http.StatusOK)
	if l := out["results"].([]any); len(l) == 1 {
		return l[0].(map[string]any)["id"].(string)
	}
	return ""
}

// TestWhatsAppEndToEnd: a signed webhook in, the flow runs, the fake Graph
// API gets the exact body Meta documents, status webhooks come back and
// move the message to read; a button tap continues the flow; re-deliveries
// and late statuses change nothing.
func TestWhatsAppEndToEnd(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000001", StatusDelay: 5 * time.Millisecond})
	chID := r.whatsAppChannel("1000001")
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Booking", "is_active": true, "flow_data": json.RawMessage(booking)}, http.StatusCreated)
	ctx := context.Background()

	// The credentials check calls the (fake) Graph API step by step.
	if rep := r.must("POST", "/channels/"+chID+"/check/", nil, http.StatusOK); rep["ok"] != true {
		t.Fatalf("check = %v", rep)
	}
	r.must("PUT", "/channels/"+chID+"/", map[string]any{"config": map[string]any{"access_token": "wrong-token"}}, http.StatusOK)
	if rep := r.must("POST", "/channels/"+chID+"/check/", nil, http.StatusOK); rep["ok"] != false || !strings.Contains(fmt.Sprint(rep["steps"]), "token") {
		t.Fatalf("check with a bad token = %v", rep)
	}
	r.must("PUT", "/channels/"+chID+"/", map[string]any{"config": map[string]any{"access_token": "sandbox-token"}}, http.StatusOK)

	// Meta's verification handshake.
	res, err := http.Get(r.base + "/webhooks/whatsapp/" + chID + "?hub.mode=subscribe&hub.challenge=42&hub.verify_token=wrong")
	if err != nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong verify token: %v %v", err, res)
	}

	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "hi", ID: "wamid.IN1"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the question reaches the fake", func() bool { return len(r.fake.Messages()) == 1 })
	var got map[string]any
	_ = json.Unmarshal(r.fake.Messages()[0].Body, &got)
	ourID, _ := got["biz_opaque_callback_data"].(string)
	want := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "15551234567", "type": "interactive",
		"biz_opaque_callback_data": ourID,
		"interactive": map[string]any{"type": "button", "body": map[string]any{"text": "Hi Ann! Pick one"},
			"action": map[string]any{"buttons": []any{
				map[string]any{"type": "reply", "reply": map[string]any{"id": "b0", "title": "Book"}},
				map[string]any{"type": "reply", "reply": map[string]any{"id": "b1", "title": "Track"}}}}}}
	if ourID == "" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the fake received\n%s\nwant\n%v", r.fake.Messages()[0].Body, want)
	}
	contact := r.contactByPhone("15551234567")
	r.eventually("delivery ticks: read", func() bool {
		ms := r.conversation(contact)
		return len(ms) == 2 && ms[1]["status"] == "read"
	})

	// Meta re-delivers the inbound message five times at once: one message, one step.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.fake.SendInbound(ctx, sandbox.Inbound{From: "15551234567", Name: "Ann", Text: "hi", ID: "wamid.IN1"})
		}()
	}
	wg.Wait()
	// A late "delivered" after "read" must not move the status back.
	late := statusWebhook("1000001", ourID, "delivered")
	req, _ := http.NewRequest("POST", r.base+"/webhooks/whatsapp/"+chID, bytes.NewReader(late))
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(late, "sandbox-secret"))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("late status: %v %v", err, res)
	}

	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15551234567", Name: "Ann", ID: "wamid.IN2", ButtonReply: &channel.Reply{ID: "b0", Title: "Book"}}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the answer reaches the fake", func() bool { return len(r.fake.Messages()) == 2 })
	if body := string(r.fake.Messages()[1].Body); !strings.Contains(body, `"body":"Booked"`) {
		t.Fatalf("second send = %s", body)
	}
	r.eventually("both outbound messages read", func() bool {
		ms := r.conversation(contact)
		return len(ms) == 4 && ms[1]["status"] == "read" && ms[3]["status"] == "read"
	})
	ms := r.conversation(contact)
	if ms[0]["direction"] != "in" || ms[2]["button"] != "Book" {
		t.Fatalf("conversation = %v", ms)
	}
	sessions := r.must("GET", "/sessions/?contact="+contact, nil, http.StatusOK)["results"].([]any)
	if len(sessions) != 1 || sessions[0].(map[string]any)["status"] != "completed" {
		t.Fatalf("sessions = %v (the re-deliveries must not have started another)", sessions)
	}

	// The dispatchers' gauges are on /metrics, idle now.
	res, err = http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`parley_dispatch_waiting{queue="inbox"} 0`, `parley_dispatch_running{queue="send"} 0`, `parley_dispatch_dropped{queue="send"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// statusWebhook is a WhatsApp status webhook for our message.
func statusWebhook(phoneNumberID, ourID, state string) []byte {
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "100000000000001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp", "metadata": map[string]any{"display_phone_number": "15550000000", "phone_number_id": phoneNumberID},
			"statuses": []any{map[string]any{"id": "wamid.unknown-to-test", "status": state, "timestamp": fmt.Sprint(time.Now().Unix()),
				"recipient_id": "15551234567", "biz_opaque_callback_data": ourID}}}}}}}})
	return b
}
