package voice_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/voice"
)

// TestResultJSONMilliseconds: duration_ms, ring_ms and at_ms are
// milliseconds, and read back to the same result.
func TestResultJSONMilliseconds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   voice.Result
		want []string
	}{
		{"answered", voice.Result{CallID: "c1", Status: voice.StatusCompleted, Duration: 42500 * time.Millisecond, RingTime: 3 * time.Second,
			Transcript: []voice.Line{{Speaker: voice.SpeakerAgent, Text: "Hi", At: 1500 * time.Millisecond, Interrupted: true}}},
			[]string{`"duration_ms":42500`, `"ring_ms":3000`, `"at_ms":1500`, `"interrupted":true`, `"call_id":"c1"`}},
		{"busy", voice.Result{CallID: "c2", Status: voice.StatusBusy}, []string{`"duration_ms":0`, `"status":"busy"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Fatalf("%s lacks %s", b, w)
				}
			}
			if strings.Count(string(b), "duration_ms") != 1 {
				t.Fatalf("duration_ms written twice: %s", b)
			}
			var back voice.Result
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Duration != tc.in.Duration || back.RingTime != tc.in.RingTime || len(back.Transcript) != len(tc.in.Transcript) ||
				(len(back.Transcript) > 0 && back.Transcript[0] != tc.in.Transcript[0]) {
				t.Fatalf("read back %+v, want %+v", back, tc.in)
			}
		})
	}
}
