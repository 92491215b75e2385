package main

import (
	"context"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/flow"
)

func TestFlowRun(t *testing.T) {
	t.Parallel()
	tpl, ok := flow.Template("appointment_booking")
	if !ok {
		t.Fatal("no appointment_booking template")
	}
	doc, err := flow.Export(flow.Document{Flow: flow.Settings{Name: tpl.Name}, FlowData: tpl.Graph})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"booked", "1\n2\n2099-06-30\n1\n1\n", []string{"Hi Ann! Would you like to book", "(1) Book now", "Which service", "You're booked! See you on 2099-06-30", "[session completed", "service = \"Coloring\""}},
		{"timeout", "/timeout\n", []string{"We haven't heard from you", "[session completed"}},
		{"other reply", "maybe\n/quit\n", []string{"Please tap one of the buttons"}},
		{"invalid date twice", "1\n1\nsoon\nlater\nnever\n", []string{"Sorry, I need a date", "couldn't understand the date"}},
		{"quit", "/quit\n", []string{"[stopped]"}},
		{"input ends", "", []string{"still waiting"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out syncBuffer
			if err := runFlowFile(context.Background(), doc, "Ann", nil, strings.NewReader(tc.input), &out, "x.json"); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	var out syncBuffer
	if err := runFlowFile(context.Background(), []byte(`{"nodes": 5}`), "Ann", nil, strings.NewReader(""), &out, "bad.json"); err == nil || !strings.Contains(err.Error(), "nodes") {
		t.Fatalf("a broken file gave %v", err)
	}
}

// TestFlowRunCode runs a code node through the CLI's engine, on the real
// script runner.
func TestFlowRunCode(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"format":"parley.flow","version":1,"flow":{"name":"quote"},"flow_data":{"nodes":[
		{"id":"s","type":"start","data":{}},
		{"id":"c","type":"code","data":{"code":"return {variables: {quote: contact.name.toUpperCase() + ':' + (6 * 7)}}"}},
		{"id":"m","type":"message","data":{"text":"Quote {{quote}}"}},
		{"id":"f","type":"message","data":{"text":"failed"}},
		{"id":"e","type":"end","data":{}}],
		"edges":[{"id":"e1","source":"s","target":"c"},{"id":"e2","source":"c","sourceHandle":"next","target":"m"},
		{"id":"e3","source":"c","sourceHandle":"failed","target":"f"},{"id":"e4","source":"m","target":"e"},{"id":"e5","source":"f","target":"e"}]}}`)
	var out syncBuffer
	if err := runFlowFile(context.Background(), doc, "Ann", nil, strings.NewReader(""), &out, "code.json"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Quote ANN:42") {
		t.Fatalf("output:\n%s", out.String())
	}
}
