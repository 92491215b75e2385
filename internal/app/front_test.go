package app

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestFrontNotReadyUntilStarted: the front listens before migrations run
// and answers 503 with the reason, on /readyz and on every other path,
// until the API takes over; /readyz says "draining" once a stop began.
func TestFrontNotReadyUntilStarted(t *testing.T) {
	t.Parallel()
	f, err := Listen("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base := "http://" + f.Addr()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "api "+r.URL.Path) })
	steps := []struct {
		name     string
		do       func()
		path     string
		code     int
		contains string
	}{
		{"migrating readyz", func() {}, "/readyz", 503, "starting: migrating the database"},
		{"migrating other", func() {}, "/projects/", 503, "migrating"},
		{"migrating healthz", func() {}, "/healthz", 200, "starting"},
		{"ready readyz", func() { f.ready(api) }, "/readyz", 200, "api /readyz"},
		{"ready other", func() {}, "/projects/", 200, "api /projects/"},
		{"draining readyz", func() { f.NotReady("draining: shutting down") }, "/readyz", 503, "draining"},
		{"draining other", func() {}, "/projects/", 200, "api /projects/"},
	}
	for _, s := range steps { // in order: each step changes the front's state
		s.do()
		res, err := http.Get(base + s.path)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != s.code || !strings.Contains(string(b), s.contains) {
			t.Fatalf("%s: %d %s; want %d containing %q", s.name, res.StatusCode, b, s.code, s.contains)
		}
	}
}
