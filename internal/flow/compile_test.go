package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

func TestCompileRejectsLintErrors(t *testing.T) {
	t.Parallel()
	_, err := Compile(g(t, []string{`m:message:{}`}), CompileOptions{})
	var le *LintError
	if !errors.As(err, &le) || len(le.Problems) < 3 {
		t.Fatalf("want a LintError with all problems, got %v", err)
	}
	for _, p := range le.Problems {
		if p.Severity != SeverityError {
			t.Fatalf("LintError carries a warning: %v", p)
		}
	}
}

func TestCompileIR(t *testing.T) {
	t.Parallel()
	gr := g(t, []string{
		`s:start:{"trigger":{"type":"keyword","keywords":[" Book "]}}`,
		`ask:message:{"text":"Hi {{contact.name}}","buttons":["Yes","No"],"timeout_seconds":30}`,
		`w:wait_for_response:{"variable":"guests","validation":{"type":"number"},"timeout_seconds":60}`,
		`v:set_variable:{"assignments":[{"variable":"price","value":"{{ guests * 12 }}"}]}`,
		`c:condition:{"rules":[{"id":"big","conditions":[{"left":"{{price}}","operator":"gt","right":"50"}]}]}`,
		`end:end:{"text":"Bye {{ price }}"}`,
	}, "s>ask", "ask.Yes>w", "ask.No>end", "ask.other>ask", "ask.timeout>end", "w.reply>v", "w.invalid>end", "w.timeout>end", "v>c", "c.big>end", "c.else>end")
	p, err := Compile(gr, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Start != 0 || p.Trigger.Type != "keyword" || p.Trigger.Keywords[0] != "book" || p.Trigger.Match != "exact" {
		t.Fatalf("start/trigger: %+v", p.Trigger)
	}
	ask := p.Steps[1]
	if ask.Kind != KindMessage || !ask.Waits || len(ask.Exits) != 4 {
		t.Fatalf("ask: %+v", ask)
	}
	mc := ask.Config.(*MessageConfig)
	if mc.Choices.Other != 2 || mc.Choices.Timeout != 3 || mc.Choices.Wait != 30*time.Second {
		t.Fatalf("choices: %+v", mc.Choices)
	}
	if ask.Exits[mc.Choices.Match(" yes ")].Target != 2 || ask.Exits[mc.Choices.Match("maybe")].Target != 1 {
		t.Fatalf("exits: %+v", ask.Exits)
	}
	if i, ok := p.NodeIndex("end"); !ok || i != 5 || len(p.Steps[5].Exits) != 0 {
		t.Fatalf("end index %d %v", i, ok)
	}

	env := &expr.Env{Vars: map[string]any{}, Contact: expr.Contact{Name: "Ann"}}
	v, ok := p.Steps[2].Config.(*WaitConfig).Validation.Check("5")
	if !ok {
		t.Fatal("5 is a number")
	}
	env.Vars["guests"] = v
	asg := p.Steps[3].Config.(*SetVariableConfig).Assignments[0]
	price, err := asg.Value.Value(env)
	if err != nil || price != 60 {
		t.Fatalf("price %v %v", price, err)
	}
	env.Vars["price"] = price
	exit, err := p.Steps[4].Config.(*ConditionConfig).Choose(env)
	if err != nil || p.Steps[4].Exits[exit].Name != "big" {
		t.Fatalf("condition chose %d %v", exit, err)
	}
	text, _ := mc.Text.Render(env)
	if text != "Hi Ann" {
		t.Fatalf("text %q", text)
	}
}

func TestCompileDeterministic(t *testing.T) {
	t.Parallel()
	tpls, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range tpls {
		a, err := Compile(tp.Graph, CompileOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tp.ID, err)
		}
		b, _ := Compile(tp.Graph, CompileOptions{})
		if a.Hash != b.Hash || len(a.Steps) != len(b.Steps) {
			t.Fatalf("%s: not deterministic", tp.ID)
		}
		for i := range a.Steps {
			for k := range a.Steps[i].Exits {
				if a.Steps[i].Exits[k] != b.Steps[i].Exits[k] {
					t.Fatalf("%s: exits differ", tp.ID)
				}
			}
		}
	}
}

func TestBuiltinTemplatesClean(t *testing.T) {
	t.Parallel()
	tpls, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"appointment_booking", "campaign_survey", "csat_survey", "faq_menu", "lead_capture", "order_form"}
	if len(tpls) != len(want) {
		t.Fatalf("got %d templates", len(tpls))
	}
	for i, tp := range tpls {
		if tp.ID != want[i] || tp.Name == "" || tp.Description == "" || tp.Category == "" {
			t.Errorf("template %d: %+v", i, tp)
		}
		if ps := Lint(tp.Graph, nil); len(ps) > 0 {
			t.Errorf("%s is not lint-clean: %v", tp.ID, ps)
		}
	}
	// The UI test taps a button and fires a wait's timeout in this one.
	ab, _ := Template("appointment_booking")
	p, err := Compile(ab.Graph, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buttons, waitTimeout bool
	for _, s := range p.Steps {
		if mc, ok := s.Config.(*MessageConfig); ok && len(mc.Buttons) > 0 {
			buttons = true
		}
		if wc, ok := s.Config.(*WaitConfig); ok && wc.Timeout > 0 && s.Exits[WaitExitTimeout].Target >= 0 {
			waitTimeout = true
		}
	}
	if !buttons || !waitTimeout {
		t.Fatal("appointment_booking needs buttons and a wait with a timeout exit")
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	tpls, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range tpls {
		t.Run(tp.ID, func(t *testing.T) {
			t.Parallel()
			doc := Document{Flow: Settings{Name: tp.Name, Remark: tp.Description, Logging: true, ExpireAfterSeconds: 86400, OnRetrigger: "ignore"}, FlowData: tp.Graph}
			first, err := Export(doc)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Import(first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := Export(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Fatalf("round trip differs:\n%s\n---\n%s", first, second)
			}
			if back.Flow.Trigger == nil {
				t.Fatal("trigger setting not exported")
			}
		})
	}
}

func TestGraphKeepsUIKeys(t *testing.T) {
	t.Parallel()
	in := `{"nodes":[{"id":"a","type":"start","position":{"x":1.5,"y":2},"data":{},"measured":{"width":150,"height":40},"selected":true}],"edges":[{"id":"e","source":"a","target":"b","animated":true,"data":{"trigger":"button_click","trigger_value":"X","ui":1}}],"viewport":{"zoom":1}}`
	var gr Graph
	if err := json.Unmarshal([]byte(in), &gr); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(gr)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"nodes":[{"id":"a","type":"start","position":{"x":1.5,"y":2},"data":{},"measured":{"width":150,"height":40},"selected":true}],"edges":[{"id":"e","source":"a","target":"b","data":{"trigger":"button_click","trigger_value":"X","ui":1},"animated":true}],"viewport":{"zoom":1}}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		ptr      string // expected error pointer; "" = success
		types    []string
	}{
		{"bare graph with foreign types", `{"nodes":[{"id":"1","type":"Start"},{"id":"2","type":"SendMessage","data":{"text":"hi"}},{"id":"3","type":"WaitForResponse"},{"id":"4","type":"send_template"},{"id":"5","type":"VoiceCall"},{"id":"6","type":"TransferToAgent"},{"id":"7","type":"Webhook"},{"id":"8","type":"End"}],"edges":[]}`,
			"", []string{"start", "message", "wait_for_response", "template", "voice_call", "handoff", "http_request", "end"}},
		{"chat-flow API object", `{"name":"x","is_active":true,"start_template":42,"flow_data":{"nodes":[{"id":1,"type":"start"}],"edges":[]}}`, "", []string{"start"}},
		{"unknown type kept for the linter", `{"nodes":[{"id":"a","type":"Teleport"}]}`, "", []string{"Teleport"}},
		{"not json", `{"nodes":`, "", nil},
		{"wrong format", `{"format":"other","flow_data":{}}`, "/format", nil},
		{"future version", `{"format":"parley.flow","version":9,"flow_data":{}}`, "/version", nil},
		{"node not an object", `{"format":"parley.flow","version":1,"flow_data":{"nodes":[{"id":"a","type":"start"},7]}}`, "/flow_data/nodes/1", nil},
		{"bad id", `{"nodes":[{"id":{"x":1},"type":"start"}]}`, "/nodes/0/id", nil},
		{"data not an object", `{"nodes":[{"id":"a","type":"start","data":[1]}]}`, "/nodes/0/data", nil},
		{"edges not an array", `{"nodes":[],"edges":{}}`, "/edges", nil},
		{"nothing flow-like", `{"hello":1}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Import([]byte(tt.in))
			if tt.types == nil {
				var de *DecodeError
				if !errors.As(err, &de) || de.Pointer != tt.ptr || de.Msg == "" {
					t.Fatalf("want DecodeError at %q, got %v", tt.ptr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, typ := range tt.types {
				if d.FlowData.Nodes[i].Type != typ {
					t.Errorf("node %d: type %s, want %s", i, d.FlowData.Nodes[i].Type, typ)
				}
			}
		})
	}
}

func TestNodeTypesRegistry(t *testing.T) {
	t.Parallel()
	types := NodeTypes()
	if len(types) != 20 {
		t.Fatalf("got %d node types", len(types))
	}
	groups := map[string]bool{GroupMessages: true, GroupLogic: true, GroupData: true, GroupIntegrations: true, GroupWhatsApp: true, GroupVoice: true}
	for _, nt := range types {
		if !groups[nt.Group] || nt.Label == "" || nt.Description == "" {
			t.Errorf("%s: incomplete %+v", nt.Type, nt)
		}
		if _, ok := kindByType[nt.Type]; !ok {
			t.Errorf("%s has no Kind", nt.Type)
		}
	}
	msg, ok := LookupNodeType("message")
	if !ok || msg.DynamicExits == "" {
		t.Fatal("message type")
	}
	b, err := json.Marshal(msg)
	if err != nil || !bytes.Contains(b, []byte(`"name":"buttons"`)) {
		t.Fatalf("schema JSON: %s %v", b, err)
	}
}

func TestOperators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op          string
		left, right any
		want        bool
	}{
		{"equals", " Yes ", "yes", true}, {"equals", 3, "3.0", true}, {"not_equals", "a", "b", true},
		{"contains", "Hello World", "world", true}, {"not_contains", "abc", "x", true},
		{"starts_with", "Hello", "he", true}, {"ends_with", "Hello", "LO", true},
		{"matches", "AB-12", `^[A-Z]+-\d+$`, true}, {"matches", "ab", `^\d+$`, false},
		{"gt", "10", 9, true}, {"gte", 3, 3, true}, {"lt", 2.5, "3", true}, {"lte", "x", 3, false},
		{"before", "2024-01-01", "2024-02-01", true}, {"after", "2024-01-01", "2024-02-01", false},
		{"is_empty", "  ", nil, true}, {"is_not_empty", "x", nil, true},
		{"has_any_word", "I want a refund now", "refund return", true}, {"has_all_words", "refund please", "refund now", false},
		{"is_number", "4.2", nil, true}, {"is_email", "a@b.co", nil, true}, {"is_email", "nope", nil, false},
	}
	for _, tt := range tests {
		op, ok := ParseOperator(tt.op)
		if !ok {
			t.Fatalf("unknown operator %s", tt.op)
		}
		got, err := op.Compare(tt.left, tt.right, nil)
		if err != nil || got != tt.want {
			t.Errorf("%v %s %v = %v %v, want %v", tt.left, tt.op, tt.right, got, err, tt.want)
		}
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v     Validation
		in    string
		ok    bool
		value any
	}{
		{Validation{Type: "text"}, " hi ", true, "hi"},
		{Validation{Type: "text"}, "  ", false, nil},
		{Validation{Type: "number"}, "12", true, 12},
		{Validation{Type: "number"}, "twelve", false, nil},
		{Validation{Type: "email"}, "ann@example.com", true, "ann@example.com"},
		{Validation{Type: "phone"}, "+49 151 1234567", true, "+49 151 1234567"},
		{Validation{Type: "phone"}, "12ab", false, nil},
		{Validation{Type: "date"}, "24/12/2030", true, "2030-12-24"},
		{Validation{Type: "choice", Choices: []string{"Red", "Blue"}}, "blue", true, "Blue"},
		{Validation{Type: "choice", Choices: []string{"Red"}}, "green", false, nil},
	}
	for _, tt := range tests {
		v, ok := tt.v.Check(tt.in)
		if ok != tt.ok || (ok && v != tt.value) {
			t.Errorf("%s %q: got %v %v", tt.v.Type, tt.in, v, ok)
		}
	}
}

func TestSplitPick(t *testing.T) {
	t.Parallel()
	s := SplitConfig{Branches: []Branch{{ID: "a", Weight: 1}, {ID: "b", Weight: 3}}, Total: 4}
	if s.Pick(0.1) != 0 || s.Pick(0.5) != 1 || s.Pick(0.9999) != 1 {
		t.Fatal("pick")
	}
}

func BenchmarkLintTemplate(b *testing.B) {
	tp, _ := Template("appointment_booking")
	b.ReportAllocs()
	for b.Loop() {
		Lint(tp.Graph, nil)
	}
}

func BenchmarkConditionChoose(b *testing.B) {
	tp, _ := Template("order_form")
	p, err := Compile(tp.Graph, CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	i, _ := p.NodeIndex("check_qty")
	cc := p.Steps[i].Config.(*ConditionConfig)
	env := &expr.Env{Vars: map[string]any{"qty": 3}}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = cc.Choose(env)
	}
}

// TestCampaignSurveyTemplate: the built-in campaign flow has the campaign
// trigger, passes the campaign rule, sends the survey_invite template and
// reads the dataset's name column.
func TestCampaignSurveyTemplate(t *testing.T) {
	t.Parallel()
	tp, ok := Template("campaign_survey")
	if !ok {
		t.Fatal("no campaign_survey template")
	}
	f := Campaign(tp.Graph, nil)
	if f.Trigger != "campaign" || len(f.Problems) != 0 || len(f.Templates) != 1 || f.Templates[0].Name != "survey_invite" || fmt.Sprint(f.Columns) != "[name]" {
		t.Fatalf("facts: %+v", f)
	}
}
