package waform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// realExample is one Flow JSON document written by someone else.
type realExample struct {
	name string
	raw  []byte
}

// realExamples loads every Flow JSON document of the shared fixtures: the
// pywa files hold an object of named documents each, Meta's are one
// document per file (the Postman collections are not Flow JSON).
func realExamples(t testing.TB) []realExample {
	t.Helper()
	var out []realExample
	pywa, _ := filepath.Glob(filepath.Join(fixtures, "pywa", "flows", "*.json"))
	for _, f := range pywa {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var docs map[string]json.RawMessage
		if err := json.Unmarshal(b, &docs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, realExample{name: "pywa/" + filepath.Base(f) + "/" + k, raw: docs[k]})
		}
	}
	meta, _ := filepath.Glob(filepath.Join(fixtures, "meta-flows-tools", "*.json"))
	for _, f := range meta {
		if strings.Contains(f, "postman") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, realExample{name: "meta/" + filepath.Base(f), raw: b})
	}
	if len(out) == 0 {
		t.Skip("shared fixtures absent: ../shared/fixtures/pywa/flows and meta-flows-tools")
	}
	return out
}

// TestConformanceRealExamples: every published example Flow JSON passes
// with zero errors (warnings, such as a frozen version, are allowed).
func TestConformanceRealExamples(t *testing.T) {
	t.Parallel()
	examples := realExamples(t)
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			res := Validate(ex.raw)
			for _, p := range res.Errors() {
				t.Errorf("%s %s (line %d col %d): %s", p.Code, p.Pointer, p.Line, p.Column, p.Message)
			}
			if _, err := Parse(ex.raw); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
	t.Logf("%d real examples", len(examples))
}

func TestTemplatesAreValid(t *testing.T) {
	t.Parallel()
	ts := Templates()
	if len(ts) != 5 {
		t.Fatalf("%d templates, want 5", len(ts))
	}
	for _, tp := range ts {
		t.Run(tp.ID, func(t *testing.T) {
			t.Parallel()
			res := Validate(tp.JSON)
			if len(res.Problems) != 0 {
				t.Fatalf("template has problems: %+v", res.Problems)
			}
			if !contains(Categories, tp.Category) {
				t.Fatalf("category %q", tp.Category)
			}
			f, err := Parse(tp.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.CompleteFields()) == 0 {
				t.Fatal("a template must complete with answers")
			}
		})
	}
}
