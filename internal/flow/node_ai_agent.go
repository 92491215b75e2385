package flow

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeAIAgent asks an LLM.
const TypeAIAgent = "ai_agent"

// AI agent modes. The empty mode is the original single answer (sent when
// send is set, stored in variable).
const (
	AIModeReply    = "reply"
	AIModeClassify = "classify"
	AIModeExtract  = "extract"
)

// Extract field types.
const (
	AIFieldText    = "text"
	AIFieldNumber  = "number"
	AIFieldBoolean = "boolean"
	AIFieldDate    = "date"
	AIFieldEnum    = "enum"
)

// Limits of an ai_agent node.
const (
	// MaxAILabels bounds a classify node's labels (and so its exits).
	MaxAILabels = 20
	// MaxAIFields bounds an extract node's fields.
	MaxAIFields = 30
	// MaxAITurns bounds a reply conversation's turns.
	MaxAITurns = 50
	// DefaultAITurns is a conversation's turns when max_turns is 0.
	DefaultAITurns = 10
	// MaxAIHistoryTurns bounds the conversation sent as context.
	MaxAIHistoryTurns = 50
)

// AIAgentData is the data of an ai_agent node.
type AIAgentData struct {
	Mode         string  `json:"mode,omitempty" flow:"enum=reply|classify|extract" doc:"reply: answer the contact (optionally as a conversation); classify: take the exit of the label the model picks; extract: fill variables from the contact's text. Empty: one answer, sent when send is set."`
	Provider     string  `json:"provider,omitempty" doc:"ID of the project's AI provider to use; the project's default (first) provider when empty."`
	SystemPrompt string  `json:"system_prompt" flow:"required,template" doc:"Instructions to the model (system role). The contact's text never goes here."`
	Prompt       string  `json:"prompt,omitempty" flow:"template" doc:"User message; the last inbound text when empty."`
	Model        string  `json:"model,omitempty" doc:"Model name; the provider's model when empty."`
	Temperature  float64 `json:"temperature,omitempty"`
	MaxTokens    int     `json:"max_tokens,omitempty"`
	HistoryTurns int     `json:"history_turns,omitempty" doc:"Messages of the conversation so far sent as context (at most 50)."`
	// ContextVariables are sent to the model as data, bounded in size.
	ContextVariables []string `json:"context_variables,omitempty" flow:"variable" doc:"Variables given to the model as context (as data in a user message, at most 4 KB)."`
	Send             bool     `json:"send,omitempty" doc:"Send the answer to the contact (always in reply mode)."`
	Variable         string   `json:"variable,omitempty" flow:"variable" doc:"Variable that receives the answer (reply), or the label chosen (classify)."`
	// Reply mode.
	Converse       bool   `json:"converse,omitempty" doc:"Reply mode: wait for the contact's next message and answer again, until max_turns, the stop keyword or the timeout."`
	MaxTurns       int    `json:"max_turns,omitempty" doc:"Reply conversation: answers before the next exit (10 when 0, at most 50)."`
	StopKeyword    string `json:"stop_keyword,omitempty" flow:"line" doc:"Reply conversation: when the model's answer contains it, the conversation ends through next (the keyword is not sent)."`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" doc:"Reply conversation: how long to wait for the contact's next message before the timeout exit."`
	// Classify mode.
	Labels []AILabelData `json:"labels,omitempty" doc:"Classify mode: the labels the model chooses from; one exit per label id, plus other."`
	// Extract mode.
	Fields []AIFieldData `json:"fields,omitempty" doc:"Extract mode: the values to read from the contact's text, each into the variable of its name."`
}

// AILabelData is one label of a classify node; its id names the exit.
type AILabelData struct {
	ID          string `json:"id" flow:"required,line"`
	Label       string `json:"label,omitempty" flow:"line"`
	Description string `json:"description,omitempty" doc:"What the label means, for the model."`
}

// AIFieldData is one value an extract node reads; its name is the variable.
type AIFieldData struct {
	Name        string   `json:"name" flow:"required,variable"`
	Type        string   `json:"type" flow:"required,enum=text|number|boolean|date|enum,default=text"`
	Description string   `json:"description,omitempty" doc:"What the value is, for the model."`
	Required    bool     `json:"required,omitempty" doc:"The failed exit is taken when the model cannot find it."`
	Values      []string `json:"values,omitempty" doc:"The allowed values of an enum field."`
}

// AIAgentConfig configures an ai_agent node. Its exits are next and
// failed (and timeout in a conversation), or in classify mode one per
// label, then other and failed; the engine finds them by name.
type AIAgentConfig struct {
	Mode                 string
	Provider             string
	SystemPrompt, Prompt *expr.Template
	Model                string
	Temperature          float64
	MaxTokens            int
	HistoryTurns         int
	ContextVariables     []string
	Send                 bool
	Variable             string
	Converse             bool
	MaxTurns             int
	StopKeyword          string
	Timeout              time.Duration
	Labels               []AILabel
	Fields               []AIField
	// Schema is the JSON schema the model's answer must follow (classify
	// and extract), built from the labels or fields at compile time.
	Schema json.RawMessage
}

// AILabel is a compiled classify label.
type AILabel struct{ ID, Label, Description string }

// AIField is a compiled extract field.
type AIField struct {
	Name, Type, Description string
	Required                bool
	Values                  []string
}

// KindAIAgent is the Kind of ai_agent nodes.
const KindAIAgent Kind = 15

func (d *AIAgentData) conversing() bool { return d.Mode == AIModeReply && d.Converse }

var aiAgentNode = def[AIAgentData]{
	kind: KindAIAgent,
	NodeType: NodeType{Type: TypeAIAgent, Group: GroupIntegrations, Label: "AI agent",
		Description: "Asks the project's AI provider (Settings → AI providers) to answer the contact, classify their message or extract values from it.",
		Palette:     true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitNext}, {Name: ExitFailed, Optional: true}},
			Dynamic: []DynamicExits{
				{From: "labels[*]", ID: "id", Label: "label", Plus: []ExitDef{{Name: ExitOther, Optional: true}, {Name: ExitFailed, Optional: true}}},
				{When: "converse", Always: true, Plus: []ExitDef{{Name: ExitNext}, {Name: ExitFailed, Optional: true}, {Name: ExitTimeout, Optional: true}}},
			}},
		DynamicExits: "classify mode: one exit per label id, then other and failed; a reply conversation (converse): next, failed and timeout; otherwise next and failed",
		Limits: []Limit{
			rangeLimit("temperature", 0, 2, "temperature must be between 0 and 2"),
			rangeLimit("history_turns", 0, MaxAIHistoryTurns, "history_turns must be between 0 and 50"),
			rangeLimit("max_turns", 0, MaxAITurns, "max_turns must be between 0 and 50"),
			{Path: "labels", MaxItems: MaxAILabels, Doc: "at most 20 labels"},
			{Path: "fields", MaxItems: MaxAIFields, Doc: "at most 30 fields"},
			timeoutLimit,
		},
		Defaults: map[string]any{"mode": AIModeReply, "system_prompt": "You are a helpful assistant. Answer briefly.", "history_turns": 10}},
	aliases:  []string{"ai", "llm", "gpt", "chatgpt"},
	freeForm: func(d *AIAgentData) bool { return d.Send || d.Mode == AIModeReply },
	timeout: func(d *AIAgentData) int {
		if d.conversing() {
			return d.TimeoutSeconds
		}
		return 0
	},
	check: checkAIAgent,
	compile: func(c *compiler, d *AIAgentData) any {
		cfg := &AIAgentConfig{Mode: d.Mode, Provider: d.Provider, SystemPrompt: c.tplMust(d.SystemPrompt), Prompt: c.tpl(d.Prompt), Model: d.Model,
			Temperature: d.Temperature, MaxTokens: d.MaxTokens, HistoryTurns: d.HistoryTurns, ContextVariables: d.ContextVariables,
			Send: d.Send || d.Mode == AIModeReply, Variable: d.Variable, Converse: d.conversing(), MaxTurns: d.MaxTurns,
			StopKeyword: strings.TrimSpace(d.StopKeyword), Timeout: seconds(d.TimeoutSeconds)}
		if cfg.Converse && cfg.MaxTurns == 0 {
			cfg.MaxTurns = DefaultAITurns
		}
		switch d.Mode {
		case AIModeClassify:
			for _, l := range d.Labels {
				cfg.Labels = append(cfg.Labels, AILabel{ID: l.ID, Label: l.Label, Description: l.Description})
			}
			cfg.Schema = classifySchema(cfg.Labels)
		case AIModeExtract:
			for _, f := range d.Fields {
				cfg.Fields = append(cfg.Fields, AIField{Name: f.Name, Type: f.Type, Description: f.Description, Required: f.Required, Values: f.Values})
			}
			cfg.Schema = extractSchema(cfg.Fields)
		}
		return cfg
	},
}

func checkAIAgent(a *analysis, i int, d *AIAgentData) {
	if d.Temperature < 0 || d.Temperature > 2 {
		a.nodeErr(i, CodeInvalidValue, "/data/temperature", "%s: temperature must be between 0 and 2", a.label(i))
	}
	if d.HistoryTurns < 0 || d.HistoryTurns > MaxAIHistoryTurns {
		a.nodeErr(i, CodeInvalidValue, "/data/history_turns", "%s: history_turns must be between 0 and %d", a.label(i), MaxAIHistoryTurns)
	}
	if d.MaxTokens < 0 {
		a.nodeErr(i, CodeInvalidValue, "/data/max_tokens", "%s: max_tokens must not be negative", a.label(i))
	}
	if strings.Contains(d.SystemPrompt, "input.") || strings.Contains(d.SystemPrompt, "input }}") {
		a.nodeWarn(i, CodeInvalidValue, "/data/system_prompt", "%s: the system prompt reads the contact's message (input); what the contact writes would then be read as instructions — put it in prompt (a user message) instead", a.label(i))
	}
	if pe, ok := a.env.(AIProvidersEnv); ok && a.env != nil {
		if ids, known := pe.AIProviders(); known {
			switch {
			case len(ids) == 0:
				a.nodeWarn(i, CodeAINoProvider, "/data", "%s: this project has no AI provider, so the node takes its failed exit; add one under Settings → AI providers (or POST /ai/providers/)", a.label(i))
			case d.Provider != "" && !slices.Contains(ids, d.Provider):
				a.nodeErr(i, CodeAINoProvider, "/data/provider", "%s: AI provider %q is not one of this project's providers; choose another or leave it empty for the default", a.label(i), d.Provider)
			}
		}
	}
	a.checkVariable(i, "/data/variable", d.Variable)
	for k, v := range d.ContextVariables {
		a.checkVariable(i, "/data/context_variables/"+strconv.Itoa(k), v)
	}
	if d.Mode != AIModeReply {
		if d.Converse {
			a.nodeErr(i, CodeInvalidValue, "/data/converse", "%s: converse is only for reply mode; set mode to reply or turn converse off", a.label(i))
		}
		if d.StopKeyword != "" || d.MaxTurns != 0 || d.TimeoutSeconds != 0 {
			a.nodeWarn(i, CodeInvalidValue, "/data", "%s: max_turns, stop_keyword and timeout_seconds only apply to a reply conversation (mode reply, converse on); they are ignored", a.label(i))
		}
	}
	if d.MaxTurns < 0 || d.MaxTurns > MaxAITurns {
		a.nodeErr(i, CodeInvalidValue, "/data/max_turns", "%s: max_turns must be between 0 and %d", a.label(i), MaxAITurns)
	}
	a.checkTimeout(i, d.TimeoutSeconds)
	if d.Mode != AIModeClassify && len(d.Labels) > 0 {
		a.nodeErr(i, CodeInvalidValue, "/data/labels", "%s: labels are only used in classify mode (they would add exits); set mode to classify or remove them", a.label(i))
	}
	if d.Mode != AIModeExtract && len(d.Fields) > 0 {
		a.nodeErr(i, CodeInvalidValue, "/data/fields", "%s: fields are only used in extract mode; set mode to extract or remove them", a.label(i))
	}
	switch d.Mode {
	case AIModeClassify:
		checkAILabels(a, i, d)
	case AIModeExtract:
		checkAIFields(a, i, d)
	}
}

func checkAILabels(a *analysis, i int, d *AIAgentData) {
	if len(d.Labels) == 0 {
		a.nodeErr(i, CodeMissingField, "/data/labels", "%s: classify mode needs at least one label", a.label(i))
	}
	if len(d.Labels) > MaxAILabels {
		a.nodeErr(i, CodeInvalidValue, "/data/labels", "%s has %d labels; at most %d", a.label(i), len(d.Labels), MaxAILabels)
	}
	ids := map[string]bool{}
	for k, l := range d.Labels {
		p := "/data/labels/" + strconv.Itoa(k) + "/id"
		id := strings.TrimSpace(l.ID)
		switch {
		case id == "":
			a.nodeErr(i, CodeMissingField, p, "%s: label %d has no id; the id names the exit", a.label(i), k+1)
		case id != l.ID:
			a.nodeErr(i, CodeInvalidValue, p, "%s: label id %q has leading or trailing spaces", a.label(i), l.ID)
		case id == ExitOther || id == ExitFailed:
			a.nodeErr(i, CodeDuplicateExitName, p, "%s: label id %q clashes with the %s exit; choose another id", a.label(i), id, id)
		case ids[strings.ToLower(id)]:
			a.nodeErr(i, CodeDuplicateExitName, p, "%s: label id %q is used twice; label ids name exits and must be unique", a.label(i), id)
		}
		ids[strings.ToLower(id)] = true
	}
}

func checkAIFields(a *analysis, i int, d *AIAgentData) {
	if len(d.Fields) == 0 {
		a.nodeErr(i, CodeMissingField, "/data/fields", "%s: extract mode needs at least one field", a.label(i))
	}
	if len(d.Fields) > MaxAIFields {
		a.nodeErr(i, CodeInvalidValue, "/data/fields", "%s has %d fields; at most %d", a.label(i), len(d.Fields), MaxAIFields)
	}
	names := map[string]bool{}
	for k, f := range d.Fields {
		p := "/data/fields/" + strconv.Itoa(k)
		a.checkVariable(i, p+"/name", f.Name)
		if f.Name != "" && names[f.Name] {
			a.nodeErr(i, CodeInvalidValue, p+"/name", "%s: field %q is listed twice", a.label(i), f.Name)
		}
		names[f.Name] = true
		switch f.Type {
		case AIFieldText, AIFieldNumber, AIFieldBoolean, AIFieldDate:
			if len(f.Values) > 0 {
				a.nodeErr(i, CodeInvalidValue, p+"/values", "%s: field %q has values but is of type %s; values are for enum fields", a.label(i), f.Name, f.Type)
			}
		case AIFieldEnum:
			if len(f.Values) == 0 {
				a.nodeErr(i, CodeMissingField, p+"/values", "%s: enum field %q needs its allowed values", a.label(i), f.Name)
			}
			seen := map[string]bool{}
			for _, v := range f.Values {
				if strings.TrimSpace(v) == "" || seen[v] {
					a.nodeErr(i, CodeInvalidValue, p+"/values", "%s: enum field %q has an empty or repeated value", a.label(i), f.Name)
					break
				}
				seen[v] = true
			}
		default:
			a.nodeErr(i, CodeInvalidValue, p+"/type", "%s: field %q has type %q; use text, number, boolean, date or enum", a.label(i), f.Name, f.Type)
		}
	}
}

// classifySchema is the answer of a classify node: one of its label ids
// or other.
func classifySchema(labels []AILabel) json.RawMessage {
	ids := make([]string, 0, len(labels)+1)
	for _, l := range labels {
		ids = append(ids, l.ID)
	}
	ids = append(ids, ExitOther)
	s := map[string]any{"type": "object", "additionalProperties": false, "required": []string{"label"},
		"properties": map[string]any{"label": map[string]any{"type": "string", "enum": ids}}}
	b, _ := json.Marshal(s)
	return b
}

// extractSchema is the answer of an extract node: every field present
// (strict JSON schema modes require it), null when not found.
func extractSchema(fields []AIField) json.RawMessage {
	props := map[string]any{}
	req := make([]string, 0, len(fields))
	for _, f := range fields {
		var p map[string]any
		switch f.Type {
		case AIFieldNumber:
			p = map[string]any{"type": []string{"number", "null"}}
		case AIFieldBoolean:
			p = map[string]any{"type": []string{"boolean", "null"}}
		case AIFieldDate:
			p = map[string]any{"type": []string{"string", "null"}, "description": "a date as YYYY-MM-DD"}
		case AIFieldEnum:
			vals := make([]any, 0, len(f.Values)+1)
			for _, v := range f.Values {
				vals = append(vals, v)
			}
			p = map[string]any{"type": []string{"string", "null"}, "enum": append(vals, nil)}
		default:
			p = map[string]any{"type": []string{"string", "null"}}
		}
		if f.Description != "" {
			if d, ok := p["description"].(string); ok {
				p["description"] = f.Description + " (" + d + ")"
			} else {
				p["description"] = f.Description
			}
		}
		props[f.Name] = p
		req = append(req, f.Name)
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "additionalProperties": false, "required": req, "properties": props})
	return b
}
