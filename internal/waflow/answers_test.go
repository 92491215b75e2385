package waflow

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
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

func TestApplyStatusIgnoresStaleWebhooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := oneFlow(t, store.WhatsAppFlowPublished)
	for _, tc := range []struct {
		old, new, want string
		applied        bool
	}{
		{"PUBLISHED", "THROTTLED", "THROTTLED", true},
		{"DRAFT", "PUBLISHED", "THROTTLED", false}, // a late publish notice
		{"THROTTLED", "DEPRECATED", "DEPRECATED", true},
		{"", "BLOCKED", "BLOCKED", true},
		{"BLOCKED", "NOT_A_STATUS", "BLOCKED", false},
	} {
		ok, err := ApplyStatus(ctx, st, StatusEvent{ProjectID: "p1", MetaFlowID: "66", OldStatus: tc.old, NewStatus: tc.new}, time.Now())
		if err != nil || ok != tc.applied {
			t.Fatalf("%s → %s: applied %v %v, want %v", tc.old, tc.new, ok, err, tc.applied)
		}
		f, _ := st.WhatsAppFlowGet(ctx, store.Ref{ProjectID: "p1", ID: "f1"})
		if f.Status != tc.want {
			t.Fatalf("%s → %s: status %s, want %s", tc.old, tc.new, f.Status, tc.want)
		}
	}
}

// movesAfterRead is a store on which another writer moves the flow between
// a status webhook's read and its write, once.
type movesAfterRead struct {
	store.Store
	to    string
	moved bool
}

func (m *movesAfterRead) WhatsAppFlowGetByMetaID(ctx context.Context, p store.WhatsAppFlowGetByMetaIDParams) (store.WhatsAppFlow, error) {
	f, err := m.Store.WhatsAppFlowGetByMetaID(ctx, p)
	if err == nil && !m.moved {
		m.moved = true
		cur := f
		cur.Status, cur.Version = m.to, 0
		if _, err := m.Store.WhatsAppFlowUpdate(ctx, cur); err != nil {
			return f, err
		}
	}
	return f, err
}

// TestApplyStatusDoesNotOverwriteAConcurrentMove: a late DRAFT → PUBLISHED
// read while the flow was a draft must not undo a THROTTLED written in the
// meantime (the lost update CI once saw on PostgreSQL).
func TestApplyStatusDoesNotOverwriteAConcurrentMove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := oneFlow(t, store.WhatsAppFlowDraft)
	m := &movesAfterRead{Store: st, to: store.WhatsAppFlowThrottled}
	ok, err := ApplyStatus(ctx, m, StatusEvent{ProjectID: "p1", MetaFlowID: "66", OldStatus: "DRAFT", NewStatus: "PUBLISHED"}, time.Now())
	if err != nil || ok {
		t.Fatalf("applied %v %v, want a stale notice ignored", ok, err)
	}
	if f, _ := st.WhatsAppFlowGet(ctx, store.Ref{ProjectID: "p1", ID: "f1"}); f.Status != store.WhatsAppFlowThrottled {
		t.Fatalf("status %s, want THROTTLED kept", f.Status)
	}
}

// oneFlow is a store with project p1 and its flow f1 (Meta ID 66) in status.
func oneFlow(t *testing.T, status string) store.Store {
	t.Helper()
	ctx := context.Background()
	st := testdb.OpenSQLite(t, store.OpenOptions{})
	if _, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "P", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WhatsAppFlowCreate(ctx, store.WhatsAppFlow{ID: "f1", ProjectID: "p1", Name: "F", Categories: []string{"OTHER"}, JSON: "{}",
		Status: status, MetaFlowID: "66", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return st
}
