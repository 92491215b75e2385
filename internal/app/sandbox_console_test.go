package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
)

// TestSandboxConsole: serve --sandbox keeps its booking flow published
// even when another flow is published first, and the /sandbox/ routes let
// a customer talk to it without credentials: the server signs the webhook,
// replies come back as the phone shows them, buttons are tapped by title
// or number, and a wrong channel names the sandbox channels.
func TestSandboxConsole(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{StatusDelay: 5 * time.Millisecond}})
	s.Publish("Other", booking) // keyword "hi", published before the sandbox starts
	ctx := context.Background()

	// Before StartSandbox the routes say how to get one.
	if st, raw := post(t, s.Base+"/sandbox/messages/", map[string]any{"channel_id": "x", "from": "15551234567", "text": "hi"}); st != http.StatusNotFound || !strings.Contains(raw, "--sandbox") {
		t.Fatalf("without the sandbox: %d %s", st, raw)
	}
	info, err := s.App.StartSandbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FlowID == "" || info.Keyword != "book" {
		t.Fatalf("sandbox info = %+v", info)
	}
	if f := s.Must("GET", "/chat-flow/flows/"+info.FlowID+"/", nil, http.StatusOK); f["is_active"] != true {
		t.Fatalf("the sandbox flow is not published: %v", f)
	}

	// The sandbox channels: only those on the sandbox's fake (not apptest's).
	other := s.WhatsAppChannel(nil)
	var chans struct{ Items []map[string]any }
	get(t, s.Base+"/sandbox/channels/", &chans)
	byType := map[string]string{}
	for _, c := range chans.Items {
		byType[c["type"].(string)] = c["id"].(string)
	}
	if len(chans.Items) != 6 || byType["voice"] != info.VoiceID || info.VoiceID == "" || byType["webchat"] != info.WebchatID || byType["whatsapp"] != info.ChannelID || byType["messenger"] != info.Messaging["messenger"] ||
		byType["instagram"] != info.Messaging["instagram"] || byType["viber"] != info.Messaging["viber"] {
		t.Fatalf("sandbox channels = %v (info %+v)", chans.Items, info)
	}
	for _, id := range []string{"nope", other} {
		st, raw := post(t, s.Base+"/sandbox/messages/", map[string]any{"channel_id": id, "from": "15551234567", "text": "book"})
		if st != http.StatusNotFound || !strings.Contains(raw, info.ChannelID) {
			t.Fatalf("channel %s: %d %s; want 404 naming %s", id, st, raw, info.ChannelID)
		}
	}
	if st, raw := post(t, s.Base+"/sandbox/messages/", map[string]any{"channel_id": info.ChannelID, "from": "15551234567", "text": "a", "button": "b"}); st != http.StatusUnprocessableEntity {
		t.Fatalf("two kinds at once: %d %s", st, raw)
	}

	chID, from := info.ChannelID, "15551234567"
	say := func(field, value string) []map[string]any {
		t.Helper()
		st, raw := post(t, s.Base+"/sandbox/messages/", map[string]any{"channel_id": chID, "from": from, field: value})
		if st != http.StatusCreated {
			t.Fatalf("send %s %q: %d %s", field, value, st, raw)
		}
		var sent struct {
			After int
			Kind  string
			Title string
		}
		_ = json.Unmarshal([]byte(raw), &sent)
		var replies struct{ Items []map[string]any }
		s.Eventually("the bot answers "+value, func() bool {
			get(t, fmt.Sprintf("%s/sandbox/replies/?channel_id=%s&to=%s&after=%d", s.Base, chID, from, sent.After), &replies)
			return len(replies.Items) > 0
		})
		return replies.Items
	}
	r := say("text", "book")
	if !strings.Contains(fmt.Sprint(r[0]["text"]), "book an appointment") || !strings.Contains(fmt.Sprint(r[0]["options"]), "title:Book now") {
		t.Fatalf("first reply = %v", r)
	}
	// "1" taps the first button: the flow goes on to the services.
	r = say("button", "1")
	if !strings.Contains(fmt.Sprint(r[0]["text"]), "Which service") {
		t.Fatalf("after tapping 1: %v", r)
	}

	// The same conversation as a Messenger, Instagram and Viber customer:
	// the fake answers as each platform and the tap goes back as each
	// platform sends it (a postback, the keyboard button's text).
	for _, typ := range []string{"messenger", "instagram", "viber"} {
		chID, from = info.Messaging[typ], "6200000000000001"
		r = say("text", "book")
		if !strings.Contains(fmt.Sprint(r[0]["text"]), "book an appointment") || !strings.Contains(fmt.Sprint(r[0]["options"]), "title:Book now") {
			t.Fatalf("%s: first reply = %v", typ, r)
		}
		r = say("button", "1")
		if !strings.Contains(fmt.Sprint(r), "Which service") {
			t.Fatalf("%s: after tapping 1: %v", typ, r)
		}
	}
	// Another customer asks for a human: the inbox lists them as waiting.
	for _, m := range []map[string]any{{"text": "book"}, {"button": "Talk to a human"}} {
		m["channel_id"], m["from"] = info.ChannelID, "15550001111"
		if st, raw := post(t, s.Base+"/sandbox/messages/", m); st != http.StatusCreated {
			t.Fatalf("%v: %d %s", m, st, raw)
		}
		if m["text"] != nil { // tap only once the buttons are there
			s.Eventually("the welcome", func() bool {
				var replies struct{ Items []map[string]any }
				get(t, s.Base+"/sandbox/replies/?channel_id="+info.ChannelID+"&to=15550001111", &replies)
				return len(replies.Items) > 0
			})
		}
	}
	s.Eventually("the handoff shows in the inbox", func() bool {
		w := s.Must("GET", "/contacts/?waiting_for_human=true", nil, http.StatusOK)["results"].([]any)
		return len(w) == 1 && w[0].(map[string]any)["phone"] == "+15550001111" && w[0].(map[string]any)["waiting_for_human"] == true
	})
	for _, c := range s.Must("GET", "/contacts/", nil, http.StatusOK)["results"].([]any) {
		if c := c.(map[string]any); c["waiting_for_human"] != (c["phone"] == "+15550001111") {
			t.Fatalf("contact %v", c)
		}
	}
	// The conversation's session names its flow.
	w := s.Must("GET", "/contacts/?waiting_for_human=true", nil, http.StatusOK)["results"].([]any)[0].(map[string]any)
	d := s.Must("GET", "/contacts/"+w["id"].(string)+"/", nil, http.StatusOK)
	sess, _ := d["session"].(map[string]any)
	if sess == nil || sess["flow_name"] != app.SandboxFlowName || d["waiting_for_human"] != true {
		t.Fatalf("contact detail = %v", d)
	}
	if got := s.Must("GET", "/sessions/"+sess["id"].(string)+"/", nil, http.StatusOK); got["flow_name"] != app.SandboxFlowName {
		t.Fatalf("session = %v", got)
	}
}

func post(t *testing.T, url string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return res.StatusCode, buf.String()
}

func get(t *testing.T, url string, out any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	_ = json.NewDecoder(res.Body).Decode(out)
}

// TestSandboxNotice: POST /sandbox/notices/ plays Meta reporting on the
// sandbox number: the server signs and posts the webhook to the sandbox
// channel, which acknowledges it (its campaigns pause:
// TestCampaignPausedByMetaNotice); an event the field does not have is
// refused with the events it has.
func TestSandboxNotice(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{StatusDelay: 5 * time.Millisecond}})
	info, err := s.App.StartSandbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		want   string
	}{
		{"quality flagged", map[string]any{"channel_id": info.ChannelID, "field": "phone_number_quality_update", "event": "FLAGGED", "current_limit": "TIER_250"}, http.StatusCreated, `"current_limit":"TIER_250"`},
		{"account restricted", map[string]any{"channel_id": info.ChannelID, "field": "account_update", "event": "ACCOUNT_RESTRICTION"}, http.StatusCreated, "RESTRICTED_BIZ_INITIATED_MESSAGING"},
		{"event of the other field", map[string]any{"channel_id": info.ChannelID, "field": "account_update", "event": "FLAGGED"}, http.StatusUnprocessableEntity, "ACCOUNT_RESTRICTION"},
		{"not a sandbox channel", map[string]any{"channel_id": "nope", "field": "account_update", "event": "ACCOUNT_VIOLATION"}, http.StatusNotFound, info.ChannelID},
	}
	for _, tc := range tests {
		st, raw := post(t, s.Base+"/sandbox/notices/", tc.body)
		if st != tc.status || !strings.Contains(raw, tc.want) {
			t.Errorf("%s: %d %s; want %d with %q", tc.name, st, raw, tc.status, tc.want)
		}
	}
}
