package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/channel/metamsg"
	"github.com/parleyhq/parley/internal/sandbox"
)

// TestReceiptsBeforeTheAnswer: receipts that reach Parley before the
// send's answer is stored (neither Meta's nor Viber's name our ID) are
// kept and applied when the answer records the provider ID — none lost.
// ReceiptsFirst makes the fake acknowledge every receipt before it answers
// the send (the overtaking order, every time); NoDelay races them. Many
// customers at once, on SQLite and, with TEST_DATABASE_URL, PostgreSQL.
func TestReceiptsBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	const customers = 12
	cases := []struct {
		name, typ string
		first     bool
	}{
		{"messenger receipts first", metamsg.Messenger.Name, true},
		{"viber receipts first", "viber", true},
		{"messenger racing", metamsg.Messenger.Name, false},
		{"viber racing", "viber", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, sandbox.Config{StatusDelay: sandbox.NoDelay, ReceiptsFirst: c.first})
			cfg := map[string]any{"page_id": sandbox.MessengerPageID, "access_token": sandbox.MetaAccessToken, "app_secret": sandbox.MetaAppSecret,
				"verify_token": "v", "api_base_url": r.fake.URL() + sandbox.MessengerPath}
			if c.typ == "viber" {
				cfg = map[string]any{"auth_token": sandbox.ViberToken, "sender_name": "Bot", "api_base_url": r.fake.URL() + sandbox.ViberPath}
			}
			ch := r.must("POST", "/channels/", map[string]any{"type": c.typ, "name": c.name, "config": cfg}, http.StatusCreated)
			if c.typ != "viber" {
				r.fake.SetPlatformWebhookURL(c.typ, r.base+"/webhooks/"+c.typ+"/"+ch["id"].(string))
			}
			r.must("POST", "/chat-flow/flows/", map[string]any{"name": "Pick", "is_active": true, "flow_data": json.RawMessage(pickFlow(c.typ))}, http.StatusCreated)

			ctx := context.Background()
			var wg sync.WaitGroup
			for i := range customers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if c.typ == "viber" {
						_, _, err = r.fake.SendViber(ctx, sandbox.ViberInbound{From: fmt.Sprintf("user%02d=", i), Text: "hi"})
					} else {
						_, err = r.fake.SendMeta(ctx, c.typ, sandbox.MetaInbound{From: fmt.Sprintf("62000000000%05d", i), Text: "hi"})
					}
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			r.eventually("every question is read", func() bool {
				out := r.must("GET", "/contacts/?limit=100", nil, http.StatusOK)
				l := out["results"].([]any)
				if len(l) != customers {
					return false
				}
				for _, k := range l {
					read := false
					for _, m := range r.conversation(k.(map[string]any)["id"].(string)) {
						read = read || m["direction"] == "out" && m["status"] == "read"
					}
					if !read {
						return false
					}
				}
				return true
			})
			// The counters move after their transactions commit, a moment
			// after the statuses they count are visible: wait for them too.
			counts := r.App.Receipts()
			var held, applied float64
			r.eventually("every kept receipt is applied", func() bool {
				held, applied = counts.Count("held"), counts.Count("applied")
				return applied == held && (!c.first || held >= customers)
			})
			if c.first && held < customers {
				t.Errorf("%v receipts kept, want at least one per message (%d): the fake sent them before answering", held, customers)
			}
			if applied != held {
				t.Errorf("%v kept receipts applied, %v kept", applied, held)
			}
		})
	}
}
