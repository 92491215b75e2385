package whatsapp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/internal/channel/channeltest"
)

// fuzzSeeds returns the fixture webhooks (none when the fixtures are absent)
// plus a few inline bodies.
func fuzzSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{[]byte(textWebhook), []byte(`{}`), []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":null}]}]}`)}
	if dir, ok := channeltest.FixturesDirOK("pywa", "updates"); ok {
		for _, c := range channeltest.LoadCases(f, dir) {
			seeds = append(seeds, c.JSON)
		}
	}
	if dir, ok := channeltest.FixturesDirOK("pywa"); ok {
		if raw, err := os.ReadFile(filepath.Join(dir, "crypto_vectors.json")); err == nil {
			var v struct {
				WebhookSignature struct {
					RawBody string `json:"raw_body"`
				} `json:"webhook_signature"`
			}
			if json.Unmarshal(raw, &v) == nil {
				seeds = append(seeds, []byte(v.WebhookSignature.RawBody))
			}
		}
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Parse(body)
		if err != nil && len(evs) > 0 {
			t.Fatal("events returned with an error")
		}
		// Whatever parses must serialise for the store.
		if _, err := json.Marshal(evs); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, Sign(s, "secret"), "secret")
	}
	f.Fuzz(func(t *testing.T, body []byte, header, secret string) {
		got := VerifySignature(body, header, secret)
		if secret != "" && len(body) <= MaxWebhookBytes {
			if !VerifySignature(body, Sign(body, secret), secret) {
				t.Fatal("a body signed with the secret did not verify")
			}
			if got && header != Sign(body, secret) && len(header) == len(Sign(body, secret)) {
				// Only a hex-case variant of the true signature may pass.
				if !equalFoldASCII(header, Sign(body, secret)) {
					t.Fatalf("forged header %q verified", header)
				}
			}
		}
		if secret == "" && got {
			t.Fatal("an empty secret verified")
		}
	})
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
