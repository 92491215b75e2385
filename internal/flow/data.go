package flow

import "encoding/json"

// The structs below are the public `data` format of each node type
// (DESIGN §4). Field names are fixed; new optional fields may be added.
// Tags: json names the member, flow refines its schema (required,
// template, regex, enum=a|b), doc documents it for the editor.

// StartData is the data of a start node.
type StartData struct {
	Trigger *TriggerData `json:"trigger,omitempty" doc:"What starts the flow; manual when absent."`
}

// TriggerData says what starts a flow.
type TriggerData struct {
	Type         string   `json:"type" flow:"required,enum=manual|api|inbound|keyword|campaign" doc:"manual/api: started by the API or UI; inbound: any message on the channel types; keyword: a message matching keywords; campaign: started by a campaign for each dataset row."`
	Keywords     []string `json:"keywords,omitempty" doc:"Keywords of a keyword trigger (case-insensitive)."`
	Match        string   `json:"match,omitempty" flow:"enum=exact|contains|starts_with" doc:"How keywords match the message; exact by default."`
	ChannelTypes []string `json:"channel_types,omitempty" doc:"Channel types the trigger listens on (whatsapp, webchat…); all when empty."`
}

// EndData is the data of an end node.
type EndData struct {
	Text string `json:"text,omitempty" flow:"template" doc:"Optional closing message."`
}

// MessageData is the data of a message node.
type MessageData struct {
	Text           string     `json:"text,omitempty" flow:"template" doc:"Message text (a template). Required with buttons or a list."`
	Media          *MediaData `json:"media,omitempty" doc:"Optional media attachment."`
	Buttons        []string   `json:"buttons,omitempty" doc:"Up to 3 reply buttons of at most 20 characters; the node then waits for the choice."`
	List           *ListData  `json:"list,omitempty" doc:"A list message (up to 10 rows); the node then waits for the chosen row."`
	TimeoutSeconds int        `json:"timeout_seconds,omitempty" doc:"With buttons or a list: how long to wait before the timeout exit."`
}

// MediaData is a media attachment of a message.
type MediaData struct {
	Type    string `json:"type" flow:"required,enum=image|video|audio|document"`
	URL     string `json:"url" flow:"required,template"`
	Caption string `json:"caption,omitempty" flow:"template"`
}

// ListData is an interactive list.
type ListData struct {
	Button   string        `json:"button" flow:"required" doc:"Label of the button that opens the list (max 20 characters)."`
	Sections []ListSection `json:"sections" flow:"required"`
}

// ListSection is a titled group of list rows.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows" flow:"required"`
}

// ListRow is one choice of a list; its id names the exit.
type ListRow struct {
	ID          string `json:"id" flow:"required"`
	Title       string `json:"title" flow:"required"`
	Description string `json:"description,omitempty"`
}

// TemplateData is the data of a template node.
type TemplateData struct {
	TemplateID     string          `json:"template_id,omitempty" doc:"ID of the message template (this or template_name is required)."`
	TemplateName   string          `json:"template_name,omitempty" doc:"Name of the message template."`
	Language       string          `json:"language,omitempty" doc:"Template language code, e.g. en_US."`
	Params         *TemplateParams `json:"params,omitempty" doc:"Values of the template's parameters (templates)."`
	Buttons        []string        `json:"buttons,omitempty" doc:"Titles of the template's quick-reply buttons; the node then waits for the click. Filled from the template when known."`
	TimeoutSeconds int             `json:"timeout_seconds,omitempty" doc:"With quick replies: how long to wait before the timeout exit."`
}

// TemplateParams are the parameter values of a template, per component.
type TemplateParams struct {
	Header  []string `json:"header,omitempty" flow:"template"`
	Body    []string `json:"body,omitempty" flow:"template"`
	Buttons []string `json:"buttons,omitempty" flow:"template"`
}

// WaitData is the data of a wait_for_response node.
type WaitData struct {
	Variable       string          `json:"variable" flow:"required" doc:"Session variable that receives the reply."`
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
	Left     string `json:"left" flow:"required,template"`
	Operator string `json:"operator" flow:"required,enum=equals|not_equals|contains|not_contains|starts_with|ends_with|matches|gt|gte|lt|lte|before|after|is_empty|is_not_empty|has_any_word|has_all_words|is_number|is_email"`
	Right    string `json:"right,omitempty" flow:"template"`
}

// SplitData is the data of a split node.
type SplitData struct {
	Branches []BranchData `json:"branches" flow:"required"`
}

// BranchData is one branch of a split; its id names the exit.
type BranchData struct {
	ID     string  `json:"id" flow:"required"`
	Label  string  `json:"label,omitempty"`
	Weight float64 `json:"weight" flow:"required" doc:"Relative weight (>= 0)."`
}

// SetVariableData is the data of a set_variable node.
type SetVariableData struct {
	Assignments []AssignmentData `json:"assignments" flow:"required"`
}

// AssignmentData sets one variable; a value that is exactly {{ expr }}
// keeps the expression's type.
type AssignmentData struct {
	Variable string `json:"variable" flow:"required"`
	Value    string `json:"value" flow:"template"`
}

// ActionData is the data of an action node.
type ActionData struct {
	Action   string `json:"action" flow:"required,enum=add_tag|remove_tag|set_field|opt_out|opt_in|assign|close"`
	Tag      string `json:"tag,omitempty" flow:"template" doc:"Tag of add_tag/remove_tag."`
	Field    string `json:"field,omitempty" doc:"Contact field of set_field."`
	Value    string `json:"value,omitempty" flow:"template" doc:"Value of set_field."`
	Assignee string `json:"assignee,omitempty" doc:"Agent or team of assign."`
}

// HTTPRequestData is the data of an http_request node.
type HTTPRequestData struct {
	Method           string            `json:"method,omitempty" flow:"template" doc:"GET by default."`
	URL              string            `json:"url" flow:"required,template"`
	Headers          map[string]string `json:"headers,omitempty" flow:"template"`
	Body             string            `json:"body,omitempty" flow:"template"`
	TimeoutMS        int               `json:"timeout_ms,omitempty" doc:"Request timeout; 10000 by default, at most 30000."`
	ResponseVariable string            `json:"response_variable,omitempty" doc:"Variable that receives the whole decoded response."`
	Mappings         []MappingData     `json:"mappings,omitempty"`
}

// MappingData copies a value of the JSON response into a variable.
type MappingData struct {
	Variable string `json:"variable" flow:"required"`
	Path     string `json:"path" flow:"required" doc:"Dot path into the response, e.g. data.items.0.name."`
}

// WhatsAppFlowData is the data of a whatsapp_flow node.
type WhatsAppFlowData struct {
	WhatsAppFlowID string          `json:"whatsapp_flow_id" flow:"required"`
	Header         string          `json:"header,omitempty" flow:"template"`
	Body           string          `json:"body" flow:"required,template"`
	CTA            string          `json:"cta" flow:"required" doc:"Label of the button that opens the form."`
	Screen         string          `json:"screen,omitempty" doc:"First screen to show."`
	Data           json.RawMessage `json:"data,omitempty" doc:"Initial data for the first screen."`
	Mode           string          `json:"mode,omitempty" flow:"enum=draft|published"`
	Variable       string          `json:"variable,omitempty" doc:"Variable that receives the answers."`
	TimeoutSeconds int             `json:"timeout_seconds,omitempty"`
}

// DelayData is the data of a delay node.
type DelayData struct {
	Seconds int `json:"seconds" flow:"required"`
}

// SubflowData is the data of a subflow node.
type SubflowData struct {
	FlowID string `json:"flow_id" flow:"required"`
}

// HandoffData is the data of a handoff node.
type HandoffData struct {
	Message        string `json:"message,omitempty" flow:"template" doc:"Sent to the contact when handed over."`
	Assignee       string `json:"assignee,omitempty"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" doc:"Return to the flow after this long without a release."`
}

// AIAgentData is the data of an ai_agent node.
type AIAgentData struct {
	SystemPrompt string  `json:"system_prompt" flow:"required,template"`
	Prompt       string  `json:"prompt,omitempty" flow:"template" doc:"User message; the last inbound text when empty."`
	Model        string  `json:"model,omitempty"`
	Temperature  float64 `json:"temperature,omitempty"`
	MaxTokens    int     `json:"max_tokens,omitempty"`
	HistoryTurns int     `json:"history_turns,omitempty" doc:"Conversation turns sent as context."`
	Send         bool    `json:"send,omitempty" doc:"Send the answer to the contact."`
	Variable     string  `json:"variable,omitempty" doc:"Variable that receives the answer."`
}

// VoiceCallData is the data of a voice_call node.
type VoiceCallData struct {
	Prompt             string `json:"prompt,omitempty" flow:"template" doc:"Instructions of the AI voice agent."`
	Voice              string `json:"voice,omitempty"`
	Language           string `json:"language,omitempty"`
	Greeting           string `json:"greeting,omitempty" flow:"template"`
	Recording          bool   `json:"recording,omitempty"`
	MaxDurationSeconds int    `json:"max_duration_seconds,omitempty"`
	Variable           string `json:"variable,omitempty" doc:"Variable that receives the call summary."`
}

// WaitInboundCallData is the data of a wait_inbound_call node.
type WaitInboundCallData struct {
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// VoiceTransferData is the data of a voice_transfer node.
type VoiceTransferData struct {
	To      string `json:"to" flow:"required,template" doc:"Phone number or SIP address to transfer to."`
	Message string `json:"message,omitempty" flow:"template"`
}
