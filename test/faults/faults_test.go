// Package faults_test runs a real Parley against a fake Graph API that
// misbehaves on purpose — throttling bursts, the pair rate limit, 5xx,
// slow and hung answers, connection resets, accepting and then failing,
// permanent errors — and checks that no message is left without a final
// status, that throttled and transient failures are eventually sent, that
// permanent ones fail with Meta's code and reason, and that memory and
// goroutines stay flat.
package faults_test

import (
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/sandbox"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	type want struct {
		status string // every message ends so
		code   string // and, when failed, with this code
		reason string // and a reason containing this
		calls  int    // requests the fake got for all the messages (0: don't check)
	}
	for _, tc := range []struct {
		name   string
		faults []sandbox.Fault
		sends  int // agent messages besides the flow's reply
		want   want
	}{
		{"429 130429 burst", []sandbox.Fault{{Kind: sandbox.FaultThrottle, Count: 9}}, 2, want{status: domain.MessageRead, calls: 3 + 9}},
		{"131056 pair rate", []sandbox.Fault{{Kind: sandbox.FaultPairRate, Count: 2}}, 1, want{status: domain.MessageRead, calls: 2 + 2}},
		{"5xx", []sandbox.Fault{{Kind: sandbox.FaultServerError, Count: 1}, {Kind: sandbox.FaultServerError, Status: 502},
			{Kind: sandbox.FaultServerError, Status: 503}}, 2, want{status: domain.MessageRead, calls: 3 + 3}},
		{"slow", []sandbox.Fault{{Kind: sandbox.FaultSlow, Delay: 2 * time.Second, Count: 2}}, 1, want{status: domain.MessageRead, calls: 2}},
		{"hung", []sandbox.Fault{{Kind: sandbox.FaultHang}}, 0, want{status: domain.MessageRead, calls: 1 + 1}},
		{"connection reset", []sandbox.Fault{{Kind: sandbox.FaultReset, Count: 3}}, 2, want{status: domain.MessageRead, calls: 3 + 3}},
		{"accept then fail 131026", []sandbox.Fault{{Kind: sandbox.FaultAcceptThenFail, Count: 2}}, 1,
			want{status: domain.MessageFailed, code: "131026", reason: "Message undeliverable", calls: 2}},
		{"131047 outside the window", []sandbox.Fault{{Kind: sandbox.FaultError, Status: 400, Code: 131047, Title: "Re-engagement message", Count: 2}}, 1,
			want{status: domain.MessageFailed, code: "131047", reason: "Re-engagement message", calls: 2}},
		{"131050 marketing opt-out", []sandbox.Fault{{Kind: sandbox.FaultError, Status: 400, Code: 131050, Title: "Unable to deliver: the user stopped marketing messages"}}, 0,
			want{status: domain.MessageFailed, code: "131050", reason: "stopped marketing", calls: 1}},
		{"190 bad token", []sandbox.Fault{{Kind: sandbox.FaultError, Status: 401, Code: 190, Title: "Invalid OAuth access token"}}, 0,
			want{status: domain.MessageFailed, code: "190", reason: "Invalid OAuth", calls: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			s.fake.Inject(tc.faults...)
			c := s.customer("15552000001")
			for i := range tc.sends {
				s.agentSend(c, fmt.Sprintf("message %d", i))
			}
			ms := s.settle(c, 1+tc.sends, 90*time.Second)
			calls := 0
			byID := s.requestsFor()
			for _, m := range ms {
				calls += byID[m.ID]
				if m.Status != tc.want.status {
					t.Errorf("message %s is %s (%s %s), want %s", m.ID, m.Status, m.ErrorCode, m.ErrorReason, tc.want.status)
				}
				if m.Status == domain.MessageFailed && (m.ErrorCode != tc.want.code || !strings.Contains(m.ErrorReason, tc.want.reason)) {
					t.Errorf("message %s failed with %q %q, want code %q and a reason with %q", m.ID, m.ErrorCode, m.ErrorReason, tc.want.code, tc.want.reason)
				}
			}
			if tc.want.calls > 0 && calls != tc.want.calls {
				t.Errorf("the fake got %d requests for the %d messages, want %d", calls, len(ms), tc.want.calls)
			}
		})
	}
}

// TestMemoryFlat sends a few hundred messages through a mix of fast faults
// and checks that the heap in use after a GC does not grow with them, and
// that stopping the server leaves no goroutine behind. It does not run in
// parallel: the figures would include the other tests.
//
// Each message goes to its own contact (a customer writes, the flow
// answers): Parley paces messages to one recipient (Meta's pair limit), so
// hundreds to one contact would measure the pacing, not the faults.
func TestMemoryFlat(t *testing.T) {
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	runtime.GC()
	goroutines := runtime.NumGoroutine()
	s := start(t)
	sends, failed := 0, 0
	round := func(r int) {
		// 50 replies, 30 faults: throttled, reset, accepted then failed,
		// permanent, 5xx and slow answers.
		s.fake.Inject(
			sandbox.Fault{Kind: sandbox.FaultThrottle, Count: 8},
			sandbox.Fault{Kind: sandbox.FaultReset, Count: 6},
			sandbox.Fault{Kind: sandbox.FaultAcceptThenFail, Count: 5},
			sandbox.Fault{Kind: sandbox.FaultError, Status: 400, Code: 131026, Title: "Message undeliverable", Count: 5},
			sandbox.Fault{Kind: sandbox.FaultServerError, Count: 3},
			sandbox.Fault{Kind: sandbox.FaultSlow, Delay: 100 * time.Millisecond, Count: 3},
		)
		var contacts []string
		for i := range 50 {
			contacts = append(contacts, s.customer(fmt.Sprintf("1555%03d%04d", r, i)))
		}
		for _, c := range contacts {
			for _, m := range s.settle(c, 1, 2*time.Minute) {
				sends++
				if m.Status == domain.MessageFailed {
					failed++
					if m.ErrorCode == "" || m.ErrorReason == "" {
						t.Errorf("message %s failed without Meta's code and reason", m.ID)
					}
				}
			}
		}
	}
	round(0) // warm up: caches, connection pools, prepared statements
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	before := heap()
	for r := range rounds {
		round(r + 1)
	}
	after := heap()
	growth := int64(after) - int64(before)
	t.Logf("heap in use after GC: %.1f MB before, %.1f MB after %d faulty sends (%+.1f MB); %d messages in all, %d failed with Meta's reason",
		float64(before)/(1<<20), float64(after)/(1<<20), rounds*50, float64(growth)/(1<<20), sends, failed)
	// Generous: a few KB per send over 300 sends is far below this, but a
	// retained request, response or goroutine per send is caught.
	if limit := int64(16 << 20); growth > limit {
		t.Errorf("heap in use grew by %.1f MB over %d faulty sends (limit %d MB)", float64(growth)/(1<<20), rounds*50, limit>>20)
	}

	s.stop()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > goroutines+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+2 {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("%d goroutines after stopping, %d before starting:\n%s", n, goroutines, b.String())
	}
}
