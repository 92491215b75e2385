package channel

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestamps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     int64
		want   time.Time
		millis bool // read by MillisTime rather than SecondsOrMillisTime
	}{
		{"seconds", 1700000000, time.Unix(1700000000, 0).UTC(), false},
		{"millis in a seconds field", 1700000000123, time.UnixMilli(1700000000123).UTC(), false},
		{"zero", 0, time.Time{}, false},
		{"negative", -5, time.Time{}, false},
		{"last millisecond of 9999", 253402300799999, time.UnixMilli(253402300799999).UTC(), false},
		{"past year 9999", 253402300800000, time.Time{}, false},
		{"int64 max", 1<<63 - 1, time.Time{}, false},
		{"millis", 1700000000123, time.UnixMilli(1700000000123).UTC(), true},
		{"millis past 9999", 999999999999999, time.Time{}, true},
		{"millis negative", -1, time.Time{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got time.Time
			if c.millis {
				var ok bool
				got, ok = MillisTime(c.in)
				if ok == got.IsZero() {
					t.Fatalf("ok = %v for %v", ok, got)
				}
			} else {
				got = SecondsOrMillisTime(c.in)
			}
			if !got.Equal(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			// Every result must be storable.
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("marshal %v: %v", got, err)
			}
		})
	}
}
