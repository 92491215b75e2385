package httpapi

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/domain"
)

// WebhookReadLimits bound the webhook bodies read at once. A webhook is
// unauthenticated until its whole body has been read and its signature
// checked, so without a bound anyone could make the server hold
// thousands of 4 MB bodies. A provider's own webhooks are small and read
// in microseconds: they seldom meet these limits, and retry when they do.
type WebhookReadLimits struct {
	// Global is the most bodies read at once in all.
	Global int
	// PerChannel is the most read at once for one webhook URL.
	PerChannel int
	// PerAddress is the most read at once from one client address.
	PerAddress int
	// Timeout is how long reading one body may take.
	Timeout time.Duration
}

// DefaultWebhookReadLimits: at most 32 bodies in memory (128 MB at the
// 4 MB cap), 8 from one address, 16 for one URL, 15 s each.
var DefaultWebhookReadLimits = WebhookReadLimits{Global: 32, PerChannel: 16, PerAddress: 8, Timeout: 15 * time.Second}

// readGate counts the webhook bodies being read.
type readGate struct {
	lim     WebhookReadLimits
	refused *prometheus.CounterVec

	mu        sync.Mutex
	total     int
	byChannel map[string]int
	byAddress map[string]int
}

func newReadGate(lim WebhookReadLimits, reg prometheus.Registerer) *readGate {
	def := DefaultWebhookReadLimits
	if lim.Global <= 0 {
		lim.Global = def.Global
	}
	if lim.PerChannel <= 0 {
		lim.PerChannel = def.PerChannel
	}
	if lim.PerAddress <= 0 {
		lim.PerAddress = def.PerAddress
	}
	if lim.Timeout <= 0 {
		lim.Timeout = def.Timeout
	}
	g := &readGate{lim: lim, byChannel: map[string]int{}, byAddress: map[string]int{},
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_webhook_refused_total",
			Help: "Webhook requests refused before their body was read: unsigned, or over a limit on bodies read at once (global, channel, address)."},
			[]string{"reason"})}
	if reg != nil {
		reg.MustRegister(g.refused)
	}
	return g
}

// admit checks a webhook request before its body is read: signed (when
// the route has a signature header) and within the limits. On success it
// returns the release to call once the body is read; otherwise it has
// answered the request.
func (g *readGate) admit(w http.ResponseWriter, r *http.Request, signature, channelKey string) (release func(), ok bool) {
	if signature != "" && r.Header.Get(signature) == "" {
		g.refused.WithLabelValues("unsigned").Inc()
		refuseBody(w)
		writeProblem(w, r, domain.Errorf(domain.CodeUnauthorized, "the webhook has no %s header; unsigned webhooks are refused", signature))
		return nil, false
	}
	// The client address honours PARLEY_TRUSTED_PROXIES (clientaddr.go).
	addr := clientAddrFrom(r.Context())
	if addr == "" {
		addr = r.RemoteAddr
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = host
		}
	}
	g.mu.Lock()
	reason := ""
	switch {
	case g.byAddress[addr] >= g.lim.PerAddress:
		reason = "address"
	case g.byChannel[channelKey] >= g.lim.PerChannel:
		reason = "channel"
	case g.total >= g.lim.Global:
		reason = "global"
	default:
		g.total++
		g.byAddress[addr]++
		g.byChannel[channelKey]++
	}
	g.mu.Unlock()
	if reason != "" {
		g.refused.WithLabelValues(reason).Inc()
		refuseBody(w)
		w.Header().Set("Retry-After", "1")
		code := domain.CodeRateLimited
		msg := "too many webhooks from this address are being read at once; retry shortly"
		if reason != "address" {
			code = domain.CodeUnavailable
			msg = "too many webhooks are being read at once; retry shortly"
		}
		writeProblem(w, r, domain.Errorf(code, "%s", msg))
		return nil, false
	}
	// A slow body holds its place for a bounded time only.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.lim.Timeout))
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.total--
		if g.byAddress[addr]--; g.byAddress[addr] <= 0 {
			delete(g.byAddress, addr)
		}
		if g.byChannel[channelKey]--; g.byChannel[channelKey] <= 0 {
			delete(g.byChannel, channelKey)
		}
	}, true
}

// refuseBody makes sure a refused request's body is not read after the
// answer either: the server would otherwise read some of it hoping to
// reuse the connection, for as long as the client keeps sending.
func refuseBody(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}
