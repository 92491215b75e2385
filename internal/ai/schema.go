package ai

import (
	"encoding/json"
	"slices"

	"github.com/parleyhq/parley/internal/flow"
)

// generatableTypes are the node types a generated flow may use: those this
// build runs (the registry's available types), the start node included.
func generatableTypes() []flow.NodeType {
	var out []flow.NodeType
	for _, t := range flow.NodeTypes() {
		if t.Available {
			out = append(out, t)
		}
	}
	return out
}

// FlowSchema is the JSON schema of a generator answer, built from the node
// registry: node types are an enum of the real, available types, and each
// type's data object lists that type's real fields, so a model constrained
// by the schema (json_schema mode) cannot invent either. Edges name an exit
// of their source node in source_handle; the linter checks exits and
// targets, which a schema cannot express.
func FlowSchema() json.RawMessage {
	types := generatableTypes()
	names := make([]string, len(types))
	variants := make([]any, len(types))
	for i, t := range types {
		names[i] = t.Type
		props := map[string]any{}
		var required []string
		for _, f := range t.Fields {
			props[f.Name] = fieldSchema(f)
			if f.Required {
				required = append(required, f.Name)
			}
		}
		data := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			data["required"] = required
		}
		variants[i] = map[string]any{
			"type": "object", "additionalProperties": false, "required": []string{"id", "type", "data"},
			"properties": map[string]any{
				"id":   map[string]any{"type": "string"},
				"type": map[string]any{"type": "string", "enum": []string{t.Type}},
				"data": data,
			},
		}
	}
	slices.Sort(names)
	schema := map[string]any{
		"type": "object", "additionalProperties": false,
		"required": []string{"name", "nodes", "edges", "tests"},
		"properties": map[string]any{
			"name":  map[string]any{"type": "string"},
			"nodes": map[string]any{"type": "array", "items": map[string]any{"anyOf": variants}},
			"edges": map[string]any{"type": "array", "items": map[string]any{
				"type": "object", "additionalProperties": false, "required": []string{"id", "source", "source_handle", "target"},
				"properties": map[string]any{
					"id": map[string]any{"type": "string"}, "source": map[string]any{"type": "string"},
					"source_handle": map[string]any{"type": "string", "description": "the exit of the source node this edge leaves from"},
					"target":        map[string]any{"type": "string"},
				},
			}},
			"tests": map[string]any{"type": "array", "items": map[string]any{
				"type": "object", "additionalProperties": false, "required": []string{"name", "messages", "expect"},
				"properties": map[string]any{
					"name":     map[string]any{"type": "string"},
					"messages": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "what the contact sends, in order; the first one triggers the flow"},
					"expect":   map[string]any{"type": "string", "enum": []string{"completed", "waiting"}, "description": "the session's state after the last message"},
				},
			}},
		},
	}
	b, _ := json.Marshal(schema)
	return b
}

// fieldSchema is the JSON schema of one data field of the registry.
func fieldSchema(f flow.Field) map[string]any {
	s := map[string]any{}
	if f.Doc != "" {
		s["description"] = f.Doc
	}
	switch f.Kind {
	case "string", "template", "regex":
		s["type"] = "string"
	case "number":
		s["type"] = "number"
	case "integer":
		s["type"] = "integer"
	case "boolean":
		s["type"] = "boolean"
	case "map":
		s["type"] = "object"
	case "array":
		s["type"] = "array"
		if f.Items != nil {
			s["items"] = fieldSchema(*f.Items)
		}
	case "object":
		s["type"] = "object"
		if len(f.Fields) > 0 {
			props := map[string]any{}
			for _, sub := range f.Fields {
				props[sub.Name] = fieldSchema(sub)
			}
			s["properties"] = props
		}
	}
	if len(f.Enum) > 0 {
		s["enum"] = f.Enum
	}
	return s
}

// catalogue is the node registry as the prompt shows it: each type, what
// it does, its data fields and its exits.
func catalogue() json.RawMessage {
	type exitRule struct {
		From string   `json:"exits_from_each_item_of,omitempty"`
		ID   string   `json:"exit_name_is_member,omitempty"`
		Plus []string `json:"plus_exits,omitempty"`
	}
	type entry struct {
		Type        string       `json:"type"`
		Description string       `json:"description"`
		Fields      []flow.Field `json:"data_fields"`
		Exits       []string     `json:"exits"`
		Dynamic     []exitRule   `json:"dynamic_exits,omitempty"`
	}
	var out []entry
	for _, t := range generatableTypes() {
		e := entry{Type: t.Type, Description: t.Description, Fields: t.Fields, Exits: []string{}}
		for _, x := range t.Exits.Static {
			e.Exits = append(e.Exits, x.Name)
		}
		for _, d := range t.Exits.Dynamic {
			r := exitRule{From: d.From, ID: d.ID}
			for _, p := range d.Plus {
				r.Plus = append(r.Plus, p.Name)
			}
			e.Dynamic = append(e.Dynamic, r)
		}
		out = append(out, e)
	}
	b, _ := json.Marshal(out)
	return b
}
