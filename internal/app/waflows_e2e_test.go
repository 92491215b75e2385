package app_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/waform"
)

// TestWhatsAppFlowsEndToEnd: a form is created from the appointment-booking
// template at the fake Meta, fails validation after a bad edit (ours and
// Meta's errors stored, publishing refused), is published, sent from a chat
// flow to a customer who completes it; the answers resume the session as
// typed variables. A stale completion is recorded and resumes nothing; an
// edit returns the form to DRAFT with its Meta ID; status webhooks,
// deprecate, clone and delete follow Meta's rules.
func TestWhatsAppFlowsEndToEnd(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{AppSecret: "sandbox-secret", AccessToken: "sandbox-token", PhoneNumberID: "1000004", StatusDelay: 5 * time.Millisecond})
	chID := r.whatsAppChannel("1000004")

	wf := r.must("POST", "/whatsapp-flows/", map[string]any{"template": "appointment_booking", "channel_id": chID}, http.StatusCreated)
	id, metaID := wf["id"].(string), wf["meta_flow_id"].(string)
	if wf["status"] != "DRAFT" || metaID == "" || len(wf["validation_errors"].([]any)) != 0 || wf["name"] != "Appointment booking" {
		t.Fatalf("created = %v", wf)
	}
	good := wf["flow_json"].(string)
	// A draft may be deleted, here and at Meta; the name is free again.
	r.must("DELETE", "/whatsapp-flows/"+id+"/", nil, http.StatusNoContent)
	if status, _ := r.call("GET", "/whatsapp-flows/"+id+"/", nil); status != http.StatusNotFound {
		t.Fatalf("deleted draft: %d", status)
	}
	wf = r.must("POST", "/whatsapp-flows/", map[string]any{"template": "appointment_booking", "channel_id": chID}, http.StatusCreated)
	id, metaID = wf["id"].(string), wf["meta_flow_id"].(string)

	// A bad edit: our validator and Meta's both say why; publishing is refused.
	bad := strings.Replace(good, `"version": "7.3"`, `"version": "1.0"`, 1)
	if bad == good {
		t.Fatal("the template's version is not 7.3")
	}
	edited := r.must("PUT", "/whatsapp-flows/"+id+"/", map[string]any{"flow_json": bad}, http.StatusOK)
	errs := fmt.Sprint(edited["validation_errors"])
	if !strings.Contains(errs, "source:parley") || !strings.Contains(errs, "source:meta") || !strings.Contains(errs, "FLOW_JSON_VERSION") {
		t.Fatalf("validation errors after a bad edit = %s", errs)
	}
	if status, p := r.call("POST", "/whatsapp-flows/"+id+"/publish/", nil); status != http.StatusUnprocessableEntity {
		t.Fatalf("publishing an invalid flow: %d %v", status, p)
	}
	r.must("PUT", "/whatsapp-flows/"+id+"/", map[string]any{"flow_json": good}, http.StatusOK)
	pub := r.must("POST", "/whatsapp-flows/"+id+"/publish/", nil, http.StatusOK)
	if pub["status"] != "PUBLISHED" || pub["meta_flow_id"] != metaID {
		t.Fatalf("published = %v", pub)
	}
	if status, _ := r.call("DELETE", "/whatsapp-flows/"+id+"/", nil); status != http.StatusConflict {
		t.Fatalf("deleting a published flow: %d, want 409", status)
	}

	graph := `{"nodes":[
	 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["book"]}}},
	 {"id":"form","type":"whatsapp_flow","position":{"x":0,"y":100},"data":{"whatsapp_flow_id":"` + id + `","body":"Pick a time, {{ contact.name }}","cta":"Book now","variable":"booking","timeout_seconds":3600}},
	 {"id":"done","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked {{ booking.service }} on {{ booking.date }} for {{ booking.name }}"}},
	 {"id":"late","type":"end","position":{"x":200,"y":200},"data":{"text":"Too late"}}],
	 "edges":[
	 {"id":"e1","source":"start","target":"form"},
	 {"id":"e2","source":"form","sourceHandle":"completed","target":"done"},
	 {"id":"e3","source":"form","sourceHandle":"timeout","target":"late"}]}`
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Book", "is_active": true, "flow_data": json.RawMessage(graph)}, http.StatusCreated)
	// The linter knows the project's WhatsApp Flows.
	missing := strings.Replace(graph, id, "no-such-form", 1)
	if status, p := r.call("POST", "/chat-flow/flows/", map[string]any{"name": "Broken", "is_active": true, "flow_data": json.RawMessage(missing)}); status != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(p), "no-such-form") {
		t.Fatalf("a flow naming a missing WhatsApp Flow: %d %v", status, p)
	}

	ctx := context.Background()
	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15557654000", Name: "Ann", Text: "book"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the form reaches the customer", func() bool { return len(r.fake.Forms()) == 1 })
	sent := r.fake.Forms()[0]
	if sent.FlowID != metaID || sent.Mode != "published" || sent.Token == "" || sent.CTA != "Book now" || sent.Body != "Pick a time, Ann" || len(sent.JSON) == 0 {
		t.Fatalf("form sent = %+v", sent)
	}
	testFormEndpoint(t, r, chID, id, sent.Token)

	answers := map[string]any{"service": "haircut", "date": "2030-02-01", "time": "09:00", "name": "Ann Lee", "email": "ann@example.com",
		"phone": "+15557654000", "notes": "", "reminders": "true"}
	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15557654000", Name: "Ann", FlowReply: &sandbox.FlowReply{Token: sent.Token, Response: answers}}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the answers continue the flow", func() bool { return len(r.fake.Messages()) == 2 })
	if b := string(r.fake.Messages()[1].Body); !strings.Contains(b, "Booked haircut on 2030-02-01 for Ann Lee") {
		t.Fatalf("after the answers the fake got %s", b)
	}
	contact := r.contactByPhone("15557654000")
	sessions := r.must("GET", "/sessions/?contact="+contact, nil, http.StatusOK)["results"].([]any)
	if len(sessions) != 1 || sessions[0].(map[string]any)["status"] != "completed" {
		t.Fatalf("sessions = %v", sessions)
	}
	detail := r.must("GET", "/sessions/"+sessions[0].(map[string]any)["id"].(string)+"/", nil, http.StatusOK)
	booking, _ := detail["variables"].(map[string]any)["booking"].(map[string]any)
	if booking["reminders"] != true || booking["date"] != "2030-02-01" || booking["name"] != "Ann Lee" || booking["flow_token"] != nil {
		t.Fatalf("booking variable = %#v", booking)
	}
	conv := fmt.Sprint(r.conversation(contact))
	if !strings.Contains(conv, "flow_completion") || !strings.Contains(conv, "Ann Lee") {
		t.Fatalf("conversation = %s", conv)
	}

	// The same completion again (the customer re-submits an old form): it
	// is kept in the conversation and starts or resumes nothing.
	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15557654000", Name: "Ann", ID: "wamid.LATE1", FlowReply: &sandbox.FlowReply{Token: sent.Token, Response: answers}}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the stale completion is stored", func() bool {
		return strings.Count(fmt.Sprint(r.conversation(contact)), "wamid.LATE1") >= 1 || strings.Count(fmt.Sprint(r.conversation(contact)), "flow_completion") >= 2
	})
	time.Sleep(50 * time.Millisecond)
	if n := len(r.fake.Messages()); n != 2 {
		t.Fatalf("a stale completion made the fake get %d messages", n)
	}

	// Editing a published flow returns it to DRAFT with the same Meta ID.
	reserve := strings.Replace(good, "Book", "Reserve", 1)
	ed := r.must("PUT", "/whatsapp-flows/"+id+"/", map[string]any{"flow_json": reserve}, http.StatusOK)
	if ed["status"] != "DRAFT" || ed["meta_flow_id"] != metaID {
		t.Fatalf("edited published flow = %v", ed)
	}
	if status, _ := r.call("POST", "/whatsapp-flows/"+id+"/deprecate/", nil); status != http.StatusConflict {
		t.Fatalf("deprecating a draft: %d, want 409", status)
	}
	r.must("POST", "/whatsapp-flows/"+id+"/publish/", nil, http.StatusOK)
	// Meta's health monitoring throttles it: the webhook moves it; sync agrees.
	if !r.fake.SetFlowStatus(metaID, "THROTTLED") {
		t.Fatal("the fake does not know the flow")
	}
	r.eventually("the flows webhook throttles it", func() bool {
		return r.must("GET", "/whatsapp-flows/"+id+"/", nil, http.StatusOK)["status"] == "THROTTLED"
	})
	if s := r.must("POST", "/whatsapp-flows/"+id+"/sync/", nil, http.StatusOK); s["status"] != "THROTTLED" || s["preview_url"] == "" || s["synced_at"] == nil {
		t.Fatalf("synced = %v", s)
	}
	if d := r.must("POST", "/whatsapp-flows/"+id+"/deprecate/", nil, http.StatusOK); d["status"] != "DEPRECATED" {
		t.Fatalf("deprecated = %v", d)
	}
	if status, _ := r.call("PUT", "/whatsapp-flows/"+id+"/", map[string]any{"flow_json": good}); status != http.StatusConflict {
		t.Fatalf("editing a deprecated flow: %d, want 409", status)
	}
	clone := r.must("POST", "/whatsapp-flows/"+id+"/clone/", map[string]any{"name": "Booking v2"}, http.StatusCreated)
	if clone["status"] != "DRAFT" || clone["meta_flow_id"] == "" || clone["meta_flow_id"] == metaID || clone["flow_json"] != reserve {
		t.Fatalf("clone = %v", clone)
	}
	r.must("DELETE", "/whatsapp-flows/"+clone["id"].(string)+"/", nil, http.StatusNoContent)
	if status, _ := r.call("GET", "/whatsapp-flows/"+clone["id"].(string)+"/", nil); status != http.StatusNotFound {
		t.Fatalf("deleted clone: %d", status)
	}
}

// testFormEndpoint: the number's key pair is generated and its public key
// reaches the fake Meta; requests encrypted and signed as Meta's client
// does are answered (ping, INIT routed to the waiting session's form),
// with 432 for a bad signature and 427 for a token no session waits for.
func testFormEndpoint(t *testing.T, r *running, chID, formID, token string) {
	t.Helper()
	k := r.must("POST", "/whatsapp-flows/keys/", map[string]any{"channel_id": chID}, http.StatusCreated)
	pemText, _ := k["public_key"].(string)
	if !strings.Contains(pemText, "BEGIN PUBLIC KEY") || r.fake.PublicKey("1000004") != pemText {
		t.Fatalf("key = %v; the fake has %q", k, r.fake.PublicKey("1000004"))
	}
	block, _ := pem.Decode([]byte(pemText))
	pubAny, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := pubAny.(*rsa.PublicKey)
	call := func(plain map[string]any, secret string) (int, map[string]any) {
		t.Helper()
		pb, _ := json.Marshal(plain)
		body, key, iv, err := waform.EncryptRequest(pub, pb)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, r.base+"/whatsapp-flows/"+formID+"/endpoint", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", waform.Sign(body, secret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return res.StatusCode, nil
		}
		plainOut, err := waform.DecryptResponse(string(raw), key, iv)
		if err != nil {
			t.Fatalf("decrypting the answer %q: %v", raw, err)
		}
		var out map[string]any
		_ = json.Unmarshal(plainOut, &out)
		return res.StatusCode, out
	}
	if st, out := call(map[string]any{"version": "3.0", "action": "ping"}, "sandbox-secret"); st != 200 || fmt.Sprint(out["data"]) != "map[status:active]" {
		t.Fatalf("ping: %d %v", st, out)
	}
	if st, out := call(map[string]any{"version": "3.0", "action": "INIT", "flow_token": token}, "sandbox-secret"); st != 200 || out["screen"] != "APPOINTMENT" {
		t.Fatalf("INIT: %d %v", st, out)
	}
	if st, _ := call(map[string]any{"version": "3.0", "action": "INIT", "flow_token": token}, "wrong-secret"); st != 432 {
		t.Fatalf("a bad signature: %d, want 432", st)
	}
	if st, _ := call(map[string]any{"version": "3.0", "action": "INIT", "flow_token": "01a00000-0000-7000-8000-000000000000.1"}, "sandbox-secret"); st != 427 {
		t.Fatalf("a token no session waits for: %d, want 427", st)
	}
}
