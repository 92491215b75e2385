package flow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// CompileOptions configures Compile.
type CompileOptions struct {
	// Env checks references into the project and supplies template quick
	// replies; nil skips those checks.
	Env LintEnv
	// Limits of the compiled expressions; zero fields keep the defaults.
	Limits expr.Limits
}

const defaultHTTPTimeout = 10 * time.Second

// Compile lints the graph and, when it has no errors, compiles it into a
// Program. A graph with errors returns a *LintError listing all of them.
// The result depends only on the graph and the env's answers.
func Compile(g Graph, opts CompileOptions) (*Program, error) {
	a := analyze(g, opts.Env)
	if len(g.Nodes) <= MaxNodes {
		a.graphRules()
	}
	if errs := a.out.Errors(); len(errs) > 0 {
		return nil, &LintError{Problems: errs}
	}
	canon, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("fingerprinting the graph: %w", err)
	}
	sum := sha256.Sum256(canon)
	c := compiler{opts: []expr.Option{expr.WithLimits(opts.Limits)}}
	p := &Program{Start: a.start, Hash: hex.EncodeToString(sum[:]), Steps: make([]Step, len(g.Nodes)), index: make(map[string]int, len(g.Nodes))}
	for i, n := range g.Nodes {
		info := a.nodes[i]
		st := Step{ID: n.ID, Type: n.Type, Kind: kindByType[n.Type], Waits: info.waits, Exits: make([]Exit, len(info.exits))}
		for k, x := range info.exits {
			st.Exits[k] = Exit{Name: x.name, Target: NoTarget}
			if e := info.out[k]; e >= 0 {
				st.Exits[k].Target = a.edges[e].dst
				st.Exits[k].EdgeID = g.Edges[e].ID
			}
		}
		st.Config = c.config(info.data)
		if c.err != nil {
			return nil, fmt.Errorf("compiling node %q: %w", n.ID, c.err)
		}
		p.Steps[i] = st
		p.index[n.ID] = i
	}
	p.Trigger = p.Steps[p.Start].Config.(*StartConfig).Trigger
	return p, nil
}

// compiler builds typed configs; the first error sticks. Errors can only
// come from a linter gap since the graph is lint-clean.
type compiler struct {
	opts []expr.Option
	err  error
}

func (c *compiler) tpl(s string) *expr.Template {
	if s == "" {
		return nil
	}
	t, err := expr.ParseTemplate(s, c.opts...)
	if err != nil && c.err == nil {
		c.err = err
	}
	return t
}

func (c *compiler) tplOrEmpty(s string) *expr.Template {
	if t := c.tpl(s); t != nil {
		return t
	}
	return c.tplMust("")
}

func (c *compiler) tplMust(s string) *expr.Template {
	t, err := expr.ParseTemplate(s, c.opts...)
	if err != nil && c.err == nil {
		c.err = err
	}
	return t
}

func (c *compiler) tpls(list []string) []*expr.Template {
	out := make([]*expr.Template, len(list))
	for i, s := range list {
		out[i] = c.tplMust(s)
	}
	return out
}

func (c *compiler) regex(s string) *regexp.Regexp {
	re, err := regexp.Compile(s)
	if err != nil && c.err == nil {
		c.err = err
	}
	return re
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func choices(titles []string, timeout int) *Choices {
	if len(titles) == 0 {
		return nil
	}
	return &Choices{Titles: titles, Other: len(titles), Timeout: len(titles) + 1, Wait: seconds(timeout)}
}

func (c *compiler) config(data any) any {
	switch d := data.(type) {
	case *StartData:
		t := Trigger{Type: "manual"}
		if d.Trigger != nil {
			t.Type, t.Match, t.ChannelTypes = d.Trigger.Type, d.Trigger.Match, d.Trigger.ChannelTypes
			if t.Match == "" {
				t.Match = "exact"
			}
			for _, k := range d.Trigger.Keywords {
				t.Keywords = append(t.Keywords, strings.ToLower(strings.TrimSpace(k)))
			}
		}
		return &StartConfig{Trigger: t}
	case *EndData:
		return &EndConfig{Text: c.tpl(d.Text)}
	case *MessageData:
		m := &MessageConfig{Text: c.tpl(d.Text), Buttons: d.Buttons, List: d.List, Choices: choices(d.choices(), d.TimeoutSeconds)}
		if d.Media != nil {
			m.Media = &Media{Type: d.Media.Type, URL: c.tplMust(d.Media.URL), Caption: c.tpl(d.Media.Caption)}
		}
		return m
	case *TemplateData:
		t := &TemplateConfig{TemplateID: d.TemplateID, TemplateName: d.TemplateName, Language: d.Language, Choices: choices(d.Buttons, d.TimeoutSeconds)}
		if d.Params != nil {
			t.Header, t.Body, t.ButtonParams = c.tpls(d.Params.Header), c.tpls(d.Params.Body), c.tpls(d.Params.Buttons)
		}
		return t
	case *WaitData:
		w := &WaitConfig{Variable: d.Variable, Validation: Validation{Type: "text"}, RetryMessage: c.tpl(d.RetryMessage), MaxRetries: d.MaxRetries, Timeout: seconds(d.TimeoutSeconds)}
		if v := d.Validation; v != nil {
			w.Validation = Validation{Type: v.Type, Choices: v.Choices}
			if v.Type == "regex" {
				w.Validation.Pattern = c.regex(v.Pattern)
			}
		}
		return w
	case *ConditionData:
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
	case *SplitData:
		s := &SplitConfig{Branches: make([]Branch, len(d.Branches))}
		for i, b := range d.Branches {
			s.Branches[i] = Branch{ID: b.ID, Label: b.Label, Weight: b.Weight}
			s.Total += b.Weight
		}
		return s
	case *SetVariableData:
		s := &SetVariableConfig{Assignments: make([]Assignment, len(d.Assignments))}
		for i, as := range d.Assignments {
			s.Assignments[i] = Assignment{Variable: as.Variable, Value: c.tplMust(as.Value)}
		}
		return s
	case *ActionData:
		return &ActionConfig{Action: d.Action, Tag: c.tpl(d.Tag), Field: d.Field, Value: c.tpl(d.Value), Assignee: d.Assignee}
	case *HTTPRequestData:
		h := &HTTPConfig{Method: c.tplMust(d.Method), URL: c.tplMust(d.URL), Body: c.tpl(d.Body), Timeout: defaultHTTPTimeout, ResponseVariable: d.ResponseVariable}
		if d.TimeoutMS > 0 {
			h.Timeout = time.Duration(d.TimeoutMS) * time.Millisecond
		}
		names := make([]string, 0, len(d.Headers))
		for k := range d.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			h.Headers = append(h.Headers, Header{Name: k, Value: c.tplMust(d.Headers[k])})
		}
		for _, m := range d.Mappings {
			path, err := ParsePath(m.Path)
			if err != nil && c.err == nil {
				c.err = err
			}
			h.Mappings = append(h.Mappings, Mapping{Variable: m.Variable, Path: path})
		}
		return h
	case *WhatsAppFlowData:
		return &WhatsAppFlowConfig{WhatsAppFlowID: d.WhatsAppFlowID, Header: c.tpl(d.Header), Body: c.tplMust(d.Body), CTA: d.CTA, Screen: d.Screen,
			Data: d.Data, Mode: d.Mode, Variable: d.Variable, Timeout: seconds(d.TimeoutSeconds)}
	case *DelayData:
		return &DelayConfig{Duration: seconds(d.Seconds)}
	case *SubflowData:
		return &SubflowConfig{FlowID: d.FlowID}
	case *HandoffData:
		return &HandoffConfig{Message: c.tpl(d.Message), Assignee: d.Assignee, Timeout: seconds(d.TimeoutSeconds)}
	case *AIAgentData:
		return &AIAgentConfig{SystemPrompt: c.tplMust(d.SystemPrompt), Prompt: c.tpl(d.Prompt), Model: d.Model, Temperature: d.Temperature,
			MaxTokens: d.MaxTokens, HistoryTurns: d.HistoryTurns, Send: d.Send, Variable: d.Variable}
	}
	return &VoiceConfig{Data: data}
}
