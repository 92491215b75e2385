package sandboxllm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Answer is the fake's answer to a conversation: it recognises Parley's
// own requests (the provider check, chat-flow generation and editing,
// WhatsApp Flow generation and updates) by their prompts and schema names,
// and answers anything else with a value shaped by the schema asked for,
// or a labelled text.
func Answer(c Conversation) string {
	sys := strings.ToLower(c.System)
	switch {
	case c.SchemaName == "parley_check" || strings.Contains(c.System, `{"ok": true}`):
		return `{"ok":true}`
	case isFlowEdit(c):
		return editAnswer(c)
	case strings.Contains(sys, "you design chat flows"):
		return flowAnswer(c)
	case isWhatsAppFlow(c):
		return whatsAppFlowAnswer(c)
	case isClassify(c):
		return classifyAnswer(c)
	case isExtract(c):
		return extractAnswer(c)
	case c.JSON && len(c.Schema) > 0:
		var s map[string]any
		if json.Unmarshal(c.Schema, &s) == nil {
			b, _ := json.Marshal(instance(s, c.Last, 0))
			return string(b)
		}
		return `{}`
	case c.JSON:
		b, _ := json.Marshal(map[string]string{"answer": Label + " " + firstLine(c.Last)})
		return string(b)
	}
	return fmt.Sprintf("%s You said: %q. Add a real provider (OpenAI, Ollama…) under Settings → AI providers for real answers.", Label, firstLine(c.Last))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// instance is a value conforming to a JSON schema: the first enum value or
// const, each required (or listed) property, one item of an array, and for
// strings a labelled text.
func instance(s map[string]any, hint string, depth int) any {
	if depth > 12 {
		return nil
	}
	if v, ok := s["const"]; ok {
		return v
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if l, ok := s[k].([]any); ok && len(l) > 0 {
			if m, ok := l[0].(map[string]any); ok {
				return instance(m, hint, depth+1)
			}
		}
	}
	typ, _ := s["type"].(string)
	if l, ok := s["type"].([]any); ok && len(l) > 0 {
		typ, _ = l[0].(string)
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for k := range props {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if m, ok := props[k].(map[string]any); ok {
				out[k] = instance(m, hint, depth+1)
			}
		}
		return out
	case "array":
		if m, ok := s["items"].(map[string]any); ok {
			return []any{instance(m, hint, depth+1)}
		}
		return []any{}
	case "integer", "number":
		if v, ok := s["minimum"].(float64); ok {
			return v
		}
		return 0
	case "boolean":
		return true
	case "null":
		return nil
	}
	return Label + " " + firstLine(hint)
}
