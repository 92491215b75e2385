package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSecurityHeaders checks the UI and the docs page cannot be framed or
// sniffed, carry a CSP, and that API answers carry the same baseline.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.bearer("")
	for _, tt := range []struct {
		path   string
		status int
		csp    []string
	}{
		{"/app/", http.StatusOK, []string{"frame-ancestors 'none'", "script-src 'self'", "object-src 'none'"}},
		{"/app/flows/123", http.StatusOK, []string{"frame-ancestors 'none'", "script-src 'self'"}},
		{"/docs", http.StatusOK, []string{"frame-ancestors 'none'"}},
		{"/auth/me", http.StatusUnauthorized, []string{"frame-ancestors 'none'", "default-src 'none'"}},
		{"/no/such/route", http.StatusNotFound, []string{"frame-ancestors 'none'"}},
	} {
		t.Run(tt.path, func(t *testing.T) {
			res := c.do(http.MethodGet, tt.path, nil).want(tt.status)
			for name, want := range map[string]string{
				"X-Frame-Options":        "DENY",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := res.header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			csp := res.header.Get("Content-Security-Policy")
			for _, want := range tt.csp {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
		})
	}
}
