package waflow

import (
	"reflect"
	"testing"

	"github.com/parleyhq/parley/internal/waform"
)

func TestTypeAnswers(t *testing.T) {
	t.Parallel()
	tpl, ok := waform.TemplateByID("appointment_booking")
	if !ok {
		t.Fatal("no appointment_booking template")
	}
	const numbers = `{"version":"7.1","screens":[{"id":"A","title":"A","terminal":true,"data":{},"layout":{"type":"SingleColumnLayout","children":[
	 {"type":"TextInput","name":"guests","label":"Guests","input-type":"number"},
	 {"type":"CheckboxGroup","name":"extras","label":"Extras","data-source":[{"id":"a","title":"A"}]},
	 {"type":"Footer","label":"Done","on-click-action":{"name":"complete","payload":{"guests":"${form.guests}","extras":"${form.extras}","note":"${form.note}"}}}]}}]}`
	for _, tc := range []struct {
		name, json string
		in, want   map[string]any
	}{
		{"date through two navigates, boolean opt-in, strings stay", string(tpl.JSON),
			map[string]any{"date": "2030-02-01", "reminders": "true", "name": "Ann", "time": "09:00"},
			map[string]any{"date": "2030-02-01", "reminders": true, "name": "Ann", "time": "09:00"}},
		{"an older DatePicker's epoch milliseconds become a date string", string(tpl.JSON),
			map[string]any{"date": "1896134400000", "reminders": false},
			map[string]any{"date": "2030-02-01", "reminders": false}},
		{"number input text becomes a number, a checkbox group an array", numbers,
			map[string]any{"guests": "3", "extras": `["a"]`, "note": "12"},
			map[string]any{"guests": 3.0, "extras": []any{"a"}, "note": "12"}},
		{"what does not convert stays", numbers,
			map[string]any{"guests": "many", "extras": []any{"a"}},
			map[string]any{"guests": "many", "extras": []any{"a"}}},
		{"unreadable Flow JSON leaves the answers", "{",
			map[string]any{"guests": "3"}, map[string]any{"guests": "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := TypeAnswers(tc.json, tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}
