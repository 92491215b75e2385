package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// A channel type is one package plus one line in app.ChannelTypes: this
// test adds a type that exists only here, runs it end to end through the
// API (webhook → flow → send), and fails if any package outside the
// composition root names a concrete adapter package.
func TestAChannelIsOnePackage(t *testing.T) {
	t.Parallel()
	t.Run("a fake type runs end to end", func(t *testing.T) {
		t.Parallel()
		testFakeChannelEndToEnd(t)
	})
	t.Run("only the composition root imports adapters", func(t *testing.T) {
		t.Parallel()
		testOnlyAppImportsAdapters(t)
	})
}

// fakeSends records what the fake channel sent.
type fakeSends struct {
	mu   sync.Mutex
	sent []channel.Outbound
}

func (f *fakeSends) all() []channel.Outbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]channel.Outbound(nil), f.sent...)
}

// fakeType is a provider that signs its webhooks with a shared token, sends
// {"account","from","name","text","id"} bodies, refuses messages to
// "closed" contacts by its messaging-window policy, and records its sends.
func fakeType(rec *fakeSends) channel.Type {
	return channel.Type{
		Name:  "fakechat",
		Label: "Fake chat",
		Fields: []channel.ConfigField{
			{Name: "account", Type: "string", Label: "Account", Required: true},
			{Name: "token", Type: "string", Label: "Token", Required: true, Secret: true},
		},
		Configure: func(cfg map[string]any) (channel.Config, error) {
			acct, _ := cfg["account"].(string)
			tok, _ := cfg["token"].(string)
			if acct == "" {
				return channel.Config{}, domain.Invalid("/config/account", "account is required")
			}
			if tok == "" {
				return channel.Config{}, domain.Invalid("/config/token", "token is required")
			}
			return channel.Config{Public: map[string]any{"account": acct}, Secret: map[string]any{"token": tok}, Address: acct}, nil
		},
		New: func(raw json.RawMessage, _ *http.Client) (channel.Adapter, error) {
			var cfg struct{ Account, Token string }
			if err := json.Unmarshal(raw, &cfg); err != nil {
				return nil, err
			}
			return &fakeAdapter{account: cfg.Account, token: cfg.Token, rec: rec}, nil
		},
		Webhooks: []channel.Webhook{
			{Method: http.MethodGet, Path: channel.PathChannel, Kind: channel.Handshake, Summary: "fake handshake"},
			{Method: http.MethodPost, Path: channel.PathChannel, Kind: channel.Receive, Summary: "fake webhook"},
			{Method: http.MethodPost, Kind: channel.Receive, Summary: "fake shared webhook"},
		},
	}
}

type fakeAdapter struct {
	account, token string
	rec            *fakeSends
}

var (
	_ channel.Window = (*fakeAdapter)(nil)
	_ channel.Router = (*fakeAdapter)(nil)
)

func (a *fakeAdapter) Type() string { return "fakechat" }

func (a *fakeAdapter) VerifyHandshake(q url.Values) (string, bool) {
	return q.Get("challenge"), q.Get("token") == a.token
}

func (a *fakeAdapter) VerifySignature(body []byte, h http.Header) bool {
	return h.Get("X-Fake-Token") == a.token
}

func (a *fakeAdapter) Parse(body []byte) ([]channel.Event, error) {
	var in []struct{ Account, From, Name, Text, ID string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	out := make([]channel.Event, len(in))
	for i, m := range in {
		out[i] = channel.Event{Kind: channel.KindText, Channel: "fakechat", AccountID: m.Account, ProviderID: m.ID,
			Contact: channel.Contact{Address: m.From, Name: m.Name}, Text: m.Text, Timestamp: time.Now()}
	}
	return out, nil
}

func (a *fakeAdapter) Send(_ context.Context, msg channel.Outbound) (channel.SendResult, error) {
	a.rec.mu.Lock()
	a.rec.sent = append(a.rec.sent, msg)
	a.rec.mu.Unlock()
	return channel.SendResult{ProviderID: "fake." + msg.OurID}, nil
}

func (a *fakeAdapter) Secrets() []string { return []string{a.token} }

func (a *fakeAdapter) CheckWindow(msg channel.Outbound, _ *time.Time, _ time.Time) error {
	if msg.To == "closed" {
		return &channel.SendError{Class: channel.Permanent, Code: 4242, Details: "the fake window is closed"}
	}
	return nil
}

func (a *fakeAdapter) RoutingKeys() []string              { return []string{a.account} }
func (a *fakeAdapter) RoutingKey(e *channel.Event) string { return e.AccountID }

const greet = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hello"]}}},
 {"id":"bye","type":"end","position":{"x":0,"y":100},"data":{"text":"Hi {{contact.name}}, from the flow"}}
],"edges":[{"id":"e1","source":"start","target":"bye"}]}`

func testFakeChannelEndToEnd(t *testing.T) {
	rec := &fakeSends{}
	s := apptest.Start(t, apptest.Options{App: []app.Option{app.WithChannelType(fakeType(rec))}})

	// The API describes the type from its declaration.
	types := s.Must("GET", "/channel-types/", nil, http.StatusOK)
	var fields []any
	for _, ty := range types["results"].([]any) {
		if m := ty.(map[string]any); m["name"] == "fakechat" {
			fields = m["fields"].([]any)
		}
	}
	if len(fields) != 2 || fields[1].(map[string]any)["secret"] != true {
		t.Fatalf("channel types: %v", types)
	}
	// Its Configure validates, with the pointer it gives.
	status, bad, _ := s.Call("POST", "/channels/", map[string]any{"type": "fakechat", "name": "Fake", "config": map[string]any{"account": "acct-1"}})
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity || !strings.Contains(string(mustJSON(bad)), "/config/token") {
		t.Fatalf("a config without its token: %d %v", status, bad)
	}
	ch := s.Must("POST", "/channels/", map[string]any{"type": "fakechat", "name": "Fake", "config": map[string]any{"account": "acct-1", "token": "s3cret"}}, http.StatusCreated)
	id := ch["id"].(string)
	if cfg := ch["config"].(map[string]any); cfg["token"] == "s3cret" || cfg["account"] != "acct-1" || ch["address"] != "acct-1" {
		t.Fatalf("the channel shows %v", ch)
	}
	if !strings.HasSuffix(ch["webhook_url"].(string), "/webhooks/fakechat/"+id) {
		t.Fatalf("webhook_url %v", ch["webhook_url"])
	}
	s.Publish("Greet", greet)

	// The routes the type declared are served.
	hook := func(method, path, token string, body any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, s.Base+path, bytes.NewReader(b))
		req.Header.Set("X-Fake-Token", token)
		res, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := hook("GET", "/webhooks/fakechat/"+id+"?token=s3cret&challenge=c-1", "", nil); got != http.StatusOK {
		t.Fatalf("handshake: %d", got)
	}
	if got := hook("GET", "/webhooks/fakechat/"+id+"?token=wrong&challenge=c-1", "", nil); got != http.StatusForbidden {
		t.Fatalf("a wrong handshake: %d, want 403", got)
	}
	msg := []map[string]string{{"account": "acct-1", "from": "ann-1", "name": "Ann", "text": "hello", "id": "in-1"}}
	if got := hook("POST", "/webhooks/fakechat/"+id, "forged", msg); got != http.StatusUnauthorized {
		t.Fatalf("a forged webhook: %d, want 401", got)
	}
	if got := hook("POST", "/webhooks/fakechat/"+id, "s3cret", msg); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	// The shared endpoint routes by the adapter's routing key; an event for
	// an account no channel has is dropped.
	shared := []map[string]string{{"account": "acct-1", "from": "bob-2", "name": "Bob", "text": "hello", "id": "in-2"},
		{"account": "acct-other", "from": "eve-3", "name": "Eve", "text": "hello", "id": "in-3"}}
	if got := hook("POST", "/webhooks/fakechat", "s3cret", shared); got != http.StatusOK {
		t.Fatalf("shared webhook: %d", got)
	}
	s.Eventually("the flow's replies reach the fake adapter", func() bool { return len(rec.all()) >= 2 })
	got := map[string]string{}
	for _, o := range rec.all() {
		got[o.To] = o.Text
	}
	if got["ann-1"] != "Hi Ann, from the flow" || got["bob-2"] != "Hi Bob, from the flow" || len(got) != 2 {
		t.Fatalf("sent %v", got)
	}
	// The window capability is asked by interface: a contact it refuses
	// gets a failed message with the adapter's code and reason.
	closed := []map[string]string{{"account": "acct-1", "from": "closed", "name": "Cal", "text": "hello", "id": "in-4"}}
	if got := hook("POST", "/webhooks/fakechat/"+id, "s3cret", closed); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	s.Eventually("the refused reply is marked failed", func() bool {
		contacts := s.Must("GET", "/contacts/?search=Cal", nil, http.StatusOK)
		for _, c := range contacts["results"].([]any) {
			msgs := s.Must("GET", "/conversations/"+c.(map[string]any)["id"].(string)+"/messages/", nil, http.StatusOK)
			for _, m := range msgs["results"].([]any) {
				mm := m.(map[string]any)
				if mm["direction"] == "out" && mm["status"] == "failed" && mm["error_code"] == "4242" {
					return true
				}
			}
		}
		return false
	})
	for _, o := range rec.all() {
		if o.To == "closed" {
			t.Fatalf("a message the window refused was sent: %+v", o)
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// testOnlyAppImportsAdapters walks every package's dependencies: only the
// composition root (and what is built on it: the CLI, test and benchmark
// harnesses, the sandbox) may reach an adapter package.
func testOnlyAppImportsAdapters(t *testing.T) {
	const mod = "github.com/parleyhq/parley/"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", mod+"...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	// Adapter packages are those under internal/channel/ other than the
	// contract's helpers; a new channel is caught without editing this.
	helpers := map[string]bool{mod + "internal/channel/ratelimit": true, mod + "internal/channel/channeltest": true}
	isAdapter := func(p string) bool {
		rest, ok := strings.CutPrefix(p, mod+"internal/channel/")
		return ok && !strings.Contains(rest, "/") && !helpers[p]
	}
	allowed := func(p string) bool {
		rel := strings.TrimPrefix(p, mod)
		for _, prefix := range []string{"internal/app", "internal/apptest", "internal/sandbox", "cmd/", "test/", "bench/"} {
			if rel == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(rel, prefix) {
				return true
			}
		}
		return isAdapter(p) || strings.HasPrefix(p, mod+"internal/channel/") && isAdapter(strings.Join(strings.Split(p, "/")[:6], "/"))
	}
	var checked int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		checked++
		if allowed(pkg) {
			continue
		}
		for _, dep := range fields[1:] {
			if isAdapter(dep) {
				t.Errorf("%s depends on the adapter package %s: only internal/app may name adapters; ask for a capability interface instead", pkg, dep)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("go list named only %d packages: %s", checked, out)
	}
}
