package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleyhq/parley/internal/domain"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": Version})
}

// readyz answers 200 only when the database answers within two seconds, so
// a load balancer stops sending traffic to a process that lost it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Store.Ping(ctx); err != nil {
		loggerFrom(r.Context()).Warn("readiness check failed", "err", err)
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "the database is not reachable"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": s.deps.Store.Dialect()})
}

// metricsHandler serves Prometheus metrics; with a MetricsToken set, only
// to a scraper sending it as a bearer token (compared in constant time).
func (s *Server) metricsHandler() http.Handler {
	if s.deps.Gatherer == nil {
		return http.NotFoundHandler()
	}
	h := promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{})
	want := s.deps.MetricsToken
	if want == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley metrics"`)
			writeProblem(w, r, domain.Errorf(domain.CodeUnauthorized, "/metrics needs Authorization: Bearer <PARLEY_METRICS_TOKEN>"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// favicon is the site icon: a speech bubble, drawn once into a PNG inside
// an ICO container (ICO allows PNG images), so /favicon.ico is a real icon.
var favicon = sync.OnceValue(func() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	accent := color.NRGBA{0x0f, 0x7b, 0x6c, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			// A rounded bubble (an ellipse) and its tail at the bottom left.
			dx, dy := float64(x)-15.5, float64(y)-13.5
			in := dx*dx/(15*15)+dy*dy/(12*12) <= 1
			tail := y >= 22 && y <= 30 && x >= 4 && x <= 12 && x-4 <= 30-y
			if in || tail {
				img.Set(x, y, accent)
			}
		}
	}
	for _, cx := range []int{9, 15, 21} { // three dots: someone is typing
		for y := 12; y <= 15; y++ {
			for x := cx; x <= cx+2; x++ {
				img.Set(x, y, white)
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	ico := make([]byte, 22, 22+buf.Len())
	binary.LittleEndian.PutUint16(ico[2:], 1)  // type: icon
	binary.LittleEndian.PutUint16(ico[4:], 1)  // one image
	ico[6], ico[7] = n, n                      // width, height
	binary.LittleEndian.PutUint16(ico[10:], 1) // colour planes
	binary.LittleEndian.PutUint16(ico[12:], 32)
	binary.LittleEndian.PutUint32(ico[14:], uint32(buf.Len()))
	binary.LittleEndian.PutUint32(ico[18:], 22) // offset of the image
	return append(ico, buf.Bytes()...)
})

func (s *Server) faviconHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(favicon())
}

func (s *Server) appHandler() http.Handler {
	if s.deps.UI == nil {
		return http.NotFoundHandler()
	}
	ui := http.StripPrefix("/app", s.deps.UI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", appCSP)
		ui.ServeHTTP(w, r)
	})
}

// root redirects the bare host to the UI and answers every unknown path
// with a problem document rather than a plain-text 404.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		http.Redirect(w, r, "/app/", http.StatusFound)
	case r.URL.Path == "/app":
		http.Redirect(w, r, "/app/", http.StatusMovedPermanently)
	case !strings.HasSuffix(r.URL.Path, "/") && s.hasRoute(r.URL.Path+"/"):
		// Collections and items end in "/"; be forgiving about a missing one
		// on reads, and explicit on writes (a redirect would drop the body).
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			target := r.URL.Path + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		writeProblem(w, r, domain.Errorf(domain.CodeNotFound, "no route %s %s; did you mean %s/ (with a trailing slash)?", r.Method, r.URL.Path, r.URL.Path))
	default:
		writeProblem(w, r, domain.Errorf(domain.CodeNotFound, "no route %s %s; see /docs for the API reference", r.Method, r.URL.Path))
	}
}

// hasRoute reports whether some table route matches path by shape.
func (s *Server) hasRoute(path string) bool {
	req, _ := http.NewRequest(http.MethodGet, path, nil)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		req.Method = m
		if _, pattern := s.mux.Handler(req); pattern != "" && pattern != "/" {
			return true
		}
	}
	return false
}

//go:embed docs.html
var docsHTML []byte

// docsPage serves the API reference: a page of this binary that renders
// /openapi.json, with no script or style from anywhere else.
func (s *Server) docsPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", docsCSP)
	_, _ = w.Write(docsHTML)
}
