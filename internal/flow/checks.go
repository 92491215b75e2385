package flow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/expr"
)

// WhatsApp limits of interactive messages.
const (
	maxButtons         = 3
	maxButtonTitle     = 20
	maxTemplateButtons = 10
	maxTemplateButton  = 25
	maxListRows        = 10
	maxListSections    = 10
	maxListRowTitle    = 24
	maxListRowDesc     = 72
	maxListButton      = 20
	maxCTA             = 20
	maxRetries         = 10
	maxHTTPTimeoutMS   = 30000
	maxDelaySeconds    = 30 * 24 * 3600
)

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var reservedNames = map[string]bool{"contact": true, "vars": true, "input": true, "row": true, "flow": true, "now": true}

// checkVariable checks a variable name that templates must be able to use.
func (a *analysis) checkVariable(i int, ptr, name string) {
	if name == "" {
		return // reported as missing_field by the schema when required
	}
	if !identRe.MatchString(name) {
		a.nodeErr(i, CodeInvalidValue, ptr, "%s: variable name %q must start with a letter or _ and contain only letters, digits and _ so {{%s}} can read it", a.label(i), name, name)
		return
	}
	if reservedNames[name] {
		a.nodeErr(i, CodeInvalidValue, ptr, "%s: %q is a reserved name (contact, vars, input, row, flow, now); choose another variable name", a.label(i), name)
	}
}

func (a *analysis) checkTimeout(i int, secs int) {
	if secs < 0 {
		a.nodeErr(i, CodeInvalidValue, "/data/timeout_seconds", "%s: timeout_seconds must not be negative", a.label(i))
	}
}

// checkChoices checks button titles: count, length, emptiness, duplicates
// and clashes with the other/timeout exits.
func (a *analysis) checkChoices(i int, ptr string, titles []string, max, maxLen int) {
	if len(titles) > max {
		a.nodeErr(i, CodeTooManyButtons, ptr+"/"+strconv.Itoa(max), "%s has %d buttons; WhatsApp allows at most %d — remove some or use a list", a.label(i), len(titles), max)
	}
	seen := map[string]int{}
	for k, t := range titles {
		p := ptr + "/" + strconv.Itoa(k)
		if strings.TrimSpace(t) == "" {
			a.nodeErr(i, CodeMissingField, p, "%s: button %d has no title", a.label(i), k+1)
			continue
		}
		if n := utf8.RuneCountInString(t); n > maxLen {
			a.nodeErr(i, CodeButtonTitleTooLong, p, "%s: button title %q has %d characters; WhatsApp allows at most %d", a.label(i), t, n, maxLen)
		}
		key := strings.ToLower(strings.TrimSpace(t))
		if prev, dup := seen[key]; dup {
			a.nodeErr(i, CodeDuplicateButton, p, "%s: button %q repeats button %d; button titles must be unique", a.label(i), t, prev+1)
			continue
		}
		seen[key] = k
		if t == ExitOther || t == ExitTimeout {
			a.nodeErr(i, CodeDuplicateExitName, p, "%s: a button cannot be titled %q, which is the name of a built-in exit", a.label(i), t)
		}
	}
}

func (a *analysis) checkNode(i int, data any) {
	switch d := data.(type) {
	case *StartData:
		if d.Trigger != nil && d.Trigger.Type == "keyword" && len(d.Trigger.Keywords) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/trigger/keywords", "%s: a keyword trigger needs at least one keyword", a.label(i))
		}
		for k, kw := range d.Trigger.keywords() {
			if strings.TrimSpace(kw) == "" {
				a.nodeErr(i, CodeInvalidValue, "/data/trigger/keywords/"+strconv.Itoa(k), "%s: keyword %d is empty", a.label(i), k+1)
			}
		}
	case *MessageData:
		a.checkMessage(i, d)
	case *TemplateData:
		if d.TemplateID == "" && d.TemplateName == "" {
			a.nodeErr(i, CodeMissingField, "/data/template_id", "%s needs template_id or template_name", a.label(i))
		} else if a.env != nil && !a.env.TemplateExists(d.TemplateID, d.TemplateName) {
			ref := d.TemplateID
			if ref == "" {
				ref = d.TemplateName
			}
			ptr := "/data/template_id"
			if d.TemplateID == "" {
				ptr = "/data/template_name"
			}
			a.nodeErr(i, CodeUnknownTemplate, ptr, "%s uses template %q, which does not exist in this project; pick an existing template", a.label(i), ref)
		}
		a.checkChoices(i, "/data/buttons", d.Buttons, maxTemplateButtons, maxTemplateButton)
		a.checkTimeout(i, d.TimeoutSeconds)
	case *WaitData:
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
	case *ConditionData:
		a.checkCondition(i, d)
	case *SplitData:
		if len(d.Branches) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/branches", "%s needs at least one branch", a.label(i))
		}
		total := 0.0
		ids := map[string]bool{}
		for k, b := range d.Branches {
			p := "/data/branches/" + strconv.Itoa(k)
			if b.Weight < 0 {
				a.nodeErr(i, CodeInvalidValue, p+"/weight", "%s: branch %q has a negative weight", a.label(i), b.ID)
			}
			total += b.Weight
			if b.ID != "" && ids[b.ID] {
				a.nodeErr(i, CodeDuplicateExitName, p+"/id", "%s: branch id %q is used twice; branch ids name exits and must be unique", a.label(i), b.ID)
			}
			ids[b.ID] = true
		}
		if len(d.Branches) > 0 && total <= 0 {
			a.nodeErr(i, CodeInvalidValue, "/data/branches", "%s: the branch weights add up to 0; give at least one branch a positive weight", a.label(i))
		}
	case *SetVariableData:
		if len(d.Assignments) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/assignments", "%s needs at least one assignment", a.label(i))
		}
		for k, as := range d.Assignments {
			a.checkVariable(i, "/data/assignments/"+strconv.Itoa(k)+"/variable", as.Variable)
		}
	case *ActionData:
		need := map[string]string{"add_tag": "tag", "remove_tag": "tag", "set_field": "field", "assign": "assignee"}
		if f, ok := need[d.Action]; ok {
			v := map[string]string{"tag": d.Tag, "field": d.Field, "assignee": d.Assignee}[f]
			if strings.TrimSpace(v) == "" {
				a.nodeErr(i, CodeMissingField, "/data/"+f, "%s: action %s needs %s", a.label(i), d.Action, f)
			}
		}
	case *HTTPRequestData:
		a.checkHTTP(i, d)
	case *WhatsAppFlowData:
		if we, ok := a.env.(WhatsAppFlowEnv); ok && a.env != nil && d.WhatsAppFlowID != "" && !we.WhatsAppFlowExists(d.WhatsAppFlowID) {
			a.nodeErr(i, CodeUnknownWhatsAppFlow, "/data/whatsapp_flow_id", "%s uses WhatsApp Flow %q, which does not exist in this project", a.label(i), d.WhatsAppFlowID)
		}
		if n := utf8.RuneCountInString(d.CTA); n > maxCTA {
			a.nodeErr(i, CodeButtonTitleTooLong, "/data/cta", "%s: cta %q has %d characters; WhatsApp allows at most %d", a.label(i), d.CTA, n, maxCTA)
		}
		a.checkVariable(i, "/data/variable", d.Variable)
		a.checkTimeout(i, d.TimeoutSeconds)
	case *DelayData:
		if d.Seconds <= 0 || d.Seconds > maxDelaySeconds {
			a.nodeErr(i, CodeInvalidValue, "/data/seconds", "%s: seconds must be between 1 and %d (30 days)", a.label(i), maxDelaySeconds)
		}
	case *SubflowData:
		if a.env != nil && d.FlowID != "" && !a.env.FlowExists(d.FlowID) {
			a.nodeErr(i, CodeUnknownSubflow, "/data/flow_id", "%s runs flow %q, which does not exist in this project; pick an existing flow", a.label(i), d.FlowID)
		}
	case *HandoffData:
		a.checkTimeout(i, d.TimeoutSeconds)
	case *AIAgentData:
		if d.Temperature < 0 || d.Temperature > 2 {
			a.nodeErr(i, CodeInvalidValue, "/data/temperature", "%s: temperature must be between 0 and 2", a.label(i))
		}
		a.checkVariable(i, "/data/variable", d.Variable)
	case *VoiceCallData:
		a.checkVariable(i, "/data/variable", d.Variable)
	case *WaitInboundCallData:
		a.checkTimeout(i, d.TimeoutSeconds)
	}
}

func (t *TriggerData) keywords() []string {
	if t == nil {
		return nil
	}
	return t.Keywords
}

func (a *analysis) checkMessage(i int, d *MessageData) {
	if d.Text == "" && d.Media == nil {
		a.nodeErr(i, CodeMissingField, "/data/text", "%s needs text or media", a.label(i))
	}
	if len(d.Buttons) > 0 && d.List != nil {
		a.nodeErr(i, CodeButtonsAndList, "/data/list", "%s has both buttons and a list; a message can have one or the other", a.label(i))
	}
	if (len(d.Buttons) > 0 || d.List != nil) && d.Text == "" {
		a.nodeErr(i, CodeMissingField, "/data/text", "%s: a message with buttons or a list needs text", a.label(i))
	}
	if m := d.Media; m != nil && !strings.Contains(m.URL, "{{") && m.URL != "" &&
		!strings.HasPrefix(m.URL, "https://") && !strings.HasPrefix(m.URL, "http://") {
		a.nodeErr(i, CodeInvalidValue, "/data/media/url", "%s: media url %q must be an http(s) URL", a.label(i), m.URL)
	}
	a.checkChoices(i, "/data/buttons", d.Buttons, maxButtons, maxButtonTitle)
	if l := d.List; l != nil {
		if n := utf8.RuneCountInString(l.Button); n > maxListButton {
			a.nodeErr(i, CodeButtonTitleTooLong, "/data/list/button", "%s: list button %q has %d characters; WhatsApp allows at most %d", a.label(i), l.Button, n, maxListButton)
		}
		if len(l.Sections) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/list/sections", "%s: the list needs at least one section with rows", a.label(i))
		}
		if len(l.Sections) > maxListSections {
			a.nodeErr(i, CodeTooManyListRows, "/data/list/sections", "%s: the list has %d sections; WhatsApp allows at most %d", a.label(i), len(l.Sections), maxListSections)
		}
		total := 0
		ids := map[string]bool{}
		for s, sec := range l.Sections {
			sp := "/data/list/sections/" + strconv.Itoa(s)
			if len(sec.Rows) == 0 {
				a.nodeErr(i, CodeMissingField, sp+"/rows", "%s: list section %d has no rows", a.label(i), s+1)
			}
			if len(l.Sections) > 1 && sec.Title == "" {
				a.nodeErr(i, CodeMissingField, sp+"/title", "%s: with several sections each needs a title", a.label(i))
			}
			for r, row := range sec.Rows {
				rp := sp + "/rows/" + strconv.Itoa(r)
				total++
				if total == maxListRows+1 {
					a.nodeErr(i, CodeTooManyListRows, rp, "%s: the list has more than %d rows; WhatsApp allows at most %d in total", a.label(i), maxListRows, maxListRows)
				}
				if n := utf8.RuneCountInString(row.Title); n > maxListRowTitle {
					a.nodeErr(i, CodeListRowTitleTooLong, rp+"/title", "%s: row title %q has %d characters; WhatsApp allows at most %d", a.label(i), row.Title, n, maxListRowTitle)
				}
				if n := utf8.RuneCountInString(row.Description); n > maxListRowDesc {
					a.nodeErr(i, CodeInvalidValue, rp+"/description", "%s: row description has %d characters; WhatsApp allows at most %d", a.label(i), n, maxListRowDesc)
				}
				if row.ID != "" && ids[row.ID] {
					a.nodeErr(i, CodeDuplicateListRow, rp+"/id", "%s: row id %q is used twice; row ids name exits and must be unique", a.label(i), row.ID)
				}
				if row.ID == ExitOther || row.ID == ExitTimeout {
					a.nodeErr(i, CodeDuplicateExitName, rp+"/id", "%s: a row id cannot be %q, which is the name of a built-in exit", a.label(i), row.ID)
				}
				ids[row.ID] = true
			}
		}
	}
	a.checkTimeout(i, d.TimeoutSeconds)
}

// binaryOps are the condition operators that compare with a right side.
var binaryOps = map[string]bool{
	"equals": true, "not_equals": true, "contains": true, "not_contains": true, "starts_with": true, "ends_with": true,
	"matches": true, "gt": true, "gte": true, "lt": true, "lte": true, "before": true, "after": true,
	"has_any_word": true, "has_all_words": true,
}

func (a *analysis) checkCondition(i int, d *ConditionData) {
	if len(d.Rules) == 0 {
		a.nodeErr(i, CodeMissingField, "/data/rules", "%s needs at least one rule", a.label(i))
	}
	ids := map[string]bool{}
	for r, rule := range d.Rules {
		rp := "/data/rules/" + strconv.Itoa(r)
		if rule.ID == ExitElse || (rule.ID != "" && ids[rule.ID]) {
			a.nodeErr(i, CodeDuplicateExitName, rp+"/id", "%s: rule id %q is used twice or clashes with else; rule ids name exits and must be unique", a.label(i), rule.ID)
		}
		ids[rule.ID] = true
		if len(rule.Conditions) == 0 {
			a.nodeErr(i, CodeMissingField, rp+"/conditions", "%s: rule %q needs at least one condition", a.label(i), rule.ID)
		}
		for c, cond := range rule.Conditions {
			cp := rp + "/conditions/" + strconv.Itoa(c)
			if !binaryOps[cond.Operator] {
				continue
			}
			if cond.Right == "" && cond.Operator != "equals" && cond.Operator != "not_equals" {
				a.nodeErr(i, CodeMissingField, cp+"/right", "%s: operator %s needs a right side", a.label(i), cond.Operator)
				continue
			}
			if strings.Contains(cond.Right, "{{") {
				continue // only literal right sides can be checked here
			}
			switch cond.Operator {
			case "matches":
				if _, err := regexp.Compile(cond.Right); err != nil {
					a.nodeErr(i, CodeInvalidRegex, cp+"/right", "%s: invalid regular expression %q: %v", a.label(i), cond.Right, err)
				}
			case "gt", "gte", "lt", "lte":
				if _, ok := expr.ToNumber(cond.Right); !ok {
					a.nodeErr(i, CodeInvalidValue, cp+"/right", "%s: operator %s compares numbers, but %q is not a number", a.label(i), cond.Operator, cond.Right)
				}
			case "before", "after":
				if _, ok := expr.ToTime(cond.Right); !ok {
					a.nodeErr(i, CodeInvalidValue, cp+"/right", "%s: operator %s compares dates, but %q is not a date (use 2006-01-02 or {{now}})", a.label(i), cond.Operator, cond.Right)
				}
			}
		}
	}
}

var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true}

func (a *analysis) checkHTTP(i int, d *HTTPRequestData) {
	if d.Method != "" && !strings.Contains(d.Method, "{{") && !httpMethods[strings.ToUpper(d.Method)] {
		a.nodeErr(i, CodeInvalidValue, "/data/method", "%s: method %q is not one of GET, POST, PUT, PATCH, DELETE, HEAD", a.label(i), d.Method)
	}
	if d.URL != "" && !strings.HasPrefix(d.URL, "{{") && !strings.HasPrefix(d.URL, "https://") && !strings.HasPrefix(d.URL, "http://") {
		a.nodeErr(i, CodeInvalidValue, "/data/url", "%s: url %q must start with http:// or https://", a.label(i), d.URL)
	}
	if d.TimeoutMS < 0 || d.TimeoutMS > maxHTTPTimeoutMS {
		a.nodeErr(i, CodeInvalidValue, "/data/timeout_ms", "%s: timeout_ms must be between 0 (default 10000) and %d", a.label(i), maxHTTPTimeoutMS)
	}
	a.checkVariable(i, "/data/response_variable", d.ResponseVariable)
	for k, m := range d.Mappings {
		mp := "/data/mappings/" + strconv.Itoa(k)
		a.checkVariable(i, mp+"/variable", m.Variable)
		if _, err := ParsePath(m.Path); err != nil && m.Path != "" {
			a.nodeErr(i, CodeInvalidValue, mp+"/path", "%s: %v", a.label(i), err)
		}
	}
}

// ParsePath splits a response path such as "data.items.0.name" (or
// "data.items[0].name") into its segments.
func ParsePath(p string) ([]string, error) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "$.")
	if p == "" {
		return nil, fmt.Errorf("path is empty")
	}
	p = strings.NewReplacer("[", ".", "]", "").Replace(p)
	segs := strings.Split(p, ".")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("path %q has an empty segment", p)
		}
	}
	return segs, nil
}
