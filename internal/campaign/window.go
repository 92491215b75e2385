package campaign

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// checkWindow validates a sending window: HH:MM times, start before end,
// ISO weekdays.
func checkWindow(w *store.SendWindow) error {
	if (w.Start == "") != (w.End == "") {
		return domain.Invalid("/send_window", "give both start and end of the sending window (\"09:00\" and \"20:00\"), or neither")
	}
	if w.Start != "" {
		s, err := clockMinutes(w.Start)
		if err != nil {
			return domain.Invalid("/send_window/start", "%v", err)
		}
		e, err := clockMinutes(w.End)
		if err != nil {
			return domain.Invalid("/send_window/end", "%v", err)
		}
		if e <= s {
			return domain.Invalid("/send_window/end", "the window must end (%s) after it starts (%s) on the same day", w.End, w.Start)
		}
	}
	seen := map[int]bool{}
	for i, d := range w.Days {
		if d < 1 || d > 7 {
			return domain.Invalid(fmt.Sprintf("/send_window/days/%d", i), "days are ISO weekdays: 1 (Monday) to 7 (Sunday), not %d", d)
		}
		if seen[d] {
			return domain.Invalid(fmt.Sprintf("/send_window/days/%d", i), "day %d is listed twice", d)
		}
		seen[d] = true
	}
	return nil
}

// clockMinutes reads "HH:MM" as minutes after midnight.
func clockMinutes(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) != 5 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day like 09:00", s)
	}
	return h*60 + m, nil
}

// window is a checked SendWindow in minutes.
type window struct {
	any        bool
	start, end int
	days       []int
}

func windowOf(w store.SendWindow) window {
	out := window{any: w.Start == "" && len(w.Days) == 0, days: w.Days}
	out.start, out.end = 0, 24*60
	if w.Start != "" {
		out.start, _ = clockMinutes(w.Start)
		out.end, _ = clockMinutes(w.End)
	}
	return out
}

func isoDay(t time.Time) int {
	d := int(t.Weekday())
	if d == 0 {
		return 7
	}
	return d
}

// next returns now when now (in loc) is inside the window, else the
// window's next opening.
func (w window) next(now time.Time, loc *time.Location) time.Time {
	if w.any {
		return now
	}
	local := now.In(loc)
	dayOK := func(t time.Time) bool { return len(w.days) == 0 || slices.Contains(w.days, isoDay(t)) }
	mins := local.Hour()*60 + local.Minute()
	if dayOK(local) && mins >= w.start && mins < w.end {
		return now
	}
	for d := 0; d <= 7; d++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+d, 0, 0, 0, 0, loc)
		if !dayOK(day) {
			continue
		}
		open := day.Add(time.Duration(w.start) * time.Minute)
		if open.After(local) {
			return open.UTC()
		}
	}
	return now.Add(24 * time.Hour) // unreachable with a valid window
}

// zones caches loaded time zones.
var zones sync.Map

func zone(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	zones.Store(name, l)
	return l
}
