package flow

import (
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeWaitForResponse waits for a reply and stores it.
const TypeWaitForResponse = "wait_for_response"

// maxRetries bounds the re-prompts of an invalid reply.
const maxRetries = 10

// WaitData is the data of a wait_for_response node.
type WaitData struct {
	Variable       string          `json:"variable" flow:"required,variable" doc:"Session variable that receives the reply."`
	Validation     *ValidationData `json:"validation,omitempty" doc:"How the reply is validated; any text when absent."`
	RetryMessage   string          `json:"retry_message,omitempty" flow:"template" doc:"Sent when the reply is invalid, before waiting again."`
	MaxRetries     int             `json:"max_retries,omitempty" doc:"Invalid replies re-prompted before the invalid exit (0: none)."`
	TimeoutSeconds int             `json:"timeout_seconds,omitempty" doc:"How long to wait before the timeout exit."`
}

// ValidationData is how a reply is validated.
type ValidationData struct {
	Type    string   `json:"type" flow:"required,enum=text|number|email|phone|date|choice|regex"`
	Pattern string   `json:"pattern,omitempty" flow:"regex" doc:"The regular expression of a regex validation."`
	Choices []string `json:"choices,omitempty" doc:"Accepted answers of a choice validation (case-insensitive)."`
}

// Exit indices of a wait_for_response node.
const (
	WaitExitReply   = 0
	WaitExitInvalid = 1
	WaitExitTimeout = 2
)

// WaitConfig configures a wait_for_response node (exits: WaitExitReply,
// WaitExitInvalid, WaitExitTimeout).
type WaitConfig struct {
	Variable     string
	Validation   Validation
	RetryMessage *expr.Template // nil when none
	MaxRetries   int
	Timeout      time.Duration // 0: none
}

// KindWaitForResponse is the Kind of wait_for_response nodes.
const KindWaitForResponse Kind = 5

var waitNode = def[WaitData]{
	kind: KindWaitForResponse,
	NodeType: NodeType{Type: TypeWaitForResponse, Group: GroupMessages, Label: "Wait for response", Description: "Waits for a reply, validates it and stores it in a variable.",
		Palette: true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitReply, Inbound: true}, {Name: ExitInvalid, Optional: true, Inbound: true}, {Name: ExitTimeout, Optional: true}}},
		Limits: []Limit{
			rangeLimit("max_retries", 0, maxRetries, "max_retries must be between 0 and 10"),
			timeoutLimit,
		},
		Defaults: map[string]any{"variable": "answer", "timeout_seconds": 3600}},
	aliases: []string{"waitforreply", "waitforinput", "question", "askquestion", "collectinput", "getinput"},
	waits:   func(*WaitData) bool { return true },
	timeout: func(d *WaitData) int { return d.TimeoutSeconds },
	canFire: func(d *WaitData, exit string) bool {
		return exit != ExitInvalid || (d.Validation != nil && d.Validation.Type != "text")
	},
	check: func(a *analysis, i int, d *WaitData) {
		a.checkVariable(i, "/data/variable", d.Variable)
		if v := d.Validation; v != nil {
			switch v.Type {
			case "regex":
				if v.Pattern == "" {
					a.nodeErr(i, CodeMissingField, "/data/validation/pattern", "%s: a regex validation needs a pattern", a.label(i))
				}
			case "choice":
				if len(v.Choices) == 0 {
					a.nodeErr(i, CodeMissingField, "/data/validation/choices", "%s: a choice validation needs choices", a.label(i))
				}
			}
		}
		if d.MaxRetries < 0 || d.MaxRetries > maxRetries {
			a.nodeErr(i, CodeInvalidValue, "/data/max_retries", "%s: max_retries must be between 0 and %d", a.label(i), maxRetries)
		}
		a.checkTimeout(i, d.TimeoutSeconds)
	},
	compile: func(c *compiler, d *WaitData) any {
		w := &WaitConfig{Variable: d.Variable, Validation: Validation{Type: "text"}, RetryMessage: c.tpl(d.RetryMessage), MaxRetries: d.MaxRetries, Timeout: seconds(d.TimeoutSeconds)}
		if v := d.Validation; v != nil {
			w.Validation = Validation{Type: v.Type, Choices: v.Choices}
			if v.Type == "regex" {
				w.Validation.Pattern = c.regex(v.Pattern)
			}
		}
		return w
	},
}

// Validation is a compiled reply validation of a wait_for_response node.
type Validation struct {
	// Type is text, number, email, phone, date, choice or regex.
	Type    string
	Pattern *regexp.Regexp
	Choices []string
}

// Check validates a reply and returns the value to store: a number for
// number, the canonical choice for choice, the trimmed text otherwise.
// Text accepts any non-empty reply.
func (v *Validation) Check(reply string) (any, bool) {
	s := strings.TrimSpace(reply)
	switch v.Type {
	case "number":
		return expr.ToNumber(s)
	case "email":
		return s, expr.IsEmail(s)
	case "phone":
		return s, isPhone(s)
	case "date":
		t, ok := expr.ToTime(s)
		if !ok {
			return nil, false
		}
		return t.Format("2006-01-02"), true
	case "choice":
		for _, c := range v.Choices {
			if strings.EqualFold(strings.TrimSpace(c), s) {
				return c, true
			}
		}
		return nil, false
	case "regex":
		return s, v.Pattern != nil && v.Pattern.MatchString(s)
	}
	return s, s != ""
}

// isPhone accepts 7 to 15 digits with an optional leading + and common
// separators.
func isPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}
