package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/metamsg"
	"github.com/parleyhq/parley/internal/channel/viber"
	"github.com/parleyhq/parley/internal/sandbox"
)

// pickFlow asks with two buttons; the trigger listens on one channel type.
func pickFlow(channelType string) string {
	return `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"],"channel_types":["` + channelType + `"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Pick one","buttons":["Book","Track"],"timeout_seconds":60}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked"}},
 {"id":"track","type":"end","position":{"x":200,"y":200},"data":{"text":"Tracking"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"Track","target":"track"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"track"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"track"}
]}`
}

// onlyContact is the one contact of a fresh server.
func (r *running) onlyContact() string {
	out := r.must("GET", "/contacts/", nil, http.StatusOK)
	l := out["results"].([]any)
	if len(l) != 1 {
		r.t.Fatalf("%d contacts: %v", len(l), l)
	}
	return l[0].(map[string]any)["id"].(string)
}

// sentTo are the fake's requests to a path prefix, as JSON bodies: the
// messages, not the sender actions (mark_seen, sent in the background).
func (r *running) sentTo(prefix string) []map[string]any {
	return r.posted(prefix, false)
}

// posted are the fake's POSTs to a path prefix, as JSON bodies: the
// sender actions, or everything else.
func (r *running) posted(prefix string, actions bool) []map[string]any {
	var out []map[string]any
	for _, q := range r.fake.Requests() {
		if strings.HasPrefix(q.Path, prefix) && q.Method == http.MethodPost {
			var m map[string]any
			_ = json.Unmarshal(q.Body, &m)
			if _, ok := m["sender_action"]; ok == actions {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestMetaEndToEnd: for Messenger and Instagram, through real HTTP: the
// verify handshake, a signed message in (twice: one step), the flow's
// question at the fake Graph API with the documented body, the receipt
// webhook moving the message on, a tap continuing the flow; bad signatures
// and hostile bodies refused with nothing stored.
func TestMetaEndToEnd(t *testing.T) {
	t.Parallel()
	for _, p := range []metamsg.Platform{metamsg.Messenger, metamsg.Instagram} {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			// Receipts come at once: neither Meta's receipts nor Viber's
			// echo our ID, so one that overtakes the send's answer is kept
			// until the answer records the provider ID.
			r := start(t, sandbox.Config{StatusDelay: sandbox.NoDelay})
			account, base := sandbox.MessengerPageID, r.fake.URL()+sandbox.MessengerPath
			if p.Name == metamsg.Instagram.Name {
				account, base = sandbox.InstagramID, r.fake.URL()+sandbox.InstagramPath
			}
			ch := r.must("POST", "/channels/", map[string]any{"type": p.Name, "name": p.Label, "config": map[string]any{
				p.IDField: account, "access_token": sandbox.MetaAccessToken, "app_secret": sandbox.MetaAppSecret,
				"verify_token": "verify-me", "api_base_url": base}}, http.StatusCreated)
			chID := ch["id"].(string)
			hook := r.base + "/webhooks/" + p.Name + "/" + chID
			r.fake.SetPlatformWebhookURL(p.Name, hook)
			r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Pick", "is_active": true, "flow_data": json.RawMessage(pickFlow(p.Name))}, http.StatusCreated)

			// The credentials check asks the (fake) Graph API for the account.
			if rep := r.must("POST", "/channels/"+chID+"/check/", nil, http.StatusOK); rep["ok"] != true {
				t.Fatalf("check = %v", rep)
			}
			r.must("PUT", "/channels/"+chID+"/", map[string]any{"config": map[string]any{"access_token": "wrong-token"}}, http.StatusOK)
			if rep := r.must("POST", "/channels/"+chID+"/check/", nil, http.StatusOK); rep["ok"] != false || !strings.Contains(asJSON(rep), "access token") {
				t.Fatalf("check with a bad token = %v", rep)
			}
			r.must("PUT", "/channels/"+chID+"/", map[string]any{"config": map[string]any{"access_token": sandbox.MetaAccessToken}}, http.StatusOK)

			// Meta's verification handshake.
			for q, want := range map[string]int{"hub.mode=subscribe&hub.challenge=42&hub.verify_token=verify-me": 200,
				"hub.mode=subscribe&hub.challenge=42&hub.verify_token=wrong": 403} {
				res, err := http.Get(hook + "?" + q)
				if err != nil || res.StatusCode != want {
					t.Fatalf("handshake %s: %v %v", q, err, res)
				}
				res.Body.Close()
			}

			// Hostile bodies: refused, nothing stored.
			post := func(body []byte, sig string) int {
				req, _ := http.NewRequest("POST", hook, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if sig != "" {
					req.Header.Set(metamsg.SignatureHeader, sig)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			good := []byte(`{"object":"` + p.Object + `","entry":[{"id":"` + account + `","time":1,"messaging":[{"sender":{"id":"999"},"recipient":{"id":"` + account + `"},"timestamp":1,"message":{"mid":"m_x","text":"hi"}}]}]}`)
			if st := post(good, metamsg.Sign(good, "another secret")); st != http.StatusUnauthorized {
				t.Errorf("bad signature: %d", st)
			}
			if st := post(good, ""); st != http.StatusUnauthorized {
				t.Errorf("no signature: %d", st)
			}
			for name, body := range map[string][]byte{
				"deep":    []byte(`{"object":"page","entry":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`),
				"utf8":    []byte("{\"object\":\"" + p.Object + "\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"9\"},\"message\":{\"mid\":\"m\",\"text\":\"\xff\xfe\"}}]}]}"),
				"garbage": []byte(`{"object":`),
			} {
				// Authentic but unreadable: kept as a dead letter, answered 200
				// so Meta does not retry forever; no message stored.
				if st := post(body, metamsg.Sign(body, sandbox.MetaAppSecret)); st != http.StatusOK {
					t.Errorf("%s: %d", name, st)
				}
			}
			big := append(append([]byte(`{"object":"page","entry":[],"x":"`), bytes.Repeat([]byte("a"), 5<<20)...), '"', '}')
			if st := post(big, metamsg.Sign(big, sandbox.MetaAppSecret)); st != http.StatusRequestEntityTooLarge {
				t.Errorf("oversized: %d", st)
			}
			if out := r.must("GET", "/contacts/", nil, http.StatusOK); len(out["results"].([]any)) != 0 {
				t.Fatalf("hostile input stored contacts: %v", out)
			}

			ctx := context.Background()
			for range 2 { // Meta re-delivers: one step only
				if _, err := r.fake.SendMeta(ctx, p.Name, sandbox.MetaInbound{From: "6200000000000001", ID: "m_IN1", Text: "hi"}); err != nil {
					t.Fatal(err)
				}
			}
			prefix := "/" + p.Name + "/"
			r.eventually("the question reaches the fake", func() bool { return len(r.sentTo(prefix)) >= 1 })
			want := `{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"Pick one","buttons":[{"type":"postback","title":"Book","payload":"b0"},{"type":"postback","title":"Track","payload":"b1"}]}}}}`
			got, _ := json.Marshal(r.sentTo(prefix)[0])
			if err := channeltest.JSONEqual(got, []byte(want)); err != nil {
				t.Fatal(err)
			}
			// The message answered is marked seen, once, in the background.
			r.eventually("mark_seen reaches the fake", func() bool { return len(r.posted(prefix, true)) == 1 })
			if got := asJSON(r.posted(prefix, true)[0]); got != `{"recipient":{"id":"6200000000000001"},"sender_action":"mark_seen"}` {
				t.Fatalf("sender action = %s", got)
			}
			// ...and is in the channel log (the exchange, secrets redacted).
			r.eventually("mark_seen is in the channel log", func() bool {
				r.App.ChannelLog().Flush(ctx)
				_, _, raw := r.Call("GET", "/channels/"+chID+"/logs/", nil)
				return strings.Contains(string(raw), "mark_seen") && !strings.Contains(string(raw), sandbox.MetaAccessToken)
			})
			contact := r.onlyContact()
			// Messenger: delivered (mid), then read up to a watermark;
			// Instagram: messaging_seen with the mid.
			wantStatus := "read"
			r.eventually("the receipt moves the message to "+wantStatus, func() bool {
				for _, m := range r.conversation(contact) {
					if m["direction"] == "out" && m["status"] == wantStatus {
						return true
					}
				}
				return false
			})

			if _, err := r.fake.SendMeta(ctx, p.Name, sandbox.MetaInbound{From: "6200000000000001", ID: "m_IN2", Postback: &sandbox.Postback{Title: "Book", Payload: "b0"}}); err != nil {
				t.Fatal(err)
			}
			r.eventually("the flow answers the tap", func() bool {
				s := r.sentTo(prefix)
				return len(s) >= 2 && strings.Contains(asJSON(s[len(s)-1]), `"text":"Booked"`)
			})
			time.Sleep(100 * time.Millisecond)
			if n := len(r.sentTo(prefix)); n != 2 {
				t.Errorf("%d sends: a duplicate made a second step", n)
			}
			// The tap is a new message: marked seen once more.
			if n := len(r.posted(prefix, true)); n != 2 {
				t.Errorf("%d mark_seen calls, want one per message answered", n)
			}
			ins := 0
			for _, m := range r.conversation(contact) {
				if m["direction"] == "in" {
					ins++
				}
			}
			if ins != 2 {
				t.Errorf("%d inbound messages stored, want 2 (the re-delivery is one)", ins)
			}
		})
	}
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestViberEndToEnd: saving the channel registers its webhook (Viber checks
// it with a signed callback); conversation_started is answered with the
// welcome message; a message runs the flow and the keyboard reaches the
// fake with the documented body; delivered/seen move it; a keyboard tap
// (its text) continues; unsubscribing marks the contact and Viber refuses
// further sends; deleting the channel removes the webhook.
func TestViberEndToEnd(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{StatusDelay: sandbox.NoDelay})
	ch := r.must("POST", "/channels/", map[string]any{"type": "viber", "name": "Viber", "config": map[string]any{
		"auth_token": sandbox.ViberToken, "sender_name": "Parley Bot", "welcome_message": "Welcome! Say hi.",
		"api_base_url": r.fake.URL() + sandbox.ViberPath}}, http.StatusCreated)
	chID := ch["id"].(string)
	hook := r.base + "/webhooks/viber/" + chID
	if got := r.fake.PlatformWebhookURL("viber"); got != hook {
		t.Fatalf("set_webhook registered %q, want %q", got, hook)
	}
	// A wrong token is refused at save: nothing is stored.
	if st, out := r.call("POST", "/channels/", map[string]any{"type": "viber", "name": "Bad", "config": map[string]any{
		"auth_token": "wrong", "sender_name": "Bot", "api_base_url": r.fake.URL() + sandbox.ViberPath}}); st != http.StatusUnprocessableEntity {
		t.Fatalf("bad token: %d %v", st, out)
	}
	if out := r.must("GET", "/channels/", nil, http.StatusOK); len(out["results"].([]any)) != 1 {
		t.Fatalf("a channel whose webhook failed was kept: %v", out)
	}
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Pick", "is_active": true, "flow_data": json.RawMessage(pickFlow("viber"))}, http.StatusCreated)
	ctx := context.Background()

	_, answer, err := r.fake.SendViber(ctx, sandbox.ViberInbound{Event: "conversation_started", From: "01234567890A=", Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	if err := channeltest.JSONEqual(answer, []byte(`{"sender":{"name":"Parley Bot"},"type":"text","text":"Welcome! Say hi.","min_api_version":1}`)); err != nil {
		t.Fatalf("welcome: %v", err)
	}

	// Bad signature: 401, nothing stored.
	body := []byte(`{"event":"message","timestamp":1,"message_token":77,"sender":{"id":"x"},"message":{"type":"text","text":"hi"}}`)
	req, _ := http.NewRequest("POST", hook, bytes.NewReader(body))
	req.Header.Set(viber.SignatureHeader, viber.Sign(body, "not the token"))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature: %v %v", err, res)
	}
	// Authentic but hostile callbacks: kept as dead letters (200, so Viber
	// stops retrying), nothing stored.
	for name, body := range map[string][]byte{
		"deep": []byte(`{"event":"message","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`),
		"utf8": []byte("{\"event\":\"message\",\"timestamp\":1,\"message_token\":5,\"sender\":{\"id\":\"x\"},\"message\":{\"type\":\"text\",\"text\":\"\xff\"}}"),
		"big":  append(append([]byte(`{"event":"message","x":"`), bytes.Repeat([]byte("a"), 5<<20)...), '"', '}'),
	} {
		req, _ := http.NewRequest("POST", hook, bytes.NewReader(body))
		req.Header.Set(viber.SignatureHeader, viber.Sign(body, sandbox.ViberToken))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := http.StatusOK
		if name == "big" {
			want = http.StatusRequestEntityTooLarge
		}
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", name, res.StatusCode, want)
		}
	}
	// Ann, who opened the chat above, is the one contact.
	if out := r.must("GET", "/contacts/", nil, http.StatusOK); len(out["results"].([]any)) != 1 {
		t.Fatalf("hostile callbacks stored contacts: %v", out)
	}

	for range 2 { // a re-delivered callback is one step
		if _, _, err := r.fake.SendViber(ctx, sandbox.ViberInbound{From: "01234567890A=", Name: "Ann", Text: "hi", Token: 4912661846655238145}); err != nil {
			t.Fatal(err)
		}
	}
	r.eventually("the keyboard reaches the fake", func() bool { return len(r.sentTo(sandbox.ViberPath+"/send_message")) >= 1 })
	sent := r.sentTo(sandbox.ViberPath + "/send_message")
	ourID, _ := sent[0]["tracking_data"].(string)
	want := `{"receiver":"01234567890A=","min_api_version":1,"sender":{"name":"Parley Bot"},"tracking_data":"` + ourID + `","type":"text","text":"Pick one","keyboard":{"Type":"keyboard","DefaultHeight":false,"Buttons":[{"Columns":6,"Rows":1,"ActionType":"reply","ActionBody":"Book","Text":"Book"},{"Columns":6,"Rows":1,"ActionType":"reply","ActionBody":"Track","Text":"Track"}]}}`
	if err := channeltest.JSONEqual([]byte(asJSON(sent[0])), []byte(want)); err != nil {
		t.Fatal(err)
	}
	contact := r.onlyContact()
	r.eventually("delivered and seen move the message to read", func() bool {
		for _, m := range r.conversation(contact) {
			if m["direction"] == "out" && m["status"] == "read" {
				return true
			}
		}
		return false
	})
	if _, _, err := r.fake.SendViber(ctx, sandbox.ViberInbound{From: "01234567890A=", Text: "Book"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the tap continues the flow", func() bool {
		s := r.sentTo(sandbox.ViberPath + "/send_message")
		return len(s) == 2 && s[1]["text"] == "Booked"
	})

	// Unsubscribed: recorded on the contact; Viber refuses the next send,
	// which fails at once with the reason.
	if _, _, err := r.fake.SendViber(ctx, sandbox.ViberInbound{Event: "unsubscribed", From: "01234567890A="}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the contact is opted out of Viber", func() bool {
		c := r.must("GET", "/contacts/"+contact+"/", nil, http.StatusOK)
		f, _ := c["fields"].(map[string]any)
		return f["opted_out_viber"] == true
	})
	r.must("POST", "/conversations/"+contact+"/messages/", map[string]any{"text": "Are you there?"}, http.StatusCreated)
	r.eventually("the agent's message fails at once with the reason", func() bool {
		for _, m := range r.conversation(contact) {
			if m["status"] == "failed" && m["error_code"] == "6" && strings.Contains(asJSON(m), "unsubscribed from the Viber bot") {
				return true
			}
		}
		return false
	})
	// Refused before calling Viber: the fake saw no third send.
	if n := len(r.sentTo(sandbox.ViberPath + "/send_message")); n != 2 {
		t.Fatalf("%d sends reached Viber; the one to an unsubscribed person must not", n)
	}
	// Writing again subscribes them: the flow's answer is sent.
	if _, _, err := r.fake.SendViber(ctx, sandbox.ViberInbound{From: "01234567890A=", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("a message after unsubscribing is answered", func() bool { return len(r.sentTo(sandbox.ViberPath+"/send_message")) == 3 })

	r.must("DELETE", "/channels/"+chID+"/", nil, http.StatusNoContent)
	if got := r.fake.PlatformWebhookURL("viber"); got != "" {
		t.Errorf("the webhook is still %q after the channel was deleted", got)
	}
}

// TestViberConversationStartedFlow: through real HTTP, a Viber user
// opening the chat gets the welcome message as the callback's answer AND
// starts the flow whose trigger is conversation_started, bound to this
// bot; the flow's message reaches the fake (the user is subscribed).
func TestViberConversationStartedFlow(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{StatusDelay: sandbox.NoDelay})
	ch := r.must("POST", "/channels/", map[string]any{"type": "viber", "name": "Viber", "config": map[string]any{
		"auth_token": sandbox.ViberToken, "sender_name": "Parley Bot", "welcome_message": "Welcome!",
		"api_base_url": r.fake.URL() + sandbox.ViberPath}}, http.StatusCreated)
	flow := `{"nodes":[{"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"conversation_started"}}},
 {"id":"end","type":"end","position":{"x":0,"y":100},"data":{"text":"Glad you are back"}}],"edges":[{"id":"e1","source":"start","target":"end"}]}`
	r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Opened", "is_active": true, "channel_id": ch["id"], "flow_data": json.RawMessage(flow)}, http.StatusCreated)
	ctx := context.Background()
	if _, _, err := r.fake.SendViber(ctx, sandbox.ViberInbound{Event: "subscribed", From: "viberUser1=", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	_, answer, err := r.fake.SendViber(ctx, sandbox.ViberInbound{Event: "conversation_started", From: "viberUser1=", Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	if err := channeltest.JSONEqual(answer, []byte(`{"sender":{"name":"Parley Bot"},"type":"text","text":"Welcome!","min_api_version":1}`)); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	r.eventually("the conversation_started flow answers at the fake", func() bool {
		s := r.sentTo(sandbox.ViberPath + "/send_message")
		return len(s) == 1 && s[0]["text"] == "Glad you are back"
	})
}
