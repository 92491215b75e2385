package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRiverLoggerDropsStopCancellation: River's maintenance services log
// "context canceled" at ERROR when Stop cancels them mid-query; that is a
// clean stop. Every other error still gets through.
func TestRiverLoggerDropsStopCancellation(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  string
		kept bool
	}{
		{"cancelled by stop", cancelled, "context canceled", false},
		{"cancelled, another error", cancelled, "connection refused", true},
		{"running, context canceled", context.Background(), "context canceled", true},
		{"running, another error", context.Background(), "disk full", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l := riverLogger(slog.New(slog.NewTextHandler(&buf, nil)))
			l.ErrorContext(tc.ctx, "maintenance.PeriodicJobEnqueuer: Error starting transaction", "error", tc.err)
			if got := strings.Contains(buf.String(), "level=ERROR"); got != tc.kept {
				t.Fatalf("logged %q, want kept=%v", buf.String(), tc.kept)
			}
		})
	}
}
