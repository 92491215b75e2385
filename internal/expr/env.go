package expr

import (
	"time"

	"github.com/expr-lang/expr/vm"
)

// Contact is the contact in scope as `contact`.
type Contact struct {
	ID       string         `expr:"id"`
	Name     string         `expr:"name"`
	Phone    string         `expr:"phone"`
	Language string         `expr:"language"`
	Fields   map[string]any `expr:"fields"`
	Tags     []string       `expr:"tags"`
}

// Input is the last inbound message in scope as `input`.
type Input struct {
	// Text is the message text (for a button or list reply, its title).
	Text string `expr:"text"`
	// Button is the title of the tapped reply button, if any.
	Button string `expr:"button"`
	// ListID is the id of the chosen list row, if any.
	ListID string `expr:"list_id"`
	// Type is the inbound kind: text, button, list, media, location, flow…
	Type string `expr:"type"`
	// MediaURL is the URL of an attached media item, if any.
	MediaURL string `expr:"media_url"`
	// Data holds structured payloads such as WhatsApp Flow answers.
	Data map[string]any `expr:"data"`
}

// Flow describes the running flow in scope as `flow`.
type Flow struct {
	ID       string `expr:"id"`
	Name     string `expr:"name"`
	Revision int    `expr:"revision"`
}

// Env is the scope of one evaluation. The engine fills it once per sprint and
// updates it in place; it must not be shared between goroutines while in use
// because it also owns the reusable VM and the budget's counters.
type Env struct {
	Contact Contact
	// Vars are the session variables (also reachable as bare names).
	Vars  map[string]any
	Input Input
	// Row is the campaign dataset row (also reachable as bare names).
	Row  map[string]any
	Flow Flow
	// Now is the clock reading of the sprint; expressions never read the
	// wall clock themselves so runs are reproducible.
	Now time.Time
	// Clock is the stopwatch of the duration limits (nil: time.Now).
	// Expressions never see it; a clock that stands still turns the
	// duration limits off, which keeps tests reproducible.
	Clock func() time.Time

	machine vm.VM
	args    [2]any // argument buffer of the lookup fast path
	m       meter  // accounting of the running evaluation
	shared  shared // accounting since the last ResetBudget
}

// Lookup resolves a bare name the way templates do: a session variable, then
// a dataset row column, then a contact field. The boolean reports whether the
// name was found anywhere.
func (e *Env) Lookup(name string) (any, bool) {
	if v, ok := e.Vars[name]; ok {
		return v, true
	}
	if v, ok := e.Row[name]; ok {
		return v, true
	}
	if v, ok := e.Contact.Fields[name]; ok {
		return v, true
	}
	return nil, false
}

// contactProp returns a built-in contact property; ok is false when prop is
// not one, in which case callers fall back to custom fields.
func (e *Env) contactProp(prop string) (any, bool) {
	switch prop {
	case "id":
		return e.Contact.ID, true
	case "name":
		return e.Contact.Name, true
	case "phone":
		return e.Contact.Phone, true
	case "language":
		return e.Contact.Language, true
	case "fields":
		return e.Contact.Fields, true
	case "tags":
		return e.Contact.Tags, true
	}
	return nil, false
}

func (e *Env) inputProp(prop string) any {
	switch prop {
	case "text":
		return e.Input.Text
	case "button":
		return e.Input.Button
	case "list_id":
		return e.Input.ListID
	case "type":
		return e.Input.Type
	case "media_url":
		return e.Input.MediaURL
	case "data":
		return e.Input.Data
	}
	return nil
}

func (e *Env) flowProp(prop string) any {
	switch prop {
	case "id":
		return e.Flow.ID
	case "name":
		return e.Flow.Name
	case "revision":
		return e.Flow.Revision
	}
	return nil
}

// scope returns a whole top-level object, for the rare expressions that use
// it as a value (len(contact.tags) goes through contactProp instead).
func (e *Env) scope(name string) any {
	switch name {
	case "contact":
		return e.Contact
	case "vars":
		return e.Vars
	case "input":
		return e.Input
	case "row":
		return e.Row
	case "flow":
		return e.Flow
	case "now":
		return e.Now
	}
	return nil
}

// Names of the properties the rewriter accepts on input and flow; anything
// else is a compile error so typos surface in the linter.
var (
	inputProps   = map[string]bool{"text": true, "button": true, "list_id": true, "type": true, "media_url": true, "data": true}
	flowProps    = map[string]bool{"id": true, "name": true, "revision": true}
	contactProps = map[string]bool{"id": true, "name": true, "phone": true, "language": true, "fields": true, "tags": true}
	topLevel     = map[string]bool{"contact": true, "vars": true, "input": true, "row": true, "flow": true, "now": true}
)
