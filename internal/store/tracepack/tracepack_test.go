package tracepack

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/parleyhq/parley/internal/domain"
)

// parked is the trace of a session parked on a wait with a timeout.
var parked = []domain.TraceEvent{
	{Kind: "node_entered", NodeID: "start", Data: json.RawMessage(`{"kind":"node_entered","node":"start"}`)},
	{Kind: "edge_taken", NodeID: "start", Data: json.RawMessage(`{"kind":"edge_taken","node":"start","exit":"next","edge":"e0"}`)},
	{Kind: "node_entered", NodeID: "split", Data: json.RawMessage(`{"kind":"node_entered","node":"split"}`)},
	{Kind: "edge_taken", NodeID: "split", Data: json.RawMessage(`{"kind":"edge_taken","node":"split","exit":"b1","edge":"s1"}`)},
	{Kind: "node_entered", NodeID: "wait1", Data: json.RawMessage(`{"kind":"node_entered","node":"wait1"}`)},
	{Kind: "waiting", NodeID: "wait1", Data: json.RawMessage(`{"kind":"waiting","node":"wait1","name":"reply","seq":1,"at":"2026-12-05T06:33:39.318692268Z"}`)},
	{Kind: "timer_set", NodeID: "wait1", Data: json.RawMessage(`{"kind":"timer_set","node":"wait1","name":"reply","seq":1,"at":"2026-12-05T06:33:39.318692268Z"}`)},
}

// TestRoundTrip: Unpack gives back exactly the JSON the events encode to,
// and a parked session's trace packs to a fraction of it.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		events  []domain.TraceEvent
		maxSize int
	}{
		{"parked session", parked, 160},
		{"none", nil, 16},
		{"no data, odd strings", []domain.TraceEvent{{Kind: "error", NodeID: "n\"1\u2028é"}}, 64},
		{"large", func() []domain.TraceEvent {
			var evs []domain.TraceEvent
			for range 200 {
				evs = append(evs, parked...)
			}
			return evs
		}(), 8000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := JSON(c.events)
			if !json.Valid(want) {
				t.Fatalf("JSON is not valid: %s", want)
			}
			packed := Pack(c.events)
			if len(packed) > c.maxSize {
				t.Errorf("packed %d bytes of JSON into %d, want ≤ %d", len(want), len(packed), c.maxSize)
			}
			got, err := Unpack(packed)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Unpack = %s, %v; want %s", got, err, want)
			}
		})
	}
}

// TestJSONStrings: kinds and node IDs are written exactly as encoding/json
// writes them (stored traces and the API depend on the bytes), whether
// they take the plain-ASCII path or not.
func TestJSONStrings(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "node_entered", "wait-1_b", "a b", "q\"uote", "back\\slash", "<b>&amp;", "tab\t", "\x00", "é", "\u2028", "\xff"} {
		got := JSON([]domain.TraceEvent{{Kind: s, NodeID: s}})
		type row struct {
			Kind   string          `json:"kind"`
			NodeID string          `json:"node_id"`
			Data   json.RawMessage `json:"data"`
		}
		want, err := json.Marshal([]row{{Kind: s, NodeID: s, Data: json.RawMessage("{}")}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("JSON of %q = %s, want %s", s, got, want)
		}
	}
}

// TestUnpackRejects: what is not a packed trace is an error, not a panic.
func TestUnpackRejects(t *testing.T) {
	t.Parallel()
	for _, b := range [][]byte{nil, {}, {9, 1, 2}, {1, 0xff, 0xff, 0xff}, []byte("[]")} {
		if _, err := Unpack(b); err == nil {
			t.Errorf("Unpack(%q) = nil error", b)
		}
	}
}

// BenchmarkPack packs a parked session's trace, as every sprint that parks
// one does; bytes/op is the packed size.
func BenchmarkPack(b *testing.B) {
	var n int
	for b.Loop() {
		n = len(Pack(parked))
	}
	b.ReportMetric(float64(n), "packed-bytes")
}
