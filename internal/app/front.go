package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Front is the listening socket and the HTTP server in front of the API.
// It answers before the API exists: while the database migrates, every
// request gets 503 and /readyz says why; while the server drains after a
// stop signal, /readyz answers 503 so a load balancer moves traffic away,
// and the API keeps answering the requests that still arrive.
type Front struct {
	ln       net.Listener
	srv      *http.Server
	api      atomic.Pointer[http.Handler]
	reason   atomic.Pointer[string]
	serveErr chan error
}

// Listen opens addr and serves at once, not ready ("starting: migrating the
// database") until an App started with WithFront takes it over.
func Listen(addr string, logger *slog.Logger) (*Front, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	f := &Front{ln: ln, serveErr: make(chan error, 1)}
	f.NotReady("starting: migrating the database")
	f.srv = &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() { f.serveErr <- f.srv.Serve(ln) }()
	return f, nil
}

// Addr is the address the front listens on.
func (f *Front) Addr() string { return f.ln.Addr().String() }

// NotReady makes /readyz answer 503 with reason.
func (f *Front) NotReady(reason string) { f.reason.Store(&reason) }

func (f *Front) ready(api http.Handler) {
	f.api.Store(&api)
	f.reason.Store(nil)
}

// Close stops the front at once (when the App never took it over).
func (f *Front) Close() error {
	err := f.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP implements http.Handler.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reason := f.reason.Load()
	api := f.api.Load()
	if api == nil && r.URL.Path == "/healthz" {
		// Liveness: the process is up, only not ready yet; a long
		// migration must not get it restarted.
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "starting"})
		return
	}
	if reason != nil && (api == nil || r.URL.Path == "/readyz") {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"title": "Service Unavailable", "status": http.StatusServiceUnavailable,
			"detail": "not ready: " + *reason, "reason": *reason,
		})
		return
	}
	(*api).ServeHTTP(w, r)
}
