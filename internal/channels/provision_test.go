package channels_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// provisioned records what a Provisioner adapter was told, by token.
type provisioned struct {
	mu   sync.Mutex
	urls []string
}

func (p *provisioned) add(u string) { p.mu.Lock(); p.urls = append(p.urls, u); p.mu.Unlock() }

func (p *provisioned) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.urls...)
}

// hookAdapter registers its webhook when saved (unless its token is
// "refused") and answers every webhook with a welcome.
type hookAdapter struct {
	testAdapter
	log *provisioned
}

func (a *hookAdapter) Provision(_ context.Context, u string) error {
	if a.cfg.Token == "refused" {
		return errors.New("the provider refused the token")
	}
	a.log.add(u)
	return nil
}

func (a *hookAdapter) Unprovision(context.Context) error { a.log.add(""); return nil }

func (a *hookAdapter) WebhookAnswer([]channel.Event) json.RawMessage {
	return json.RawMessage(`{"welcome":true}`)
}

// TestProvisioning: a type whose provider must be told its webhook gets
// PublicURL/webhooks/{type}/{id} when a channel is created and when its
// config changes, an empty registration before it is deleted; a refusal
// keeps nothing; the adapter's answer comes with the webhook's batch.
func TestProvisioning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testdb.Open(t, store.OpenOptions{})
	box, _ := secret.NewBox([]byte(strings.Repeat("k", secret.KeySize)))
	log := &provisioned{}
	typ := testType()
	typ.New = func(raw json.RawMessage, _ *http.Client) (channel.Adapter, error) {
		a := &hookAdapter{log: log}
		return a, json.Unmarshal(raw, &a.cfg)
	}
	reg := channel.NewRegistry()
	if err := reg.Register(typ); err != nil {
		t.Fatal(err)
	}
	clock, ids := domain.SystemClock{}, domain.UUIDv7{}
	p, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: ids.NewID(), Name: "Hooks", Now: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	svc := channels.New(channels.Deps{Registry: reg, Store: st, Box: box, Clock: clock, IDs: ids,
		PublicURL: func() string { return "https://parley.example/" }})

	if _, err := svc.Create(ctx, channels.CreateParams{ProjectID: p.ID, Type: "testchat", Name: "bad", Config: map[string]any{"account": "a-0", "token": "refused"}}); domain.CodeOf(err) != domain.CodeUnprocessable ||
		!strings.Contains(err.Error(), "refused the token") {
		t.Fatalf("a refused registration: %v", err)
	}
	if list, _ := svc.List(ctx, p.ID); len(list) != 0 {
		t.Fatalf("a channel whose webhook was refused was kept: %v", list)
	}
	ch, err := svc.Create(ctx, channels.CreateParams{ProjectID: p.ID, Type: "testchat", Name: "ok", Config: map[string]any{"account": "a-1", "token": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "https://parley.example/webhooks/testchat/" + ch.ID
	if got := log.all(); len(got) != 1 || got[0] != want {
		t.Fatalf("registered %v, want [%s]", got, want)
	}
	name := "renamed"
	if _, err := svc.Update(ctx, channels.UpdateParams{ProjectID: p.ID, ID: ch.ID, Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, channels.UpdateParams{ProjectID: p.ID, ID: ch.ID, Config: map[string]any{"token": "t2"}}); err != nil {
		t.Fatal(err)
	}
	if got := log.all(); len(got) != 2 {
		t.Fatalf("a rename or a config change: registrations %v, want one more for the config only", got)
	}
	batches, err := svc.Receive(ctx, channels.ReceiveParams{Type: "testchat", ChannelID: ch.ID, Body: []byte(`["a-1"]`), Header: http.Header{"X-Token": {"t2"}}})
	if err != nil || len(batches) != 1 || string(batches[0].Answer) != `{"welcome":true}` {
		t.Fatalf("receive: %v %v", batches, err)
	}
	if err := svc.Delete(ctx, p.ID, ch.ID); err != nil {
		t.Fatal(err)
	}
	if got := log.all(); len(got) != 3 || got[2] != "" {
		t.Fatalf("after delete: %v", got)
	}
}
