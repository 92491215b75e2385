package sandbox

import (
	"reflect"
	"testing"

	"github.com/parleyhq/parley/internal/template"
)

// TestDescribe: what the customer's phone shows for each kind of message
// the business sends, with the options they can tap next.
func TestDescribe(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	s.templates = append(s.templates, &storedTemplate{t: template.Template{Name: "appt", Language: "en", Components: []template.Component{
		{Type: "BODY", Text: "Hi {{1}}, see you at {{2}}"},
		{Type: "BUTTONS", Buttons: []template.Button{{Type: "QUICK_REPLY", Text: "Yes"}, {Type: "QUICK_REPLY", Text: "No"}, {Type: "URL", Text: "Map", URL: "https://m"}}},
	}}})
	tests := []struct {
		name string
		body string
		want Reply
	}{
		{"text", `{"type":"text","text":{"body":"hello"}}`, Reply{Type: "text", Text: "hello"}},
		{"buttons", `{"type":"interactive","interactive":{"type":"button","header":{"type":"text","text":"H"},"body":{"text":"Pick"},"footer":{"text":"F"},"action":{"buttons":[{"type":"reply","reply":{"id":"b1","title":"One"}}]}}}`,
			Reply{Type: "interactive", Header: "H", Text: "Pick", Footer: "F", Options: []Option{{Kind: "button", ID: "b1", Title: "One"}}}},
		{"list", `{"type":"interactive","interactive":{"type":"list","body":{"text":"Choose"},"action":{"button":"Menu","sections":[{"title":"S","rows":[{"id":"r1","title":"Row","description":"D"}]}]}}}`,
			Reply{Type: "interactive", Text: "Choose", ListButton: "Menu", Options: []Option{{Kind: "list", ID: "r1", Title: "Row", Description: "D"}}}},
		{"template", `{"type":"template","template":{"name":"appt","language":{"code":"en"},"components":[{"type":"body","parameters":[{"type":"text","text":"Ann"},{"type":"text","text":"9:00"}]},{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"NO"}]}]}}`,
			Reply{Type: "template", Template: "appt", Text: "Hi Ann, see you at 9:00", Options: []Option{{Kind: "quick_reply", ID: "Yes", Title: "Yes"}, {Kind: "quick_reply", ID: "NO", Title: "No"}, {Kind: "link", Title: "Map", URL: "https://m"}}}},
		{"image", `{"type":"image","image":{"link":"https://x/a.png","caption":"Look"}}`, Reply{Type: "image", Caption: "Look", Link: "https://x/a.png"}},
		{"document", `{"type":"document","document":{"id":"55","filename":"a.pdf"}}`, Reply{Type: "document", Filename: "a.pdf", Link: "media 55"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := s.describe([]byte(tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("describe = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestChoose: an answer names an option by number, title or ID.
func TestChoose(t *testing.T) {
	t.Parallel()
	replies := []Reply{{Options: []Option{{Kind: "button", ID: "a", Title: "Alpha"}}}, {Text: "no options"},
		{Options: []Option{{Kind: "link", Title: "Web"}, {Kind: "button", ID: "b1", Title: "Book now"}, {Kind: "button", ID: "b2", Title: "Later"}}}}
	tests := []struct {
		answer string
		want   string
		ok     bool
	}{{"2", "b2", true}, {"book NOW", "b1", true}, {"b2", "b2", true}, {"alpha", "a", true}, {"9", "", false}, {"zzz", "", false}, {" ", "", false}}
	for _, tt := range tests {
		o, ok := Choose(replies, tt.answer)
		if ok != tt.ok || o.ID != tt.want {
			t.Errorf("Choose(%q) = %+v, %v; want %q, %v", tt.answer, o, ok, tt.want, tt.ok)
		}
	}
}
