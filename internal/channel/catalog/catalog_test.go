package catalog

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
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
)

func newCatalog(t *testing.T) *Catalog {
	t.Helper()
	box, err := secret.NewBox([]byte(strings.Repeat("k", secret.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return New(box, nil)
}

func whatsAppConfig(base string, timeout any) map[string]any {
	cfg := map[string]any{"phone_number_id": "106540352242922", "waba_id": "102290129340398", "access_token": "EAAtoken",
		"app_secret": "app-secret", "verify_token": "verify-me", "api_base_url": base}
	if timeout != nil {
		cfg["request_timeout_seconds"] = timeout
	}
	return cfg
}

// TestRequestTimeout: a WhatsApp channel's request_timeout_seconds bounds
// its adapter's Graph API calls: against a fake that never answers, a send
// on a channel with 1 s fails retryably after about 1 s.
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

	c := newCatalog(t)
	ch := domain.Channel{ID: "ch-1", Type: "whatsapp", UpdatedAt: time.Now()}
	if err := c.Apply(&ch, whatsAppConfig(hung.URL, 1)); err != nil {
		t.Fatal(err)
	}
	var public map[string]any
	_ = json.Unmarshal(ch.Config, &public)
	if public["request_timeout_seconds"] != float64(1) {
		t.Fatalf("public config = %v", public)
	}
	ad, err := c.Adapter(context.Background(), ch)
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

// TestRequestTimeoutDefaultAndRange: the default is shown with the other
// public settings; 0 and 121 are refused with the field's pointer.
func TestRequestTimeoutDefaultAndRange(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	d, err := c.Describe("whatsapp", whatsAppConfig("https://graph.facebook.com", nil))
	if err != nil {
		t.Fatal(err)
	}
	if d.Public["request_timeout_seconds"] != float64(15) {
		t.Fatalf("public = %v", d.Public)
	}
	for _, bad := range []any{0, 121} {
		_, err := c.Describe("whatsapp", whatsAppConfig("https://graph.facebook.com", bad))
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || len(de.Fields) != 1 || de.Fields[0].Pointer != "/config/request_timeout_seconds" {
			t.Fatalf("request_timeout_seconds %v: %v", bad, err)
		}
	}
}
