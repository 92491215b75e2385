package channel

import "time"

// maxEventMillis is the last millisecond of year 9999: later instants cannot
// be written as RFC 3339, so an event carrying one could never be stored.
const maxEventMillis = 253402300799999

// MillisTime reads a platform timestamp in milliseconds since the epoch. A
// value outside 1970 … 9999 gives the zero time and false: a forged or
// garbled timestamp must not make an otherwise good event unstorable.
func MillisTime(ms int64) (time.Time, bool) {
	if ms <= 0 || ms > maxEventMillis {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// SecondsOrMillisTime reads a timestamp that platforms send in seconds or, in
// some events, milliseconds: values too large to be seconds of this era
// (above 1e11, year 5138) are read as milliseconds. Out-of-range values give
// the zero time, as MillisTime does.
func SecondsOrMillisTime(n int64) time.Time {
	if n > 0 && n < 1e11 {
		return time.Unix(n, 0).UTC()
	}
	t, _ := MillisTime(n)
	return t
}
