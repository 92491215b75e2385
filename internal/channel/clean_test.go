package channel

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEventClean(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		in    Event
		check func(t *testing.T, e Event)
	}{
		{"NUL in text and name", Event{Text: "a\x00b", Contact: Contact{Name: "\x00Dee", Address: "1"}}, func(t *testing.T, e Event) {
			if e.Text != "a\uFFFDb" || e.Contact.Name != "\uFFFDDee" || e.Contact.Address != "1" {
				t.Errorf("cleaned = %q %q", e.Text, e.Contact.Name)
			}
		}},
		{"invalid UTF-8", Event{Text: "ok\xff"}, func(t *testing.T, e Event) {
			if e.Text != "ok\uFFFD" {
				t.Errorf("cleaned = %q", e.Text)
			}
		}},
		{"nested: media caption, form answers, extra", Event{Media: &Media{Caption: "c\x00"}, Flow: &FlowCompletion{Response: map[string]any{"k\x00": []any{"v\x00", 1.0}}},
			Extra: map[string]string{"e": "\x00"}}, func(t *testing.T, e Event) {
			if e.Media.Caption != "c\uFFFD" || e.Flow.Response["k\uFFFD"].([]any)[0] != "v\uFFFD" || e.Flow.Response["k\uFFFD"].([]any)[1] != 1.0 || e.Extra["e"] != "\uFFFD" {
				t.Errorf("cleaned = %+v %+v %+v", e.Media, e.Flow.Response, e.Extra)
			}
		}},
		{"raw JSON with an escaped NUL", Event{Raw: json.RawMessage(`{"a":"x\u0000y","n":12345678901234567890}`)}, func(t *testing.T, e Event) {
			if strings.Contains(string(e.Raw), `\u0000`) || !strings.Contains(string(e.Raw), "x\uFFFDy") || !strings.Contains(string(e.Raw), "12345678901234567890") {
				t.Errorf("raw = %s", e.Raw)
			}
		}},
		{"raw JSON that does not parse stays JSON", Event{Raw: json.RawMessage("{\x00")}, func(t *testing.T, e Event) {
			if !json.Valid(e.Raw) {
				t.Errorf("raw = %q", e.Raw)
			}
		}},
		{"far-future timestamp", Event{Timestamp: time.UnixMilli(700000000000000)}, func(t *testing.T, e Event) {
			if !e.Timestamp.Equal(now) {
				t.Errorf("timestamp = %v", e.Timestamp)
			}
		}},
		{"ancient timestamp and nested ones", Event{Timestamp: time.Unix(1, 0), Preference: &Preference{At: time.Unix(-1e12, 0)}}, func(t *testing.T, e Event) {
			if !e.Timestamp.Equal(now) || !e.Preference.At.Equal(now) {
				t.Errorf("timestamps = %v %v", e.Timestamp, e.Preference.At)
			}
		}},
		{"sound values stay", Event{Text: "héllo", Timestamp: now.Add(-time.Hour)}, func(t *testing.T, e Event) {
			if e.Text != "héllo" || !e.Timestamp.Equal(now.Add(-time.Hour)) {
				t.Errorf("changed: %q %v", e.Text, e.Timestamp)
			}
		}},
		{"zero timestamp stays zero", Event{}, func(t *testing.T, e Event) {
			if !e.Timestamp.IsZero() {
				t.Errorf("timestamp = %v", e.Timestamp)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := tt.in
			e.Clean(now)
			tt.check(t, e)
			if _, err := json.Marshal(e); err != nil {
				t.Errorf("the cleaned event does not encode: %v", err)
			}
		})
	}
}
