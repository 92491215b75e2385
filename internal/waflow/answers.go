package waflow

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/waform"
)

// Answer kinds a form's definition gives its fields.
const (
	kindString  = "string"
	kindNumber  = "number"
	kindBoolean = "boolean"
	kindArray   = "array"
	kindDate    = "date"
)

// Answers types the answers of completed WhatsApp Flows for the engine
// (engine.Forms): it reads the form's Flow JSON to learn which answers are
// numbers, booleans, arrays or dates, since the client sends some of them
// as text (a number input's value, an older DatePicker's epoch
// milliseconds).
type Answers struct {
	Store store.WhatsAppFlows
}

// FormAnswers implements engine.Forms. A form that is gone or unreadable
// leaves the answers as they came.
func (a Answers) FormAnswers(ctx context.Context, projectID, formID string, answers map[string]any) map[string]any {
	f, err := a.Store.WhatsAppFlowGet(ctx, store.Ref{ProjectID: projectID, ID: formID})
	if err != nil {
		return answers
	}
	return TypeAnswers(f.JSON, answers)
}

var refRE = regexp.MustCompile(`^\$\{(?:screen\.([A-Za-z_][A-Za-z0-9_]*)\.)?(form|data)\.([A-Za-z0-9_\-]+)\}$`)

// TypeAnswers converts the answers of a completion of the form defined by
// flowJSON to the types its complete payload's fields have.
func TypeAnswers(flowJSON string, answers map[string]any) map[string]any {
	fl, err := waform.Parse([]byte(flowJSON))
	if err != nil {
		return answers
	}
	kinds := answerKinds(fl)
	out := make(map[string]any, len(answers))
	for k, v := range answers {
		out[k] = coerce(kinds[k], v)
	}
	return out
}

// answerKinds maps each key of the flow's complete payloads to its kind.
func answerKinds(fl *waform.Flow) map[string]string {
	kinds := map[string]string{}
	for i := range fl.Screens {
		s := &fl.Screens[i]
		for _, act := range s.Actions() {
			if act.Name != "complete" {
				continue
			}
			var payload map[string]any
			_ = json.Unmarshal(act.Payload, &payload)
			for k, v := range payload {
				if ref, ok := v.(string); ok {
					kinds[k] = refKind(fl, s, ref, 0)
				}
			}
		}
	}
	return kinds
}

// refKind is the kind of a ${form.x}/${data.x}/${screen.S.form.x} reference
// made on screen s; a ${data.x} filled by a navigate payload from another
// screen takes the kind of what filled it.
func refKind(fl *waform.Flow, s *waform.Screen, ref string, depth int) string {
	m := refRE.FindStringSubmatch(strings.TrimSpace(ref))
	if m == nil || depth > len(fl.Screens) {
		return kindString
	}
	on := s
	if m[1] != "" {
		if on = fl.Screen(m[1]); on == nil {
			return kindString
		}
	}
	if m[2] == "form" {
		return componentKind(on.Children, m[3])
	}
	for _, src := range fl.Screens {
		for _, act := range src.Actions() {
			if act.Name != "navigate" || act.Next != on.ID {
				continue
			}
			var payload map[string]any
			_ = json.Unmarshal(act.Payload, &payload)
			if r, ok := payload[m[3]].(string); ok {
				srcScreen := src
				if k := refKind(fl, &srcScreen, r, depth+1); k != kindString {
					return k
				}
			}
		}
	}
	for _, d := range on.Data {
		if d.Name == m[3] {
			switch d.Type {
			case kindNumber, kindBoolean, kindArray:
				return d.Type
			}
		}
	}
	return kindString
}

func componentKind(cs []waform.Component, name string) string {
	for _, c := range cs {
		if c.Name == name && name != "" {
			switch c.Type {
			case "TextInput":
				var it string
				_ = json.Unmarshal(c.Props["input-type"], &it)
				if it == "number" {
					return kindNumber
				}
			case "DatePicker", "CalendarPicker":
				return kindDate
			case "CheckboxGroup", "ChipsSelector":
				return kindArray
			case "OptIn":
				return kindBoolean
			}
			return kindString
		}
		if k := componentKind(c.Children, name); k != kindString {
			return k
		}
	}
	return kindString
}

var digits = regexp.MustCompile(`^-?[0-9]+$`)

// coerce converts v to kind where the client sent it as text; anything
// that does not convert stays as it came.
func coerce(kind string, v any) any {
	s, isStr := v.(string)
	switch kind {
	case kindNumber:
		if isStr {
			if n, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return n
			}
		}
	case kindBoolean:
		if isStr {
			if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
				return b
			}
		}
	case kindArray:
		if isStr && strings.HasPrefix(strings.TrimSpace(s), "[") {
			var arr []any
			if json.Unmarshal([]byte(s), &arr) == nil {
				return arr
			}
		}
	case kindDate:
		// Before Flow JSON 5.0 a DatePicker answered epoch milliseconds;
		// a date string (YYYY-MM-DD) is the one form variables get.
		switch x := v.(type) {
		case float64:
			return time.UnixMilli(int64(x)).UTC().Format(time.DateOnly)
		case string:
			if digits.MatchString(x) {
				if ms, err := strconv.ParseInt(x, 10, 64); err == nil {
					return time.UnixMilli(ms).UTC().Format(time.DateOnly)
				}
			}
		}
	}
	return v
}
