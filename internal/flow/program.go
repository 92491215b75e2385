package flow

import (
	"regexp"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// Program is a compiled flow: the immutable IR the engine interprets. Nodes
// are addressed by index; exits are resolved to target indices, templates
// and expressions are parsed and regexes compiled, so stepping a node needs
// no map lookup and no JSON. A Program is safe for concurrent use.
type Program struct {
	// Steps are the compiled nodes, in the order of the graph's nodes.
	Steps []Step
	// Start is the index of the start node.
	Start int
	// Trigger is the start node's trigger (manual when it has none).
	Trigger Trigger
	// Hash fingerprints the graph the program was compiled from (hex
	// SHA-256 of its canonical JSON): equal graphs give equal hashes.
	Hash  string
	index map[string]int
}

// NodeIndex returns the index of the node with the given ID, for resuming a
// stored session (not for the hot path).
func (p *Program) NodeIndex(id string) (int, bool) {
	i, ok := p.index[id]
	return i, ok
}

// Kind enumerates node types for a cheap switch in the engine.
type Kind uint8

// Node kinds, one per registered type.
const (
	KindInvalid Kind = iota
	KindStart
	KindEnd
	KindMessage
	KindTemplateMsg
	KindWaitForResponse
	KindCondition
	KindSplit
	KindSetVariable
	KindAction
	KindHTTPRequest
	KindWhatsAppFlow
	KindDelay
	KindSubflow
	KindHandoff
	KindAIAgent
	KindVoiceCall
	KindWaitInboundCall
	KindVoiceTransfer
)

var kindByType = map[string]Kind{
	TypeStart: KindStart, TypeEnd: KindEnd, TypeMessage: KindMessage, TypeTemplate: KindTemplateMsg,
	TypeWaitForResponse: KindWaitForResponse, TypeCondition: KindCondition, TypeSplit: KindSplit,
	TypeSetVariable: KindSetVariable, TypeAction: KindAction, TypeHTTPRequest: KindHTTPRequest,
	TypeWhatsAppFlow: KindWhatsAppFlow, TypeDelay: KindDelay, TypeSubflow: KindSubflow, TypeHandoff: KindHandoff,
	TypeAIAgent: KindAIAgent, TypeVoiceCall: KindVoiceCall, TypeWaitInboundCall: KindWaitInboundCall,
	TypeVoiceTransfer: KindVoiceTransfer,
}

// NoTarget is the Target of an unconnected exit: taking it ends the session
// (completed).
const NoTarget = -1

// Step is one compiled node.
type Step struct {
	// ID is the graph node ID (for traces and analytics).
	ID string
	// Type is the node type name; Kind the same as an enum.
	Type string
	Kind Kind
	// Waits is true when entering the node always ends the sprint (it waits
	// for input, a timer or a release).
	Waits bool
	// Exits in the order documented per type: static exits in registry
	// order; buttons/list rows/rules/branches in data order followed by
	// other+timeout (messages, templates) or else (conditions).
	Exits []Exit
	// Config is the typed configuration, a pointer to the *Config struct
	// of the node's type (e.g. *MessageConfig for message nodes).
	Config any
}

// Exit is a resolved exit.
type Exit struct {
	// Name is the exit name (a button title, rule id, next, timeout…).
	Name string
	// Target is the index of the next node, or NoTarget.
	Target int
	// EdgeID is the edge taken, for analytics ("" when unconnected).
	EdgeID string
}

// ExitIndex returns the index of the named exit or -1 (a linear scan; use
// the indices in the configs on the hot path).
func (n *Step) ExitIndex(name string) int {
	for i, e := range n.Exits {
		if e.Name == name {
			return i
		}
	}
	return -1
}

// Trigger is a compiled start trigger.
type Trigger struct {
	// Type is manual, api, inbound, keyword or campaign.
	Type string
	// Keywords are lower-cased and trimmed.
	Keywords []string
	// Match is exact, contains or starts_with.
	Match        string
	ChannelTypes []string
}

// StartConfig configures a start node; its single exit is next.
type StartConfig struct{ Trigger Trigger }

// EndConfig configures an end node (no exits).
type EndConfig struct {
	// Text is the closing message, nil when none.
	Text *expr.Template
}

// Media is a compiled media attachment.
type Media struct {
	Type    string
	URL     *expr.Template
	Caption *expr.Template // nil when none
}

// Choices are the exits shared by message and template nodes that wait. Exit k of
// the node is choice k; Other and Timeout are exit indices.
type Choices struct {
	// Titles of the buttons (or ids of the list rows), in exit order.
	Titles []string
	// Other is the exit for an answer that matches no choice.
	Other int
	// Timeout is the exit when Timeout elapses.
	Timeout int
	// Wait is how long to wait; 0 waits until the session expires.
	Wait time.Duration
}

// MessageConfig configures a message node. Without choices the single exit
// is next (index 0).
type MessageConfig struct {
	Text    *expr.Template // nil when none
	Media   *Media         // nil when none
	Buttons []string
	List    *ListData
	// Choices is non-nil when the node waits for a button or list reply.
	Choices *Choices
}

// TemplateConfig configures a template node. Without quick replies the
// single exit is next (index 0).
type TemplateConfig struct {
	TemplateID, TemplateName, Language string
	Header, Body, ButtonParams         []*expr.Template
	// Choices is non-nil when the template has quick replies to wait for.
	Choices *Choices
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

// SplitConfig configures a split node: exit k is branch k.
type SplitConfig struct {
	Branches []Branch
	// Total is the sum of the weights (> 0).
	Total float64
}

// Branch is a weighted split branch.
type Branch struct {
	ID, Label string
	Weight    float64
}

// SetVariableConfig configures a set_variable node (exit: next).
type SetVariableConfig struct{ Assignments []Assignment }

// Assignment sets Variable to Value.Value(env) (typed when the value is a
// single {{ expr }}).
type Assignment struct {
	Variable string
	Value    *expr.Template
}

// ActionConfig configures an action node (exit: next).
type ActionConfig struct {
	// Action is add_tag, remove_tag, set_field, opt_out, opt_in, assign or
	// close.
	Action   string
	Tag      *expr.Template // nil when none
	Field    string
	Value    *expr.Template // nil when none
	Assignee string
}

// Exit indices of nodes with success/failure-style exits.
const (
	HTTPExitSuccess = 0
	HTTPExitFailure = 1
)

// HTTPConfig configures an http_request node (exits: HTTPExitSuccess,
// HTTPExitFailure).
type HTTPConfig struct {
	Method *expr.Template // renders to an upper-case method; GET when empty
	URL    *expr.Template
	// Headers sorted by name.
	Headers          []Header
	Body             *expr.Template // nil when none
	Timeout          time.Duration  // 10 s by default
	ResponseVariable string
	Mappings         []Mapping
}

// Header is a templated HTTP header.
type Header struct {
	Name  string
	Value *expr.Template
}

// Mapping copies the value at Path of the JSON response into Variable.
type Mapping struct {
	Variable string
	Path     []string
}

// Exit indices of a whatsapp_flow node.
const (
	WhatsAppFlowExitCompleted = 0
	WhatsAppFlowExitTimeout   = 1
)

// WhatsAppFlowConfig configures a whatsapp_flow node.
type WhatsAppFlowConfig struct {
	WhatsAppFlowID string
	Header, Body   *expr.Template
	CTA, Screen    string
	// Data is the raw JSON of the initial screen data.
	Data     []byte
	Mode     string
	Variable string
	Timeout  time.Duration
}

// DelayConfig configures a delay node (exit: next).
type DelayConfig struct{ Duration time.Duration }

// Exit indices of a subflow node.
const (
	SubflowExitCompleted = 0
	SubflowExitFailed    = 1
)

// SubflowConfig configures a subflow node.
type SubflowConfig struct{ FlowID string }

// Exit indices of a handoff node.
const (
	HandoffExitReleased = 0
	HandoffExitTimeout  = 1
)

// HandoffConfig configures a handoff node.
type HandoffConfig struct {
	Message  *expr.Template // nil when none
	Assignee string
	Timeout  time.Duration
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

// VoiceConfig configures the voice node types, which are not executed yet;
// Data is the decoded data struct of the node (e.g. *VoiceCallData).
type VoiceConfig struct{ Data any }
