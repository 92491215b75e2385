package expr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testEnv() *Env {
	return &Env{
		Vars:    map[string]any{"guests": 3, "first_name": "Ann", "price": 2.5, "list": []any{1, 2, 3}},
		Row:     map[string]any{"city": "Paris", "first_name": "RowAnn"},
		Contact: Contact{ID: "c1", Name: "Bob", Phone: "+4915112345678", Fields: map[string]any{"email": "b@x.io", "city": "Berlin"}, Tags: []string{"vip", "new"}},
		Input:   Input{Text: "hello world", Type: "text"},
		Flow:    Flow{ID: "f1", Name: "Booking", Revision: 4},
		Now:     time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC),
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want any
	}{
		{"guests * 12", 36},
		{"first_name", "Ann"},      // vars win over row
		{"city", "Paris"},          // row wins over contact field
		{"email", "b@x.io"},        // contact field as bare name
		{"missing", nil},           // unknown bare names are nil, not errors
		{"vars.guests + 1", 4},     // explicit scope
		{"vars['guests']", 3},      // index form
		{"row.city", "Paris"},      // explicit row
		{"contact.city", "Berlin"}, // shorthand for contact.fields.city
		{"contact.fields.email", "b@x.io"},
		{"contact.name + ' ' + contact.phone", "Bob +4915112345678"},
		{"len(contact.tags)", 2},
		{"'vip' in contact.tags", true},
		{"upper(input.text)", "HELLO WORLD"},
		{"input.type == 'text'", true},
		{"flow.name + '#' + string(flow.revision)", "Booking#4"},
		{"now.Year()", 2024},
		{"format_date(now(), 'date')", "2024-03-05"},
		{"format_date(add_days(now, 1), '02 Jan')", "06 Mar"},
		{"let g = guests; g * g", 9},
		{"sum(map(vars.list, # * guests))", 18},
		{"default(missing, 'friend')", "friend"},
		{"default(first_name, 'friend')", "Ann"},
		{"num('12') + 1", 13},
		{"text(price)", "2.5"},
		{"title('ann marie')", "Ann Marie"},
		{"is_email(email)", true},
		{"is_number('4.5')", true},
		{"format_number(price, 2)", "2.50"},
		{"word(input.text, 1)", "world"},
		{"format_date(parse_date('2024-12-24'), 'date')", "2024-12-24"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			x, err := Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := x.Eval(testEnv())
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src    string
		offset int
		msg    string
	}{
		{"1 +", 2, "unexpected"},
		{"", 0, "empty"},
		{"uper(name)", 0, "unknown function uper"},
		{"input.foo", 6, "input has no property"},
		{"flow.x", 5, "flow has no property"},
		{"'a' + 1", 4, "mismatched types"},
		{"guests * (2", 10, "unexpected"},
		{"$env", 0, "$env"},
		{"default", 0, "is a function"},
		{"now(1)", 0, "no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want *SyntaxError, got %v", err)
			}
			if se.Offset != tt.offset || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("got offset %d %q, want %d containing %q", se.Offset, se.Msg, tt.offset, tt.msg)
			}
		})
	}
}

func TestMaxNodes(t *testing.T) {
	t.Parallel()
	src := strings.Repeat("1 + ", 600) + "1"
	if _, err := Compile(src); err == nil {
		t.Fatal("want an error for an oversized expression")
	}
	if _, err := Compile(src, WithLimits(Limits{MaxNodes: 5000})); err != nil {
		t.Fatalf("raised limit: %v", err)
	}
}

func TestRunawayAndFailing(t *testing.T) {
	t.Parallel()
	big := make([]any, 2000)
	for i := range big {
		big[i] = i
	}
	tests := []struct {
		name   string
		src    string
		budget bool
	}{
		{"nested ranges", "map(1..1000, map(1..1000, #))", true},
		{"huge range", "len(1..10000000)", true},
		{"huge repeat", "repeat('a', 100000000)", true},
		{"nested loops over scope data", "count(vars.big, any(vars.big, any(vars.big, # == -1)))", true},
		{"division by zero", "1 / (guests - guests) > 0 && 1 % (guests - guests) == 0", false},
		{"index out of range", "vars.list[10]", false},
		{"type error at run time", "first_name * 2", false},
		{"num of text", "num('abc')", false},
		{"nil call", "contact.Foo()", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, err := Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			env := testEnv()
			env.Vars["big"] = big
			start := time.Now()
			_, err = x.Eval(env)
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.budget && !errors.Is(err, ErrBudget) {
				t.Fatalf("want ErrBudget, got %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v", d)
			}
			// The Env stays usable after a failure.
			ok, _ := Compile("guests + 1")
			if v, err := ok.Eval(env); err != nil || v != 4 {
				t.Fatalf("env unusable after failure: %v %v", v, err)
			}
		})
	}
}

func TestEvalNilEnv(t *testing.T) {
	t.Parallel()
	x, err := Compile("default(first_name, 'there')")
	if err != nil {
		t.Fatal(err)
	}
	v, err := x.Eval(nil)
	if err != nil || v != "there" {
		t.Fatalf("got %v %v", v, err)
	}
}

func TestEvalBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want bool
	}{
		{"guests > 2", true},
		{"guests > 5", false},
		{"first_name", true},
		{"missing", false},
		{"'no'", false},
		{"0", false},
		{"contact.tags", true},
	}
	for _, tt := range tests {
		x, err := Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := x.EvalBool(testEnv())
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v %v, want %v", tt.src, got, err, tt.want)
		}
	}
}

func TestRefs(t *testing.T) {
	t.Parallel()
	x, err := Compile("guests + vars.a + row.b + contact.fields.c + contact.name + input.text + first_name + guests")
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{{"", "guests"}, {"vars", "a"}, {"row", "b"}, {"fields", "c"}, {"contact", "name"}, {"input", "text"}, {"", "first_name"}}
	got := x.Refs()
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestFunctionsDocumented(t *testing.T) {
	t.Parallel()
	for _, f := range Functions() {
		if f.Name == "" || f.Signature == "" || f.Doc == "" || strings.HasPrefix(f.Name, "__") {
			t.Errorf("bad function doc %+v", f)
		}
	}
}
