package flow

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeWhatsAppFlow sends a WhatsApp Flow (form).
const TypeWhatsAppFlow = "whatsapp_flow"

// maxCTA is WhatsApp's limit on a flow message's button label.
const maxCTA = 20

// WhatsAppFlowData is the data of a whatsapp_flow node.
type WhatsAppFlowData struct {
	WhatsAppFlowID string          `json:"whatsapp_flow_id" flow:"required"`
	Header         string          `json:"header,omitempty" flow:"template"`
	Body           string          `json:"body" flow:"required,template"`
	CTA            string          `json:"cta" flow:"required" doc:"Label of the button that opens the form."`
	Screen         string          `json:"screen,omitempty" doc:"First screen to show."`
	Data           json.RawMessage `json:"data,omitempty" doc:"Initial data for the first screen."`
	Mode           string          `json:"mode,omitempty" flow:"enum=draft|published"`
	Variable       string          `json:"variable,omitempty" flow:"variable" doc:"Variable that receives the answers."`
	TimeoutSeconds int             `json:"timeout_seconds,omitempty"`
	ExchangeURL    string          `json:"exchange_url,omitempty" doc:"For forms with a data-exchange endpoint: the URL Parley forwards each INIT, BACK and data_exchange request to (JSON: action, screen, data, flow_token, variables); its JSON answer {screen, data} goes back to the form. Empty: INIT opens the first screen, data_exchange completes the form with its data."`
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
	Data []byte
	// DataTemplates are Data's top-level string fields as templates: the
	// first screen's data may come from variables ({{ vars.party }} keeps
	// its type when it is the whole value).
	DataTemplates map[string]*expr.Template
	Mode          string
	Variable      string
	Timeout       time.Duration
	// ExchangeURL receives the form's data-exchange requests ("": none).
	ExchangeURL string
}

// KindWhatsAppFlow is the Kind of whatsapp_flow nodes.
const KindWhatsAppFlow Kind = 11

var whatsAppFlowNode = def[WhatsAppFlowData]{
	kind: KindWhatsAppFlow,
	NodeType: NodeType{Type: TypeWhatsAppFlow, Group: GroupWhatsApp, Label: "WhatsApp Flow", Description: "Sends a WhatsApp Flow (form) and waits for its completion.",
		Palette: true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitCompleted, Inbound: true}, {Name: ExitTimeout, Optional: true}}},
		Limits: []Limit{
			{Path: "cta", MaxLength: maxCTA, Doc: "WhatsApp allows at most 20 characters on the button"},
			timeoutLimit,
		}},
	aliases:  []string{"sendflow", "sendwhatsappflow"},
	waits:    func(*WhatsAppFlowData) bool { return true },
	freeForm: func(*WhatsAppFlowData) bool { return true },
	timeout:  func(d *WhatsAppFlowData) int { return d.TimeoutSeconds },
	check: func(a *analysis, i int, d *WhatsAppFlowData) {
		if we, ok := a.env.(WhatsAppFlowEnv); ok && a.env != nil && d.WhatsAppFlowID != "" && !we.WhatsAppFlowExists(d.WhatsAppFlowID) {
			a.nodeErr(i, CodeUnknownWhatsAppFlow, "/data/whatsapp_flow_id", "%s uses WhatsApp Flow %q, which does not exist in this project", a.label(i), d.WhatsAppFlowID)
		}
		if n := utf8.RuneCountInString(d.CTA); n > maxCTA {
			a.nodeErr(i, CodeButtonTitleTooLong, "/data/cta", "%s: cta %q has %d characters; WhatsApp allows at most %d", a.label(i), d.CTA, n, maxCTA)
		}
		if u := d.ExchangeURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			a.nodeErr(i, CodeInvalidValue, "/data/exchange_url", "%s: exchange_url %q must be an http(s) URL", a.label(i), u)
		}
		a.checkVariable(i, "/data/variable", d.Variable)
		a.checkTimeout(i, d.TimeoutSeconds)
	},
	compile: func(c *compiler, d *WhatsAppFlowData) any {
		return &WhatsAppFlowConfig{WhatsAppFlowID: d.WhatsAppFlowID, Header: c.tpl(d.Header), Body: c.tplMust(d.Body), CTA: d.CTA, Screen: d.Screen,
			Data: d.Data, DataTemplates: dataTemplates(c, d.Data), Mode: d.Mode, Variable: d.Variable, Timeout: seconds(d.TimeoutSeconds), ExchangeURL: d.ExchangeURL}
	},
}

// dataTemplates compiles the string fields of a whatsapp_flow node's data.
func dataTemplates(c *compiler, raw []byte) map[string]*expr.Template {
	var fields map[string]any
	if json.Unmarshal(raw, &fields) != nil {
		return nil
	}
	var out map[string]*expr.Template
	for k, v := range fields {
		if s, ok := v.(string); ok && strings.Contains(s, "{{") {
			if out == nil {
				out = map[string]*expr.Template{}
			}
			out[k] = c.tpl(s)
		}
	}
	return out
}
