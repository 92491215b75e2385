package httpapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
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

func (s *Server) metricsHandler() http.Handler {
	if s.deps.Gatherer == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{})
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
