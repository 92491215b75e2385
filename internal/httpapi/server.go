// Package httpapi is Parley's HTTP API: one route table (routes.go), one
// file per resource, and one place (problem.go) where errors become
// statuses. It is built on huma, which generates the OpenAPI 3.1 document
// from the Go types of each operation.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/signup"
	"github.com/parleyhq/parley/internal/waflow"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/campaign"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/dataset"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/projectdb"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/template"
)

// Version is reported by /healthz and in the OpenAPI document.
var Version = "dev"

// Deps are what the API needs.
type Deps struct {
	Store    store.Store
	Accounts *account.Service
	Clock    domain.Clock
	IDs      domain.IDGen
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	Gatherer prometheus.Gatherer
	// UI serves the web app under /app/.
	UI http.Handler
	// MaxBodyBytes is the default request body limit.
	MaxBodyBytes int64
	// SecureCookies marks cookies Secure (behind HTTPS).
	SecureCookies bool
	// PublicURL is the externally reachable base URL.
	PublicURL string
	// Flows is the chat-flow service, shared with the runner for its
	// program cache; nil builds a private one.
	Flows *chatflow.Service
	// Runner runs flows for contacts; nil disables the runtime routes'
	// effects (tests of the account API only).
	Runner *runner.Runner
	// Conversations acts on contacts' conversations (flow starts, agent
	// replies, template sends, the simulator); nil disables those routes.
	Conversations *conversation.Service
	// HTTP makes http_request calls (the editor's test call), guarded
	// against requests to private addresses like the engine's.
	HTTP engine.HTTPDoer
	// Datasets reads CSV uploads for campaigns; Campaigns runs them. Nil
	// leaves their routes out (tests of the account API only).
	Datasets  *dataset.Service
	Campaigns *campaign.Service
	// ProjectData is each project's own database (the Data page, the SQL
	// console); nil leaves its routes out.
	ProjectData *projectdb.Service
	// Scripts runs code nodes' scripts (the editor's test run), with the
	// same runner and limits as the engine's.
	Scripts engine.Scripts
	// Channels is the channel service: channel rows, their adapters and
	// the registry of channel types (webhook routes come from it); nil
	// serves no channel routes' effects (tests of the account API only).
	Channels *channels.Service
	// Templates is the template service; nil builds one over Store and
	// Channels.
	Templates *template.Service
	// WhatsAppFlows is the WhatsApp Flows (forms) service; nil builds one
	// over Store and Channels.
	WhatsAppFlows *waflow.Service
	// AI manages the project's LLM providers and generates flows; nil
	// builds one over Store that cannot seal API keys.
	AI *ai.Service
	// EventHooks manages event webhooks (subscriptions, deliveries,
	// redelivery); nil leaves their routes out.
	EventHooks *eventhook.Service
	// Signup runs WhatsApp's embedded signup; nil leaves its routes out.
	Signup *signup.Service
	// ChannelLog receives the log entries of webhooks; nil records none.
	ChannelLog channellog.Sink
	// Replayer replays dead letters; nil uses this package's webhook
	// ingest path.
	Replayer WebhookReplayer
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client address (for the login throttle and logs).
	TrustedProxies []netip.Prefix
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// Sandbox is the customer's side of `serve --sandbox`; nil answers
	// its routes 404.
	Sandbox SandboxConsole
	// LiveCalls finds the simulator's live calls (a person playing the
	// callee); nil disables the simulator's call routes.
	LiveCalls LiveCalls
	// WebhookReads bound the webhook bodies read at once; zero fields take
	// DefaultWebhookReadLimits.
	WebhookReads WebhookReadLimits
}

// Server is the HTTP API.
type Server struct {
	deps    Deps
	logins  *loginMetrics
	api     huma.API
	mux     *http.ServeMux
	handler http.Handler
	routes  []Route
	scopes  map[string]scopeCheck
	metrics *httpMetrics
	// deadLetters counts webhooks kept as dead letters, by channel type.
	deadLetters *prometheus.CounterVec
	// webhookReads bounds the webhook bodies read before their signature
	// is checked.
	webhookReads *readGate
}

// New builds the API and registers every route of the table.
func New(d Deps) *Server {
	installHumaErrors()
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 1 << 20
	}
	if d.Templates == nil {
		var adapters template.Adapters
		if d.Channels != nil {
			adapters = d.Channels
		}
		d.Templates = template.NewService(template.ServiceDeps{Store: d.Store, Channels: adapters, Clock: d.Clock, IDs: d.IDs, Logger: d.Logger})
	}
	if d.WhatsAppFlows == nil {
		var adapters waflow.Adapters
		if d.Channels != nil {
			adapters = d.Channels
		}
		d.WhatsAppFlows = waflow.New(waflow.Deps{Store: d.Store, Channels: adapters, Clock: d.Clock, IDs: d.IDs, Logger: d.Logger})
	}
	if d.AI == nil {
		if d.Flows == nil {
			d.Flows = chatflow.New(d.Store, d.Clock, d.IDs)
		}
		d.AI = ai.New(ai.Deps{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Flows: d.Flows, Forms: d.WhatsAppFlows})
	}
	s := &Server{deps: d, mux: http.NewServeMux()}
	cfg := huma.DefaultConfig("Parley API", Version)
	cfg.Info.Description = "The REST API of Parley, a self-hosted platform for conversational automation on WhatsApp and other chat channels. " +
		"Authenticate with `Authorization: Bearer <token>` (a project API token) or the web UI's session cookie. Errors are application/problem+json."
	cfg.DocsPath = ""     // no CDN-hosted docs page; /docs is served from this binary
	cfg.SchemasPath = ""  // no $schema links in bodies
	cfg.CreateHooks = nil // (the link transformer would add them)
	cfg.OpenAPIPath = "/openapi"
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer":  {Type: "http", Scheme: "bearer", Description: "A project API token (prl_…)"},
		"session": {Type: "apiKey", In: "cookie", Name: sessionCookie, Description: "The web UI's login; writes also need the X-CSRF-Token header"},
	}
	s.api = humago.New(slashMux{s.mux}, cfg)
	s.api.UseMiddleware(s.rejectNULInURL, s.authMiddleware, s.rejectNULInBody)
	s.metrics = newHTTPMetrics(d.Metrics)
	s.deadLetters = newDeadLetterCounter(d.Metrics)
	s.logins = newLoginMetrics(d.Metrics)
	s.webhookReads = newReadGate(d.WebhookReads, d.Metrics)
	s.scopes = s.scopeChecks()
	s.routes = s.routeTable()
	s.checkScopesCovered()
	for i := range s.routes {
		s.register(&s.routes[i])
	}
	s.handler = s.requestContext(s.metrics.wrap(s.recoverPanics(s.mux)))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpenAPI returns the generated OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// slashMux registers huma's paths ending in "/" as exact matches: ServeMux
// would otherwise treat "/projects/" as a whole subtree.
type slashMux struct{ *http.ServeMux }

func (m slashMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}"
	}
	m.ServeMux.HandleFunc(pattern, h)
}

// requestContext gives every request an ID (the caller's X-Request-ID when
// it is sane) and a logger carrying it.
func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !saneRequestID(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		setSecurityHeaders(w.Header())
		if r.Header.Get("Content-Type") == "" && r.ContentLength != 0 {
			// Bodies are JSON unless said otherwise.
			r.Header.Set("Content-Type", "application/json")
		}
		logger := s.deps.Logger.With("request_id", id)
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyLogger, logger)
		ctx = context.WithValue(ctx, keyClientAddr, clientAddr(r, s.deps.TrustedProxies))
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		logger.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}

// Content security policies. Every response gets apiCSP (an API answer is
// never a document to render or frame); the web UI and the docs page, which
// are documents, replace it with theirs. The UI's scripts and styles are
// files of this binary; inline styles stay allowed because React and the
// flow canvas set style attributes.
const (
	apiCSP  = "default-src 'none'; frame-ancestors 'none'"
	appCSP  = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	docsCSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

// setSecurityHeaders sets the headers every response carries: no framing
// (clickjacking), no MIME sniffing, no Referer leaving the site.
func setSecurityHeaders(h http.Header) {
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", apiCSP)
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// recoverPanics turns a panic in a handler into a logged 500, never a dropped
// connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				loggerFrom(r.Context()).Error("panic in handler", "panic", v, "path", r.URL.Path)
				writeProblem(w, r, domain.Errorf(domain.CodeInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type httpMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total", Help: "HTTP requests, by method, route and status.",
		}, []string{"method", "route", "status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_duration_seconds", Help: "HTTP request latency, by method and route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 3, 10),
		}, []string{"method", "route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.seconds)
	}
	return m
}

// wrap records each request under its route pattern, never its raw path,
// so IDs do not explode the label set.
func (m *httpMetrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
		m.seconds.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}
