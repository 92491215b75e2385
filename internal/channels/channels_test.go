package channels_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// testType is a channel type with a public account (its routing address),
// a secret token that signs its webhooks, a defaulted rate and pacing.
func testType() channel.Type {
	return channel.Type{
		Name: "testchat", Label: "Test chat",
		Fields: []channel.ConfigField{
			{Name: "account", Type: "string", Label: "Account", Required: true},
			{Name: "token", Type: "string", Label: "Token", Required: true, Secret: true},
			{Name: "rate", Type: "number", Label: "Rate", Default: float64(5)},
		},
		Configure: func(cfg map[string]any) (channel.Config, error) {
			acct, _ := cfg["account"].(string)
			if acct == "" {
				return channel.Config{}, domain.Invalid("/config/account", "account is required")
			}
			pub := map[string]any{"account": acct}
			if r, ok := cfg["rate"]; ok {
				pub["rate"] = r
			}
			return channel.Config{Public: pub, Secret: map[string]any{"token": cfg["token"]}, Address: acct}, nil
		},
		New: func(raw json.RawMessage, _ *http.Client) (channel.Adapter, error) {
			a := &testAdapter{}
			return a, json.Unmarshal(raw, &a.cfg)
		},
		Webhooks: []channel.Webhook{{Method: http.MethodPost, Path: channel.PathChannel, Kind: channel.Receive}, {Method: http.MethodPost, Kind: channel.Receive}},
	}
}

type testAdapter struct {
	cfg struct{ Account, Token string }
}

func (a *testAdapter) Type() string                              { return "testchat" }
func (a *testAdapter) VerifyHandshake(url.Values) (string, bool) { return "", false }
func (a *testAdapter) VerifySignature(_ []byte, h http.Header) bool {
	return h.Get("X-Token") == a.cfg.Token
}
func (a *testAdapter) Parse(body []byte) ([]channel.Event, error) {
	var accounts []string
	if err := json.Unmarshal(body, &accounts); err != nil {
		return nil, err
	}
	out := make([]channel.Event, len(accounts))
	for i, acct := range accounts {
		out[i] = channel.Event{Kind: channel.KindText, Channel: "testchat", AccountID: acct, Text: "hi"}
	}
	return out, nil
}
func (a *testAdapter) Send(context.Context, channel.Outbound) (channel.SendResult, error) {
	return channel.SendResult{}, nil
}
func (a *testAdapter) Secrets() []string                  { return []string{a.cfg.Token} }
func (a *testAdapter) RoutingKeys() []string              { return []string{a.cfg.Account} }
func (a *testAdapter) RoutingKey(e *channel.Event) string { return e.AccountID }
func (a *testAdapter) LimiterConfig() ratelimit.Config    { return ratelimit.Config{Rate: 5} }

func newService(t *testing.T) (*channels.Service, store.Store, string) {
	t.Helper()
	st := testdb.Open(t, store.OpenOptions{})
	box, err := secret.NewBox([]byte(strings.Repeat("k", secret.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	reg := channel.NewRegistry()
	if err := reg.Register(testType()); err != nil {
		t.Fatal(err)
	}
	clock, ids := domain.SystemClock{}, domain.UUIDv7{}
	p, err := st.ProjectCreate(context.Background(), store.ProjectCreateParams{ID: ids.NewID(), Name: "Channels", Now: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return channels.New(channels.Deps{Registry: reg, Store: st, Box: box, Clock: clock, IDs: ids}), st, p.ID
}

// TestConfigAndSecrets: a config is split by its type, secrets sealed and
// masked, kept when sent back masked, and the adapter rebuilt on a change
// while its limiter (the pacing earned) is kept.
func TestConfigAndSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, project := newService(t)

	_, err := svc.Create(ctx, channels.CreateParams{ProjectID: project, Type: "smoke-signals", Name: "x"})
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Fields[0].Pointer != "/type" || !strings.Contains(de.Message, "testchat") {
		t.Fatalf("an unknown type: %v", err)
	}
	if _, err := svc.Create(ctx, channels.CreateParams{ProjectID: project, Type: "testchat", Name: "x", Config: map[string]any{}}); domain.CodeOf(err) != domain.CodeInvalid {
		t.Fatalf("a config the type refuses: %v", err)
	}
	ch, err := svc.Create(ctx, channels.CreateParams{ProjectID: project, Type: "testchat", Name: " Test ", Config: map[string]any{"account": "a-1", "token": "tok-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name != "Test" || ch.Address != "a-1" || strings.Contains(string(ch.Config), "tok-1") || ch.Secrets == "" || strings.Contains(ch.Secrets, "tok-1") {
		t.Fatalf("stored %+v", ch)
	}
	pub := svc.PublicConfig(ch)
	if pub["token"] != channels.Masked || pub["account"] != "a-1" || pub["rate"] != float64(5) {
		t.Fatalf("shown %v", pub)
	}
	ad1, err := svc.Adapter(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	lim1 := svc.Limiter(ctx, ch)
	if lim1 == nil {
		t.Fatal("a paced adapter has no limiter")
	}

	time.Sleep(2 * time.Millisecond) // a later UpdatedAt
	ch2, err := svc.Update(ctx, channels.UpdateParams{ProjectID: project, ID: ch.ID, Config: map[string]any{"token": channels.Masked, "rate": 7}})
	if err != nil {
		t.Fatal(err)
	}
	full, err := svc.Full(ch2)
	if err != nil || full["token"] != "tok-1" || full["rate"] != float64(7) || full["account"] != "a-1" {
		t.Fatalf("after update: %v, %v", full, err)
	}
	ad2, err := svc.Adapter(ctx, ch2)
	if err != nil || ad2 == ad1 {
		t.Fatalf("the adapter was not rebuilt: %v", err)
	}
	if svc.Limiter(ctx, ch2) != lim1 {
		t.Fatal("the limiter was not kept across a config change")
	}
	// The short cache sees this process's change at once.
	if got, err := svc.InProject(ctx, project, ch.ID); err != nil || !got.UpdatedAt.Equal(ch2.UpdatedAt) {
		t.Fatalf("cached row %v, %v", got.UpdatedAt, err)
	}
	if _, err := svc.InProject(ctx, "another-project", ch.ID); domain.CodeOf(err) != domain.CodeNotFound {
		t.Fatalf("another project's channel: %v", err)
	}
	if err := svc.Delete(ctx, project, ch.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ByID(ctx, ch.ID); !errors.Is(err, store.ErrNotFound) && domain.CodeOf(err) != domain.CodeNotFound {
		t.Fatalf("a deleted channel is still cached: %v", err)
	}
}

// TestReceiveRouting: signatures are checked before parsing; a channel's
// URL takes its own events only; the shared URL routes each event by its
// routing key among the channels the signature matches.
func TestReceiveRouting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, project := newService(t)
	mk := func(acct, tok string) domain.Channel {
		ch, err := svc.Create(ctx, channels.CreateParams{ProjectID: project, Type: "testchat", Name: acct, Config: map[string]any{"account": acct, "token": tok}})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	a := mk("a", "app-1")
	mk("b", "app-1")
	mk("c", "app-2")
	signed := func(tok string) http.Header { return http.Header{"X-Token": {tok}} }
	body := []byte(`["a","b","c","z"]`)
	tests := []struct {
		name    string
		p       channels.ReceiveParams
		want    map[string]int // channel name → events
		errCode domain.Code
	}{
		{"per channel keeps its own", channels.ReceiveParams{Type: "testchat", ChannelID: a.ID, Body: body, Header: signed("app-1")}, map[string]int{"a": 1}, ""},
		{"per channel, forged", channels.ReceiveParams{Type: "testchat", ChannelID: a.ID, Body: body, Header: signed("nope")}, nil, domain.CodeUnauthorized},
		{"per channel, other type in the URL", channels.ReceiveParams{Type: "whatsapp", ChannelID: a.ID, Body: body, Header: signed("app-1")}, nil, domain.CodeNotFound},
		{"shared routes by key among the app's channels", channels.ReceiveParams{Type: "testchat", Body: body, Header: signed("app-1")}, map[string]int{"a": 1, "b": 1}, ""},
		{"shared, the other app", channels.ReceiveParams{Type: "testchat", Body: body, Header: signed("app-2")}, map[string]int{"c": 1}, ""},
		{"shared, forged", channels.ReceiveParams{Type: "testchat", Body: body, Header: signed("nope")}, nil, domain.CodeUnauthorized},
		{"shared, unreadable", channels.ReceiveParams{Type: "testchat", Body: []byte("{"), Header: signed("app-1")}, nil, domain.CodeInvalid},
	}
	for _, tc := range tests {
		batches, err := svc.Receive(ctx, tc.p)
		if tc.errCode != "" {
			if domain.CodeOf(err) != tc.errCode {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.errCode)
			}
			continue
		}
		got := map[string]int{}
		for _, bt := range batches {
			got[bt.Channel.Name] += len(bt.Events)
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
			continue
		}
		for k, n := range tc.want {
			if got[k] != n {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// TestAddressTakenRevealsNothing: connecting an address another project's
// channel has gets the same answer as any reserved address, naming no
// channel; within the project the answer names the channel that has it.
func TestAddressTakenRevealsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, st, project := newService(t)
	other, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p-other", Name: "Other", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, channels.CreateParams{ProjectID: other.ID, Type: "testchat", Name: "Their secret line", Config: map[string]any{"account": "acct-9", "token": "t"}}); err != nil {
		t.Fatal(err)
	}
	mine, err := svc.Create(ctx, channels.CreateParams{ProjectID: project, Type: "testchat", Name: "My line", Config: map[string]any{"account": "acct-1", "token": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, account string
		want, never   []string
	}{
		{"another project's", "acct-9", []string{"cannot be connected", "elsewhere or reserved"}, []string{"Their secret line", "another"}},
		{"this project's", "acct-1", []string{"My line"}, nil},
	} {
		_, err := svc.Create(ctx, channels.CreateParams{ProjectID: project, Type: "testchat", Name: "New", Config: map[string]any{"account": tc.account, "token": "t"}})
		if domain.CodeOf(err) != domain.CodeConflict {
			t.Fatalf("%s: %v, want a conflict", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
		for _, n := range tc.never {
			if strings.Contains(err.Error(), n) {
				t.Errorf("%s: %q reveals %q", tc.name, err, n)
			}
		}
	}
	// Moving a channel onto the address by an edit answers the same.
	_, err = svc.Update(ctx, channels.UpdateParams{ProjectID: project, ID: mine.ID, Config: map[string]any{"account": "acct-9"}})
	if domain.CodeOf(err) != domain.CodeConflict || !strings.Contains(err.Error(), "elsewhere or reserved") {
		t.Fatalf("update onto another project's address: %v", err)
	}
}
