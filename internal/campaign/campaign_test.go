package campaign

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

func TestWindowNext(t *testing.T) {
	t.Parallel()
	lisbon, _ := time.LoadLocation("Europe/Lisbon")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if lisbon == nil || tokyo == nil {
		t.Skip("no time zone database")
	}
	// Wednesday 2026-12-02 10:30 UTC = 10:30 Lisbon (winter) = 19:30 Tokyo.
	now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	weekdays := store.SendWindow{Start: "09:00", End: "20:00", Days: []int{1, 2, 3, 4, 5}}
	tests := []struct {
		name string
		w    store.SendWindow
		loc  *time.Location
		want time.Time
	}{
		{"no window", store.SendWindow{}, lisbon, now},
		{"inside in Lisbon", weekdays, lisbon, now},
		{"inside in Tokyo", weekdays, tokyo, now},
		{"Tokyo after hours waits for tomorrow 09:00 Tokyo", store.SendWindow{Start: "09:00", End: "18:00"}, tokyo, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)},
		{"before the window opens today", store.SendWindow{Start: "14:00", End: "16:00"}, lisbon, time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)},
		{"weekend only waits for Saturday", store.SendWindow{Start: "09:00", End: "20:00", Days: []int{6, 7}}, lisbon, time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)},
		{"days without times: Thursday from midnight", store.SendWindow{Days: []int{4}}, lisbon, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := checkWindow(&tc.w); err != nil {
				t.Fatal(err)
			}
			if got := windowOf(tc.w).next(now, tc.loc); !got.Equal(tc.want) {
				t.Fatalf("next = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCheckSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      ExecutionInput
		pointer string
	}{
		{"defaults", ExecutionInput{}, ""},
		{"batch too big", ExecutionInput{ExecutionSettings: store.ExecutionSettings{BatchSize: 10001}, BatchSizeSet: true}, "/batch_size"},
		{"negative delay", ExecutionInput{ExecutionSettings: store.ExecutionSettings{BatchDelaySeconds: -1}, DelaySet: true}, "/batch_delay_seconds"},
		{"rate over 1", ExecutionInput{ExecutionSettings: store.ExecutionSettings{MaxFailureRate: 20}, FailureRateSet: true}, "/max_failure_rate"},
		{"half a window", ExecutionInput{ExecutionSettings: store.ExecutionSettings{SendWindow: store.SendWindow{Start: "09:00"}}}, "/send_window"},
		{"bad time", ExecutionInput{ExecutionSettings: store.ExecutionSettings{SendWindow: store.SendWindow{Start: "9am", End: "20:00"}}}, "/send_window/start"},
		{"inverted", ExecutionInput{ExecutionSettings: store.ExecutionSettings{SendWindow: store.SendWindow{Start: "20:00", End: "09:00"}}}, "/send_window/end"},
		{"day 8", ExecutionInput{ExecutionSettings: store.ExecutionSettings{SendWindow: store.SendWindow{Days: []int{1, 8}}}}, "/send_window/days/1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkSettings(&tc.in)
			if tc.pointer == "" {
				if err != nil || tc.in.BatchSize != DefaultBatchSize || tc.in.MaxFailureRate != DefaultMaxFailureRate {
					t.Fatalf("defaults: %v %+v", err, tc.in)
				}
				return
			}
			de, ok := err.(*domain.Error)
			if !ok || de.Code != domain.CodeInvalid || len(de.Fields) == 0 || de.Fields[0].Pointer != tc.pointer {
				t.Fatalf("got %v, want an invalid error at %s", err, tc.pointer)
			}
		})
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	all := []string{store.CampaignDraft, store.CampaignActive, store.CampaignPaused, store.CampaignStopped, store.CampaignCompleted}
	allowed := map[[2]string]bool{
		{"draft", "active"}: true, {"active", "paused"}: true, {"active", "stopped"}: true, {"active", "completed"}: true,
		{"paused", "active"}: true, {"paused", "stopped"}: true, {"paused", "completed"}: true, {"stopped", "active"}: true,
	}
	for _, from := range all {
		for _, to := range all {
			err := CanMove(from, to)
			if allowed[[2]string{from, to}] != (err == nil) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
			if err != nil && domain.CodeOf(err) != domain.CodeConflict {
				t.Errorf("%s → %s: code %s, want conflict", from, to, domain.CodeOf(err))
			}
		}
	}
}

func TestLiveStats(t *testing.T) {
	t.Parallel()
	e := store.Execution{Status: store.ExecutionRunning, Total: 100, Started: 60, StartFailed: 5, Stats: store.ExecutionStats{WaitingForWindow: 10, Started: 50}}
	st := LiveStats(e)
	if st.Started != 60 || st.StartFailed != 5 || st.Queued != 25 || st.WaitingForWindow != 10 {
		t.Fatalf("live stats %+v", st)
	}
}

// TestNextWait: the runner sleeps until the soonest planned batch, runs a
// late one at once, and looks again at least every tick; a loop that only
// woke on its ticker ran one batch per tick and lost every batch a slow
// pass overran, below the channel's rate.
func TestNextWait(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	tick := 200 * time.Millisecond
	tests := []struct {
		name    string
		soonest time.Time
		want    time.Duration
	}{
		{"nothing planned: a tick", time.Time{}, tick},
		{"due within the tick: then", now.Add(80 * time.Millisecond), 80 * time.Millisecond},
		{"late: at once", now.Add(-150 * time.Millisecond), 0},
		{"due now: at once", now, 0},
		{"far off: a tick", now.Add(5 * time.Second), tick},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := nextWait(now, tc.soonest, tick); got != tc.want {
				t.Fatalf("nextWait = %s, want %s", got, tc.want)
			}
		})
	}
}
