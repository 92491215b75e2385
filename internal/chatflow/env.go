package chatflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// projectEnv is the flow.LintEnv of one project. flow.LintEnv cannot fail
// or take a context, so the references a graph makes are looked up first
// (load) and the linter then asks only the in-memory answers; a database
// error is reported as one, never as "unknown template".
type projectEnv struct {
	q         refQueries
	projectID string
	byID      map[string]*store.MessageTemplate // nil value: looked up, absent
	byName    map[string]*store.MessageTemplate
	flows     map[string]bool
	forms     map[string]bool // WhatsApp Flows by ID: exists
	// channelTypes are the connectable channel types (nil: unchecked).
	channelTypes []string
	// aiProviders are the project's AI provider IDs, looked up when the
	// graph has an ai_agent node (aiKnown).
	aiProviders []string
	aiKnown     bool
}

// AIProviders implements flow.AIProvidersEnv.
func (e *projectEnv) AIProviders() ([]string, bool) { return e.aiProviders, e.aiKnown }

// ChannelTypes implements flow.ChannelTypesEnv.
func (e *projectEnv) ChannelTypes() []string { return e.channelTypes }

// refQueries are the lookups of what a graph refers to.
type refQueries interface {
	store.Flows
	store.Templates
	// WhatsAppFlowGet checks whatsapp_flow nodes' forms.
	WhatsAppFlowGet(ctx context.Context, r store.Ref) (store.WhatsAppFlow, error)
	// AIProviderList checks that ai_agent nodes have a provider to call.
	AIProviderList(ctx context.Context, projectID string) ([]store.AIProvider, error)
}

func newEnv(q refQueries, projectID string) *projectEnv {
	return &projectEnv{q: q, projectID: projectID,
		byID: map[string]*store.MessageTemplate{}, byName: map[string]*store.MessageTemplate{}, flows: map[string]bool{}, forms: map[string]bool{}}
}

// load looks up every template and flow the graph and the start template
// refer to. Answers are memoised, so one env serves a whole list.
func (e *projectEnv) load(ctx context.Context, g flow.Graph, startTemplate string) error {
	if startTemplate != "" {
		if err := e.template(ctx, startTemplate, ""); err != nil {
			return err
		}
	}
	for _, n := range g.Nodes {
		switch n.Type {
		case flow.TypeAIAgent:
			if e.aiKnown {
				continue
			}
			l, err := e.q.AIProviderList(ctx, e.projectID)
			if err != nil {
				return fmt.Errorf("looking up the project's AI providers: %w", err)
			}
			e.aiProviders, e.aiKnown = make([]string, len(l)), true
			for i, p := range l {
				e.aiProviders[i] = p.ID
			}
		case flow.TypeTemplate:
			var d flow.TemplateData
			if json.Unmarshal(n.Data, &d) != nil {
				continue // the linter reports the data
			}
			if err := e.template(ctx, d.TemplateID, d.TemplateName); err != nil {
				return err
			}
		case flow.TypeWhatsAppFlow:
			var d flow.WhatsAppFlowData
			if json.Unmarshal(n.Data, &d) != nil || d.WhatsAppFlowID == "" {
				continue
			}
			if _, ok := e.forms[d.WhatsAppFlowID]; ok {
				continue
			}
			_, err := e.q.WhatsAppFlowGet(ctx, store.Ref{ProjectID: e.projectID, ID: d.WhatsAppFlowID})
			switch {
			case err == nil:
				e.forms[d.WhatsAppFlowID] = true
			case errors.Is(err, store.ErrNotFound):
				e.forms[d.WhatsAppFlowID] = false
			default:
				return fmt.Errorf("looking up WhatsApp Flow %q: %w", d.WhatsAppFlowID, err)
			}
		case flow.TypeSubflow:
			var d flow.SubflowData
			if json.Unmarshal(n.Data, &d) != nil || d.FlowID == "" {
				continue
			}
			if _, ok := e.flows[d.FlowID]; ok {
				continue
			}
			_, err := e.q.FlowGet(ctx, store.Ref{ProjectID: e.projectID, ID: d.FlowID})
			switch {
			case err == nil:
				e.flows[d.FlowID] = true
			case errors.Is(err, store.ErrNotFound):
				e.flows[d.FlowID] = false
			default:
				return fmt.Errorf("looking up subflow %q: %w", d.FlowID, err)
			}
		}
	}
	return nil
}

func (e *projectEnv) template(ctx context.Context, id, name string) error {
	var t store.MessageTemplate
	var err error
	switch {
	case id != "":
		if _, ok := e.byID[id]; ok {
			return nil
		}
		t, err = e.q.TemplateGet(ctx, store.Ref{ProjectID: e.projectID, ID: id})
	case name != "":
		if _, ok := e.byName[name]; ok {
			return nil
		}
		t, err = e.q.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: e.projectID, Name: name, Language: ""})
	default:
		return nil
	}
	var found *store.MessageTemplate
	switch {
	case err == nil:
		found = &t
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("looking up message template %q: %w", id+name, err)
	}
	if id != "" {
		e.byID[id] = found
	} else {
		e.byName[name] = found
	}
	return nil
}

func (e *projectEnv) lookup(id, name string) *store.MessageTemplate {
	if id != "" {
		return e.byID[id]
	}
	return e.byName[name]
}

// TemplateExists implements flow.LintEnv.
func (e *projectEnv) TemplateExists(id, name string) bool { return e.lookup(id, name) != nil }

// FlowExists implements flow.LintEnv.
func (e *projectEnv) FlowExists(id string) bool { return e.flows[id] }

// WhatsAppFlowExists implements flow.WhatsAppFlowEnv.
func (e *projectEnv) WhatsAppFlowExists(id string) bool { return e.forms[id] }

// TemplateButtons implements flow.TemplateButtonsEnv: the quick replies of
// a template that declares a BUTTONS component. A template without one
// answers "unknown", so edges may still name the exits (the chat-flow
// API's trigger_value) for templates whose components are not synced yet.
func (e *projectEnv) TemplateButtons(id, name string) ([]string, bool) {
	t := e.lookup(id, name)
	if t == nil {
		return nil, false
	}
	titles, found := quickReplies(t.Components)
	if !found && hasComponents(t.Components) {
		return nil, true // known, and without quick replies: next is the exit
	}
	return titles, found
}

// quickReplies reads the QUICK_REPLY button titles of Meta's component
// list.
func quickReplies(components json.RawMessage) ([]string, bool) {
	var comps []struct {
		Type    string `json:"type"`
		Buttons []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"buttons"`
	}
	if json.Unmarshal(components, &comps) != nil {
		return nil, false
	}
	found := false
	var titles []string
	for _, c := range comps {
		if c.Type != "BUTTONS" {
			continue
		}
		found = true
		for _, b := range c.Buttons {
			if b.Type == "QUICK_REPLY" {
				titles = append(titles, b.Text)
			}
		}
	}
	return titles, found
}

// buttonsKey names a template reference in a revision's frozen buttons.
func buttonsKey(id, name string) string {
	if id != "" {
		return "id:" + id
	}
	return "name:" + name
}

// frozenButtons returns the quick replies the env knows for every template
// reference, to store with a revision.
func (e *projectEnv) frozenButtons() map[string][]string {
	out := map[string][]string{}
	for id, t := range e.byID {
		if t != nil {
			if b, ok := quickReplies(t.Components); ok {
				out[buttonsKey(id, "")] = nonNil(b)
			}
		}
	}
	for name, t := range e.byName {
		if t != nil {
			if b, ok := quickReplies(t.Components); ok {
				out[buttonsKey("", name)] = nonNil(b)
			}
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// frozenEnv compiles a published revision. Its references were checked
// when it was published, and the template buttons it saw then were stored
// with it, so the same revision always compiles to the same program even
// after templates change.
type frozenEnv struct{ buttons map[string][]string }

// TemplateExists implements flow.LintEnv.
func (frozenEnv) TemplateExists(id, name string) bool { return true }

// FlowExists implements flow.LintEnv.
func (frozenEnv) FlowExists(id string) bool { return true }

// TemplateButtons implements flow.TemplateButtonsEnv.
func (f frozenEnv) TemplateButtons(id, name string) ([]string, bool) {
	b, ok := f.buttons[buttonsKey(id, name)]
	return b, ok
}

// withTemplateButtons copies into every template node's data.buttons the
// quick replies of its template, when the project has the template with
// its components: the editor draws a node's exits from its data, so a
// template node created by the API, an import or an old copy shows the
// template's buttons (and no phantom next exit) without re-picking it.
func (e *projectEnv) withTemplateButtons(g flow.Graph) flow.Graph {
	var nodes []flow.Node
	for i, n := range g.Nodes {
		if n.Type != flow.TypeTemplate {
			continue
		}
		var d flow.TemplateData
		if json.Unmarshal(n.Data, &d) != nil {
			continue
		}
		t := e.lookup(d.TemplateID, d.TemplateName)
		if t == nil {
			continue
		}
		titles, found := quickReplies(t.Components)
		if !found && !hasComponents(t.Components) {
			continue // components not known yet: leave the data alone
		}
		if slices.Equal(titles, d.Buttons) {
			continue
		}
		m := map[string]json.RawMessage{}
		if json.Unmarshal(n.Data, &m) != nil || m == nil {
			continue
		}
		if len(titles) == 0 {
			delete(m, "buttons")
		} else {
			m["buttons"], _ = json.Marshal(titles)
		}
		data, err := json.Marshal(m)
		if err != nil {
			continue
		}
		if nodes == nil {
			nodes = slices.Clone(g.Nodes)
		}
		nodes[i].Data = data
	}
	if nodes != nil {
		g.Nodes = nodes
	}
	return g
}

// hasComponents reports whether a template's components are known (a
// non-empty list), as opposed to not synced yet.
func hasComponents(components json.RawMessage) bool {
	var comps []json.RawMessage
	return json.Unmarshal(components, &comps) == nil && len(comps) > 0
}
