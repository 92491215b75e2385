package flow

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeCondition takes the exit of the first matching rule.
const TypeCondition = "condition"

// ConditionData is the data of a condition node.
type ConditionData struct {
	Rules []RuleData `json:"rules" flow:"required" doc:"Checked in order; the first matching rule's exit is taken, else the else exit."`
}

// RuleData is one rule of a condition; its id names the exit.
type RuleData struct {
	ID         string          `json:"id" flow:"required"`
	Label      string          `json:"label,omitempty"`
	Match      string          `json:"match,omitempty" flow:"enum=all|any" doc:"all (and) or any (or); all by default."`
	Conditions []ConditionItem `json:"conditions" flow:"required"`
}

// ConditionItem compares two templates with an operator.
type ConditionItem struct {
	Left     string `json:"left" flow:"required,template,line"`
	Operator string `json:"operator" flow:"required,enum=equals|not_equals|contains|not_contains|starts_with|ends_with|matches|gt|gte|lt|lte|before|after|is_empty|is_not_empty|has_any_word|has_all_words|is_number|is_email"`
	Right    string `json:"right,omitempty" flow:"template,line"`
}

// ConditionConfig configures a condition node: exit k is rule k, exit Else
// (= len(Rules)) is else.
type ConditionConfig struct {
	Rules []Rule
	Else  int
}

// Rule is a compiled condition rule.
type Rule struct {
	ID, Label string
	// All joins the conditions with and; otherwise with or.
	All        bool
	Conditions []Condition
}

// Condition is a compiled comparison.
type Condition struct {
	Left     *expr.Template
	Operator Operator
	Right    *expr.Template
	// Regex is the compiled right side of a matches operator whose right
	// side is literal; nil otherwise (compiled per evaluation).
	Regex *regexp.Regexp
}

// KindCondition is the Kind of condition nodes.
const KindCondition Kind = 6

var conditionNode = def[ConditionData]{
	kind: KindCondition,
	NodeType: NodeType{Type: TypeCondition, Group: GroupLogic, Label: "Condition", Description: "Takes the exit of the first matching rule, else the else exit.",
		Palette: true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitElse}}, Dynamic: []DynamicExits{
			{From: "rules[*]", ID: "id", Label: "label", Always: true, Plus: []ExitDef{{Name: ExitElse}}},
		}},
		DynamicExits: "one exit per rule id, in order, then else",
		Defaults: map[string]any{"rules": []any{map[string]any{"id": "rule_1", "label": "", "match": "all",
			"conditions": []any{map[string]any{"left": "{{ input.text }}", "operator": "equals", "right": ""}}}}}},
	aliases: []string{"branch", "ifelse", "splitbyexpression", "switch"},
	check:   checkCondition,
	compile: func(c *compiler, d *ConditionData) any {
		cc := &ConditionConfig{Rules: make([]Rule, len(d.Rules)), Else: len(d.Rules)}
		for i, r := range d.Rules {
			rule := Rule{ID: r.ID, Label: r.Label, All: r.Match != "any", Conditions: make([]Condition, len(r.Conditions))}
			for k, ci := range r.Conditions {
				op, _ := ParseOperator(ci.Operator)
				cond := Condition{Left: c.tplOrEmpty(ci.Left), Operator: op, Right: c.tpl(ci.Right)}
				if op == OpMatches && cond.Right != nil && cond.Right.IsLiteral() {
					cond.Regex = c.regex(ci.Right)
				}
				rule.Conditions[k] = cond
			}
			cc.Rules[i] = rule
		}
		return cc
	},
}

// binaryOps are the condition operators that compare with a right side.
var binaryOps = map[string]bool{
	"equals": true, "not_equals": true, "contains": true, "not_contains": true, "starts_with": true, "ends_with": true,
	"matches": true, "gt": true, "gte": true, "lt": true, "lte": true, "before": true, "after": true,
	"has_any_word": true, "has_all_words": true,
}

func checkCondition(a *analysis, i int, d *ConditionData) {
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
