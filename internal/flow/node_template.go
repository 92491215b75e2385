package flow

import "github.com/parleyhq/parley/internal/expr"

// TypeTemplate sends an approved message template.
const TypeTemplate = "template"

// WhatsApp limits of template quick replies.
const (
	maxTemplateButtons = 10
	maxTemplateButton  = 25
)

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

// TemplateConfig configures a template node. Without quick replies the
// single exit is next (index 0).
type TemplateConfig struct {
	TemplateID, TemplateName, Language string
	Header, Body, ButtonParams         []*expr.Template
	// Choices is non-nil when the template has quick replies to wait for.
	Choices *Choices
}

// KindTemplateMsg is the Kind of template nodes.
const KindTemplateMsg Kind = 4

var templateNode = def[TemplateData]{
	kind: KindTemplateMsg,
	NodeType: NodeType{Type: TypeTemplate, Group: GroupWhatsApp, Label: "Template", Description: "Sends an approved message template; with quick-reply buttons it waits for the click.",
		Palette: true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitNext}}, Dynamic: []DynamicExits{
			{From: "buttons[*]", Inbound: true, Plus: choicePlus},
		}},
		DynamicExits: "with quick-reply buttons: one exit per button title, then other and timeout",
		Limits: []Limit{
			{Path: "buttons", MaxItems: maxTemplateButtons, Doc: "WhatsApp allows at most 10 quick-reply buttons on a template"},
			{Path: "buttons[*]", MaxLength: maxTemplateButton, Doc: "WhatsApp allows at most 25 characters per quick-reply button"},
			timeoutLimit,
		},
		Widgets: []string{"template_picker"}},
	aliases: []string{"sendtemplate", "templatemessage"},
	waits:   func(d *TemplateData) bool { return len(d.Buttons) > 0 },
	timeout: func(d *TemplateData) int { return d.TimeoutSeconds },
	check: func(a *analysis, i int, d *TemplateData) {
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
	},
	resolve: func(a *analysis, i int, d *TemplateData) {
		// The template's own quick replies win over whatever the data
		// lists (an old copy, or none): the exits follow the template.
		if be, ok := a.env.(TemplateButtonsEnv); ok {
			if titles, ok := be.TemplateButtons(d.TemplateID, d.TemplateName); ok {
				d.Buttons = titles
				return
			}
		}
		if len(d.Buttons) == 0 {
			d.Buttons = a.templateButtons(i, d)
		}
	},
	compile: func(c *compiler, d *TemplateData) any {
		t := &TemplateConfig{TemplateID: d.TemplateID, TemplateName: d.TemplateName, Language: d.Language, Choices: choices(d.Buttons, d.TimeoutSeconds)}
		if d.Params != nil {
			t.Header, t.Body, t.ButtonParams = c.tpls(d.Params.Header), c.tpls(d.Params.Body), c.tpls(d.Params.Buttons)
		}
		return t
	},
}

// templateButtons finds the quick replies of a template node whose data
// does not list them: from the project when the env knows them, else from
// the names its edges use (the chat-flow API's trigger_value).
func (a *analysis) templateButtons(i int, td *TemplateData) []string {
	if be, ok := a.env.(TemplateButtonsEnv); ok && a.env != nil {
		if titles, ok := be.TemplateButtons(td.TemplateID, td.TemplateName); ok {
			return titles
		}
	}
	var out []string
	for _, e := range a.g.Edges {
		if e.Source != a.g.Nodes[i].ID {
			continue
		}
		name := edgeExitName(e)
		if name == "" || name == ExitNext || name == ExitOther || name == ExitTimeout || contains(out, name) {
			continue
		}
		out = append(out, name)
	}
	return out
}
