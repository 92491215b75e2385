package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/sandbox"
)

// TestTemplatesEndToEnd: a template is validated and submitted to the fake
// Meta (PENDING), approved by a signed webhook, then sent as a flow's
// start_template: the flow starts, the fake gets the rendered template, and
// the customer's quick-reply tap continues the flow. The fake's review is
// manual, so the template is surely still PENDING when the test tries to
// send it.
func TestTemplatesEndToEnd(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000002",
		StatusDelay: 5 * time.Millisecond, TemplateReview: sandbox.ReviewManual})
	chID := r.whatsAppChannel("1000002")

	bad := map[string]any{"channel_id": chID, "name": "Bad Name!", "language": "en_US", "category": "UTILITY", "components": []any{}}
	if status, p := r.call("POST", "/templates/", bad); status != http.StatusUnprocessableEntity || !strings.Contains(p["detail"].(string), "name") {
		t.Fatalf("invalid template: %d %v", status, p)
	}
	tpl := r.must("POST", "/templates/", map[string]any{"channel_id": chID, "name": "order_ready", "language": "en_US", "category": "UTILITY",
		"components": []any{
			map[string]any{"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready. Pick it up today?", "example": map[string]any{"body_text": []any{[]any{"Ann", "A-1"}}}},
			map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "QUICK_REPLY", "text": "Yes"}, map[string]any{"type": "QUICK_REPLY", "text": "Later"}}},
		}}, http.StatusCreated)
	if tpl["status"] != "PENDING" || tpl["meta_template_id"] == "" {
		t.Fatalf("submitted template = %v", tpl)
	}
	id := tpl["id"].(string)
	if status, _ := r.call("POST", "/templates/"+id+"/send/", map[string]any{"phone": "+15557654321", "channel_id": chID}); status != http.StatusConflict {
		t.Fatalf("sending a PENDING template: %d, want 409", status)
	}
	if n := r.fake.ApprovePending(); n != 1 {
		t.Fatalf("the fake approved %d templates", n)
	}
	r.eventually("Meta approves it (status webhook)", func() bool {
		return r.must("GET", "/templates/"+id+"/", nil, http.StatusOK)["status"] == "APPROVED"
	})

	graph := `{"nodes":[
	 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"manual"}}},
	 {"id":"tpl","type":"template","position":{"x":0,"y":100},"data":{"template_id":"` + id + `","params":{"body":["{{ default(contact.name, 'there') }}","A-7"]},"timeout_seconds":3600}},
	 {"id":"yes","type":"end","position":{"x":0,"y":200},"data":{"text":"See you soon!"}},
	 {"id":"later","type":"end","position":{"x":200,"y":200},"data":{"text":"Ok, later."}}],
	 "edges":[
	 {"id":"e1","source":"start","target":"tpl"},
	 {"id":"e2","source":"tpl","target":"yes","data":{"trigger":"button_click","trigger_value":"Yes"}},
	 {"id":"e3","source":"tpl","target":"later","data":{"trigger":"button_click","trigger_value":"Later"}},
	 {"id":"e4","source":"tpl","sourceHandle":"other","target":"later"},
	 {"id":"e5","source":"tpl","sourceHandle":"timeout","target":"later"}]}`
	f := r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Order ready", "is_active": true, "start_template": id, "flow_data": json.RawMessage(graph)}, http.StatusCreated)

	sent := r.must("POST", "/templates/"+id+"/send/", map[string]any{"phone": "+15557654321", "channel_id": chID}, http.StatusOK)
	if sent["flow_id"] != f["id"] || sent["status"] != "waiting" {
		t.Fatalf("send = %v; want the start_template flow started and waiting for the tap", sent)
	}
	r.eventually("the template reaches the fake", func() bool { return len(r.fake.Messages()) == 1 })
	var body map[string]any
	_ = json.Unmarshal(r.fake.Messages()[0].Body, &body)
	tb, _ := json.Marshal(body["template"])
	if body["type"] != "template" || !strings.Contains(string(tb), `"name":"order_ready"`) || !strings.Contains(string(tb), `"text":"A-7"`) || !strings.Contains(string(tb), `"text":"there"`) {
		t.Fatalf("template body = %s", r.fake.Messages()[0].Body)
	}
	if _, err := r.fake.SendInbound(context.Background(), sandbox.Inbound{From: "15557654321", Name: "Rui", ID: "wamid.QR1",
		QuickReply: &channel.Reply{Payload: "Yes", Title: "Yes"}}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the flow continues on the tap", func() bool { return len(r.fake.Messages()) == 2 })
	if b := string(r.fake.Messages()[1].Body); !strings.Contains(b, "See you soon!") {
		t.Fatalf("after the tap the fake got %s", b)
	}
	sessions := r.must("GET", "/sessions/?flow="+f["id"].(string), nil, http.StatusOK)["results"].([]any)
	if len(sessions) != 1 || sessions[0].(map[string]any)["status"] != "completed" {
		t.Fatalf("sessions = %v", sessions)
	}
	// An edit goes back to Meta's review, and is approved again.
	edited := r.must("PUT", "/templates/"+id+"/", map[string]any{"components": []any{
		map[string]any{"type": "BODY", "text": "Hello {{1}}, order {{2}} is ready for pick-up today.", "example": map[string]any{"body_text": []any{[]any{"Ann", "A-1"}}}},
		map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "QUICK_REPLY", "text": "Yes"}, map[string]any{"type": "QUICK_REPLY", "text": "Later"}}},
	}}, http.StatusOK)
	if edited["status"] != "PENDING" || !strings.Contains(fmt.Sprint(edited["components"]), "pick-up") {
		t.Fatalf("edited = %v", edited)
	}
	if n := r.fake.ApprovePending(); n != 1 {
		t.Fatalf("the fake approved %d templates", n)
	}
	r.eventually("the edit is approved", func() bool {
		return r.must("GET", "/templates/"+id+"/", nil, http.StatusOK)["status"] == "APPROVED"
	})
	sync := r.must("POST", "/templates/sync/", map[string]any{}, http.StatusOK)
	if sync["channels"] != float64(1) || sync["updated"] != float64(1) {
		t.Fatalf("sync = %v", sync)
	}
}

// TestTemplateWebhookOvertakesAnswer: Meta's approval webhook arrives (and
// is acknowledged) before Meta answers the submission, and again before it
// answers an edit. Parley stores the template before submitting it, so the
// webhook finds it, and Meta's later PENDING answer does not undo the
// approval. A submission or an edit Meta refuses leaves nothing behind.
func TestTemplateWebhookOvertakesAnswer(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000003",
		StatusDelay: 5 * time.Millisecond, TemplateReview: sandbox.ReviewBeforeAnswer})
	chID := r.whatsAppChannel("1000003")
	body := func(text string) []any {
		return []any{map[string]any{"type": "BODY", "text": text, "example": map[string]any{"body_text": []any{[]any{"Ann"}}}}}
	}
	tpl := r.must("POST", "/templates/", map[string]any{"channel_id": chID, "name": "welcome", "language": "en_US", "category": "UTILITY",
		"components": body("Hi {{1}}, welcome aboard.")}, http.StatusCreated)
	id := tpl["id"].(string)
	if tpl["status"] != "APPROVED" || tpl["meta_template_id"] == "" {
		t.Fatalf("created = %v; want APPROVED by the webhook that came before Meta's answer", tpl)
	}
	if got := r.must("GET", "/templates/"+id+"/", nil, http.StatusOK); got["status"] != "APPROVED" || got["meta_template_id"] != tpl["meta_template_id"] {
		t.Fatalf("stored = %v", got)
	}
	edited := r.must("PUT", "/templates/"+id+"/", map[string]any{"components": body("Hello {{1}}, welcome aboard.")}, http.StatusOK)
	if edited["status"] != "APPROVED" || !strings.Contains(fmt.Sprint(edited["components"]), "Hello") {
		t.Fatalf("edited = %v; want APPROVED by the webhook that came before Meta's answer", edited)
	}

	// Meta refuses an edit: the template is as it was, still sendable.
	r.fake.Inject(sandbox.Fault{Kind: sandbox.FaultError, Endpoint: "message_templates", Status: http.StatusBadRequest, Code: 100, Title: "Invalid parameter"})
	if status, p := r.call("PUT", "/templates/"+id+"/", map[string]any{"components": body("Hey {{1}}, welcome aboard.")}); status != http.StatusUnprocessableEntity {
		t.Fatalf("a refused edit: %d %v", status, p)
	}
	if got := r.must("GET", "/templates/"+id+"/", nil, http.StatusOK); got["status"] != "APPROVED" || !strings.Contains(fmt.Sprint(got["components"]), "Hello") {
		t.Fatalf("after a refused edit = %v", got)
	}

	// Meta refuses a submission, then fails one: the same answers as
	// ever, no template left behind, and the name is free to submit again.
	second := map[string]any{"channel_id": chID, "name": "reminder", "language": "en_US", "category": "UTILITY", "components": body("Hi {{1}}, see you tomorrow.")}
	r.fake.Inject(sandbox.Fault{Kind: sandbox.FaultError, Endpoint: "message_templates", Status: http.StatusBadRequest, Code: 100, Title: "Invalid parameter"},
		sandbox.Fault{Kind: sandbox.FaultServerError, Endpoint: "message_templates"})
	for _, want := range []int{http.StatusUnprocessableEntity, http.StatusServiceUnavailable} {
		if status, p := r.call("POST", "/templates/", second); status != want || want == http.StatusUnprocessableEntity && !strings.Contains(fmt.Sprint(p["detail"]), "submitting the template") {
			t.Fatalf("a failed submission: %d %v, want %d", status, p, want)
		}
		if l := r.must("GET", "/templates/?name=reminder", nil, http.StatusOK)["results"].([]any); len(l) != 0 {
			t.Fatalf("a failed submission left %v", l)
		}
	}
	if again := r.must("POST", "/templates/", second, http.StatusCreated); again["status"] != "APPROVED" {
		t.Fatalf("resubmitted = %v", again)
	}
}
