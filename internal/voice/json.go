package voice

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes the durations in milliseconds, as their names say
// (a time.Duration alone would be nanoseconds).
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		Duration int64 `json:"duration_ms"`
		RingTime int64 `json:"ring_ms,omitempty"`
	}{plain(r), r.Duration.Milliseconds(), r.RingTime.Milliseconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	v := struct {
		*plain
		Duration int64 `json:"duration_ms"`
		RingTime int64 `json:"ring_ms,omitempty"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Duration, r.RingTime = time.Duration(v.Duration)*time.Millisecond, time.Duration(v.RingTime)*time.Millisecond
	return nil
}

// MarshalJSON writes At in milliseconds from the start of the call.
func (l Line) MarshalJSON() ([]byte, error) {
	type plain Line
	return json.Marshal(struct {
		plain
		At int64 `json:"at_ms"`
	}{plain(l), l.At.Milliseconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (l *Line) UnmarshalJSON(b []byte) error {
	type plain Line
	v := struct {
		*plain
		At int64 `json:"at_ms"`
	}{plain: (*plain)(l)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	l.At = time.Duration(v.At) * time.Millisecond
	return nil
}
