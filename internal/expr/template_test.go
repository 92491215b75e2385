package expr

import (
	"errors"
	"strings"
	"testing"
)

func TestTemplateRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, want string
	}{
		{"plain text", "plain text"},
		{"", ""},
		{"Hi {{first_name}}!", "Hi Ann!"},
		{"{{ guests * 12 }}", "36"},
		{"{{guests}} guests, {{ price * 2 }} each", "3 guests, 5 each"},
		{"Hi {{ contact.name }}, tags: {{ contact.tags }}", "Hi Bob, tags: vip, new"},
		{`{{ "}}" }} and {{ '{{' }}`, "}} and {{"},
		{`{{ {"a": {"b": 1}}.a.b }}`, "1"},
		{"{{ missing }}|", "|"},
		{"a }} b", "a }} b"},
		{"{{ now }}", "2024-03-05T14:30:00Z"},
		{"{{ 1.50 }}", "1.5"},
		{"ünïcode {{ 'ok' }}", "ünïcode ok"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			tp, err := ParseTemplate(tt.src)
			if err != nil {
				t.Fatalf("ParseTemplate: %v", err)
			}
			got, err := tp.Render(testEnv())
			if err != nil || got != tt.want {
				t.Fatalf("got %q %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestTemplateValueKeepsType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want any
	}{
		{"{{ guests * 12 }}", 36},
		{"  {{ guests > 1 }} ", true},
		{"{{ guests }} x", "3 x"},
		{"literal", "literal"},
		{"{{ price }}", 2.5},
	}
	for _, tt := range tests {
		tp, err := ParseTemplate(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tp.Value(testEnv())
		if err != nil || got != tt.want {
			t.Errorf("%q: got %#v %v, want %#v", tt.src, got, err, tt.want)
		}
	}
}

func TestTemplateSyntaxErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src          string
		offset       int
		line, column int
		msg          string
	}{
		{"Hi {{ name", 3, 1, 4, "never closed"},
		{"Hi {{ }}", 3, 1, 4, "empty"},
		{"Hi {{ 1 + }}!", 9, 1, 10, "unexpected"},
		{"line one\nok {{ uper(x) }}", 15, 2, 7, "unknown function"},
		{"{{ a }} {{ input.nope }}", 17, 1, 18, "no property"},
		{"ü {{ 'x' + 1 }}", 10, 1, 10, "mismatched"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTemplate(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want *SyntaxError, got %v", err)
			}
			if se.Offset != tt.offset || se.Line != tt.line || se.Column != tt.column || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("got %+v, want offset %d line %d col %d %q", se, tt.offset, tt.line, tt.column, tt.msg)
			}
		})
	}
}

func TestTemplateRenderErrorKeepsText(t *testing.T) {
	t.Parallel()
	tp, err := ParseTemplate("a {{ first_name * 2 }} b {{ guests }}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tp.Render(testEnv())
	if err == nil || got != "a  b 3" {
		t.Fatalf("got %q %v", got, err)
	}
}

func TestLiteralTemplateZeroAlloc(t *testing.T) {
	tp := MustParseTemplate("no holes here")
	env := testEnv()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := tp.Render(env); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("literal render allocates %v times", allocs)
	}
}

func TestLookupAllocs(t *testing.T) {
	x, err := Compile("guests > 2 && contact.name != '' && city == 'Paris'")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	_, _ = x.Eval(env) // warm the VM
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := x.Eval(env); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("condition eval allocates %v times", allocs)
	}
}

func BenchmarkRenderLiteral(b *testing.B) {
	tp := MustParseTemplate("Thanks, see you soon!")
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = tp.Render(env)
	}
}

func BenchmarkRenderTemplate(b *testing.B) {
	tp := MustParseTemplate("Hi {{ contact.name }}, a table for {{ guests }} in {{ city }} costs {{ guests * 12 }} EUR.")
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = tp.Render(env)
	}
}

func BenchmarkEvalCondition(b *testing.B) {
	x, err := Compile("guests >= 2 && lower(input.text) contains 'hello'")
	if err != nil {
		b.Fatal(err)
	}
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = x.EvalBool(env)
	}
}

func BenchmarkEvalArithmetic(b *testing.B) {
	x, err := Compile("guests * 12")
	if err != nil {
		b.Fatal(err)
	}
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = x.Eval(env)
	}
}

func BenchmarkCompileTemplate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseTemplate("Hi {{ contact.name }}, you booked {{ guests }} seats.")
	}
}
