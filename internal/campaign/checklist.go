package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// Item is one pre-flight check.
type Item struct {
	ID      string `json:"id"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	// Fix says what to do when the check failed; FixLink is the UI page
	// that does it.
	Fix     string `json:"fix,omitempty"`
	FixLink string `json:"fix_link,omitempty"`
}

// Checklist is every pre-flight check of a campaign over a dataset.
type Checklist struct {
	Ready     bool   `json:"ready"`
	DatasetID string `json:"dataset_id"`
	Items     []Item `json:"items"`
}

// Checklist runs the pre-flight checks; datasetID defaults to the
// campaign's first dataset.
func (s *Service) Checklist(ctx context.Context, projectID, campaignID, datasetID string) (Checklist, error) {
	c, err := s.d.Store.CampaignGet(ctx, store.Ref{ProjectID: projectID, ID: campaignID})
	if err != nil {
		return Checklist{}, err
	}
	if datasetID == "" && len(c.DatasetIDs) > 0 {
		datasetID = c.DatasetIDs[0]
	}
	out := Checklist{DatasetID: datasetID}
	add := func(it Item) { out.Items = append(out.Items, it) }
	campaignPage := "/app/campaigns/" + c.ID

	// The flow.
	var facts *flow.CampaignFacts
	switch {
	case c.FlowID == "":
		add(Item{ID: "flow_selected", Message: "no flow is selected", Fix: "pick the flow the campaign runs (or create one from the survey template)", FixLink: campaignPage})
	default:
		cf, err := s.d.Flows.Campaign(ctx, projectID, c.FlowID)
		if errors.Is(err, store.ErrNotFound) {
			add(Item{ID: "flow_selected", Message: fmt.Sprintf("the flow %s no longer exists", c.FlowID), Fix: "pick another flow", FixLink: campaignPage})
			break
		}
		if err != nil {
			return out, err
		}
		facts = &cf.Facts
		flowPage := "/app/flows/" + cf.Flow.ID
		add(Item{ID: "flow_selected", OK: true, Message: fmt.Sprintf("flow %q", cf.Flow.Name)})
		if cf.Flow.Status == store.FlowPublished {
			add(Item{ID: "flow_published", OK: true, Message: fmt.Sprintf("flow %q is published (revision %d)", cf.Flow.Name, cf.Flow.LiveRevision)})
		} else {
			add(Item{ID: "flow_published", Message: fmt.Sprintf("flow %q is %s", cf.Flow.Name, cf.Flow.Status), Fix: "open the flow and publish it", FixLink: flowPage})
		}
		if facts.Trigger == "campaign" {
			add(Item{ID: "flow_trigger", OK: true, Message: "the flow's Start has the campaign trigger"})
		} else {
			add(Item{ID: "flow_trigger", Message: fmt.Sprintf("the flow's Start has the %q trigger, not campaign", facts.Trigger),
				Fix: "open the flow, set its Start node's trigger to campaign and publish it", FixLink: flowPage})
		}
		var errs []string
		for _, p := range facts.Problems {
			if p.Severity == flow.SeverityError {
				errs = append(errs, p.Message)
			}
		}
		if len(errs) == 0 {
			add(Item{ID: "flow_lint", OK: true, Message: "the flow passes the campaign rules (its first message is a template)"})
		} else {
			add(Item{ID: "flow_lint", Message: fmt.Sprintf("the flow has %d problem(s): %s", len(errs), strings.Join(first(errs, 3), "; ")),
				Fix: "open the flow, fix what the linter marks and publish it", FixLink: flowPage})
		}
		var bad []string
		for _, use := range facts.Templates {
			t, err := s.templateOf(ctx, projectID, use)
			switch {
			case errors.Is(err, store.ErrNotFound):
				bad = append(bad, fmt.Sprintf("%s (node %s) does not exist", nameOf(use), use.NodeID))
			case err != nil:
				return out, err
			case t.Status != store.TemplateApproved:
				bad = append(bad, fmt.Sprintf("%s is %s", t.Name, t.Status))
			}
		}
		if cf.StartTemplate != "" {
			if t, err := s.templateOf(ctx, projectID, flow.TemplateUse{ID: cf.StartTemplate}); err == nil && t.Status != store.TemplateApproved {
				bad = append(bad, fmt.Sprintf("%s (the start template) is %s", t.Name, t.Status))
			}
		}
		if len(bad) == 0 {
			add(Item{ID: "templates_approved", OK: true, Message: fmt.Sprintf("%d template(s), all approved", len(facts.Templates))})
		} else {
			add(Item{ID: "templates_approved", Message: "not every template the flow sends is approved: " + strings.Join(bad, "; "),
				Fix: "wait for Meta's approval (sync templates) or use an approved template", FixLink: "/app/templates"})
		}
	}

	// Channels: one per channel type the flow uses.
	var types []string
	if facts != nil {
		types = append(types, facts.ChannelTypes...)
		if len(facts.Templates) > 0 && !slices.Contains(types, "whatsapp") {
			types = append(types, "whatsapp")
		}
		if facts.Voice && !slices.Contains(types, "voice") {
			types = append(types, "voice")
		}
	}
	have := map[string]int{}
	var missing []string
	for _, id := range c.ChannelIDs {
		ch, err := s.d.Store.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: id})
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			return out, err
		}
		have[ch.Type]++
	}
	var need []string
	for _, t := range types {
		if have[t] == 0 {
			need = append(need, t)
		}
	}
	switch {
	case len(missing) > 0:
		add(Item{ID: "channels", Message: fmt.Sprintf("assigned channel(s) %s no longer exist", strings.Join(missing, ", ")), Fix: "remove them from the campaign's channels", FixLink: campaignPage})
	case len(c.ChannelIDs) == 0:
		add(Item{ID: "channels", Message: "no channel is assigned", Fix: "assign at least one channel (a WhatsApp number)", FixLink: campaignPage})
	case len(need) > 0:
		add(Item{ID: "channels", Message: "the flow sends on " + strings.Join(need, ", ") + " but no such channel is assigned", Fix: "assign a channel of each type the flow uses", FixLink: campaignPage})
	default:
		add(Item{ID: "channels", OK: true, Message: fmt.Sprintf("%d channel(s) assigned", len(c.ChannelIDs))})
	}

	// The dataset.
	var ds *store.Dataset
	if datasetID == "" {
		add(Item{ID: "dataset_ready", Message: "no dataset is assigned", Fix: "upload a CSV and add it to the campaign", FixLink: campaignPage})
	} else if !slices.Contains(c.DatasetIDs, datasetID) {
		add(Item{ID: "dataset_ready", Message: fmt.Sprintf("dataset %s is not one of the campaign's", datasetID), Fix: "add it to the campaign", FixLink: campaignPage})
	} else {
		d, err := s.d.Store.DatasetGet(ctx, store.Ref{ProjectID: projectID, ID: datasetID})
		switch {
		case errors.Is(err, store.ErrNotFound):
			add(Item{ID: "dataset_ready", Message: "the dataset no longer exists", Fix: "upload a CSV and add it to the campaign", FixLink: campaignPage})
		case err != nil:
			return out, err
		case d.Status != store.DatasetReady:
			add(Item{ID: "dataset_ready", Message: fmt.Sprintf("dataset %q is %s %s", d.Name, d.Status, d.Error), Fix: "wait for processing to finish, or upload it again", FixLink: "/app/datasets/" + d.ID})
		default:
			ds = &d
			add(Item{ID: "dataset_ready", OK: true, Message: fmt.Sprintf("dataset %q is ready", d.Name)})
			if n := d.Counts[store.RowValid]; n > 0 {
				add(Item{ID: "dataset_valid_rows", OK: true, Message: fmt.Sprintf("%d valid row(s) of %d", n, d.Counts["total"])})
			} else {
				add(Item{ID: "dataset_valid_rows", Message: fmt.Sprintf("none of the %d rows has a valid phone", d.Counts["total"]),
					Fix: "check the phone column and the default country in the mapping", FixLink: "/app/datasets/" + d.ID})
			}
		}
	}

	// Every column the flow reads exists.
	if facts != nil && ds != nil {
		vars := map[string]bool{}
		for _, v := range ds.Mapping.Variables {
			vars[v] = true
		}
		var absent []string
		for _, col := range facts.Columns {
			if !vars[col] {
				absent = append(absent, "{{"+col+"}}")
			}
		}
		if len(absent) == 0 {
			add(Item{ID: "variables", OK: true, Message: fmt.Sprintf("the dataset has every column the flow reads (%d)", len(facts.Columns))})
		} else {
			add(Item{ID: "variables", Message: "the flow reads " + strings.Join(absent, ", ") + " but the dataset has no such column",
				Fix: "rename the columns in the dataset's mapping, or change the flow", FixLink: "/app/datasets/" + ds.ID})
		}
	}

	// Dates.
	now := s.d.Clock.Now()
	switch {
	case c.EndAt != nil && !c.EndAt.After(now):
		add(Item{ID: "dates", Message: "the end date " + c.EndAt.Format("2006-01-02 15:04 MST") + " has passed", Fix: "move the end date later or clear it", FixLink: campaignPage})
	case c.StartAt != nil && c.EndAt != nil && !c.EndAt.After(*c.StartAt):
		add(Item{ID: "dates", Message: "the end date is before the start date", Fix: "fix the dates", FixLink: campaignPage})
	default:
		msg := "no dates: the campaign runs until every row is started"
		if c.StartAt != nil && c.StartAt.After(now) {
			msg = "starts at " + c.StartAt.Format("2006-01-02 15:04 MST")
		} else if c.StartAt != nil || c.EndAt != nil {
			msg = "the dates allow starting now"
		}
		add(Item{ID: "dates", OK: true, Message: msg})
	}
	out.Ready = true
	for _, it := range out.Items {
		out.Ready = out.Ready && it.OK
	}
	return out, nil
}

func (s *Service) templateOf(ctx context.Context, projectID string, use flow.TemplateUse) (store.MessageTemplate, error) {
	if use.ID != "" {
		return s.d.Store.TemplateGet(ctx, store.Ref{ProjectID: projectID, ID: use.ID})
	}
	return s.d.Store.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: projectID, Name: use.Name})
}

func nameOf(u flow.TemplateUse) string {
	if u.Name != "" {
		return "template " + u.Name
	}
	return "template " + u.ID
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}
