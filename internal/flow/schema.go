package flow

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Field kinds of a node data schema.
const (
	KindString   = "string"   // plain text
	KindTemplate = "template" // text with {{ }} holes
	KindRegex    = "regex"    // a regular expression (RE2 syntax)
	KindInteger  = "integer"
	KindNumber   = "number"
	KindBoolean  = "boolean"
	KindObject   = "object" // Fields lists the members
	KindArray    = "array"  // Items is the element
	KindMap      = "map"    // string keys, Items is the value
	KindAny      = "any"    // any JSON value, passed through
)

// Field describes one member of a node's data, for validation and for the
// HTTP layer to show node schemas to the editor.
type Field struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Required bool     `json:"required,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Doc      string   `json:"doc,omitempty"`
	Fields   []Field  `json:"fields,omitempty"`
	Items    *Field   `json:"items,omitempty"`
	// Options are suggested values of a free field (a template may still
	// hold something else), for a picker.
	Options []string `json:"options,omitempty" doc:"Suggested values, for a picker"`
	// Default is the value a new item or field starts with.
	Default any `json:"default,omitempty" doc:"Value a new item starts with"`
	// Variable marks fields naming a session variable the node sets.
	Variable bool `json:"variable,omitempty" doc:"The value names a session variable the node sets"`
	// SingleLine marks text fields edited on one line.
	SingleLine bool `json:"single_line,omitempty" doc:"Edited on one line"`
	// Format is an editing hint for text fields: "code" is source code,
	// edited in a multi-line monospaced field.
	Format    string   `json:"format,omitempty" doc:"Editing hint: code = source code (multi-line, monospaced)"`
	MaxItems  int      `json:"max_items,omitempty" doc:"At most this many items (see the type's limits)"`
	MaxLength int      `json:"max_length,omitempty" doc:"At most this many characters (see the type's limits)"`
	Minimum   *float64 `json:"minimum,omitempty"`
	Maximum   *float64 `json:"maximum,omitempty"`
	// ChannelType marks a field holding the ID of one of the project's
	// channels of that type (tag channel=voice), for a channel picker.
	ChannelType string `json:"channel_type,omitempty" doc:"The value is the ID of one of the project's channels of this type: pick it from the channels"`
	// OptionNotes say which Options another field's value rules out.
	OptionNotes []OptionNote `json:"option_notes,omitempty" doc:"Options unavailable while another field of the node has some value, and why"`
}

// OptionNote says that Option cannot be chosen while the sibling field
// Field holds Value (empty: its default), and why.
type OptionNote struct {
	Option string `json:"option"`
	Field  string `json:"field"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// optionNoter is a data struct that says which options of a field depend
// on its other fields.
type optionNoter interface {
	optionNotes(field string) []OptionNote
}

// schemaOf derives the schema of a data struct from its tags:
// json:"name" names the member, flow:"required,template,regex,enum=a|b"
// refines it (also variable, line, format=code, options=a|b, default=v,
// channel=type), doc:"…"
// documents it. Deriving it keeps one source of truth
// for the typed structs, the linter and the API.
func schemaOf(t reflect.Type) []Field {
	var out []Field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		f := fieldOf(sf.Type, sf.Tag.Get("flow"))
		f.Name = name
		f.Doc = sf.Tag.Get("doc")
		if n, ok := reflect.New(t).Interface().(optionNoter); ok {
			f.OptionNotes = n.optionNotes(name)
		}
		out = append(out, f)
	}
	return out
}

func fieldOf(t reflect.Type, tag string) Field {
	var f Field
	opts := strings.Split(tag, ",")
	has := func(o string) bool {
		for _, x := range opts {
			if x == o {
				return true
			}
		}
		return false
	}
	f.Required = has("required")
	f.Variable = has("variable")
	f.SingleLine = has("line")
	var def string
	for _, o := range opts {
		if v, ok := strings.CutPrefix(o, "enum="); ok {
			f.Enum = strings.Split(v, "|")
		}
		if v, ok := strings.CutPrefix(o, "options="); ok {
			f.Options = strings.Split(v, "|")
		}
		if v, ok := strings.CutPrefix(o, "channel="); ok {
			f.ChannelType = v
		}
		if v, ok := strings.CutPrefix(o, "format="); ok {
			f.Format = v
		}
		if v, ok := strings.CutPrefix(o, "default="); ok {
			def = v
		}
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(json.RawMessage(nil)) || t.Kind() == reflect.Interface:
		f.Kind = KindAny
	case t.Kind() == reflect.String:
		f.Kind = KindString
		if has("template") {
			f.Kind = KindTemplate
		}
		if has("regex") {
			f.Kind = KindRegex
		}
	case t.Kind() == reflect.Bool:
		f.Kind = KindBoolean
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		f.Kind = KindInteger
	case t.Kind() == reflect.Float64:
		f.Kind = KindNumber
	case t.Kind() == reflect.Slice:
		f.Kind = KindArray
		// Element options (template) apply to the items.
		item := fieldOf(t.Elem(), strings.Join(without(opts, "required"), ","))
		item.Enum = f.Enum
		f.Enum = nil
		f.Items = &item
	case t.Kind() == reflect.Map:
		f.Kind = KindMap
		item := fieldOf(t.Elem(), strings.Join(without(opts, "required"), ","))
		f.Items = &item
	case t.Kind() == reflect.Struct:
		f.Kind = KindObject
		f.Fields = schemaOf(t)
	default:
		f.Kind = KindAny
	}
	if def != "" {
		f.Default = def
		if n, err := strconv.ParseFloat(def, 64); err == nil && (f.Kind == KindInteger || f.Kind == KindNumber) {
			f.Default = n
		}
	}
	return f
}

func without(opts []string, drop string) []string {
	var out []string
	for _, o := range opts {
		if o != drop {
			out = append(out, o)
		}
	}
	return out
}

// checker walks raw data against a schema and reports problems.
type schemaCheck struct {
	report func(code, ptr, msg string)
	// template and regex are called for values of those kinds to check
	// their syntax.
	template func(ptr, src string)
	regex    func(ptr, src string)
}

// kindName is the JSON type a kind expects, for messages.
func kindName(k string) string {
	switch k {
	case KindTemplate, KindRegex:
		return "a string"
	case KindInteger:
		return "a whole number"
	case KindNumber:
		return "a number"
	case KindBoolean:
		return "true or false"
	case KindObject, KindMap:
		return "an object"
	case KindArray:
		return "an array"
	}
	return "a " + k
}

// object checks an object value; it returns false on a type mismatch that
// prevents decoding into the typed struct.
func (c *schemaCheck) object(fields []Field, raw json.RawMessage, ptr, where string) bool {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return false
	}
	ok := true
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.Name] = true
		v, present := m[f.Name]
		if !present || isNull(v) {
			if f.Required {
				c.report(CodeMissingField, ptr+"/"+escapePtr(f.Name), where+" needs "+f.Name+"")
			}
			continue
		}
		if !c.value(f, v, ptr+"/"+escapePtr(f.Name), where) {
			ok = false
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !known[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		names := make([]string, len(fields))
		for i, f := range fields {
			names[i] = f.Name
		}
		c.report(CodeUnknownField, ptr+"/"+escapePtr(k), where+" has no field \""+k+"\"; remove it (known fields: "+strings.Join(names, ", ")+")")
	}
	return ok
}

func (c *schemaCheck) value(f Field, raw json.RawMessage, ptr, where string) bool {
	wrong := func() bool {
		c.report(CodeWrongType, ptr, where+": "+f.Name+" must be "+kindName(f.Kind))
		return false
	}
	switch f.Kind {
	case KindAny:
		return true
	case KindString, KindTemplate, KindRegex:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return wrong()
		}
		if len(f.Enum) > 0 && !contains(f.Enum, s) {
			c.report(CodeInvalidValue, ptr, where+": "+f.Name+" must be one of "+strings.Join(f.Enum, ", ")+", not \""+s+"\"")
		}
		switch f.Kind {
		case KindTemplate:
			c.template(ptr, s)
		case KindRegex:
			c.regex(ptr, s)
		}
	case KindBoolean:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return wrong()
		}
	case KindInteger:
		var n int64
		if json.Unmarshal(raw, &n) != nil {
			return wrong()
		}
	case KindNumber:
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			return wrong()
		}
	case KindArray:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return wrong()
		}
		ok := true
		for i, it := range items {
			item := *f.Items
			item.Name = f.Name + "[" + strconv.Itoa(i) + "]"
			if isNull(it) {
				c.report(CodeWrongType, ptr+"/"+strconv.Itoa(i), where+": "+item.Name+" must not be null")
				ok = false
				continue
			}
			if !c.value(item, it, ptr+"/"+strconv.Itoa(i), where) {
				ok = false
			}
		}
		return ok
	case KindMap:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return wrong()
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ok := true
		for _, k := range keys {
			item := *f.Items
			item.Name = f.Name + "." + k
			if !c.value(item, m[k], ptr+"/"+escapePtr(k), where) {
				ok = false
			}
		}
		return ok
	case KindObject:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return wrong()
		}
		return c.object(f.Fields, raw, ptr, where)
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// escapePtr escapes a JSON pointer token (RFC 6901).
func escapePtr(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
