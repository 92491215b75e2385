package sandboxllm

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// The AI agent step's requests: classify picks the label whose id the
// contact's last message names (else "other"); extract finds values by
// pattern (an e-mail, a number, a date, an enum value named, yes/no) and
// gives the message itself for other text fields; null when not found.
var (
	emailRE  = regexp.MustCompile(`[\w.+-]+@[\w-]+(\.[\w-]+)+`)
	numberRE = regexp.MustCompile(`-?\d+(\.\d+)?`)
	dateRE   = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
)

func isClassify(c Conversation) bool {
	return c.SchemaName == "classification" || strings.Contains(c.System, "Classify the user's message")
}

func isExtract(c Conversation) bool {
	return c.SchemaName == "extraction" || strings.Contains(c.System, "Extract these values from the user's message")
}

type propSchema struct {
	Type        any    `json:"type"`
	Enum        []any  `json:"enum"`
	Description string `json:"description"`
}

type objSchema struct {
	Properties map[string]propSchema `json:"properties"`
}

func (p propSchema) is(t string) bool {
	switch v := p.Type.(type) {
	case string:
		return v == t
	case []any:
		for _, x := range v {
			if x == t {
				return true
			}
		}
	}
	return false
}

func classifyAnswer(c Conversation) string {
	var s objSchema
	_ = json.Unmarshal(c.Schema, &s)
	label := "other"
	msg := strings.ToLower(c.Last)
	for _, v := range s.Properties["label"].Enum {
		id, _ := v.(string)
		if id != "" && id != "other" && containsWord(msg, strings.ToLower(strings.ReplaceAll(id, "_", " "))) {
			label = id
			break
		}
	}
	b, _ := json.Marshal(map[string]string{"label": label})
	return string(b)
}

func containsWord(text, word string) bool {
	return regexp.MustCompile(`(^|\W)` + regexp.QuoteMeta(word) + `s?($|\W)`).MatchString(text)
}

func extractAnswer(c Conversation) string {
	var s objSchema
	_ = json.Unmarshal(c.Schema, &s)
	names := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	msg := strings.TrimSpace(c.Last)
	low := strings.ToLower(msg)
	out := map[string]any{}
	for _, k := range names {
		p := s.Properties[k]
		var v any
		switch {
		case len(p.Enum) > 0:
			for _, e := range p.Enum {
				if es, ok := e.(string); ok && es != "" && containsWord(low, strings.ToLower(es)) {
					v = es
					break
				}
			}
		case p.is("number") || p.is("integer"):
			if m := numberRE.FindString(msg); m != "" {
				var n float64
				if json.Unmarshal([]byte(m), &n) == nil {
					v = n
				}
			}
		case p.is("boolean"):
			switch {
			case containsWord(low, "yes") || containsWord(low, "sure"):
				v = true
			case containsWord(low, "no") || containsWord(low, "not"):
				v = false
			}
		case strings.Contains(strings.ToLower(k+" "+p.Description), "mail"):
			if m := emailRE.FindString(msg); m != "" {
				v = m
			}
		case strings.Contains(p.Description, "YYYY-MM-DD") || strings.Contains(strings.ToLower(k), "date"):
			if m := dateRE.FindString(msg); m != "" {
				v = m
			}
		default:
			if msg != "" {
				v = msg
			}
		}
		out[k] = v
	}
	b, _ := json.Marshal(out)
	return string(b)
}
