package flow

import "sort"

// TemplateUse is a message template a flow sends.
type TemplateUse struct {
	NodeID string
	ID     string
	Name   string
}

// CampaignFacts are what a campaign's checklist needs to know of a graph.
type CampaignFacts struct {
	// Trigger is the start node's trigger type ("" without a start).
	Trigger string
	// ChannelTypes are the trigger's channel types (all when empty).
	ChannelTypes []string
	// Problems are the linter's, including the campaign rule (the first
	// message to a contact is a template).
	Problems Problems
	// Templates are the template nodes' templates.
	Templates []TemplateUse
	// Voice says the flow has voice steps: the campaign needs a voice
	// number to place its calls.
	Voice bool
	// Columns are the dataset columns the flow reads: row.x, and bare
	// names that no node of the flow sets, sorted.
	Columns []string
}

// Campaign lints g and reports what a campaign running it depends on.
func Campaign(g Graph, env LintEnv) CampaignFacts {
	out := CampaignFacts{Problems: Lint(g, env)}
	a := analyze(g, env)
	for _, info := range a.nodes {
		if sd, ok := info.data.(*StartData); ok {
			out.Trigger = "manual"
			if sd.Trigger != nil {
				out.Trigger, out.ChannelTypes = sd.Trigger.Type, sd.Trigger.ChannelTypes
			}
			break
		}
	}
	set := map[string]bool{}
	for _, info := range a.nodes {
		if info.spec != nil && info.data != nil {
			setVariables(info.spec.Fields, info.json, func(v string) { set[v] = true })
		}
	}
	cols := map[string]bool{}
	for i, info := range a.nodes {
		if _, ok := info.data.(*VoiceCallData); ok {
			out.Voice = true
		}
		if td, ok := info.data.(*TemplateData); ok {
			out.Templates = append(out.Templates, TemplateUse{NodeID: g.Nodes[i].ID, ID: td.TemplateID, Name: td.TemplateName})
		}
		for _, r := range info.refs {
			switch {
			case r.ref.Scope == "row":
				cols[r.ref.Name] = true
			case r.ref.Scope == "" && !set[r.ref.Name] && !reservedNames[r.ref.Name]:
				cols[r.ref.Name] = true
			}
		}
	}
	for c := range cols {
		out.Columns = append(out.Columns, c)
	}
	sort.Strings(out.Columns)
	return out
}
