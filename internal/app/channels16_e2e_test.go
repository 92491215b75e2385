package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
)

// pongFlow answers word with a text naming the channel type; its trigger
// listens on that type only.
func pongFlow(channelType, word string) string {
	return `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["` + word + `"],"channel_types":["` + channelType + `"]}}},
 {"id":"bye","type":"end","position":{"x":0,"y":100},"data":{"text":"Pong from ` + channelType + `"}}
],"edges":[{"id":"e1","source":"start","target":"bye"}]}`
}

// TestSandboxEveryChannel walks issue #16's "Done when" on a --sandbox
// server through real HTTP: for each trigger type a flow is created, bound
// to the sandbox account of that type, published, and talked to as a
// customer of that channel (the sandbox's fake for WhatsApp, Messenger,
// Instagram and Viber; the widget's endpoints for the web chat), its reply
// read where the customer sees it. Then one person's WhatsApp and web chat
// contacts, merged, show both channels' messages in one timeline, each
// labelled with its channel.
func TestSandboxEveryChannel(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{StatusDelay: 5 * time.Millisecond}})
	info, err := s.App.StartSandbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	chans := map[string]string{"whatsapp": info.ChannelID, "webchat": info.WebchatID}
	for typ, id := range info.Messaging {
		chans[typ] = id
	}
	// The web chat's own page is allowed to talk to it.
	res, err := http.Get(info.WebchatTestURL)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("test page %s: %v %v", info.WebchatTestURL, err, res)
	}
	res.Body.Close()

	customer := map[string]string{}
	var visitorToken string
	for _, typ := range []string{"whatsapp", "messenger", "instagram", "viber", "webchat"} {
		chID := chans[typ]
		if chID == "" {
			t.Fatalf("the sandbox has no %s channel: %+v", typ, info)
		}
		word := "ping" + typ
		f := s.Must("POST", "/chat-flow/flows/", map[string]any{"name": "Pong " + typ, "flow_data": json.RawMessage(pongFlow(typ, word))}, http.StatusCreated)
		flowID := f["id"].(string)
		// Bound while a draft; published; then the binding is frozen.
		s.Must("PUT", "/chat-flow/flows/"+flowID+"/", map[string]any{"channel_id": chID, "version": f["version"]}, http.StatusOK)
		pub := s.Must("POST", "/chat-flow/flows/"+flowID+"/publish/", nil, http.StatusOK)
		if pub["is_active"] != true || pub["channel_id"] != chID {
			t.Fatalf("%s: published flow = %v", typ, pub)
		}
		if st, _, _ := s.Call("PUT", "/chat-flow/flows/"+flowID+"/", map[string]any{"channel_id": info.ChannelID, "version": pub["version"]}); st != http.StatusConflict && typ != "whatsapp" {
			t.Fatalf("%s: rebinding a published flow: %d, want 409", typ, st)
		}

		want := "Pong from " + typ
		if typ == "webchat" {
			visitorToken = webVisitorSays(t, s.Base, chID, "", word, want)
			continue
		}
		from := "6200000000000001"
		if typ == "whatsapp" {
			from = "15551234567"
		}
		customer[typ] = from
		st, raw := post(t, s.Base+"/sandbox/messages/", map[string]any{"channel_id": chID, "from": from, "text": word})
		if st != http.StatusCreated {
			t.Fatalf("%s: send: %d %s", typ, st, raw)
		}
		var sent struct{ After int }
		_ = json.Unmarshal([]byte(raw), &sent)
		s.Eventually(typ+" customer gets "+want, func() bool {
			var replies struct{ Items []map[string]any }
			get(t, fmt.Sprintf("%s/sandbox/replies/?channel_id=%s&to=%s&after=%d", s.Base, chID, from, sent.After), &replies)
			return len(replies.Items) > 0 && replies.Items[0]["text"] == want
		})
	}

	// One person on two channels: the WhatsApp customer and the web
	// visitor, merged, have one timeline with both channels labelled.
	contactOf := func(scheme, path string) string {
		t.Helper()
		for _, c := range s.Must("GET", "/contacts/?limit=100", nil, http.StatusOK)["results"].([]any) {
			c := c.(map[string]any)
			d := s.Must("GET", "/contacts/"+c["id"].(string)+"/", nil, http.StatusOK)
			if strings.Contains(asJSON(d["urns"]), scheme) && (path == "" || strings.Contains(asJSON(d["urns"]), path)) {
				return c["id"].(string)
			}
		}
		t.Fatalf("no contact with a %s address %s", scheme, path)
		return ""
	}
	wa, web := contactOf("whatsapp", customer["whatsapp"]), contactOf("webchat", "")
	s.Must("POST", "/contacts/"+wa+"/merge/", map[string]any{"contact_id": web}, http.StatusOK)
	seen := map[string]int{}
	for _, m := range s.Must("GET", "/conversations/"+wa+"/messages/", nil, http.StatusOK)["results"].([]any) {
		seen[m.(map[string]any)["channel_id"].(string)]++
	}
	if seen[chans["whatsapp"]] < 2 || seen[chans["webchat"]] < 2 {
		t.Fatalf("one timeline: messages per channel = %v, want both directions of %s and %s", seen, chans["whatsapp"], chans["webchat"])
	}
	// The visitor's widget still shows only the web chat's messages.
	webVisitorSays(t, s.Base, chans["webchat"], visitorToken, "pingwebchat", "Pong from webchat")
}

// webVisitorSays plays a web visitor through the widget's endpoints: a
// token (new when token is ""), the message, then the stream until the
// bot's answer want comes after it. It returns the token.
func webVisitorSays(t *testing.T, base, chID, token, text, want string) string {
	t.Helper()
	if token == "" {
		st, raw := post(t, base+"/webchat/"+chID+"/visitors", nil)
		var v struct{ Token string }
		if st != http.StatusCreated || json.Unmarshal([]byte(raw), &v) != nil || v.Token == "" {
			t.Fatalf("new visitor: %d %s", st, raw)
		}
		token = v.Token
	}
	clientID := fmt.Sprintf("msg-%d", time.Now().UnixNano())
	body, _ := json.Marshal(map[string]string{"id": clientID, "text": text})
	req, _ := http.NewRequest("POST", base+"/webchat/"+chID+"/messages", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("visitor message: %v %v", err, res)
	}
	res.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/webchat/"+chID+"/stream", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		after, found := false, false
		scan := bufio.NewScanner(res.Body)
		for !found && scan.Scan() {
			data, ok := strings.CutPrefix(scan.Text(), "data:")
			if !ok {
				continue
			}
			var m struct {
				Direction, Text string
				ClientID        string `json:"client_id"`
			}
			_ = json.Unmarshal([]byte(strings.TrimSpace(data)), &m)
			switch {
			case m.ClientID == clientID:
				after = true
			case after && m.Direction == "out" && m.Text == want:
				found = true
			case m.Text != "" && !strings.HasSuffix(m.Text, "webchat"):
				t.Fatalf("the widget shows another channel's message: %q", m.Text)
			}
		}
		res.Body.Close()
		cancel()
		if found {
			return token
		}
	}
	t.Fatalf("the web visitor got no %q", want)
	return ""
}
