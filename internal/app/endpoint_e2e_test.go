package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
)

// listener records the Authorization headers it receives.
type listener struct {
	mu   sync.Mutex
	auth []string
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.auth = append(l.auth, r.Header.Get("Authorization"))
	l.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"1","display_phone_number":"1","verified_name":"x"}`))
}

func (l *listener) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.auth...)
}

// TestProviderEndpointGuard: a channel's api_base_url cannot send the
// stored access token to an internal address (#12.3) — refused when saved,
// with a reason at the field; refused when dialled (a row saved before, or
// a name that resolves elsewhere later); a redirect is never followed with
// the token; and changing the URL of a channel with stored secrets needs
// them entered again.
func TestProviderEndpointGuard(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{})
	ctx := context.Background()
	trap := &listener{}
	internal := httptest.NewServer(trap)
	t.Cleanup(internal.Close)
	cfg := func(base string) map[string]any {
		return map[string]any{"phone_number_id": "7000001", "waba_id": apptest.WABAID, "access_token": "stolen-token",
			"app_secret": "s", "api_base_url": base}
	}
	pointer := func(out map[string]any) string {
		errs, _ := out["errors"].([]any)
		if len(errs) == 0 {
			return ""
		}
		return fmt.Sprint(errs[0].(map[string]any)["location"], errs[0].(map[string]any)["pointer"])
	}

	// Saved pointing at loopback: refused, naming the field and why.
	status, out := r.call("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Trap", "config": cfg(internal.URL)})
	if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out), "api_base_url") ||
		!strings.Contains(fmt.Sprint(out["detail"], out["errors"]), "internal address") {
		t.Fatalf("create with a loopback api_base_url: %d %v", status, out)
	}

	// A channel on the (allowed) fake; its URL changed without the secrets
	// entered again: refused at /config/access_token.
	chID := r.WhatsAppChannel(nil)
	status, out = r.call("PUT", "/channels/"+chID+"/", map[string]any{"config": map[string]any{"api_base_url": "https://graph.example.com"}})
	if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out), "/config/access_token") {
		t.Fatalf("URL change without the secrets: %d %v (%s)", status, out, pointer(out))
	}
	// With them, to an internal address: refused at /config/api_base_url.
	status, out = r.call("PUT", "/channels/"+chID+"/", map[string]any{"config": map[string]any{"api_base_url": internal.URL,
		"access_token": "stolen-token", "app_secret": "s"}})
	if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out), "/config/api_base_url") {
		t.Fatalf("URL change to loopback: %d %v", status, out)
	}

	// A row that points at an internal address anyway (saved before this
	// check, or a name that now resolves to one): the dial is refused.
	ch, err := r.App.Store().ChannelGet(ctx, store.Ref{ProjectID: r.ProjectID, ID: chID})
	if err != nil {
		t.Fatal(err)
	}
	var pub map[string]any
	_ = json.Unmarshal(ch.Config, &pub)
	pub["api_base_url"] = internal.URL
	ch.Config, _ = json.Marshal(pub)
	ch.UpdatedAt = time.Now()
	if _, err := r.App.Store().ChannelUpdate(ctx, ch); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the channel service's short cache
	rep := r.must("POST", "/channels/"+chID+"/check/", nil, http.StatusOK)
	if rep["ok"] == true || len(trap.got()) != 0 {
		t.Fatalf("check against a loopback URL: %v; the listener got %v", rep, trap.got())
	}

	// An allowed endpoint that redirects: the token does not follow.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	if err := r.App.AllowEndpoint(redirector.URL); err != nil {
		t.Fatal(err)
	}
	if err := r.App.AllowEndpoint(internal.URL); err != nil { // even to an address it may reach
		t.Fatal(err)
	}
	c2 := cfg(redirector.URL)
	c2["phone_number_id"] = "7000002"
	red := r.must("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Redirects", "config": c2}, http.StatusCreated)["id"].(string)
	rep = r.must("POST", "/channels/"+red+"/check/", nil, http.StatusOK)
	if rep["ok"] == true || len(trap.got()) != 0 {
		t.Fatalf("check through a redirect: %v; the redirect target got %v", rep, trap.got())
	}
}
