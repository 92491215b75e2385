package flow

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBuiltinHandoffTimeoutWords: in the built-in templates a handoff's
// timeout (the team did not reply) never leads to the words meant for a
// customer who went quiet, and what it says is about the team.
func TestBuiltinHandoffTimeoutWords(t *testing.T) {
	t.Parallel()
	all, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range all {
		g := tpl.Graph
		customerTimeout := map[string]bool{}
		for _, e := range g.Edges {
			if e.SourceHandle == ExitTimeout && g.Nodes[g.Node(e.Source)].Type != TypeHandoff {
				customerTimeout[e.Target] = true
			}
		}
		for _, e := range g.Edges {
			if e.SourceHandle != ExitTimeout || g.Nodes[g.Node(e.Source)].Type != TypeHandoff {
				continue
			}
			var d struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(g.Nodes[g.Node(e.Target)].Data, &d)
			if d.Text == "" {
				continue // ends silently
			}
			if customerTimeout[e.Target] || strings.Contains(d.Text, "heard from you") || !strings.Contains(strings.ToLower(d.Text), "team") {
				t.Errorf("%s: the handoff timeout of %q says %q: it should say the team did not reply", tpl.ID, e.Source, d.Text)
			}
		}
	}
}
