package engine_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
)

// typedForms types answers the way the host's form service does: here the
// form "f1" declares "guests" a number and "agree" a boolean.
type typedForms struct{ scope, form string }

func (f *typedForms) FormAnswers(_ context.Context, scope, formID string, a map[string]any) map[string]any {
	f.scope, f.form = scope, formID
	if s, ok := a["guests"].(string); ok {
		n, _ := strconv.Atoi(s)
		a["guests"] = n
	}
	if s, ok := a["agree"].(string); ok {
		a["agree"] = s == "true"
	}
	return a
}

const formGraph = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"manual"}}},
 {"id":"form","type":"whatsapp_flow","position":{"x":0,"y":100},"data":{"whatsapp_flow_id":"f1","body":"Book, {{ contact.name }}","cta":"Book now","screen":"START","data":{"party":2,"who":"{{ contact.name }}","n":"{{ 1 + 2 }}"},"variable":"booking","timeout_seconds":600}},
 {"id":"done","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked {{ booking.guests + 1 }} {{ booking.date }}"}},
 {"id":"late","type":"end","position":{"x":200,"y":200},"data":{"text":"Too late"}}],
 "edges":[
 {"id":"e1","source":"start","target":"form"},
 {"id":"e2","source":"form","sourceHandle":"completed","target":"done"},
 {"id":"e3","source":"form","sourceHandle":"timeout","target":"late"}]}`

func TestWhatsAppFlowNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := compile(t, "main", json.RawMessage(formGraph))
	f.Scope = "project-1"
	contact := expr.Contact{Name: "Ann"}
	sent := func(evs []engine.Event) []*engine.Message {
		var out []*engine.Message
		for _, e := range evs {
			if e.Kind == engine.EventMessageOut {
				out = append(out, e.Message)
			}
		}
		return out
	}
	ignored := func(evs []engine.Event) string {
		for _, e := range evs {
			if e.Kind == engine.EventInputIgnored {
				return e.Text
			}
		}
		return ""
	}
	start := func(t *testing.T, e *engine.Engine) (*engine.Session, *engine.FlowMessage) {
		s, evs, err := e.Start(ctx, f, contact, engine.Trigger{})
		if err != nil || !s.Waiting() {
			t.Fatalf("start: %v %v", err, s.Status)
		}
		m := sent(evs)
		if len(m) != 1 || m[0].Type != engine.MessageWhatsAppFlow || m[0].Flow == nil {
			t.Fatalf("sent = %+v", m)
		}
		return s, m[0].Flow
	}

	t.Run("sends the form and maps typed answers", func(t *testing.T) {
		t.Parallel()
		forms := &typedForms{}
		e := newEngine(t, engine.Services{Forms: forms})
		s, fm := start(t, e)
		if fm.ID != "f1" || fm.Body != "Book, Ann" || fm.CTA != "Book now" || fm.Screen != "START" || string(fm.Data) != `{"n":3,"party":2,"who":"Ann"}` || fm.Token == "" {
			t.Fatalf("flow message = %+v", fm)
		}
		evs, err := e.Resume(ctx, f, s, engine.Input{Kind: engine.InputFlow, Token: fm.Token,
			Data: map[string]any{"flow_token": fm.Token, "guests": "3", "agree": "true", "date": "2030-02-01", "extras": []any{"wine", "cake"}}})
		if err != nil {
			t.Fatal(err)
		}
		if why := ignored(evs); why != "" {
			t.Fatalf("ignored: %s", why)
		}
		want := map[string]any{"guests": 3, "agree": true, "date": "2030-02-01", "extras": []any{"wine", "cake"}}
		if !reflect.DeepEqual(s.Vars["booking"], want) {
			t.Fatalf("booking = %#v, want %#v", s.Vars["booking"], want)
		}
		if forms.scope != "project-1" || forms.form != "f1" {
			t.Fatalf("forms asked for %q %q", forms.scope, forms.form)
		}
		if m := sent(evs); len(m) != 1 || m[0].Text != "Booked 4 2030-02-01" || s.Waiting() {
			t.Fatalf("after the answers: %+v %v", m, s.Status)
		}
	})

	t.Run("each send has its own token; another token does not resume", func(t *testing.T) {
		t.Parallel()
		e := newEngine(t, engine.Services{})
		s1, fm1 := start(t, e)
		_, fm2 := start(t, e)
		if fm1.Token == fm2.Token {
			t.Fatalf("two sends share token %q", fm1.Token)
		}
		evs, err := e.Resume(ctx, f, s1, engine.Input{Kind: engine.InputFlow, Token: fm2.Token, Data: map[string]any{"guests": 1}})
		if err != nil {
			t.Fatal(err)
		}
		if why := ignored(evs); why == "" || !s1.Waiting() {
			t.Fatalf("a completion for another send resumed the session: %v", s1.Status)
		}
		// A text message does not answer the form either.
		evs, _ = e.Resume(ctx, f, s1, engine.Input{Kind: engine.InputText, Text: "hi"})
		if ignored(evs) == "" || !s1.Waiting() {
			t.Fatal("a text resumed a form wait")
		}
	})

	t.Run("timeout exit", func(t *testing.T) {
		t.Parallel()
		e := newEngine(t, engine.Services{})
		s, _ := start(t, e)
		evs, err := e.Resume(ctx, f, s, engine.Input{Kind: engine.InputTimer, Seq: s.Wait.Seq})
		if err != nil {
			t.Fatal(err)
		}
		if m := sent(evs); len(m) != 1 || m[0].Text != "Too late" {
			t.Fatalf("timeout sent %+v", m)
		}
	})
}
