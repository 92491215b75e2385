package httpapi_test

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/httpapi"
)

// TestMetricsToken: with PARLEY_METRICS_TOKEN set, /metrics answers only
// a scraper sending it; without, it is open.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	open := newHarness(t)
	if res := open.bearer("").do("GET", "/metrics", nil); res.status != http.StatusOK {
		t.Fatalf("open /metrics = %d", res.status)
	}
	h := newHarnessWith(t, func(d *httpapi.Deps) { d.MetricsToken = "scrape-secret" })
	// One request first: the per-request metrics exist once a request was
	// served, whichever subtest runs first.
	if res := h.bearer("").do("GET", "/healthz", nil); res.status != http.StatusOK {
		t.Fatalf("/healthz = %d", res.status)
	}
	tests := []struct {
		name, auth string
		want       int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "Bearer nope", http.StatusUnauthorized},
		{"basic", "Basic scrape-secret", http.StatusUnauthorized},
		{"right", "Bearer scrape-secret", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest("GET", h.srv.URL+"/metrics", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(res.Body)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if tt.want == http.StatusOK && !strings.Contains(b.String(), "parley_http_request") {
				t.Fatalf("metrics body = %.200s", b.String())
			}
			if tt.want == http.StatusUnauthorized && (res.Header.Get("WWW-Authenticate") == "" || strings.Contains(b.String(), "scrape-secret")) {
				t.Fatalf("401 = %v %s", res.Header, b.String())
			}
		})
	}
}

// TestFavicon: /favicon.ico is an ICO holding a 32×32 PNG.
func TestFavicon(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.bearer("").do("GET", "/favicon.ico", nil).want(http.StatusOK)
	if res.header.Get("Content-Type") != "image/x-icon" || len(res.body) < 22 {
		t.Fatalf("favicon: %v, %d bytes", res.header, len(res.body))
	}
	b := res.body
	if binary.LittleEndian.Uint16(b[2:]) != 1 || binary.LittleEndian.Uint16(b[4:]) != 1 {
		t.Fatalf("not an ICO header: % x", b[:6])
	}
	off := binary.LittleEndian.Uint32(b[18:])
	img, err := png.Decode(bytes.NewReader(b[off:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("the icon's image: %v", err)
	}
}

// TestDocsRendersMarkdown: the reference page renders the Markdown of
// descriptions instead of showing it raw (the browser suite checks the
// result on the page).
func TestDocsRendersMarkdown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	page := string(h.bearer("").do("GET", "/docs", nil).want(http.StatusOK).body)
	for _, use := range []string{"md(s.info.description", "md(op.summary", "md(r.description", "md(p.description"} {
		if !strings.Contains(page, use) {
			t.Errorf("/docs does not render %s… as Markdown", use)
		}
	}
}
