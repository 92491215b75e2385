package viber

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
)

const testToken = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"

func testConfig(base string) Config {
	return Config{AuthToken: testToken, SenderName: "Parley Bot", APIBaseURL: base, MessagesPerSecond: 10, WelcomeMessage: "Welcome!"}
}

var expected = map[string][]channel.Kind{
	"webhook.json":              {channel.KindIgnored},
	"subscribed.json":           {channel.KindPreference},
	"unsubscribed.json":         {channel.KindPreference},
	"conversation_started.json": {channel.KindConversationStarted},
	"delivered.json":            {channel.KindStatus},
	"seen.json":                 {channel.KindStatus},
	"failed.json":               {channel.KindStatus},
	"message_text.json":         {channel.KindText},
	"message_picture.json":      {channel.KindMedia},
	"message_location.json":     {channel.KindLocation},
	"message_contact.json":      {channel.KindUnsupported},
	"message_sticker.json":      {channel.KindMedia},
	"message_token_string.json": {channel.KindText},
}

func recorded(t testing.TB) []channeltest.Webhook {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no recorded Viber callbacks")
	}
	var out []channeltest.Webhook
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		k, ok := expected[filepath.Base(f)]
		if !ok {
			t.Fatalf("%s: no expectation", f)
		}
		out = append(out, channeltest.Webhook{Name: filepath.Base(f), Body: b, Kinds: k})
	}
	return out
}

const okAnswer = `{"status":0,"status_message":"ok","message_token":5741311803571721087,"chat_hostname":"SN-CHAT-05_","billing_status":1}`

func send(name string, msg channel.Outbound, body string) channeltest.SendCase {
	return channeltest.SendCase{Name: name, Msg: msg, Path: "/send_message", Body: body, Header: map[string]string{AuthHeader: testToken},
		Response: okAnswer, ProviderID: "5741311803571721087"}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	to := "01234567890A="
	sender := `"sender":{"name":"Parley Bot"}`
	channeltest.Run(t, channeltest.Suite{
		New:     func(t *testing.T, base string, hc *http.Client) channel.Adapter { return New(testConfig(base), hc) },
		Secrets: []string{testToken},
		Sign:    func(b []byte) http.Header { return http.Header{SignatureHeader: {Sign(b, testToken)}} },
		// Viber has no GET handshake: every query is refused.
		Handshake:     nil,
		Challenge:     "",
		BadHandshakes: nil,
		Webhooks:      recorded(t),
		Sends: []channeltest.SendCase{
			send("text", channel.Outbound{Kind: channel.OutText, OurID: "m1", To: to, Text: "Hello"},
				`{"receiver":"01234567890A=","min_api_version":1,`+sender+`,"tracking_data":"m1","type":"text","text":"Hello"}`),
			send("picture", channel.Outbound{Kind: channel.OutMedia, To: to, Media: &channel.MediaRef{Type: channel.MediaImage, Link: "https://example.com/a.jpg", Caption: "Look"}},
				`{"receiver":"01234567890A=","min_api_version":1,`+sender+`,"type":"picture","media":"https://example.com/a.jpg","text":"Look"}`),
			send("keyboard buttons", channel.Outbound{Kind: channel.OutButtons, To: to, Body: "Confirm?", Buttons: []channel.ReplyButton{{ID: "b0", Title: "Yes"}, {ID: "b1", Title: "No"}}},
				`{"receiver":"01234567890A=","min_api_version":1,`+sender+`,"type":"text","text":"Confirm?","keyboard":{"Type":"keyboard","DefaultHeight":false,"Buttons":[{"Columns":6,"Rows":1,"ActionType":"reply","ActionBody":"Yes","Text":"Yes"},{"Columns":6,"Rows":1,"ActionType":"reply","ActionBody":"No","Text":"No"}]}}`),
			send("rich media", channel.Outbound{Kind: channel.OutList, To: to, Body: "Plans",
				List: &channel.List{Sections: []channel.ListSection{{Rows: []channel.ListRow{{ID: "p1", Title: "Basic", Description: "5 €"}}}}}},
				`{"receiver":"01234567890A=","min_api_version":2,`+sender+`,"type":"rich_media","alt_text":"Plans","rich_media":{"Type":"rich_media","ButtonsGroupColumns":6,"ButtonsGroupRows":3,"BgColor":"#FFFFFF","Buttons":[{"Columns":6,"Rows":2,"ActionType":"none","Text":"<b>Basic</b><br>5 €"},{"Columns":6,"Rows":1,"ActionType":"reply","ActionBody":"Basic","Text":"Basic"}]}}`),
			send("link", channel.Outbound{Kind: channel.OutCTAURL, To: to, Body: "Track", CTA: &channel.CTA{DisplayText: "Open", URL: "https://example.com/t"}},
				`{"receiver":"01234567890A=","min_api_version":1,`+sender+`,"type":"text","text":"Track","keyboard":{"Type":"keyboard","DefaultHeight":false,"Buttons":[{"Columns":6,"Rows":1,"ActionType":"open-url","ActionBody":"https://example.com/t","Text":"Open"}]}}`),
		},
		Errors: []channeltest.ErrorCase{
			{Name: "not subscribed", Status: 200, Body: `{"status":6,"status_message":"receiverNotSubscribed"}`, Class: channel.Permanent, Code: 6, Cause: channel.CauseOptedOut},
			{Name: "not registered", Status: 200, Body: `{"status":5,"status_message":"receiverNotRegistered"}`, Class: channel.Permanent, Code: 5, Cause: channel.CauseUndeliverable},
			{Name: "bad token", Status: 200, Body: `{"status":2,"status_message":"invalidAuthToken"}`, Class: channel.Permanent, Code: 2, Cause: channel.CauseAuth},
			{Name: "too many", Status: 200, Body: `{"status":12,"status_message":"Too many requests"}`, Class: channel.Throttled, Code: 12, Scope: channel.ScopeRecipient},
			{Name: "bad data", Status: 200, Body: `{"status":3,"status_message":"badData"}`, Class: channel.Permanent, Code: 3, Cause: channel.CauseInvalidRequest},
			{Name: "unknown code", Status: 200, Body: `{"status":99,"status_message":"?"}`, Class: channel.Permanent, Code: 99},
			{Name: "outage", Status: 503, Body: `busy`, Class: channel.Retryable},
		},
	})
}

func TestType(t *testing.T) {
	t.Parallel()
	valid := map[string]any{"auth_token": testToken, "sender_name": "Bot"}
	with := func(k string, v any) map[string]any {
		c := map[string]any{"auth_token": testToken, "sender_name": "Bot"}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	channeltest.RunType(t, channeltest.TypeSuite{Type: Definition(), Valid: valid, Invalid: []channeltest.InvalidConfig{
		{Name: "no token", Config: with("auth_token", nil), Pointer: "/config/auth_token"},
		{Name: "long name", Config: with("sender_name", strings.Repeat("x", 29)), Pointer: "/config/sender_name"},
		{Name: "bad URL", Config: with("api_base_url", "chatapi"), Pointer: "/config/api_base_url"},
		{Name: "rate", Config: with("messages_per_second", 0.5), Pointer: "/config/messages_per_second"},
		{Name: "unknown", Config: with("page_id", "1"), Pointer: "/config/page_id"},
	}})
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	read := func(n string) channel.Event {
		b, _ := os.ReadFile("testdata/" + n)
		evs, err := Parse(b)
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v %v", n, evs, err)
		}
		return evs[0]
	}
	// message_token exceeds float64 precision: kept exactly.
	if e := read("message_text.json"); e.ProviderID != "4912661846655238145" || e.Contact.Address != "01234567890A=" || e.Contact.Name != "John McClane" ||
		e.Text != "a message to the service" || e.Extra["tracking_data"] != "tracking data" || e.DedupKey() != "viber:msg:4912661846655238145" {
		t.Errorf("text: %+v", e)
	}
	if e := read("message_token_string.json"); e.ProviderID != "912661846655238145" {
		t.Errorf("a token sent as a string: %q", e.ProviderID)
	}
	if e := read("failed.json"); e.Status.State != channel.StateFailed || e.Status.Errors[0].Title != "failure description" {
		t.Errorf("failed: %+v", e.Status)
	}
	if e := read("unsubscribed.json"); !e.Preference.OptedOut() || e.Preference.Category != PreferenceCategory || e.Contact.Address != "01234567890A=" {
		t.Errorf("unsubscribed: %+v", e.Preference)
	}
	if e := read("message_location.json"); e.Location.Latitude != 50.76891 {
		t.Errorf("location: %+v", e.Location)
	}
	for _, bad := range []string{`{"event":"message"}`, `{}`, `[`, "{\"event\":\"message\",\"x\":\"\xff\"}", `{"event":"seen"}`, strings.Repeat("[", 64)} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestWebhookLifecycle: set_webhook with the URL and the event types when
// the channel is saved, an empty URL when it is deleted; the welcome
// message answers conversation_started only.
func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		bodies = append(bodies, m)
		mu.Unlock()
		if r.URL.Path != "/set_webhook" || r.Header.Get(AuthHeader) != testToken {
			_, _ = io.WriteString(w, `{"status":2,"status_message":"invalidAuthToken"}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":0,"status_message":"ok","event_types":["delivered","seen","failed","subscribed","unsubscribed","conversation_started"]}`)
	}))
	defer srv.Close()
	a := New(testConfig(srv.URL), nil)
	if err := a.Provision(context.Background(), "https://parley.example/webhooks/viber/ch1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Unprovision(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bodies[0]["url"] != "https://parley.example/webhooks/viber/ch1" || len(bodies[0]["event_types"].([]any)) != 6 || bodies[1]["url"] != "" {
		t.Errorf("set_webhook bodies %v", bodies)
	}
	started, _ := Parse([]byte(`{"event":"conversation_started","timestamp":1,"type":"open","user":{"id":"u1"},"message_token":1,"subscribed":false}`))
	if err := channeltest.JSONEqual(a.WebhookAnswer(started), []byte(`{"sender":{"name":"Parley Bot"},"type":"text","text":"Welcome!","min_api_version":1}`)); err != nil {
		t.Error(err)
	}
	msg, _ := Parse([]byte(`{"event":"message","timestamp":1,"message_token":2,"sender":{"id":"u1"},"message":{"type":"text","text":"hi"}}`))
	if a.WebhookAnswer(msg) != nil {
		t.Error("a message callback got a welcome answer")
	}
	if err := a.CheckWindow(channel.Outbound{Kind: channel.OutText}, nil, time.Now()); err == nil {
		t.Error("a person who never subscribed or wrote was allowed")
	}
	last := time.Now().Add(-30 * 24 * time.Hour)
	if err := a.CheckWindow(channel.Outbound{Kind: channel.OutText}, &last, time.Now()); err != nil {
		t.Errorf("a subscriber: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, n := range files {
		b, _ := os.ReadFile(n)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Parse(body)
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.Channel != Type || e.Kind == "" {
				t.Fatalf("%+v", e)
			}
		}
		// Whatever parses must serialise for the store.
		if _, err := json.Marshal(evs); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}

// TestMediaSize: a video or file is sent with its size in bytes (Viber
// requires it), asked of the media's server with HEAD through the
// channel's client; 0 when the server cannot say.
func TestMediaSize(t *testing.T) {
	t.Parallel()
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing.mp4" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodHead {
			t.Errorf("media server got %s, want HEAD only", r.Method)
		}
		w.Header().Set("Content-Length", "123456")
	}))
	defer media.Close()
	var mu sync.Mutex
	var sent []map[string]any
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		sent = append(sent, m)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"status":0,"status_message":"ok","message_token":5}`)
	}))
	defer api.Close()
	a := New(testConfig(api.URL), nil)
	cases := []struct {
		name string
		m    channel.MediaRef
		want float64
	}{
		{"video", channel.MediaRef{Type: channel.MediaVideo, Link: media.URL + "/v.mp4"}, 123456},
		{"file", channel.MediaRef{Type: channel.MediaDocument, Link: media.URL + "/a.pdf", Filename: "a.pdf"}, 123456},
		{"unknown size", channel.MediaRef{Type: channel.MediaVideo, Link: media.URL + "/missing.mp4"}, 0},
	}
	for i, c := range cases {
		if _, err := a.Send(context.Background(), channel.Outbound{Kind: channel.OutMedia, To: "u1", Media: &c.m}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		mu.Lock()
		got := sent[i]["size"]
		mu.Unlock()
		if got != c.want {
			t.Errorf("%s: size %v, want %v", c.name, got, c.want)
		}
	}
}
