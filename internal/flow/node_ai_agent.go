package flow

import "github.com/parleyhq/parley/internal/expr"

// TypeAIAgent asks an LLM.
const TypeAIAgent = "ai_agent"

// AIAgentData is the data of an ai_agent node.
type AIAgentData struct {
	SystemPrompt string  `json:"system_prompt" flow:"required,template"`
	Prompt       string  `json:"prompt,omitempty" flow:"template" doc:"User message; the last inbound text when empty."`
	Model        string  `json:"model,omitempty"`
	Temperature  float64 `json:"temperature,omitempty"`
	MaxTokens    int     `json:"max_tokens,omitempty"`
	HistoryTurns int     `json:"history_turns,omitempty" doc:"Conversation turns sent as context."`
	Send         bool    `json:"send,omitempty" doc:"Send the answer to the contact."`
	Variable     string  `json:"variable,omitempty" flow:"variable" doc:"Variable that receives the answer."`
}

// AIAgentConfig configures an ai_agent node (exits: next, failed). Not
// executed yet.
type AIAgentConfig struct {
	SystemPrompt, Prompt *expr.Template
	Model                string
	Temperature          float64
	MaxTokens            int
	HistoryTurns         int
	Send                 bool
	Variable             string
}

// KindAIAgent is the Kind of ai_agent nodes.
const KindAIAgent Kind = 15

var aiAgentNode = def[AIAgentData]{
	kind: KindAIAgent,
	NodeType: NodeType{Type: TypeAIAgent, Group: GroupIntegrations, Label: "AI agent", Description: "Asks an LLM and sends or stores its answer.",
		Palette: true, Reason: "this build has no LLM provider; a session reaching the node fails",
		Exits:  staticExits(ExitNext, ExitFailed),
		Limits: []Limit{rangeLimit("temperature", 0, 2, "temperature must be between 0 and 2")}},
	aliases:  []string{"ai", "llm", "gpt", "chatgpt"},
	freeForm: func(d *AIAgentData) bool { return d.Send },
	check: func(a *analysis, i int, d *AIAgentData) {
		if d.Temperature < 0 || d.Temperature > 2 {
			a.nodeErr(i, CodeInvalidValue, "/data/temperature", "%s: temperature must be between 0 and 2", a.label(i))
		}
		a.checkVariable(i, "/data/variable", d.Variable)
	},
	compile: func(c *compiler, d *AIAgentData) any {
		return &AIAgentConfig{SystemPrompt: c.tplMust(d.SystemPrompt), Prompt: c.tpl(d.Prompt), Model: d.Model, Temperature: d.Temperature,
			MaxTokens: d.MaxTokens, HistoryTurns: d.HistoryTurns, Send: d.Send, Variable: d.Variable}
	},
}
