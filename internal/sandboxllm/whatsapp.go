package sandboxllm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/parleyhq/parley/internal/waform"
)

// isWhatsAppFlow reports whether the request asks for a WhatsApp Flow.
func isWhatsAppFlow(c Conversation) bool {
	return c.SchemaName == "whatsapp_flow" || strings.Contains(strings.ToLower(c.System), "you write whatsapp flows")
}

// formWords pick a built-in form template by the description's words.
var formWords = map[string][]string{
	"appointment_booking": {"book", "booking", "appointment", "reserve", "reservation", "schedule", "slot", "haircut", "visit"},
	"lead_capture":        {"lead", "leads", "sales", "prospect", "demo", "pricing", "budget", "company", "interest"},
	"survey":              {"survey", "feedback", "rating", "rate", "satisfaction", "review", "nps", "csat"},
	"order_form":          {"order", "buy", "purchase", "product", "delivery", "quantity", "shop", "cart"},
	"sign_up":             {"sign", "signup", "register", "registration", "account", "newsletter", "join", "terms"},
}

var (
	buildFormRE  = regexp.MustCompile(`(?m)^Build this WhatsApp Flow: (.*)$`)
	changeFormRE = regexp.MustCompile(`(?m)^Change it: (.*)$`)
	formFieldRE  = regexp.MustCompile(`(?i)\b(?:add|insert)\b.*\b(?:asking|ask|field|question|input)\s+(?:for\s+|about\s+)?(?:the\s+|their\s+|a\s+|an\s+)?(.+?)(?:\s+(?:to|on|in)\s+(?:the\s+)?\w+\s+screen)?\s*$`)
)

// whatsAppFlowAnswer answers a WhatsApp Flow generation with the built-in
// form whose words match the description, and an update by adding the
// field the instruction asks for to the last (completing) screen.
func whatsAppFlowAnswer(c Conversation) string {
	first := ""
	if len(c.Users) > 0 {
		first = c.Users[0]
	}
	if m := changeFormRE.FindStringSubmatch(first); m != nil {
		if out, ok := updateForm(first, strings.TrimSpace(m[1])); ok {
			return out
		}
	}
	desc := first
	if m := buildFormRE.FindStringSubmatch(first); m != nil {
		desc = m[1]
	}
	words := map[string]bool{}
	for _, w := range wordRE.FindAllString(strings.ToLower(desc), -1) {
		words[w], words[strings.TrimSuffix(w, "s")] = true, true
	}
	best, score := "sign_up", 0
	for _, t := range waform.Templates() {
		n := 0
		for _, w := range formWords[t.ID] {
			if words[w] {
				n++
			}
		}
		if n > score {
			best, score = t.ID, n
		}
	}
	t, _ := waform.TemplateByID(best)
	b, _ := json.Marshal(map[string]any{"name": t.Name + " (sandbox fake LLM)", "categories": []string{t.Category}, "flow": json.RawMessage(t.JSON)})
	return string(b)
}

// updateForm adds "add a field asking for <what>" to the Flow JSON in the
// prompt; ok is false when the prompt has none.
func updateForm(prompt, instr string) (string, bool) {
	name := ""
	if m := regexp.MustCompile(`The WhatsApp Flow "(.*?)"`).FindStringSubmatch(prompt); m != nil {
		name = m[1]
	}
	cats := []string{"OTHER"}
	if m := regexp.MustCompile(`\(categories ([A-Z_, ]+)\)`).FindStringSubmatch(prompt); m != nil {
		cats = strings.Split(strings.ReplaceAll(m[1], " ", ""), ",")
	}
	i := strings.Index(prompt, "{")
	if i < 0 {
		return "", false
	}
	var doc map[string]any
	if json.NewDecoder(strings.NewReader(prompt[i:])).Decode(&doc) != nil {
		return "", false
	}
	if m := formFieldRE.FindStringSubmatch(strings.TrimRight(instr, ".!")); m != nil {
		addFormField(doc, strings.TrimSpace(m[1]))
	}
	b, _ := json.Marshal(map[string]any{"name": name, "categories": cats, "flow": doc})
	return string(b), true
}

// addFormField puts an input for what before the Footer of the screen
// that completes the flow, and adds it to the completion's payload.
func addFormField(doc map[string]any, what string) {
	screens, _ := doc["screens"].([]any)
	for _, s := range screens {
		screen, _ := s.(map[string]any)
		layout, _ := screen["layout"].(map[string]any)
		children, _ := layout["children"].([]any)
		for j, ch := range children {
			footer, _ := ch.(map[string]any)
			action, _ := footer["on-click-action"].(map[string]any)
			if footer["type"] != "Footer" || action["name"] != "complete" {
				continue
			}
			field := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(what), "_"), "_")
			if field == "" {
				field = "answer"
			}
			label := strings.ToUpper(what[:1]) + what[1:]
			if len(label) > 30 {
				label = label[:30]
			}
			var input map[string]any
			switch val, _ := validationFor(what, 0); val {
			case "date":
				input = map[string]any{"type": "DatePicker", "name": field, "label": label, "required": true}
			case "email":
				input = map[string]any{"type": "TextInput", "name": field, "label": label, "input-type": "email", "required": true}
			case "number":
				input = map[string]any{"type": "TextInput", "name": field, "label": label, "input-type": "number", "required": true}
			default:
				input = map[string]any{"type": "TextInput", "name": field, "label": label, "input-type": "text", "required": true}
			}
			layout["children"] = append(children[:j:j], append([]any{input}, children[j:]...)...)
			payload, _ := action["payload"].(map[string]any)
			if payload == nil {
				payload = map[string]any{}
				action["payload"] = payload
			}
			payload[field] = fmt.Sprintf("${form.%s}", field)
			return
		}
	}
}
