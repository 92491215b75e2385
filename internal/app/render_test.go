package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/channel"
)

// plainType is a text-only channel (an SMS-like provider): it declares no
// buttons, quick replies or lists, so the outbox must send a message
// node's buttons as a numbered text list, and the flow must take "2" as
// the second button.
func plainType(rec *fakeSends) channel.Type {
	return channel.Type{
		Name: "plainchat", Label: "Plain chat",
		Configure: func(map[string]any) (channel.Config, error) { return channel.Config{Public: map[string]any{}}, nil },
		New: func(json.RawMessage, *http.Client) (channel.Adapter, error) {
			return &plainAdapter{rec: rec}, nil
		},
		Webhooks: []channel.Webhook{{Method: http.MethodPost, Path: channel.PathChannel, Kind: channel.Receive, Summary: "plain webhook"}},
		Limits:   &channel.Limits{},
	}
}

type plainAdapter struct{ rec *fakeSends }

func (a *plainAdapter) Type() string                              { return "plainchat" }
func (a *plainAdapter) VerifyHandshake(url.Values) (string, bool) { return "", false }
func (a *plainAdapter) VerifySignature(_ []byte, h http.Header) bool {
	return h.Get("X-Plain") == "ok"
}
func (a *plainAdapter) Secrets() []string { return nil }

func (a *plainAdapter) Parse(body []byte) ([]channel.Event, error) {
	var in struct{ From, Text, ID string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	return []channel.Event{{Kind: channel.KindText, Channel: "plainchat", ProviderID: in.ID, Contact: channel.Contact{Address: in.From}, Text: in.Text, Timestamp: time.Now()}}, nil
}

func (a *plainAdapter) Send(_ context.Context, msg channel.Outbound) (channel.SendResult, error) {
	a.rec.mu.Lock()
	a.rec.sent = append(a.rec.sent, msg)
	a.rec.mu.Unlock()
	if msg.Kind != channel.OutText {
		return channel.SendResult{}, &channel.SendError{Class: channel.Permanent, Title: "a plain chat sends text only, not " + string(msg.Kind)}
	}
	return channel.SendResult{ProviderID: "plain." + msg.OurID}, nil
}

// TestRenderingPerChannel: the same message node is a numbered text list
// on a text-only channel, its numbers are answers, and the linter warns
// about the node for the flow bound to that channel.
func TestRenderingPerChannel(t *testing.T) {
	t.Parallel()
	rec := &fakeSends{}
	s := apptest.Start(t, apptest.Options{App: []app.Option{app.WithChannelType(plainType(rec))}})
	ch := s.Must("POST", "/channels/", map[string]any{"type": "plainchat", "name": "Plain"}, http.StatusCreated)
	id := ch["id"].(string)
	f := s.Must("POST", "/chat-flow/flows/", map[string]any{"name": "Colours", "channel_id": id, "is_active": true, "flow_data": json.RawMessage(`{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["colour"],"channel_types":["plainchat"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Pick a colour","buttons":["Red","Blue","Green"]}},
 {"id":"red","type":"end","position":{"x":0,"y":200},"data":{"text":"You chose red"}},
 {"id":"blue","type":"end","position":{"x":0,"y":200},"data":{"text":"You chose blue"}},
 {"id":"green","type":"end","position":{"x":0,"y":200},"data":{"text":"You chose green"}}
],"edges":[{"id":"e1","source":"start","target":"ask"},{"id":"e2","source":"ask","sourceHandle":"Red","target":"red"},
 {"id":"e3","source":"ask","sourceHandle":"Blue","target":"blue"},{"id":"e4","source":"ask","sourceHandle":"Green","target":"green"}]}`)}, http.StatusCreated)
	if !strings.Contains(mustString(f["problems"]), "numbered text list") {
		t.Fatalf("no channel_render warning for the text-only channel: %v", f["problems"])
	}
	say := func(text, msgID string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"from": "ann", "text": text, "id": msgID})
		req, _ := http.NewRequest("POST", s.Base+"/webhooks/plainchat/"+id, bytes.NewReader(b))
		req.Header.Set("X-Plain", "ok")
		res, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("webhook: %d", res.StatusCode)
		}
	}
	say("colour", "in-1")
	s.Eventually("the question reaches the channel", func() bool { return len(rec.all()) >= 1 })
	if got := rec.all()[0]; got.Kind != channel.OutText || got.Text != "Pick a colour\n\n1. Red\n2. Blue\n3. Green\n\nReply with a number." {
		t.Fatalf("the buttons were sent as %+v", got)
	}
	say("2", "in-2")
	s.Eventually("the answer reaches the channel", func() bool { return len(rec.all()) >= 2 })
	if got := rec.all()[1]; got.Text != "You chose blue" {
		t.Fatalf("after \"2\": %+v", got)
	}
}

func mustString(v any) string { b, _ := json.Marshal(v); return string(b) }
