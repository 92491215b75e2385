package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
)

func apiConfig(base string, timeout any) map[string]any {
	cfg := map[string]any{"phone_number_id": testPNID, "waba_id": "102290129340398", "access_token": testToken,
		"app_secret": testSecret, "verify_token": "verify-me", "api_base_url": base}
	if timeout != nil {
		cfg["request_timeout_seconds"] = timeout
	}
	return cfg
}

func TestTypeConformance(t *testing.T) {
	t.Parallel()
	without := func(k string) map[string]any {
		cfg := apiConfig(DefaultAPIBaseURL, nil)
		delete(cfg, k)
		return cfg
	}
	with := func(k string, v any) map[string]any {
		cfg := apiConfig(DefaultAPIBaseURL, nil)
		cfg[k] = v
		return cfg
	}
	channeltest.RunType(t, channeltest.TypeSuite{
		Type:  Definition(),
		Valid: apiConfig(DefaultAPIBaseURL, nil),
		Invalid: []channeltest.InvalidConfig{
			{Name: "no phone number ID", Config: without("phone_number_id"), Pointer: "/config/phone_number_id"},
			{Name: "a phone number for the ID", Config: with("phone_number_id", "+1 555 0100"), Pointer: "/config/phone_number_id"},
			{Name: "no token", Config: without("access_token"), Pointer: "/config/access_token"},
			{Name: "no app secret", Config: without("app_secret"), Pointer: "/config/app_secret"},
			{Name: "timeout 0", Config: with("request_timeout_seconds", 0), Pointer: "/config/request_timeout_seconds"},
			{Name: "timeout 121", Config: with("request_timeout_seconds", 121), Pointer: "/config/request_timeout_seconds"},
			{Name: "a string timeout", Config: with("request_timeout_seconds", "10"), Pointer: "/config/request_timeout_seconds"},
			{Name: "an unknown setting", Config: with("phone", "1"), Pointer: "/config/phone"},
		},
	})
}

// TestConfigure: secrets are split off, the phone number ID routes, a
// missing verify token is made up and defaults are stored.
func TestConfigure(t *testing.T) {
	t.Parallel()
	cfg := apiConfig("https://graph.facebook.com", nil)
	delete(cfg, "verify_token")
	d, err := Configure(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Address != testPNID || d.Secret["access_token"] != testToken || d.Secret["app_secret"] != testSecret {
		t.Fatalf("split %+v", d)
	}
	if _, leaked := d.Public["access_token"]; leaked {
		t.Fatal("the token is public")
	}
	if v, _ := d.Public["verify_token"].(string); len(v) < 20 {
		t.Fatalf("verify token %q was not made up", v)
	}
	if d.Public["request_timeout_seconds"] != float64(DefaultRequestTimeoutSeconds) {
		t.Fatalf("public = %v", d.Public)
	}
}

// TestRequestTimeout: a channel's request_timeout_seconds bounds its
// adapter's Graph API calls: against a fake that never answers, a send on
// a channel with 1 s fails retryably after about 1 s.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })

	d, err := Configure(apiConfig(hung.URL, 1))
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]any{}
	for k, v := range d.Public {
		full[k] = v
	}
	for k, v := range d.Secret {
		full[k] = v
	}
	raw, _ := json.Marshal(full)
	ad, err := Definition().New(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = ad.Send(context.Background(), channel.Outbound{Kind: channel.OutText, OurID: "m-1", To: "15551234567", Text: "hi"})
	took := time.Since(began)
	var se *channel.SendError
	if !errors.As(err, &se) || se.Class != channel.Retryable || !strings.Contains(se.Title, "did not answer in time") {
		t.Fatalf("send against a hung Graph API: %v; want a retryable timeout", err)
	}
	if took < 900*time.Millisecond || took > 2*time.Second {
		t.Fatalf("the timeout took %v; want about 1 s", took)
	}
}

// TestCapabilities: the 24-hour window, webhook routing keys and forms.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	a, err := New(testConfig("http://127.0.0.1:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { at := now.Add(-d); return &at }
	text := channel.Outbound{Kind: channel.OutText, To: "1", Text: "hi"}
	tmpl := channel.Outbound{Kind: channel.OutTemplate, To: "1", Template: &channel.TemplateSend{Name: "t", Language: "en"}}
	windows := []struct {
		name string
		msg  channel.Outbound
		last *time.Time
		ok   bool
	}{
		{"text within 24 h", text, ago(23 * time.Hour), true},
		{"text after 24 h", text, ago(25 * time.Hour), false},
		{"text to someone who never wrote", text, nil, false},
		{"template after 24 h", tmpl, ago(72 * time.Hour), true},
		{"template to someone who never wrote", tmpl, nil, true},
	}
	for _, w := range windows {
		err := a.CheckWindow(w.msg, w.last, now)
		var se *channel.SendError
		if w.ok != (err == nil) || !w.ok && (!errors.As(err, &se) || se.Code != CodeOutsideWindow || se.Class != channel.Permanent) {
			t.Errorf("%s: CheckWindow = %v", w.name, err)
		}
	}
	keys := a.RoutingKeys()
	routes := []struct {
		e    channel.Event
		want string
	}{
		{channel.Event{AccountID: testPNID}, testPNID},
		{channel.Event{BusinessID: "102290129340398"}, "waba:102290129340398"},
		{channel.Event{}, ""},
	}
	for _, r := range routes {
		got := a.RoutingKey(&r.e)
		if got != r.want || got != "" && !strings.Contains(strings.Join(keys, " "), got) {
			t.Errorf("RoutingKey(%+v) = %q (keys %v), want %q", r.e, got, keys, r.want)
		}
	}
	if !a.SendsForms() {
		t.Error("WhatsApp sends Flows")
	}
}
