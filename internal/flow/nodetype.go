package flow

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Palette groups of node types, in palette order.
const (
	GroupMessages     = "messages"
	GroupLogic        = "logic"
	GroupData         = "data"
	GroupIntegrations = "integrations"
	GroupWhatsApp     = "whatsapp"
	GroupVoice        = "voice"
)

// groups are the palette groups in order, with their labels.
var groups = []struct{ name, label string }{
	{GroupMessages, "Messages"}, {GroupLogic, "Logic"}, {GroupData, "Data"},
	{GroupIntegrations, "Integrations"}, {GroupWhatsApp, "WhatsApp"}, {GroupVoice, "Voice"},
}

// Exit names shared by several node types.
const (
	ExitNext      = "next"
	ExitOther     = "other"
	ExitTimeout   = "timeout"
	ExitReply     = "reply"
	ExitInvalid   = "invalid"
	ExitElse      = "else"
	ExitSuccess   = "success"
	ExitFailure   = "failure"
	ExitCompleted = "completed"
	ExitFailed    = "failed"
	ExitReleased  = "released"
	ExitNoAnswer  = "no_answer"
	ExitAnswered  = "answered"
)

// NodeType describes a node type for the editor and the API: enough to
// offer it in a palette, render its form, draw its exits and check its
// limits without knowing the type. It is derived from the type's
// declaration in its node_*.go file, the same one the linter, the compiler
// and the engine use.
type NodeType struct {
	Type        string `json:"type"`
	Group       string `json:"group" doc:"Palette category: messages, logic, data, integrations, whatsapp or voice"`
	GroupLabel  string `json:"group_label" doc:"The category's name in the palette"`
	GroupOrder  int    `json:"group_order" doc:"Position of the category in the palette, from 0"`
	Label       string `json:"label"`
	Description string `json:"description"`
	// Palette is false for types the palette does not offer (start: a flow
	// has exactly one, created with the flow).
	Palette bool `json:"palette" doc:"Whether the palette offers the type (a flow's single start node is created with it)"`
	// Available is false for types this build validates but cannot run yet;
	// Reason says why.
	Available bool   `json:"available" doc:"Whether this build runs the type; a session reaching an unavailable node fails"`
	Reason    string `json:"unavailable_reason,omitempty" doc:"Why the type is not available"`
	// Executable is Available under its earlier name.
	Executable bool `json:"executable" doc:"Same as available (deprecated name)"`
	// Fields is the schema of the node's data.
	Fields []Field `json:"fields"`
	// Exits says which exits a node of the type has, given its data.
	Exits Exits `json:"exits"`
	// DynamicExits explains the exits derived from data, in words.
	DynamicExits string `json:"dynamic_exits,omitempty"`
	// Limits are the type's numeric limits (WhatsApp's and Parley's); the
	// linter enforces them and Fields carry them too.
	Limits []Limit `json:"limits"`
	// Defaults is the data of a new node, close to valid.
	Defaults map[string]any `json:"defaults"`
	// Widgets names dedicated editor widgets shown above the fields.
	Widgets []string `json:"widgets,omitempty" doc:"Dedicated editor widgets: template_picker (choose a message template and map its parameters), http_test (make the request once), code_test (run the script once with sample input)"`
	// TriggerChannelTypes (start only) are the channel types a trigger's
	// channel_types may name, each saying whether this server can connect
	// it (the API fills it from the channel registry).
	TriggerChannelTypes []TriggerChannelType `json:"trigger_channel_types,omitempty" doc:"Start only: the channel types a trigger may listen on, and whether this server connects each (a trigger on an unavailable one is a lint error)"`
}

// TriggerChannelType is a channel type a start trigger may name.
type TriggerChannelType struct {
	Type      string `json:"type"`
	Available bool   `json:"available" doc:"Whether this server has the channel type (its channel registry)"`
	Reason    string `json:"unavailable_reason,omitempty"`
}

// TriggerChannelTypeNames are the channel types the trigger vocabulary
// knows, in the order the editor offers them; whether one is available
// is the channel registry's answer, not this list's.
var TriggerChannelTypeNames = []string{"whatsapp", "webchat", "messenger", "instagram", "viber"}

// TriggerChannelTypes describes TriggerChannelTypeNames and every name of
// registered (the channel registry's types) for the editor.
func TriggerChannelTypes(registered []string) []TriggerChannelType {
	names := append([]string{}, TriggerChannelTypeNames...)
	for _, r := range registered {
		if !slices.Contains(names, r) {
			names = append(names, r)
		}
	}
	out := make([]TriggerChannelType, 0, len(names))
	for _, n := range names {
		t := TriggerChannelType{Type: n, Available: slices.Contains(registered, n)}
		if !t.Available {
			t.Reason = "this server cannot connect " + n + " channels yet: a trigger on it is a lint error"
		}
		out = append(out, t)
	}
	return out
}

// Exits says how a node's exits follow from its data: the first Dynamic
// rule that applies gives them; when none applies the node has Static.
type Exits struct {
	Static  []ExitDef      `json:"static" doc:"The exits when no dynamic rule applies, in order"`
	Dynamic []DynamicExits `json:"dynamic,omitempty" doc:"Rules deriving exits from data, tried in order"`
}

// ExitDef is one named exit.
type ExitDef struct {
	Name string `json:"name"`
	// Optional exits may stay unconnected (a warning, not an error).
	Optional bool `json:"optional,omitempty"`
	// Inbound exits are taken because the contact sent something, which
	// opens WhatsApp's 24-hour window.
	Inbound bool `json:"inbound,omitempty"`
}

// DynamicExits derives exits from a node's data: one exit per item found
// at From, then Plus. It applies when From has items, or always when
// Always is set.
type DynamicExits struct {
	From    string    `json:"from" doc:"Path into data of the items: members separated by dots, [*] for each element of a list (e.g. list.sections[*].rows[*])"`
	ID      string    `json:"id,omitempty" doc:"Member of an object item whose value names the exit; a string item names it itself"`
	Label   string    `json:"label,omitempty" doc:"Member shown as the exit's label; the exit name when empty or absent"`
	Detail  string    `json:"detail,omitempty" doc:"Member shown after the label in parentheses, when present"`
	Inbound bool      `json:"inbound,omitempty" doc:"The item exits are taken on an inbound message"`
	Always  bool      `json:"always,omitempty" doc:"The rule applies even when From has no items"`
	When    string    `json:"when,omitempty" doc:"Member of data that must be true for the rule to apply (e.g. converse)"`
	Plus    []ExitDef `json:"plus,omitempty" doc:"Exits after the item exits"`
}

// Limit is a limit on part of a node's data.
type Limit struct {
	Path      string   `json:"path" doc:"What is limited: a path into data as in exits.dynamic[].from"`
	MaxItems  int      `json:"max_items,omitempty" doc:"At most this many items"`
	MaxLength int      `json:"max_length,omitempty" doc:"At most this many characters"`
	Minimum   *float64 `json:"minimum,omitempty"`
	Maximum   *float64 `json:"maximum,omitempty"`
	// Total limits count the items at Path over every enclosing list (a
	// list message's rows over all its sections); they are not copied
	// onto a field.
	Total bool   `json:"total,omitempty" doc:"max_items counts the items over all enclosing lists"`
	Doc   string `json:"doc"`
}

func staticExits(names ...string) Exits {
	out := make([]ExitDef, len(names))
	for i, n := range names {
		out[i] = ExitDef{Name: n, Optional: isOptionalExit(n)}
	}
	return Exits{Static: out}
}

// isOptionalExit: exits for the unusual path (a timeout, a failed call, an
// unexpected answer) may stay unconnected; the session then ends there.
func isOptionalExit(name string) bool {
	switch name {
	case ExitOther, ExitTimeout, ExitInvalid, ExitFailure, ExitFailed, ExitNoAnswer:
		return true
	}
	return false
}

func rangeLimit(path string, min, max float64, doc string) Limit {
	return Limit{Path: path, Minimum: &min, Maximum: &max, Doc: doc}
}

func atLeast(path string, min float64, doc string) Limit {
	return Limit{Path: path, Minimum: &min, Doc: doc}
}

// timeoutLimit is the limit of a timeout_seconds field.
var timeoutLimit = atLeast("timeout_seconds", 0, "timeout_seconds must not be negative")

// exitDef is one exit of a concrete node.
type exitDef struct {
	name     string
	optional bool // unconnected is a warning, not an error
	inbound  bool // taken because the contact sent something (opens the 24 h window)
}

// of evaluates the exits for a node's data, given as decoded JSON.
func (x Exits) of(data any) []exitDef {
	for _, d := range x.Dynamic {
		if d.When != "" {
			if m, _ := data.(map[string]any); m == nil || m[d.When] != true {
				continue
			}
		}
		var items []any
		if d.From != "" {
			items = pathValues(data, d.From)
		}
		if len(items) == 0 && !d.Always {
			continue
		}
		out := make([]exitDef, 0, len(items)+len(d.Plus))
		for _, it := range items {
			out = append(out, exitDef{name: itemName(it, d.ID), inbound: d.Inbound})
		}
		for _, p := range d.Plus {
			out = append(out, exitDef{name: p.Name, optional: p.Optional, inbound: p.Inbound})
		}
		return out
	}
	out := make([]exitDef, len(x.Static))
	for i, s := range x.Static {
		out[i] = exitDef{name: s.Name, optional: s.Optional, inbound: s.Inbound}
	}
	return out
}

func itemName(it any, member string) string {
	if member != "" {
		m, _ := it.(map[string]any)
		it = m[member]
	}
	switch v := it.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	return fmt.Sprint(it)
}

// pathValues returns the values at a path such as list.sections[*].rows[*]
// in decoded JSON; missing members give none.
func pathValues(v any, path string) []any {
	cur := []any{v}
	for _, seg := range strings.Split(path, ".") {
		name, each := strings.CutSuffix(seg, "[*]")
		var next []any
		for _, c := range cur {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			val, ok := m[name]
			if !ok || val == nil {
				continue
			}
			if !each {
				next = append(next, val)
				continue
			}
			if arr, ok := val.([]any); ok {
				next = append(next, arr...)
			}
		}
		cur = next
	}
	return cur
}

// spec is the registry entry of a node type: its description and the
// hooks of its node_*.go file, on the type's data as `any`.
type spec struct {
	NodeType
	kind     Kind
	dataType reflect.Type
	aliases  []string
	// needsJSON: the declarative rules read the data (dynamic exits or
	// variable fields), so analysis converts it to decoded JSON.
	needsJSON bool
	// waits reports whether entering the node always ends the sprint.
	waits func(data any) bool
	// freeForm reports whether the node sends a non-template message.
	freeForm func(data any) bool
	// timeout returns the node's timeout_seconds; ok is false for types
	// without a timeout.
	timeout func(data any) (secs int, ok bool)
	// canFire reports whether an exit can be taken at all.
	canFire func(data any, exit string) bool
	check   func(a *analysis, i int, data any)
	resolve func(a *analysis, i int, data any)
	compile func(c *compiler, data any) any
}

// def declares a node type whose data is a T. Each node_*.go file declares
// one and the registry lists it; nil hooks mean "no" (never waits, no
// timeout…) or "nothing to do".
type def[T any] struct {
	NodeType
	// kind is the type's number for the engine's dispatch table, unique
	// and never reused (it lives only in memory, but tests name it).
	kind Kind
	// aliases are other tools' names of the type, normalised (lower case,
	// no separators), for imports.
	aliases  []string
	waits    func(d *T) bool
	freeForm func(d *T) bool
	// timeout returns timeout_seconds; set for types that have one.
	timeout func(d *T) int
	// canFire reports whether an exit can be taken at all (for example
	// invalid needs a validation); the timeout exit is handled through
	// timeout.
	canFire func(d *T, exit string) bool
	// check reports the type's semantic problems (the schema is already
	// checked).
	check func(a *analysis, i int, d *T)
	// resolve completes the data from the project after check (template
	// quick replies), before the exits are computed.
	resolve func(a *analysis, i int, d *T)
	compile func(c *compiler, d *T) any
}

func (d def[T]) spec() *spec {
	dt := reflect.TypeFor[T]()
	s := &spec{NodeType: d.NodeType, kind: d.kind, dataType: dt, aliases: d.aliases}
	s.Fields = schemaOf(dt)
	for _, l := range s.Limits {
		if err := applyLimit(s.Fields, l); err != nil {
			panic(fmt.Sprintf("node type %s: %v", s.Type, err))
		}
	}
	s.Executable = s.Available
	s.needsJSON = len(s.Exits.Dynamic) > 0 || hasVariable(s.Fields)
	if s.Defaults == nil {
		s.Defaults = map[string]any{}
	}
	if s.Exits.Static == nil {
		s.Exits.Static = []ExitDef{}
	}
	if s.Limits == nil {
		s.Limits = []Limit{}
	}
	for i, g := range groups {
		if g.name == s.Group {
			s.GroupLabel, s.GroupOrder = g.label, i
		}
	}
	s.waits = func(any) bool { return false }
	if d.waits != nil {
		s.waits = func(x any) bool { return d.waits(x.(*T)) }
	}
	s.freeForm = func(any) bool { return false }
	if d.freeForm != nil {
		s.freeForm = func(x any) bool { return d.freeForm(x.(*T)) }
	}
	s.timeout = func(any) (int, bool) { return 0, false }
	if d.timeout != nil {
		s.timeout = func(x any) (int, bool) { return d.timeout(x.(*T)), true }
	}
	s.canFire = func(any, string) bool { return true }
	if d.canFire != nil {
		s.canFire = func(x any, exit string) bool { return d.canFire(x.(*T), exit) }
	}
	s.check = func(*analysis, int, any) {}
	if d.check != nil {
		s.check = func(a *analysis, i int, x any) { d.check(a, i, x.(*T)) }
	}
	s.resolve = func(*analysis, int, any) {}
	if d.resolve != nil {
		s.resolve = func(a *analysis, i int, x any) { d.resolve(a, i, x.(*T)) }
	}
	s.compile = func(_ *compiler, x any) any { return &VoiceConfig{Data: x} }
	if d.compile != nil {
		s.compile = func(c *compiler, x any) any { return d.compile(c, x.(*T)) }
	}
	return s
}

func hasVariable(fields []Field) bool {
	for _, f := range fields {
		if f.Variable || hasVariable(f.Fields) || (f.Items != nil && hasVariable([]Field{*f.Items})) {
			return true
		}
	}
	return false
}

// applyLimit copies a limit onto the field its path names.
func applyLimit(fields []Field, l Limit) error {
	if l.Total {
		return nil
	}
	segs := strings.Split(l.Path, ".")
	list := fields
	var f *Field
	for k, seg := range segs {
		name, each := strings.CutSuffix(seg, "[*]")
		f = nil
		for i := range list {
			if list[i].Name == name {
				f = &list[i]
			}
		}
		if f == nil {
			return fmt.Errorf("limit %s: no field %q", l.Path, name)
		}
		if each {
			if f.Items == nil {
				return fmt.Errorf("limit %s: %q is not a list", l.Path, name)
			}
			f = f.Items
		}
		if k < len(segs)-1 {
			list = f.Fields
		}
	}
	if l.MaxItems > 0 {
		f.MaxItems = l.MaxItems
	}
	if l.MaxLength > 0 {
		f.MaxLength = l.MaxLength
	}
	if l.Minimum != nil {
		f.Minimum = l.Minimum
	}
	if l.Maximum != nil {
		f.Maximum = l.Maximum
	}
	return nil
}

// toJSONValue converts typed data into decoded JSON for the generic
// evaluators (exits, variables).
func toJSONValue(data any) any {
	b, err := json.Marshal(data)
	if err != nil {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}
