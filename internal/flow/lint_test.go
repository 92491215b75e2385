package flow

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// g builds a graph from compact node and edge specs:
// node "id:type:{json data}", edge "src[.handle]>dst".
func g(t testing.TB, nodes []string, edges ...string) Graph {
	t.Helper()
	var out Graph
	for _, n := range nodes {
		parts := strings.SplitN(n, ":", 3)
		node := Node{ID: parts[0], Type: parts[1]}
		if len(parts) == 3 {
			node.Data = json.RawMessage(parts[2])
		}
		out.Nodes = append(out.Nodes, node)
	}
	for i, e := range edges {
		src, dst, _ := strings.Cut(e, ">")
		src, handle, _ := strings.Cut(src, ".")
		out.Edges = append(out.Edges, Edge{ID: fmt.Sprintf("e%d", i+1), Source: src, SourceHandle: handle, Target: dst})
	}
	return out
}

// base is a minimal clean flow: start → msg → end.
var baseNodes = []string{`s:start:{}`, `m:message:{"text":"hi"}`, `end:end:{}`}

func with(extra ...string) []string { return append(append([]string{}, baseNodes...), extra...) }

type fakeEnv struct{}

func (fakeEnv) TemplateExists(id, name string) bool { return id == "tpl1" || name == "welcome" }
func (fakeEnv) FlowExists(id string) bool           { return id == "flow1" }
func (fakeEnv) WhatsAppFlowExists(id string) bool   { return id == "wf1" }

func TestLintRules(t *testing.T) {
	t.Parallel()
	waitOK := `w:wait_for_response:{"variable":"x","timeout_seconds":60}`
	tests := []struct {
		code string
		bad  Graph
		good Graph
	}{
		{CodeMissingID,
			g(t, with(`:delay:{"seconds":1}`), "s>m", "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeDuplicateNodeID,
			g(t, with(`m:end:{}`), "s>m", "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeDuplicateEdgeID,
			Graph{Nodes: g(t, baseNodes).Nodes, Edges: []Edge{{ID: "a", Source: "s", Target: "m"}, {ID: "a", Source: "m", Target: "end"}}},
			Graph{Nodes: g(t, baseNodes).Nodes, Edges: []Edge{{ID: "a", Source: "s", Target: "m"}, {ID: "b", Source: "m", Target: "end"}}}},
		{CodeUnknownNodeType,
			g(t, []string{`s:start:{}`, `m:teleport:{}`, `end:end:{}`}, "s>m", "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeUnknownField,
			g(t, []string{`s:start:{}`, `m:message:{"text":"hi","colour":"red"}`, `end:end:{}`}, "s>m", "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeMissingField,
			g(t, []string{`s:start:{}`, `m:message:{}`, `end:end:{}`}, "s>m", "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeWrongType,
			g(t, []string{`s:start:{}`, `m:message:{"text":5}`, `end:end:{}`}, "s>m", "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeInvalidValue,
			g(t, with(`d:delay:{"seconds":-1}`), "s>m", "m>d", "d>end"),
			g(t, with(`d:delay:{"seconds":5}`), "s>m", "m>d", "d>end")},
		{CodeDanglingEdge,
			g(t, baseNodes, "s>m", "m>nowhere"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeUnknownExit,
			g(t, baseNodes, "s>m", "m.yes>end"),
			g(t, baseNodes, "s>m", "m.next>end")},
		{CodeConflictingEdgeExit,
			Graph{Nodes: g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["A","B"],"timeout_seconds":5}`, `end:end:{}`}).Nodes,
				Edges: []Edge{{ID: "1", Source: "s", Target: "m"}, {ID: "2", Source: "m", SourceHandle: "A", Target: "end", Data: json.RawMessage(`{"trigger":"button_click","trigger_value":"B"}`)}}},
			Graph{Nodes: g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["A","B"],"timeout_seconds":5}`, `end:end:{}`}).Nodes,
				Edges: []Edge{{ID: "1", Source: "s", Target: "m"}, {ID: "2", Source: "m", SourceHandle: "A", Target: "end", Data: json.RawMessage(`{"trigger":"button_click","trigger_value":"A"}`)}}}},
		{CodeDuplicateExitEdge,
			g(t, with(`end2:end:{}`), "s>m", "m>end", "m>end2"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeUnconnectedExit,
			g(t, with(`c:condition:{"rules":[{"id":"r1","conditions":[{"left":"{{x}}","operator":"is_empty"}]}]}`), "s>m", "m>c", "c.r1>end"),
			g(t, with(`c:condition:{"rules":[{"id":"r1","conditions":[{"left":"{{x}}","operator":"is_empty"}]}]}`), "s>m", "m>c", "c.r1>end", "c.else>end")},
		{CodeUnconnectedOptional,
			g(t, with(waitOK), "s>m", "m>w", "w.reply>end"),
			g(t, with(waitOK), "s>m", "m>w", "w.reply>end", "w.timeout>end")},
		{CodeUnreachableNode,
			g(t, with(`lost:message:{"text":"?"}`), "s>m", "m>end", "lost>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeMissingStart,
			g(t, []string{`m:message:{"text":"hi"}`, `end:end:{}`}, "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeMultipleStarts,
			g(t, with(`s2:start:{}`), "s>m", "s2>m", "m>end"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeMissingEnd,
			g(t, []string{`s:start:{}`, `m:message:{"text":"hi"}`}, "s>m"),
			g(t, baseNodes, "s>m", "m>end")},
		{CodeNoPathToEnd,
			g(t, with(`w:wait_for_response:{"variable":"x","timeout_seconds":9}`), "s>m", "m>w", "w.reply>m", "w.timeout>m", "end>end"),
			g(t, with(`w:wait_for_response:{"variable":"x","timeout_seconds":9}`), "s>m", "m>w", "w.reply>m", "w.timeout>end")},
		{CodeLoopWithoutWait,
			g(t, with(`v:set_variable:{"assignments":[{"variable":"n","value":"{{ n + 1 }}"}]}`), "s>m", "m>v", "v>m"),
			g(t, with(`v:set_variable:{"assignments":[{"variable":"n","value":"{{ n + 1 }}"}]}`, waitOK), "s>m", "m>v", "v>w", "w.reply>m", "w.timeout>end")},
		{CodeWaitWithoutTimeout,
			g(t, with(`w:wait_for_response:{"variable":"x"}`), "s>m", "m>w", "w.reply>end"),
			g(t, with(waitOK), "s>m", "m>w", "w.reply>end", "w.timeout>end")},
		{CodeTooManyButtons,
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["A","B","C","D"],"timeout_seconds":5}`, `end:end:{}`}, "s>m", "m.A>end"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["A","B","C"],"timeout_seconds":5}`, `end:end:{}`}, "s>m", "m.A>end")},
		{CodeButtonTitleTooLong,
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["This title is far too long"],"timeout_seconds":5}`, `end:end:{}`}, "s>m"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["Short"],"timeout_seconds":5}`, `end:end:{}`}, "s>m")},
		{CodeDuplicateButton,
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["Yes","yes"],"timeout_seconds":5}`, `end:end:{}`}, "s>m"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["Yes","No"],"timeout_seconds":5}`, `end:end:{}`}, "s>m")},
		{CodeTooManyListRows,
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","list":{"button":"Pick","sections":[{"rows":[` + rows(11) + `]}]}}`, `end:end:{}`}, "s>m"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","list":{"button":"Pick","sections":[{"rows":[` + rows(10) + `]}]}}`, `end:end:{}`}, "s>m")},
		{CodeListRowTitleTooLong,
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","list":{"button":"Pick","sections":[{"rows":[{"id":"a","title":"A row title that is too long"}]}]}}`, `end:end:{}`}, "s>m"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","list":{"button":"Pick","sections":[{"rows":[{"id":"a","title":"Fine"}]}]}}`, `end:end:{}`}, "s>m")},
		{CodeDuplicateListRow,
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","list":{"button":"Pick","sections":[{"rows":[{"id":"a","title":"A"},{"id":"a","title":"B"}]}]}}`, `end:end:{}`}, "s>m"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","list":{"button":"Pick","sections":[{"rows":[{"id":"a","title":"A"},{"id":"b","title":"B"}]}]}}`, `end:end:{}`}, "s>m")},
		{CodeButtonsAndList,
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["A"],"list":{"button":"Pick","sections":[{"rows":[{"id":"a","title":"A"}]}]}}`, `end:end:{}`}, "s>m"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["A"]}`, `end:end:{}`}, "s>m")},
		{CodeDuplicateExitName,
			g(t, with(`c:condition:{"rules":[{"id":"r","conditions":[{"left":"a","operator":"is_empty"}]},{"id":"r","conditions":[{"left":"a","operator":"is_empty"}]}]}`), "s>m", "m>c", "c.r>end", "c.else>end"),
			g(t, with(`c:condition:{"rules":[{"id":"r","conditions":[{"left":"a","operator":"is_empty"}]},{"id":"q","conditions":[{"left":"a","operator":"is_empty"}]}]}`), "s>m", "m>c", "c.r>end", "c.q>end", "c.else>end")},
		{CodeInvalidRegex,
			g(t, with(`w:wait_for_response:{"variable":"x","validation":{"type":"regex","pattern":"([a-z"},"timeout_seconds":5}`), "s>m", "m>w", "w.reply>end"),
			g(t, with(`w:wait_for_response:{"variable":"x","validation":{"type":"regex","pattern":"[a-z]+"},"timeout_seconds":5}`), "s>m", "m>w", "w.reply>end")},
		{CodeExpressionSyntax,
			g(t, []string{`s:start:{}`, `m:message:{"text":"Hi {{ name + }}"}`, `end:end:{}`}, "s>m", "m>end"),
			g(t, []string{`s:start:{}`, `m:message:{"text":"Hi {{ name }}"}`, `end:end:{}`}, "s>m", "m>end")},
		{CodeCampaignNeedsTemplate,
			g(t, []string{`s:start:{"trigger":{"type":"campaign"}}`, `m:message:{"text":"hi"}`, `end:end:{}`}, "s>m", "m>end"),
			g(t, []string{`s:start:{"trigger":{"type":"campaign"}}`, `t:template:{"template_name":"welcome","buttons":["Yes"],"timeout_seconds":60}`, `m:message:{"text":"hi"}`, `end:end:{}`}, "s>t", "t.Yes>m", "t.other>end", "t.timeout>end", "m>end")},
		{CodeUnknownTemplate,
			g(t, []string{`s:start:{}`, `t:template:{"template_id":"nope"}`, `end:end:{}`}, "s>t", "t>end"),
			g(t, []string{`s:start:{}`, `t:template:{"template_id":"tpl1"}`, `end:end:{}`}, "s>t", "t>end")},
		{CodeUnknownSubflow,
			g(t, []string{`s:start:{}`, `f:subflow:{"flow_id":"nope"}`, `end:end:{}`}, "s>f", "f.completed>end", "f.failed>end"),
			g(t, []string{`s:start:{}`, `f:subflow:{"flow_id":"flow1"}`, `end:end:{}`}, "s>f", "f.completed>end", "f.failed>end")},
		{CodeUnknownWhatsAppFlow,
			g(t, []string{`s:start:{}`, `f:whatsapp_flow:{"whatsapp_flow_id":"nope","body":"b","cta":"Open","timeout_seconds":60}`, `end:end:{}`}, "s>f", "f.completed>end", "f.timeout>end"),
			g(t, []string{`s:start:{}`, `f:whatsapp_flow:{"whatsapp_flow_id":"wf1","body":"b","cta":"Open","timeout_seconds":60}`, `end:end:{}`}, "s>f", "f.completed>end", "f.timeout>end")},
		{CodeUndefinedVariable,
			g(t, []string{`s:start:{}`, `m:message:{"text":"{{ vars.nobody }}"}`, `end:end:{}`}, "s>m", "m>end"),
			g(t, []string{`s:start:{}`, `v:set_variable:{"assignments":[{"variable":"somebody","value":"x"}]}`, `m:message:{"text":"{{ vars.somebody }}"}`, `end:end:{}`}, "s>v", "v>m", "m>end")},
		{CodeInvalidValue,
			g(t, []string{`s:start:{}`, `v:voice_transfer:{"to":"+4930"}`, `end:end:{}`}, "s>v", "v.completed>end", "v.failed>end"),
			g(t, []string{`s:start:{}`, `v:voice_transfer:{"to":"agent:alice","mode":"warm"}`, `end:end:{}`}, "s>v", "v.completed>end", "v.failed>end")},
		{CodeTooManyNodes,
			bigGraph(t, MaxNodes+1),
			bigGraph(t, MaxNodes)},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			bad := Lint(tt.bad, fakeEnv{})
			if !hasCode(bad, tt.code) {
				t.Errorf("bad graph: want %s, got %v", tt.code, bad)
			}
			for _, p := range bad {
				if p.Code == tt.code && (p.Pointer == "" || p.Message == "" || p.Severity == "") {
					t.Errorf("incomplete problem %+v", p)
				}
			}
			if good := Lint(tt.good, fakeEnv{}); hasCode(good, tt.code) {
				t.Errorf("good graph: unexpected %s in %v", tt.code, good)
			}
		})
	}
}

func rows(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf(`{"id":"r%d","title":"Row %d"}`, i, i))
	}
	return strings.Join(parts, ",")
}

func bigGraph(t testing.TB, n int) Graph {
	nodes := []string{`s:start:{}`}
	var edges []string
	prev := "s"
	for i := 1; i < n-1; i++ {
		id := fmt.Sprintf("n%d", i)
		nodes = append(nodes, id+`:delay:{"seconds":1}`)
		edges = append(edges, prev+">"+id)
		prev = id
	}
	nodes = append(nodes, `end:end:{}`)
	edges = append(edges, prev+">end")
	return g(t, nodes, edges...)
}

func hasCode(ps Problems, code string) bool {
	for _, p := range ps {
		if p.Code == code {
			return true
		}
	}
	return false
}

func TestLintSeverities(t *testing.T) {
	t.Parallel()
	warnings := map[string]bool{CodeUnconnectedOptional: true, CodeUnreachableNode: true, CodeWaitWithoutTimeout: true, CodeUndefinedVariable: true, CodeNotExecutable: true}
	gr := g(t, []string{`s:start:{}`, `w:wait_for_response:{"variable":"x"}`, `lost:end:{}`, `m:message:{"text":"{{vars.q}}","buttons":["A"],"timeout_seconds":3}`, `end:end:{}`, `v:voice_call:{}`},
		"s>w", "w.reply>m", "m.A>v", "v.completed>end")
	for _, p := range Lint(gr, nil) {
		want := SeverityError
		if warnings[p.Code] {
			want = SeverityWarning
		}
		if p.Severity != want {
			t.Errorf("%s: severity %s, want %s", p.Code, p.Severity, want)
		}
	}
}

func TestLintReportsEverythingAtOnce(t *testing.T) {
	t.Parallel()
	gr := g(t, []string{`m:message:{"text":"{{ 1 + }}","buttons":["A","B","C","D"],"colour":1}`, `x:teleport:{}`}, "m.A>nowhere")
	ps := Lint(gr, nil)
	for _, code := range []string{CodeMissingStart, CodeMissingEnd, CodeUnknownNodeType, CodeUnknownField, CodeDanglingEdge} {
		if !hasCode(ps, code) {
			t.Errorf("missing %s in %v", code, ps)
		}
	}
}

func TestLintPointers(t *testing.T) {
	t.Parallel()
	gr := g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["Ok","A title over twenty chars"],"timeout_seconds":5}`, `end:end:{}`}, "s>m", "m.Ok>end", "m.nope>end")
	ps := Lint(gr, nil)
	want := map[string]string{CodeButtonTitleTooLong: "/nodes/1/data/buttons/1", CodeUnknownExit: "/edges/2/sourceHandle"}
	for code, ptr := range want {
		found := false
		for _, p := range ps {
			if p.Code == code {
				found = true
				if p.Pointer != ptr {
					t.Errorf("%s: pointer %s, want %s", code, p.Pointer, ptr)
				}
			}
		}
		if !found {
			t.Errorf("missing %s", code)
		}
	}
	// The schema checks' pointers: under the node once, not twice.
	for _, tc := range []struct{ data, code, ptr string }{
		{`{}`, CodeMissingField, "/nodes/1/data/text"},
		{`{"text":"hi","colour":"red"}`, CodeUnknownField, "/nodes/1/data/colour"},
		{`{"text":5}`, CodeWrongType, "/nodes/1/data/text"},
	} {
		ps := Lint(g(t, []string{`s:start:{}`, `m:message:` + tc.data, `end:end:{}`}, "s>m", "m>end"), nil)
		found := false
		for _, p := range ps {
			if p.Code == tc.code {
				found = true
				if p.Pointer != tc.ptr {
					t.Errorf("%s in %s: pointer %s, want %s", tc.code, tc.data, p.Pointer, tc.ptr)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s in %v", tc.data, tc.code, ps)
		}
	}
}

func TestLintExpressionPosition(t *testing.T) {
	t.Parallel()
	gr := g(t, []string{`s:start:{}`, `m:message:{"text":"Hi {{ uper(name) }}"}`, `end:end:{}`}, "s>m", "m>end")
	for _, p := range Lint(gr, nil) {
		if p.Code == CodeExpressionSyntax {
			if p.Pointer != "/nodes/1/data/text" || !strings.Contains(p.Message, "column 7") {
				t.Fatalf("got %+v", p)
			}
			return
		}
	}
	t.Fatal("no expression_syntax problem")
}

func TestEdgeSpellingsAreEquivalent(t *testing.T) {
	t.Parallel()
	nodes := g(t, []string{`s:start:{}`, `m:message:{"text":"?","buttons":["Book","Track Order"],"timeout_seconds":5}`, `end:end:{}`, `b:end:{}`}).Nodes
	handle := Graph{Nodes: nodes, Edges: []Edge{{ID: "1", Source: "s", Target: "m"}, {ID: "2", Source: "m", SourceHandle: "Track Order", Target: "end"}, {ID: "3", Source: "m", SourceHandle: "Book", Target: "b"}}}
	trigger := Graph{Nodes: nodes, Edges: []Edge{{ID: "1", Source: "s", Target: "m"},
		{ID: "2", Source: "m", Target: "end", Data: json.RawMessage(`{"trigger":"button_click","trigger_value":"Track Order"}`)},
		{ID: "3", Source: "m", Target: "b", Data: json.RawMessage(`{"trigger":"button_click","trigger_value":"Book"}`)}}}
	p1, err := Compile(handle, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Compile(trigger, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range p1.Steps[1].Exits {
		if p1.Steps[1].Exits[k].Target != p2.Steps[1].Exits[k].Target {
			t.Fatalf("exit %d differs: %v vs %v", k, p1.Steps[1].Exits, p2.Steps[1].Exits)
		}
	}
}

func TestTemplateNodeButtonsFromEdges(t *testing.T) {
	t.Parallel()
	// The chat-flow API names template quick replies only in edges.
	gr := Graph{Nodes: g(t, []string{`s:start:{}`, `t:template:{"template_id":"tpl1"}`, `yes:end:{}`, `no:end:{}`}).Nodes,
		Edges: []Edge{{ID: "1", Source: "s", Target: "t"},
			{ID: "2", Source: "t", Target: "yes", Data: json.RawMessage(`{"trigger":"button_click","trigger_value":"Yes"}`)},
			{ID: "3", Source: "t", Target: "no", Data: json.RawMessage(`{"trigger":"button_click","trigger_value":"No"}`)}}}
	p, err := Compile(gr, CompileOptions{Env: fakeEnv{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.Steps[1].Config.(*TemplateConfig)
	if cfg.Choices == nil || cfg.Choices.Match("no") != 1 || p.Steps[1].Exits[1].Target != 3 {
		t.Fatalf("got %+v %+v", cfg.Choices, p.Steps[1].Exits)
	}
}
