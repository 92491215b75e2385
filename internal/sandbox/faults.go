package sandbox

import (
	"net"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// FaultKind is a failure the fake can inject.
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers 429 with Graph error 130429 (throughput).
	FaultThrottle FaultKind = "throttle"
	// FaultPairRate answers 400 with error 131056 (pair rate limit).
	FaultPairRate FaultKind = "pair_rate"
	// FaultServerError answers Status (default 500) with error 131000.
	FaultServerError FaultKind = "server_error"
	// FaultError answers Status with Graph error Code and Title.
	FaultError FaultKind = "error"
	// FaultSlow waits Delay, then answers normally.
	FaultSlow FaultKind = "slow"
	// FaultHang never answers: the client's timeout (or Stop) ends it.
	FaultHang FaultKind = "hang"
	// FaultReset closes the connection without an answer (TCP reset).
	FaultReset FaultKind = "reset"
	// FaultAcceptThenFail accepts the message (200 + wamid) and then sends
	// a "failed" status webhook with Code (default 131026).
	FaultAcceptThenFail FaultKind = "accept_then_fail"
)

// Fault is an injected failure for the next Count requests to Endpoint.
type Fault struct {
	Kind FaultKind
	// Count is how many requests it applies to (default 1).
	Count int
	// Endpoint is "messages" (default), "media", "message_templates"
	// (template submissions and edits) or "any".
	Endpoint string
	Delay    time.Duration
	Status   int
	Code     int
	Title    string
}

// Inject queues faults; each applies, in order, to the next matching
// requests.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range faults {
		if f.Count <= 0 {
			f.Count = 1
		}
		if f.Endpoint == "" {
			f.Endpoint = "messages"
		}
		s.faults = append(s.faults, f)
	}
}

// takeFault pops the fault for a request to endpoint, if one is queued.
func (s *Server) takeFault(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Endpoint != endpoint && f.Endpoint != "any" {
			continue
		}
		out := *f
		f.Count--
		if f.Count == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

// applyFault serves a fault. It returns true when the request is answered
// (or dropped), false when the normal handler should answer (slow, and
// accept-then-fail which the messages handler completes).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f.Kind {
	case FaultThrottle:
		graphError(w, http.StatusTooManyRequests, 130429, 0, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.")
	case FaultPairRate:
		graphError(w, http.StatusBadRequest, 131056, 0, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
			"Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.")
	case FaultServerError:
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		graphError(w, status, 131000, 0, "Something went wrong", "Something went wrong")
	case FaultError:
		graphError(w, max(f.Status, 400), f.Code, 0, f.Title, f.Title)
	case FaultSlow:
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		case <-s.ctx.Done():
			return true
		}
		return false
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-s.ctx.Done():
		}
	case FaultReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			graphError(w, http.StatusBadGateway, 0, 0, "reset not possible", "")
			return true
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return true
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		_ = conn.Close()
	default:
		return false
	}
	return true
}

// failureOf is the failed status of an accept-then-fail fault.
func failureOf(f Fault) *channel.ProviderError {
	code, title := f.Code, f.Title
	if code == 0 {
		code, title = 131026, "Message undeliverable"
	}
	if title == "" {
		title = "Message failed"
	}
	return &channel.ProviderError{Code: code, Title: title, Details: title}
}
