package domain_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

func TestSystemClockKeepsMicroseconds(t *testing.T) {
	t.Parallel()
	for range 100 {
		now := domain.SystemClock{}.Now()
		if now.Nanosecond()%1000 != 0 || now.Location() != time.UTC || now != now.Round(0) {
			t.Fatalf("SystemClock.Now() = %v: want UTC to the microsecond, without a monotonic reading", now)
		}
	}
}
