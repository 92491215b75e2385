package engine

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestEventJSON: AppendJSON writes the bytes json.Marshal writes for every
// kind of event, every field set or not, strings that need escaping, and
// fails where json.Marshal fails.
func TestEventJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 6, 30, 0, 123456789, time.FixedZone("x", 3600))
	tricky := "<b>\"q\" & \\ é \u2028 \x00 \xff</b>"
	tests := []struct {
		name string
		e    Event
	}{
		{"empty", Event{}},
		{"node entered", Event{Kind: EventNodeEntered, Node: "ask-1"}},
		{"edge taken", Event{Kind: EventEdgeTaken, Node: "ask", Exit: "Book", Edge: "e2"}},
		{"subflow", Event{Kind: EventSubflowStarted, Flow: "f-9", Revision: 12, Name: "sub", Value: 3}},
		{"variable", Event{Kind: EventVariableSet, Node: "n", Name: "answer", Value: map[string]any{"a": []any{1.5, "x", nil}, "<": true}}},
		{"variable string", Event{Kind: EventVariableSet, Name: tricky, Value: tricky}},
		{"contact changed", Event{Kind: EventContactChanged, Change: "add_tag", Name: "vip", Value: "vip"}},
		{"waiting", Event{Kind: EventWaiting, Node: "ask", Name: "message", Seq: math.MaxUint32, At: at}},
		{"timer", Event{Kind: EventTimerSet, Seq: 7, At: at.UTC()}},
		{"ended", Event{Kind: EventSessionEnded, Status: StatusCompleted, Text: tricky}},
		{"status unknown", Event{Kind: EventSubflowEnded, Status: Status(200)}},
		{"kind unknown", Event{Kind: EventKind(99)}},
		{"negative revision", Event{Kind: EventSubflowStarted, Revision: -3}},
		{"message", Event{Kind: EventMessageOut, Node: "m", Message: &Message{Type: MessageButtons, Text: "Pick <one>", Buttons: []string{"A", "B&C"}}}},
		{"http", Event{Kind: EventHTTPCalled, Node: "h", HTTP: &HTTPCall{Method: "GET", URL: "https://x.test/?a=1&b=<2>", Status: 200, Bytes: 12}}},
		{"llm", Event{Kind: EventLLMCalled, Node: "ai", Text: "timeout", LLM: &LLMCall{Model: "m", PromptTokens: 3, LatencyMS: 40, Error: "timeout"}}},
		{"error", Event{Kind: EventError, Node: "n", Name: "text", Text: "bad {{template}}"}},
		{"everything", Event{Kind: EventError, Flow: "f", Revision: 1, Node: "n", Exit: "x", Edge: "e", Change: "c", Name: "nm", Value: []int{1},
			Text: "t", Status: StatusFailed, Seq: 1, At: at, Message: &Message{Type: MessageText}, HTTP: &HTTPCall{}, LLM: &LLMCall{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.e.AppendJSON([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Errorf("AppendJSON =\n%s\nwant\nprefix%s", got, want)
			}
		})
	}
	// What json.Marshal refuses, AppendJSON refuses too.
	for name, e := range map[string]Event{
		"year 10000":   {Kind: EventTimerSet, At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"value NaN":    {Kind: EventVariableSet, Value: math.NaN()},
		"value a func": {Kind: EventVariableSet, Value: func() {}},
	} {
		if _, err := json.Marshal(e); err == nil {
			t.Fatalf("%s: json.Marshal accepted it; the case tests nothing", name)
		}
		if _, err := e.AppendJSON(nil); err == nil {
			t.Errorf("%s: AppendJSON accepted what json.Marshal refuses", name)
		}
	}
}

func BenchmarkEventJSON(b *testing.B) {
	e := Event{Kind: EventEdgeTaken, Node: "reply", Exit: "default", Edge: "e2"}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.AppendJSON(make([]byte, 0, 64)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
