// Package hostile_test sends hostile webhooks to a running Parley through
// real HTTP — forged, unsigned, truncated, absurdly nested, oversized,
// not UTF-8, for numbers Parley does not have — and checks each gets the
// status code documented in docs/testing.md, the server keeps answering
// and logs no panic, and nothing is stored for any of them. It also
// delivers the same webhook many times, at once and later, and status
// webhooks out of order.
package hostile_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/sandbox"
)

// padTo pads a JSON object with spaces before its closing brace to n bytes.
func padTo(body []byte, n int) []byte {
	i := bytes.LastIndexByte(body, '}')
	out := make([]byte, 0, n)
	out = append(out, body[:i]...)
	out = append(out, bytes.Repeat([]byte(" "), n-len(body))...)
	return append(out, body[i:]...)
}

func TestHostileWebhooks(t *testing.T) {
	t.Parallel()
	s := start(t, sandbox.Config{})
	perChannel := "/webhooks/whatsapp/" + s.channel
	shared := "/webhooks/whatsapp"
	both := []string{perChannel, shared}

	valid := inbound(pnid, "15550001111", "wamid.HOSTILE.valid", "hi")
	invalidUTF8 := bytes.Replace(inbound(pnid, "15550001111", "wamid.HOSTILE.utf8", "hi BADBYTES"), []byte("BADBYTES"), []byte{0xff, 0xfe, 0xc3}, 1)
	deep := []byte(`{"object":"whatsapp_business_account","entry":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)
	tooBig := padTo(inbound(pnid, "15550001111", "wamid.HOSTILE.big", "hi"), whatsapp.MaxWebhookBytes+1)
	justRight := padTo(inbound(pnid, "15550003333", "wamid.HOSTILE.4mb", "just right"), whatsapp.MaxWebhookBytes)
	otherNumber := inbound("9999999999", "15550001111", "wamid.HOSTILE.other", "hi")
	sign := func(b []byte) string { return whatsapp.Sign(b, appSecret) }

	for _, tc := range []struct {
		name      string
		paths     []string
		body      []byte
		signature string
		want      int
		stores    bool
	}{
		{"bad signature", both, valid, whatsapp.Sign(valid, "not-the-app-secret"), http.StatusUnauthorized, false},
		{"no signature", both, valid, "", http.StatusUnauthorized, false},
		{"malformed signature", both, valid, "sha256=not-hex", http.StatusUnauthorized, false},
		{"SHA-1 signature", both, valid, "sha1=" + strings.Repeat("ab", 20), http.StatusUnauthorized, false},
		{"signature of another body", both, valid, sign(otherNumber), http.StatusUnauthorized, false},
		{"truncated JSON, signed", both, valid[:len(valid)/2], sign(valid[:len(valid)/2]), http.StatusOK, false},
		{"empty body, signed", both, []byte{}, sign([]byte{}), http.StatusOK, false},
		{"JSON array, signed", both, []byte(`[]`), sign([]byte(`[]`)), http.StatusOK, false},
		{"10,000-deep nesting, signed", both, deep, sign(deep), http.StatusOK, false},
		{"invalid UTF-8, signed", both, invalidUTF8, sign(invalidUTF8), http.StatusOK, false},
		{"4 MB + 1 byte, signed", both, tooBig, sign(tooBig), http.StatusRequestEntityTooLarge, false},
		{"4 MB + 1 byte, unsigned (refused before reading)", both, tooBig, "", http.StatusUnauthorized, false},
		{"unknown phone number ID, signed", both, otherNumber, sign(otherNumber), http.StatusOK, false},
		{"unknown channel ID", []string{"/webhooks/whatsapp/01900000-0000-7000-8000-000000000000"}, valid, sign(valid), http.StatusNotFound, false},
		{"SQL in the channel ID", []string{"/webhooks/whatsapp/x%27%20OR%20%271%27%3D%271"}, valid, sign(valid), http.StatusNotFound, false},
		// The limit is inclusive: a body of exactly 4 MB is Meta's to send.
		{"exactly 4 MB, signed", []string{perChannel}, justRight, sign(justRight), http.StatusOK, true},
	} {
		for _, path := range tc.paths {
			label := map[string]string{perChannel: "per-channel", shared: "shared"}[path]
			if label == "" {
				label = path
			}
			t.Run(tc.name+", "+label, func(t *testing.T) {
				s.t = t
				before := s.rows()
				code, answer := s.post(path, tc.body, tc.signature)
				if code != tc.want {
					t.Errorf("answered %d, want %d: %.300s", code, tc.want, answer)
				}
				if code >= 400 && !strings.Contains(answer, `"detail"`) {
					t.Errorf("a %d without a problem detail: %.300s", code, answer)
				}
				s.healthy()
				if after := s.rows(); !tc.stores && after != before {
					t.Errorf("rows went from %+v to %+v: a refused or ignored webhook stored something", before, after)
				}
			})
		}
	}
	t.Run("authentic but unreadable bodies are dead letters", func(t *testing.T) {
		// Five signed bodies that cannot be parsed, on both endpoints:
		// acknowledged (Meta would retry them for days) and kept raw.
		s.t = t
		if got := s.query(`SELECT count(*) FROM dead_letters`); len(got) != 1 || got[0] != "10" {
			t.Errorf("dead letters = %v, want 10", got)
		}
	})
	t.Run("nothing of the hostile ones is stored", func(t *testing.T) {
		s.t = t
		got := s.query(`SELECT provider_id FROM messages`)
		if len(got) != 1 || got[0] != "wamid.HOSTILE.4mb" {
			t.Errorf("stored messages %q, want only the 4 MB one", got)
		}
	})

	for _, tc := range []struct {
		name, path string
		want       int
		body       string
	}{
		{"handshake", perChannel + "?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + verifyToken, http.StatusOK, "1158201444"},
		{"handshake, wrong token", perChannel + "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess", http.StatusForbidden, ""},
		{"handshake, no token", perChannel + "?hub.mode=subscribe&hub.challenge=1", http.StatusForbidden, ""},
		{"handshake, wrong mode", perChannel + "?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" + verifyToken, http.StatusForbidden, ""},
		{"shared handshake", shared + "?hub.mode=subscribe&hub.challenge=77&hub.verify_token=" + verifyToken, http.StatusOK, "77"},
		{"shared handshake, wrong token", shared + "?hub.mode=subscribe&hub.challenge=77&hub.verify_token=guess", http.StatusForbidden, ""},
		{"handshake, unknown channel", "/webhooks/whatsapp/01900000-0000-7000-8000-000000000000?hub.mode=subscribe&hub.challenge=1&hub.verify_token=" + verifyToken, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			code, body := s.get(tc.path)
			if code != tc.want || (tc.body != "" && body != tc.body) {
				t.Errorf("GET %s: %d %q, want %d %q", tc.path, code, body, tc.want, tc.body)
			}
			s.healthy()
		})
	}
}

// TestDuplicateWebhooks: Meta delivers the same message five times at once
// (to the channel's URL and the shared one), then five times more once all
// is settled; and status webhooks arrive out of order, repeated. One
// message, one flow step, one reply, and the highest status wins.
func TestDuplicateWebhooks(t *testing.T) {
	t.Parallel()
	s := start(t, sandbox.Config{Statuses: []string{}}) // the test sends the statuses
	perChannel := "/webhooks/whatsapp/" + s.channel
	body := inbound(pnid, "15550002222", "wamid.DUP.1", "hi")
	sig := whatsapp.Sign(body, appSecret)

	deliver := func(n int, concurrently bool) {
		t.Helper()
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			path := perChannel
			if i%2 == 1 {
				path = "/webhooks/whatsapp"
			}
			send := func() { codes[i], _ = s.post(path, body, sig) }
			if !concurrently {
				send()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				send()
			}()
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusOK {
				t.Fatalf("delivery %d answered %d, want 200", i+1, c)
			}
		}
	}
	check := func(when string) {
		t.Helper()
		if n := s.query(`SELECT count(*) FROM messages WHERE provider_id = 'wamid.DUP.1'`); n[0] != "1" {
			t.Errorf("%s: the message is stored %s times, want once", when, n[0])
		}
		if n := s.query(`SELECT count(*) FROM contact_events WHERE kind = 'message'`); n[0] != "1" {
			t.Errorf("%s: %s inbox events, want one flow step", when, n[0])
		}
		if n := s.query(`SELECT count(*) FROM flow_sessions`); n[0] != "1" {
			t.Errorf("%s: %s sessions, want 1", when, n[0])
		}
		if n := len(s.fake.Messages()); n != 1 {
			t.Errorf("%s: the fake got %d replies, want 1", when, n)
		}
	}

	deliver(5, true)
	s.eventually("the reply at the fake and the inbox handled", 30*time.Second, func() bool {
		return len(s.fake.Messages()) == 1 && s.query(`SELECT count(*) FROM contact_events WHERE handled_at IS NULL`)[0] == "0"
	})
	check("after five deliveries at once")

	// "Minutes apart": everything has settled; Meta tries again. A
	// re-delivery is dropped in the webhook's transaction, so once these
	// are acknowledged nothing new can be under way.
	deliver(5, false)
	deliver(5, true)
	check("after ten more deliveries")

	// Statuses out of order, each delivered three times at once.
	var reply struct {
		OurID string `json:"biz_opaque_callback_data"`
	}
	_ = json.Unmarshal(s.fake.Messages()[0].Body, &reply)
	if reply.OurID == "" {
		t.Fatalf("the reply carries no biz_opaque_callback_data: %s", s.fake.Messages()[0].Body)
	}
	for _, state := range []string{"read", "sent", "delivered", "sent"} {
		st := statusWebhook(reply.OurID, state)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, answer := s.post(perChannel, st, whatsapp.Sign(st, appSecret)); code != http.StatusOK {
					t.Errorf("status %s answered %d: %s", state, code, answer)
				}
			}()
		}
		wg.Wait()
	}
	if got := s.query(fmt.Sprintf(`SELECT status FROM messages WHERE id = '%s'`, reply.OurID)); len(got) != 1 || got[0] != "read" {
		t.Errorf("after read, sent, delivered, sent: status %q, want read", got)
	}
	check("after the statuses")
	s.healthy()
}

// statusWebhook is Meta's status webhook for our message.
func statusWebhook(ourID, state string) []byte {
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "100000000000001", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp", "metadata": map[string]any{"display_phone_number": "15550000000", "phone_number_id": pnid},
			"statuses": []any{map[string]any{"id": "wamid.OUT.1", "status": state, "timestamp": "1700000000",
				"recipient_id": "15550002222", "biz_opaque_callback_data": ourID}}}}}}}})
	return b
}
