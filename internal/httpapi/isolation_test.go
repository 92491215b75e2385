package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/store"
)

// TestIsolation walks the whole route table: for every route, a caller of
// project A reaching anything of project B gets 404 and none of B's data.
// Routes added later are covered automatically; a route with a path
// parameter this test has no project-B fixture for fails it.
func TestIsolation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.tenant("Alpha Corp"), h.tenant("Bravo Secret Project")

	// A published chat flow of project B (revision 1), with node "start"
	// and edge "e1".
	bFlow := h.bearer(b.token).do(http.MethodPost, "/chat-flow/flows/", map[string]any{
		"name": "Bravo hidden flow", "is_active": true, "flow_data": json.RawMessage(validFlow),
	}).want(http.StatusCreated).json()
	bFlowID := bFlow["id"].(string)

	// A contact of project B in a (simulated) session, and a channel.
	bChannel := h.bearer(b.token).do(http.MethodPost, "/channels/", map[string]any{"type": "webchat", "name": "Bravo web"}).want(http.StatusCreated).json()
	bSim := h.bearer(b.token).do(http.MethodPost, "/simulator/sessions/", map[string]any{"flow_id": bFlowID}).want(http.StatusCreated).json()

	bTemplate, err := h.store.TemplateCreate(context.Background(), store.TemplateCreateParams{ID: "b-template-1", ProjectID: b.project.ID,
		Name: "bravo_secret_template", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}

	bForm, err := h.store.WhatsAppFlowCreate(context.Background(), store.WhatsAppFlow{ID: "b-form-1", ProjectID: b.project.ID, Name: "bravo_secret_form",
		Categories: []string{"OTHER"}, JSON: `{"version":"7.1","screens":[]}`, Status: store.WhatsAppFlowDraft, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}

	bDeadLetter, err := h.store.DeadLetterCreate(context.Background(), store.DeadLetter{ID: "b-dead-letter-1", ProjectID: b.project.ID,
		ChannelID: bChannel["id"].(string), ChannelType: "webchat", Body: []byte(`{"bravo":"secret body"}`), Reason: "bravo reason", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	bProvider, err := h.store.AIProviderCreate(context.Background(), store.AIProvider{ID: "b-provider-1", ProjectID: b.project.ID, Name: "bravo_secret_provider",
		BaseURL: "http://127.0.0.1:1/v1", Model: "m", JSONMode: "json_schema", TimeoutSeconds: 5, MaxTokens: 1024, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	bInvitation, err := h.accounts.Invite(context.Background(), account.InviteParams{ProjectID: b.project.ID, Email: "bravo-invitee@example.com", Role: "viewer", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}

	// A campaign of project B with a stopped execution (its progress
	// stream ends at once, so the control read below returns).
	bCampaign, err := h.store.CampaignCreate(context.Background(), store.Campaign{ID: "b-campaign-1", ProjectID: b.project.ID, Name: "Bravo campaign",
		Status: store.CampaignDraft, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	bExecution, err := h.store.ExecutionCreate(context.Background(), store.ExecutionCreateParams{Execution: store.Execution{ID: "b-execution-1",
		ProjectID: b.project.ID, CampaignID: bCampaign.ID, DatasetID: "none", Status: store.ExecutionStopped, NextBatchAt: time.Now(), CreatedAt: time.Now(), UpdatedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}

	// An event subscription of project B with one delivery.
	bSub, err := h.store.WebhookSubscriptionCreate(context.Background(), store.WebhookSubscription{ID: "b-subscription-1", ProjectID: b.project.ID,
		URL: "https://bravo-secret.example/hook", Events: []string{"*"}, SecretSealed: "x", Active: true, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.WebhookEventRecord(context.Background(), store.WebhookEventRecordParams{ProjectID: b.project.ID, EventID: "b-event-1",
		Type: "message.received", Payload: []byte(`{"bravo":"secret event"}`), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}

	if err := h.store.WhatsAppSignupCreate(context.Background(), store.WhatsAppSignup{ID: "b-signup-1", ProjectID: b.project.ID, WABAID: "1",
		PhoneNumberID: "2", Name: "Bravo signup", Steps: []byte(`[]`), Status: "failed", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// A recorded call of project B.
	if err := h.store.CallCreate(context.Background(), store.Call{ID: "b-call-1", ProjectID: b.project.ID, ChannelID: bChannel["id"].(string), ContactID: "c",
		Direction: "outbound", From: "+14155550100", To: "+14155550111", Status: "completed", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CallRecordingPut(context.Background(), store.CallRecording{CallID: "b-call-1", ContentType: "audio/wav", Data: []byte("RIFF bravo secret audio"),
		CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// One thing of each kind in project B, by path parameter name.
	fixtures := map[string]string{
		"project_id":  b.project.ID,
		"user_id":     b.user.ID,
		"token_id":    b.tokenID,
		"flow_id":     bFlowID,
		"node_id":     bFlowID + ":start",
		"edge_id":     bFlowID + ":e1",
		"revision":    "1",
		"contact_id":  bSim["contact_id"].(string),
		"session_id":  bSim["id"].(string),
		"channel_id":  bChannel["id"].(string),
		"template_id": bTemplate.ID,
		"wa_flow_id":  bForm.ID,
		"provider_id": bProvider.ID,

		"dead_letter_id": bDeadLetter.ID,
		"invitation_id":  bInvitation.ID,
		"campaign_id":    bCampaign.ID,
		"execution_id":   bExecution.ID,

		"subscription_id": bSub.ID,
		"delivery_id":     "b-event-1." + bSub.ID,
		"signup_id":       "b-signup-1",
		"call_id":         "b-call-1",
	}
	secrets := []string{"bravo_secret_form", b.project.ID, b.project.Name, b.user.ID, b.user.Email, b.tokenID, bFlowID, "Bravo hidden flow",
		bSim["id"].(string), bSim["contact_id"].(string), bChannel["id"].(string), bTemplate.Name, bDeadLetter.ID, "bravo reason", bInvitation.ID, bInvitation.Email,
		"bravo-secret.example", "secret event"}

	// A fresh login per route: one of the routes is /auth/logout.
	callers := func() map[string]*client {
		return map[string]*client{"token": h.bearer(a.token), "session": h.login(a.user.Email, a.pw)}
	}
	ownerB := h.bearer(b.token)
	param := regexp.MustCompile(`\{([a-z_]+)\}`)

	for _, r := range h.api.Routes() {
		if r.Access == httpapi.Public {
			continue
		}
		missing := ""
		path := param.ReplaceAllStringFunc(r.Path, func(m string) string {
			name := m[1 : len(m)-1]
			id, ok := fixtures[name]
			if !ok {
				missing = name
			}
			return id
		})
		if missing != "" {
			t.Errorf("%s %s: no project-B fixture for {%s}; add one to TestIsolation", r.Method, r.Path, missing)
			continue
		}
		for via, c := range callers() {
			res := c.do(r.Method, path, map[string]any{})
			if path != r.Path {
				// A route naming B's thing: not found, whatever the method or body.
				if res.status != http.StatusNotFound {
					t.Errorf("%s %s via %s: status %d, want 404; body %s", r.Method, path, via, res.status, res.body)
				}
			} else if r.Method == http.MethodGet && res.status == http.StatusOK {
				for _, s := range secrets {
					if strings.Contains(string(res.body), s) {
						t.Errorf("%s %s via %s leaks project B's %q: %s", r.Method, path, via, s, res.body)
					}
				}
			}
			if res.status >= 500 {
				t.Errorf("%s %s via %s: status %d: %s", r.Method, path, via, res.status, res.body)
			}
		}
		// Control: B's owner reaches the same read, so the 404 above came
		// from isolation and not from a broken route.
		if r.Method == http.MethodGet && path != r.Path {
			res := ownerB.do(r.Method, path, nil)
			// B's channel is a web chat: its owner is told it has no
			// business profile (422), which still shows the route found it.
			if r.ID == "get-channel-profile" && res.status == http.StatusUnprocessableEntity && strings.Contains(string(res.body), "no business profile") {
				continue
			}
			if res.status != http.StatusOK {
				t.Errorf("control: %s %s as B's owner: status %d: %s", r.Method, path, res.status, res.body)
			}
		}
	}

	// Ways to name B's things in a body or query rather than the path.
	t.Run("flow in body or query", func(t *testing.T) {
		c := callers()["token"]
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/chat-flow/nodes/?flow=" + bFlowID, nil},
			{http.MethodGet, "/chat-flow/edges/?flow=" + bFlowID, nil},
			{http.MethodGet, "/chat-flow/analytics/?flow=" + bFlowID, nil},
			{http.MethodPost, "/chat-flow/nodes/", map[string]any{"flow": bFlowID, "type": "end", "version": 1}},
			{http.MethodPost, "/chat-flow/edges/", map[string]any{"flow": bFlowID, "source_node": bFlowID + ":start", "target_node": bFlowID + ":end", "version": 1}},
			// Short node and edge IDs with B's flow named in the query or body.
			{http.MethodGet, "/chat-flow/nodes/start/?flow=" + bFlowID, nil},
			{http.MethodPut, "/chat-flow/nodes/start/?flow=" + bFlowID, map[string]any{"data": map[string]any{}, "version": 1}},
			{http.MethodPut, "/chat-flow/nodes/start/", map[string]any{"flow": bFlowID, "data": map[string]any{}, "version": 1}},
			{http.MethodDelete, "/chat-flow/nodes/start/?version=1&flow=" + bFlowID, nil},
			{http.MethodGet, "/chat-flow/edges/e1/?flow=" + bFlowID, nil},
			{http.MethodDelete, "/chat-flow/edges/e1/?version=1&flow=" + bFlowID, nil},
		} {
			c.do(req.method, req.path, req.body).problem(http.StatusNotFound)
		}
		// A's own flow with B's node reference is A's flow: B's node is not in it.
		aFlow := c.do(http.MethodPost, "/chat-flow/flows/", map[string]any{"name": "Alpha flow"}).want(http.StatusCreated).json()
		c.do(http.MethodGet, "/chat-flow/nodes/"+aFlow["id"].(string)+":"+bFlowID+"/", nil).problem(http.StatusNotFound)
	})
	// IDs inside request bodies. A body's reference to project B's thing
	// must get exactly the answer a made-up ID gets (so nothing about B is
	// learnt), must name the field, and is never accepted or a 5xx. Flow
	// settings answer 422 at the field; inside flow_data a reference is a
	// lint error that blocks publishing (422 at the node's pointer).
	t.Run("IDs in bodies", func(t *testing.T) {
		c := callers()["token"]
		aFlow := c.do(http.MethodPost, "/chat-flow/flows/", map[string]any{"name": "Alpha bound"}).want(http.StatusCreated).json()
		aFlowPath := "/chat-flow/flows/" + aFlow["id"].(string) + "/"
		aChannel := c.do(http.MethodPost, "/channels/", map[string]any{"type": "webchat", "name": "Alpha web"}).want(http.StatusCreated).json()
		aSim := c.do(http.MethodPost, "/simulator/sessions/", map[string]any{"flow_id": aFlow["id"], "draft": true}).want(http.StatusCreated).json()
		aContact := aSim["contact_id"].(string)
		node := func(typ, data string) string {
			return strings.Replace(validFlow, `{"id":"end","type":"end","position":{"x":0,"y":400},"data":{}}`,
				`{"id":"end","type":"`+typ+`","position":{"x":0,"y":400},"data":`+data+`}`, 1)
		}
		// Each body is built twice: with B's ID and with an ID nobody has.
		for _, tt := range []struct {
			name, method, path string
			body               func(id string) any
			bID                string
			status             int // 0: any 4xx, as long as both answers match
			pointer            string
		}{
			{"flow channel_id on create", http.MethodPost, "/chat-flow/flows/", func(id string) any { return map[string]any{"name": "x", "channel_id": id} },
				bChannel["id"].(string), 422, "/channel_id"},
			{"flow channel_id on update", http.MethodPut, aFlowPath, func(id string) any { return map[string]any{"version": 1, "channel_id": id} },
				bChannel["id"].(string), 422, "/channel_id"},
			{"flow channel_id from a template", http.MethodPost, "/chat-flow/flows/from-template/", func(id string) any {
				return map[string]any{"template": "appointment_booking", "channel_id": id}
			}, bChannel["id"].(string), 422, "/channel_id"},
			{"flow channel_id published at once", http.MethodPost, "/chat-flow/flows/", func(id string) any {
				return map[string]any{"name": "x", "is_active": true, "flow_data": json.RawMessage(validFlow), "channel_id": id}
			}, bChannel["id"].(string), 422, "/channel_id"},
			{"subflow flow_id in flow_data", http.MethodPost, "/chat-flow/flows/", func(id string) any {
				return map[string]any{"name": "x", "is_active": true, "flow_data": json.RawMessage(node("subflow", `{"flow_id":"`+id+`"}`))}
			}, bFlowID, 422, "/flow_data/nodes/2/data/flow_id"},
			{"template_id in flow_data", http.MethodPost, "/chat-flow/flows/", func(id string) any {
				return map[string]any{"name": "x", "is_active": true, "flow_data": json.RawMessage(node("template", `{"template_id":"`+id+`"}`))}
			}, bTemplate.ID, 422, "/flow_data/nodes/2/data/template_id"},
			{"whatsapp_flow_id in flow_data", http.MethodPost, "/chat-flow/flows/", func(id string) any {
				return map[string]any{"name": "x", "is_active": true, "flow_data": json.RawMessage(node("whatsapp_flow", `{"whatsapp_flow_id":"`+id+`","body":"b","cta":"Open"}`))}
			}, bForm.ID, 422, "/flow_data/nodes/2/data/whatsapp_flow_id"},
			{"start_template", http.MethodPost, "/chat-flow/flows/", func(id string) any {
				return map[string]any{"name": "x", "is_active": true, "flow_data": json.RawMessage(validFlow), "start_template": id}
			}, bTemplate.ID, 422, "/start_template"},
			{"node's flow", http.MethodPost, "/chat-flow/nodes/", func(id string) any { return map[string]any{"flow": id, "type": "end", "version": 1} },
				bFlowID, 404, ""},
			{"simulator flow_id", http.MethodPost, "/simulator/sessions/", func(id string) any { return map[string]any{"flow_id": id} },
				bFlowID, 0, "/flow_id"},
			{"flow start channel_id", http.MethodPost, aFlowPath + "start/", func(id string) any { return map[string]any{"contact_id": aContact, "channel_id": id} },
				bChannel["id"].(string), 0, "/channel_id"},
			{"flow start contact_id", http.MethodPost, aFlowPath + "start/", func(id string) any { return map[string]any{"contact_id": id, "channel_id": aChannel["id"]} },
				bSim["contact_id"].(string), 0, "/contact_id"},
			{"agent message channel_id", http.MethodPost, "/conversations/" + aContact + "/messages/", func(id string) any { return map[string]any{"text": "hi", "channel_id": id} },
				bChannel["id"].(string), 0, "/channel_id"},
		} {
			const made = "01a00000-0000-7000-8000-000000000000"
			resB, resX := c.do(tt.method, tt.path, tt.body(tt.bID)), c.do(tt.method, tt.path, tt.body(made))
			if resB.status < 400 || resB.status >= 500 || (tt.status != 0 && resB.status != tt.status) {
				t.Errorf("%s with B's ID: status %d, want %d: %s", tt.name, resB.status, tt.status, resB.body)
				continue
			}
			strip := func(r *response, id string) string {
				m := r.problem(r.status)
				delete(m, "request_id")
				b, _ := json.Marshal(m)
				return strings.ReplaceAll(string(b), id, "ID")
			}
			if b, x := strip(resB, tt.bID), strip(resX, made); b != x {
				t.Errorf("%s: B's ID and a made-up ID are answered differently:\n B: %s\n X: %s", tt.name, b, x)
			}
			if tt.pointer != "" && !strings.Contains(string(resB.body), `"pointer":"`+tt.pointer+`"`) {
				t.Errorf("%s: no problem at %s: %s", tt.name, tt.pointer, resB.body)
			}
			for _, s := range secrets {
				if s != tt.bID && strings.Contains(string(resB.body), s) {
					t.Errorf("%s leaks project B's %q: %s", tt.name, s, resB.body)
				}
			}
		}
	})
	t.Run("switch project", func(t *testing.T) {
		callers()["session"].do(http.MethodPost, "/auth/project", map[string]string{"project_id": b.project.ID}).problem(http.StatusNotFound)
	})
	t.Run("project header", func(t *testing.T) {
		c := callers()["session"]
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/tokens/", nil)
		req.Header.Set("X-Parley-Project", b.project.ID)
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("X-Parley-Project of another project: status %d, want 404", res.StatusCode)
		}
	})
}
