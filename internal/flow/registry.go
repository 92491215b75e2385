package flow

import (
	"reflect"
	"sort"
)

// Node type names (DESIGN §4).
const (
	TypeStart           = "start"
	TypeEnd             = "end"
	TypeMessage         = "message"
	TypeTemplate        = "template"
	TypeWaitForResponse = "wait_for_response"
	TypeCondition       = "condition"
	TypeSplit           = "split"
	TypeSetVariable     = "set_variable"
	TypeAction          = "action"
	TypeHTTPRequest     = "http_request"
	TypeWhatsAppFlow    = "whatsapp_flow"
	TypeDelay           = "delay"
	TypeSubflow         = "subflow"
	TypeHandoff         = "handoff"
	TypeAIAgent         = "ai_agent"
	TypeVoiceCall       = "voice_call"
	TypeWaitInboundCall = "wait_inbound_call"
	TypeVoiceTransfer   = "voice_transfer"
)

// Palette groups of node types.
const (
	GroupMessages     = "messages"
	GroupLogic        = "logic"
	GroupData         = "data"
	GroupIntegrations = "integrations"
	GroupWhatsApp     = "whatsapp"
	GroupVoice        = "voice"
)

// Exit names shared by several node types.
const (
	ExitNext      = "next"
	ExitOther     = "other"
	ExitTimeout   = "timeout"
	ExitReply     = "reply"
	ExitInvalid   = "invalid"
	ExitElse      = "else"
	ExitSuccess   = "success"
	ExitFailure   = "failure"
	ExitCompleted = "completed"
	ExitFailed    = "failed"
	ExitReleased  = "released"
	ExitNoAnswer  = "no_answer"
	ExitAnswered  = "answered"
)

// NodeType describes a node type for the editor and the API.
type NodeType struct {
	Type        string `json:"type"`
	Group       string `json:"group"`
	Label       string `json:"label"`
	Description string `json:"description"`
	// Executable is false for types whose schema is registered but which
	// the engine does not run yet (voice, ai_agent).
	Executable bool `json:"executable"`
	// Fields is the schema of the node's data.
	Fields []Field `json:"fields"`
	// Exits are the exits the type always has, in order.
	Exits []string `json:"exits"`
	// DynamicExits explains exits derived from data, when there are any.
	DynamicExits string `json:"dynamic_exits,omitempty"`
	// Optional lists exits that may stay unconnected (warning only).
	Optional []string `json:"optional_exits,omitempty"`
}

// exitDef is one exit of a concrete node.
type exitDef struct {
	name     string
	optional bool // unconnected is a warning, not an error
	inbound  bool // taken because the contact sent something (opens the 24 h window)
}

// spec is the registry entry of a node type.
type spec struct {
	NodeType
	dataType reflect.Type
	// exits returns the exits of a node with the given decoded data (a
	// pointer to the type's data struct).
	exits func(data any) []exitDef
	// waits reports whether entering the node always ends the sprint.
	waits func(data any) bool
	// freeForm reports whether the node sends a non-template message.
	freeForm func(data any) bool
}

func static(names ...string) func(any) []exitDef {
	return func(any) []exitDef {
		out := make([]exitDef, len(names))
		for i, n := range names {
			out[i] = exitDef{name: n, optional: isOptionalExit(n)}
		}
		return out
	}
}

// isOptionalExit: exits for the unusual path (a timeout, a failed call, an
// unexpected answer) may stay unconnected; the session then ends there.
func isOptionalExit(name string) bool {
	switch name {
	case ExitOther, ExitTimeout, ExitInvalid, ExitFailure, ExitFailed, ExitNoAnswer:
		return true
	}
	return false
}

func always(any) bool { return true }
func never(any) bool  { return false }

// choiceExits: one exit per choice, then other and timeout.
func choiceExits(choices []string) []exitDef {
	out := make([]exitDef, 0, len(choices)+2)
	for _, c := range choices {
		out = append(out, exitDef{name: c, inbound: true})
	}
	return append(out, exitDef{name: ExitOther, optional: true, inbound: true}, exitDef{name: ExitTimeout, optional: true})
}

func (d *MessageData) choices() []string {
	if len(d.Buttons) > 0 {
		return d.Buttons
	}
	if d.List != nil {
		var ids []string
		for _, s := range d.List.Sections {
			for _, r := range s.Rows {
				ids = append(ids, r.ID)
			}
		}
		return ids
	}
	return nil
}

func newSpec(t NodeType, data any, exits func(any) []exitDef, waits, freeForm func(any) bool) *spec {
	dt := reflect.TypeOf(data).Elem()
	t.Fields = schemaOf(dt)
	return &spec{NodeType: t, dataType: dt, exits: exits, waits: waits, freeForm: freeForm}
}

// buildSpecs builds the registry; it runs once at package init and the
// result is never modified.
func buildSpecs() map[string]*spec {
	list := []*spec{
		newSpec(NodeType{Type: TypeStart, Group: GroupLogic, Label: "Start", Description: "Where the flow begins and what triggers it.", Exits: []string{ExitNext}},
			&StartData{}, static(ExitNext), never, never),
		newSpec(NodeType{Type: TypeEnd, Group: GroupLogic, Label: "End", Description: "Ends the session, optionally with a closing message."},
			&EndData{}, static(), never, func(d any) bool { return d.(*EndData).Text != "" }),
		newSpec(NodeType{Type: TypeMessage, Group: GroupMessages, Label: "Message", Description: "Sends text and/or media; with reply buttons or a list it waits for the choice.",
			Exits: []string{ExitNext}, DynamicExits: "with buttons: one exit per button title, then other and timeout; with a list: one exit per row id, then other and timeout", Optional: []string{ExitOther, ExitTimeout}},
			&MessageData{}, func(d any) []exitDef {
				if c := d.(*MessageData).choices(); len(c) > 0 {
					return choiceExits(c)
				}
				return static(ExitNext)(nil)
			}, func(d any) bool { return len(d.(*MessageData).choices()) > 0 }, always),
		newSpec(NodeType{Type: TypeTemplate, Group: GroupWhatsApp, Label: "Template", Description: "Sends an approved message template; with quick-reply buttons it waits for the click.",
			Exits: []string{ExitNext}, DynamicExits: "with quick-reply buttons: one exit per button title, then other and timeout", Optional: []string{ExitOther, ExitTimeout}},
			&TemplateData{}, func(d any) []exitDef {
				if b := d.(*TemplateData).Buttons; len(b) > 0 {
					return choiceExits(b)
				}
				return static(ExitNext)(nil)
			}, func(d any) bool { return len(d.(*TemplateData).Buttons) > 0 }, never),
		newSpec(NodeType{Type: TypeWaitForResponse, Group: GroupMessages, Label: "Wait for response", Description: "Waits for a reply, validates it and stores it in a variable.",
			Exits: []string{ExitReply, ExitInvalid, ExitTimeout}, Optional: []string{ExitInvalid, ExitTimeout}},
			&WaitData{}, func(any) []exitDef {
				return []exitDef{{name: ExitReply, inbound: true}, {name: ExitInvalid, optional: true, inbound: true}, {name: ExitTimeout, optional: true}}
			}, always, never),
		newSpec(NodeType{Type: TypeCondition, Group: GroupLogic, Label: "Condition", Description: "Takes the exit of the first matching rule, else the else exit.",
			Exits: []string{ExitElse}, DynamicExits: "one exit per rule id, in order, then else"},
			&ConditionData{}, func(d any) []exitDef {
				var out []exitDef
				for _, r := range d.(*ConditionData).Rules {
					out = append(out, exitDef{name: r.ID})
				}
				return append(out, exitDef{name: ExitElse})
			}, never, never),
		newSpec(NodeType{Type: TypeSplit, Group: GroupLogic, Label: "Random split", Description: "Sends contacts down random branches by weight (A/B tests).",
			DynamicExits: "one exit per branch id"},
			&SplitData{}, func(d any) []exitDef {
				var out []exitDef
				for _, b := range d.(*SplitData).Branches {
					out = append(out, exitDef{name: b.ID})
				}
				return out
			}, never, never),
		newSpec(NodeType{Type: TypeSetVariable, Group: GroupData, Label: "Set variable", Description: "Assigns session variables from templates or expressions.", Exits: []string{ExitNext}},
			&SetVariableData{}, static(ExitNext), never, never),
		newSpec(NodeType{Type: TypeAction, Group: GroupData, Label: "Action", Description: "Tags, contact fields, opt-out/in, assignment, closing the conversation.", Exits: []string{ExitNext}},
			&ActionData{}, static(ExitNext), never, never),
		newSpec(NodeType{Type: TypeHTTPRequest, Group: GroupIntegrations, Label: "HTTP request", Description: "Calls a URL and maps the JSON response into variables.", Exits: []string{ExitSuccess, ExitFailure}, Optional: []string{ExitFailure}},
			&HTTPRequestData{}, static(ExitSuccess, ExitFailure), never, never),
		newSpec(NodeType{Type: TypeWhatsAppFlow, Group: GroupWhatsApp, Label: "WhatsApp Flow", Description: "Sends a WhatsApp Flow (form) and waits for its completion.", Exits: []string{ExitCompleted, ExitTimeout}, Optional: []string{ExitTimeout}},
			&WhatsAppFlowData{}, func(any) []exitDef {
				return []exitDef{{name: ExitCompleted, inbound: true}, {name: ExitTimeout, optional: true}}
			}, always, always),
		newSpec(NodeType{Type: TypeDelay, Group: GroupLogic, Label: "Delay", Description: "Waits a duration without input.", Exits: []string{ExitNext}},
			&DelayData{}, static(ExitNext), always, never),
		newSpec(NodeType{Type: TypeSubflow, Group: GroupLogic, Label: "Subflow", Description: "Runs another published flow, then returns.", Exits: []string{ExitCompleted, ExitFailed}, Optional: []string{ExitFailed}},
			&SubflowData{}, static(ExitCompleted, ExitFailed), never, never),
		newSpec(NodeType{Type: TypeHandoff, Group: GroupMessages, Label: "Handoff", Description: "Hands the conversation to a human; the bot stays silent until released.", Exits: []string{ExitReleased, ExitTimeout}, Optional: []string{ExitTimeout}},
			&HandoffData{}, static(ExitReleased, ExitTimeout), always, func(d any) bool { return d.(*HandoffData).Message != "" }),
		newSpec(NodeType{Type: TypeAIAgent, Group: GroupIntegrations, Label: "AI agent", Description: "Asks an LLM and sends or stores its answer.", Exits: []string{ExitNext, ExitFailed}, Optional: []string{ExitFailed}},
			&AIAgentData{}, static(ExitNext, ExitFailed), never, func(d any) bool { return d.(*AIAgentData).Send }),
		newSpec(NodeType{Type: TypeVoiceCall, Group: GroupVoice, Label: "Voice call", Description: "Places an AI voice call.", Exits: []string{ExitCompleted, ExitNoAnswer, ExitFailed}, Optional: []string{ExitNoAnswer, ExitFailed}},
			&VoiceCallData{}, static(ExitCompleted, ExitNoAnswer, ExitFailed), always, never),
		newSpec(NodeType{Type: TypeWaitInboundCall, Group: GroupVoice, Label: "Wait for call", Description: "Waits for the contact to call in.", Exits: []string{ExitAnswered, ExitTimeout}, Optional: []string{ExitTimeout}},
			&WaitInboundCallData{}, static(ExitAnswered, ExitTimeout), always, never),
		newSpec(NodeType{Type: TypeVoiceTransfer, Group: GroupVoice, Label: "Transfer call", Description: "Transfers the running call to a number.", Exits: []string{ExitCompleted, ExitFailed}, Optional: []string{ExitFailed}},
			&VoiceTransferData{}, static(ExitCompleted, ExitFailed), never, never),
	}
	m := make(map[string]*spec, len(list))
	for i, s := range list {
		s.Executable = s.Group != GroupVoice && s.Type != TypeAIAgent
		m[s.Type] = list[i]
	}
	return m
}

// specs is the immutable node-type registry.
var specs = buildSpecs()

// NodeTypes lists every registered node type, sorted by group then type.
func NodeTypes() []NodeType {
	out := make([]NodeType, 0, len(specs))
	for _, s := range specs {
		out = append(out, s.NodeType)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// LookupNodeType returns the registered node type named t.
func LookupNodeType(t string) (NodeType, bool) {
	s, ok := specs[t]
	if !ok {
		return NodeType{}, false
	}
	return s.NodeType, true
}
