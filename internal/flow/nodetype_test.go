package flow

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateFixture = flag.Bool("update", false, "rewrite ui/src/editor/testdata/node-types.json")

// uiFixture is the node-types response and exit cases the UI's unit tests
// evaluate: the same file proves here that it is what the server says.
var uiFixture = filepath.Join("..", "..", "ui", "src", "editor", "testdata", "node-types.json")

// exitCase is a node whose exits the Go linter computes; the UI's unit test
// computes them from the node-types response and must agree.
type exitCase struct {
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	Exits []string        `json:"exits"`
}

var exitCases = []struct{ typ, data string }{
	{TypeMessage, `{"text":"Hi"}`},
	{TypeMessage, `{"text":"Pick","buttons":["Yes","No"]}`},
	{TypeMessage, `{"text":"Pick","list":{"button":"Open","sections":[{"title":"A","rows":[{"id":"r1","title":"One"}]},{"title":"B","rows":[{"id":"r2","title":"Two"}]}]}}`},
	{TypeMessage, `{"text":"Pick","list":{"button":"Open","sections":[]}}`},
	{TypeTemplate, `{"template_name":"t"}`},
	{TypeTemplate, `{"template_name":"t","buttons":["Stop","More"]}`},
	{TypeCondition, `{"rules":[{"id":"a","conditions":[]},{"id":"b","label":"Bee","conditions":[]}]}`},
	{TypeCondition, `{"rules":[]}`},
	{TypeSplit, `{"branches":[{"id":"x","weight":1},{"id":"y","label":"Why","weight":3}]}`},
	{TypeWaitForResponse, `{"variable":"age"}`},
	{TypeHTTPRequest, `{"url":"https://example.com"}`},
	{TypeEnd, `{}`},
	{TypeStart, `{}`},
	{TypeHandoff, `{}`},
	{TypeVoiceCall, `{}`},
}

func TestNodeTypesFixture(t *testing.T) {
	t.Parallel()
	var cases []exitCase
	for _, c := range exitCases {
		a := analyze(Graph{Nodes: []Node{{ID: "n", Type: c.typ, Data: json.RawMessage(c.data)}}}, nil)
		if a.nodes[0].data == nil {
			t.Fatalf("%s %s: undecodable: %v", c.typ, c.data, a.out)
		}
		names := []string{}
		for _, x := range a.nodes[0].exits {
			names = append(names, x.name)
		}
		cases = append(cases, exitCase{Type: c.typ, Data: json.RawMessage(c.data), Exits: names})
	}
	want, err := json.MarshalIndent(map[string]any{"results": NodeTypes(), "exit_cases": cases}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *updateFixture {
		if err := os.WriteFile(uiFixture, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(uiFixture)
	if err != nil {
		t.Fatalf("reading the UI's fixture (go test ./internal/flow -run NodeTypesFixture -update writes it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the server describes; run go test ./internal/flow -run NodeTypesFixture -update and check the UI's tests", uiFixture)
	}
}

func TestNodeTypesDescribeEveryType(t *testing.T) {
	t.Parallel()
	types := NodeTypes()
	if len(types) != len(registry) {
		t.Fatalf("%d node types for %d registered", len(types), len(registry))
	}
	for _, nt := range types {
		s := specs[nt.Type]
		switch {
		case s == nil || s.kind == KindInvalid:
			t.Errorf("%s: not registered with a kind", nt.Type)
		case nt.GroupLabel == "" || nt.Label == "" || nt.Description == "":
			t.Errorf("%s: palette info incomplete: %+v", nt.Type, nt)
		case nt.Available != (nt.Reason == ""):
			t.Errorf("%s: available=%v with reason %q", nt.Type, nt.Available, nt.Reason)
		case len(nt.Exits.Static) == 0 && len(nt.Exits.Dynamic) == 0 && nt.Type != TypeEnd:
			t.Errorf("%s: no exits described", nt.Type)
		}
		// A new node starts from defaults the schema accepts.
		raw, _ := json.Marshal(nt.Defaults)
		a := analyze(Graph{Nodes: []Node{{ID: "n", Type: nt.Type, Data: raw}}}, nil)
		for _, p := range a.out {
			if p.Code == CodeUnknownField || p.Code == CodeWrongType {
				t.Errorf("%s: defaults %s: %s", nt.Type, raw, p.Message)
			}
		}
		for _, d := range nt.Exits.Dynamic {
			if (d.From != "" || d.When == "") && !pathInSchema(nt.Fields, d.From) {
				t.Errorf("%s: exits from %q, which is not in the schema", nt.Type, d.From)
			}
			if d.When != "" && !pathInSchema(nt.Fields, d.When) {
				t.Errorf("%s: exits when %q, which is not in the schema", nt.Type, d.When)
			}
		}
	}
}

func pathInSchema(fields []Field, path string) bool {
	list := fields
	for _, seg := range strings.Split(path, ".") {
		name, each := strings.CutSuffix(seg, "[*]")
		var f *Field
		for i := range list {
			if list[i].Name == name {
				f = &list[i]
			}
		}
		if f == nil || (each && f.Items == nil) {
			return false
		}
		if each {
			f = f.Items
		}
		list = f.Fields
	}
	return true
}

// limitCodes are the codes a broken limit may be reported with.
var limitCodes = map[string]bool{CodeTooManyButtons: true, CodeButtonTitleTooLong: true, CodeTooManyListRows: true,
	CodeListRowTitleTooLong: true, CodeInvalidValue: true}

// TestLimitsAreEnforced breaks every declared limit in turn and expects the
// linter to report it at that place: the limits the editor shows are the
// ones the server checks.
func TestLimitsAreEnforced(t *testing.T) {
	t.Parallel()
	for _, nt := range NodeTypes() {
		for _, l := range nt.Limits {
			var bad []any
			if l.MaxItems > 0 {
				bad = append(bad, "items")
			}
			if l.MaxLength > 0 {
				bad = append(bad, strings.Repeat("x", l.MaxLength+1))
			}
			if l.Minimum != nil {
				bad = append(bad, *l.Minimum-1)
			}
			if l.Maximum != nil {
				bad = append(bad, *l.Maximum+1)
			}
			for _, v := range bad {
				t.Run(fmt.Sprintf("%s %s %v", nt.Type, l.Path, v), func(t *testing.T) {
					t.Parallel()
					data := dataAt(nt.Fields, strings.Split(l.Path, "."), v, l.MaxItems)
					raw, err := json.Marshal(data)
					if err != nil {
						t.Fatal(err)
					}
					ptr := "/nodes/0/data/" + strings.ReplaceAll(strings.ReplaceAll(l.Path, "[*]", "/0"), ".", "/")
					if l.MaxItems > 0 {
						ptr = strings.TrimSuffix(ptr, "/0")
					}
					ps := Lint(Graph{Nodes: []Node{{ID: "n", Type: nt.Type, Data: raw}}}, nil)
					for _, p := range ps {
						if limitCodes[p.Code] && strings.HasPrefix(p.Pointer, ptr) {
							return
						}
					}
					t.Errorf("data %s breaks %q (%s) but lint reports no problem at %s: %v", raw, l.Path, l.Doc, ptr, ps)
				})
			}
		}
	}
}

// dataAt builds data whose value at path is v; for "items", a list of
// max+1 distinct items of the field's item kind.
func dataAt(fields []Field, path []string, v any, max int) map[string]any {
	name, each := strings.CutSuffix(path[0], "[*]")
	var f Field
	for _, x := range fields {
		if x.Name == name {
			f = x
		}
	}
	var val any
	switch {
	case len(path) == 1 && !each && v == "items":
		items := make([]any, max+1)
		for i := range items {
			items[i] = itemOf(f.Items, i)
		}
		val = items
	case len(path) == 1 && !each:
		val = v
	case len(path) == 1: // name[*]: one item holding v
		val = []any{v}
	case each:
		val = []any{dataAt(f.Items.Fields, path[1:], v, max)}
	default:
		val = dataAt(f.Fields, path[1:], v, max)
	}
	return map[string]any{name: val}
}

func itemOf(f *Field, i int) any {
	if f.Kind != KindObject {
		return "v" + strconv.Itoa(i)
	}
	out := map[string]any{}
	for _, x := range f.Fields {
		if x.Required && (x.Kind == KindString || x.Kind == KindTemplate) {
			out[x.Name] = "v" + strconv.Itoa(i)
		}
	}
	return out
}
