// Package campaignreport computes a campaign's report — per channel,
// per template, flow outcomes, the per-node funnel and the hourly series —
// and its recipients CSV, from the runtime's messages, sessions and traces
// joined to the sessions the campaign's recipient rows started. It reads
// through store.CampaignReports, which streams rows, so the memory it holds
// grows with the number of channels, templates, nodes and hours, plus one
// entry per template send (to credit button clicks), never with every row.
package campaignreport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Store is what the report reads.
type Store interface {
	store.CampaignReports
	ChannelList(ctx context.Context, projectID string) ([]domain.Channel, error)
	FlowRevisionLatest(ctx context.Context, r store.Ref) (store.FlowRevision, error)
	TemplateGet(ctx context.Context, r store.Ref) (store.MessageTemplate, error)
}

// Params names the campaign: its ID, the flow it runs (for the funnel's
// node types; empty skips them) and its datasets (for the CSV).
type Params struct {
	ProjectID  string
	CampaignID string
	FlowID     string
	DatasetIDs []string
	// Now stamps the report.
	Now time.Time
}

// Report is a campaign's report. Counts are of outbound messages unless
// named otherwise; a message counts as sent once the provider took it
// (sent, delivered or read), delivered when delivered or read.
type Report struct {
	CampaignID  string    `json:"campaign_id"`
	GeneratedAt time.Time `json:"generated_at"`
	// Totals is every channel together.
	Totals   ChannelReport   `json:"totals"`
	Channels []ChannelReport `json:"channels"`
	// Templates is per-template performance, most sent first.
	Templates []TemplateReport `json:"templates"`
	Outcomes  Outcomes         `json:"outcomes"`
	// Funnel is, per node, how many campaign sessions entered it, most first.
	Funnel []FunnelStep `json:"funnel"`
	// Hourly is the series by hour (UTC), oldest first; hours with nothing are left out.
	Hourly []HourBucket `json:"hourly"`
	// Voice is what the campaign's voice calls came to (all zero when the
	// flow places none).
	Voice VoiceReport `json:"voice"`
}

// ChannelReport is one channel's numbers.
type ChannelReport struct {
	ChannelID   string `json:"channel_id,omitempty"`
	ChannelName string `json:"channel_name,omitempty"`
	ChannelType string `json:"channel_type,omitempty"`
	// Sessions is how many campaign sessions ran on the channel.
	Sessions  int64 `json:"sessions"`
	Queued    int64 `json:"queued"`
	Sent      int64 `json:"sent"`
	Delivered int64 `json:"delivered"`
	Read      int64 `json:"read"`
	Failed    int64 `json:"failed"`
	// FailedByReason splits Failed by the provider's code and reason, most first.
	FailedByReason []FailureReason `json:"failed_by_reason"`
	// Replied is how many sessions' contacts wrote back after the start.
	Replied int64 `json:"replied"`
	// ResponseRate is Replied over sessions with at least one message sent, in percent.
	ResponseRate float64 `json:"response_rate"`
	reached      int64
}

// FailureReason is one failure code and reason with its count.
type FailureReason struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// TemplateReport is one template's performance.
type TemplateReport struct {
	Name      string `json:"name"`
	Sent      int64  `json:"sent"`
	Delivered int64  `json:"delivered"`
	Read      int64  `json:"read"`
	Failed    int64  `json:"failed"`
	// Replied is how many sessions that got the template wrote back afterwards.
	Replied int64 `json:"replied"`
	// ButtonClicks are quick-reply and button taps answering it (credited to
	// the last template the session sent before the tap).
	ButtonClicks int64 `json:"button_clicks"`
}

// Outcomes are the campaign sessions by status; Ends splits the completed
// ones by the End node they finished on.
type Outcomes struct {
	Started     int64     `json:"started"`
	Active      int64     `json:"active"`
	Waiting     int64     `json:"waiting"`
	Completed   int64     `json:"completed"`
	Expired     int64     `json:"expired"`
	Interrupted int64     `json:"interrupted"`
	Failed      int64     `json:"failed"`
	Ends        []EndNode `json:"ends"`
}

// EndNode is an End node and how many sessions finished there.
type EndNode struct {
	NodeID string `json:"node_id"`
	Count  int64  `json:"count"`
}

// FunnelStep is a node and how many campaign sessions entered it.
type FunnelStep struct {
	NodeID   string `json:"node_id"`
	NodeType string `json:"node_type,omitempty"`
	Sessions int64  `json:"sessions"`
}

// HourBucket is one hour: messages sent (by when they were sent), of those
// delivered and read, failures (by when they were created), and replies
// (inbound messages of campaign contacts).
type HourBucket struct {
	Hour      time.Time `json:"t"`
	Sent      int64     `json:"sent"`
	Delivered int64     `json:"delivered"`
	Read      int64     `json:"read"`
	Failed    int64     `json:"failed"`
	Replies   int64     `json:"replies"`
}

type templateSend struct {
	name string
	at   time.Time
}

// Build computes the report.
func Build(ctx context.Context, st Store, p Params) (Report, error) {
	rep := Report{CampaignID: p.CampaignID, GeneratedAt: p.Now.UTC(), Channels: []ChannelReport{}, Templates: []TemplateReport{},
		Funnel: []FunnelStep{}, Hourly: []HourBucket{}, Outcomes: Outcomes{Ends: []EndNode{}}}
	channels := map[string]*ChannelReport{}
	fails := map[string]map[[2]string]int64{}
	templates := map[string]*TemplateReport{}
	hours := map[time.Time]*HourBucket{}
	sends := map[string][]templateSend{} // session → its template sends, in order
	reachedSession := map[string]bool{}
	chOf := func(id string) *ChannelReport {
		c := channels[id]
		if c == nil {
			c = &ChannelReport{ChannelID: id}
			channels[id] = c
			fails[id] = map[[2]string]int64{}
		}
		return c
	}
	hour := func(t time.Time) *HourBucket {
		h := t.UTC().Truncate(time.Hour)
		b := hours[h]
		if b == nil {
			b = &HourBucket{Hour: h}
			hours[h] = b
		}
		return b
	}

	// Sessions first: they say which channel each session ran on.
	sessionChannel := map[string]string{}
	ends := map[string]int64{}
	err := st.CampaignSessionsScan(ctx, store.CampaignSessionsScanParams{ProjectID: p.ProjectID, CampaignID: p.CampaignID,
		Each: func(s store.CampaignSession) error {
			sessionChannel[s.SessionID] = s.ChannelID
			chOf(s.ChannelID).Sessions++
			o := &rep.Outcomes
			o.Started++
			switch s.Status {
			case domain.SessionActive:
				o.Active++
			case domain.SessionWaiting:
				o.Waiting++
			case domain.SessionCompleted:
				o.Completed++
				ends[s.NodeID]++
			case domain.SessionExpired:
				o.Expired++
			case domain.SessionInterrupted:
				o.Interrupted++
			case domain.SessionFailed:
				o.Failed++
			}
			return nil
		}})
	if err != nil {
		return Report{}, fmt.Errorf("computing the campaign report: %w", err)
	}

	// A flow names its template by ID (looked up once) or by name.
	tplNames := map[string]string{}
	tplName := func(m store.CampaignMessage) (string, error) {
		if m.TemplateID == "" {
			return m.TemplateName, nil
		}
		if n, ok := tplNames[m.TemplateID]; ok {
			return n, nil
		}
		n := m.TemplateName
		t, err := st.TemplateGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: m.TemplateID})
		switch {
		case err == nil:
			n = t.Name
		case errors.Is(err, store.ErrNotFound):
			if n == "" {
				n = "deleted template " + m.TemplateID
			}
		default:
			return "", fmt.Errorf("reading template %s: %w", m.TemplateID, err)
		}
		tplNames[m.TemplateID] = n
		return n, nil
	}
	err = st.CampaignMessagesScan(ctx, store.CampaignMessagesScanParams{ProjectID: p.ProjectID, CampaignID: p.CampaignID,
		Each: func(m store.CampaignMessage) error {
			c := chOf(m.ChannelID)
			var t *TemplateReport
			name, err := tplName(m)
			if err != nil {
				return err
			}
			if name != "" {
				if t = templates[name]; t == nil {
					t = &TemplateReport{Name: name}
					templates[name] = t
				}
				sends[m.SessionID] = append(sends[m.SessionID], templateSend{name: name, at: m.CreatedAt})
			}
			sentAt := m.CreatedAt
			if m.SentAt != nil {
				sentAt = *m.SentAt
			}
			switch m.Status {
			case domain.MessageQueued:
				c.Queued++
			case domain.MessageFailed:
				c.Failed++
				fails[m.ChannelID][[2]string{m.ErrorCode, m.ErrorReason}]++
				hour(m.CreatedAt).Failed++
				if t != nil {
					t.Failed++
				}
			case domain.MessageSent, domain.MessageDelivered, domain.MessageRead:
				h := hour(sentAt)
				c.Sent++
				h.Sent++
				reachedSession[m.SessionID] = true
				if t != nil {
					t.Sent++
				}
				if m.Status != domain.MessageSent {
					c.Delivered++
					h.Delivered++
					if t != nil {
						t.Delivered++
					}
				}
				if m.Status == domain.MessageRead {
					c.Read++
					h.Read++
					if t != nil {
						t.Read++
					}
				}
			}
			return nil
		}})
	if err != nil {
		return Report{}, fmt.Errorf("computing the campaign report: %w", err)
	}
	for s := range reachedSession {
		chOf(sessionChannel[s]).reached++
	}

	replied := map[string]bool{}
	err = st.CampaignRepliesScan(ctx, store.CampaignRepliesScanParams{ProjectID: p.ProjectID, CampaignID: p.CampaignID,
		Each: func(r store.CampaignReply) error {
			hour(r.CreatedAt).Replies++
			ss := sends[r.SessionID]
			if !replied[r.SessionID] {
				replied[r.SessionID] = true
				chOf(r.ChannelID).Replied++
				seen := map[string]bool{}
				for _, s := range ss {
					if !s.at.After(r.CreatedAt) && !seen[s.name] {
						seen[s.name] = true
						templates[s.name].Replied++
					}
				}
			}
			if isClick(r.Type) {
				for i := len(ss) - 1; i >= 0; i-- {
					if !ss[i].at.After(r.CreatedAt) {
						templates[ss[i].name].ButtonClicks++
						break
					}
				}
			}
			return nil
		}})
	if err != nil {
		return Report{}, fmt.Errorf("computing the campaign report: %w", err)
	}

	// The funnel: distinct nodes entered per session (rows come by session).
	entered := map[string]int64{}
	cur, seen := "", map[string]bool{}
	err = st.CampaignTracesScan(ctx, store.CampaignTracesScanParams{ProjectID: p.ProjectID, CampaignID: p.CampaignID,
		Each: func(t store.CampaignTrace) error {
			if t.SessionID != cur {
				cur, seen = t.SessionID, map[string]bool{}
			}
			var events []struct {
				Kind   string `json:"kind"`
				NodeID string `json:"node_id"`
			}
			if err := json.Unmarshal(t.Events, &events); err != nil {
				return fmt.Errorf("reading the trace of session %s: %w", t.SessionID, err)
			}
			for _, e := range events {
				if e.Kind == "node_entered" && e.NodeID != "" && !seen[e.NodeID] {
					seen[e.NodeID] = true
					entered[e.NodeID]++
				}
			}
			return nil
		}})
	if err != nil {
		return Report{}, fmt.Errorf("computing the campaign report: %w", err)
	}

	// Names and types for what the IDs point at.
	names := map[string]domain.Channel{}
	chs, err := st.ChannelList(ctx, p.ProjectID)
	if err != nil {
		return Report{}, fmt.Errorf("computing the campaign report: listing channels: %w", err)
	}
	for _, c := range chs {
		names[c.ID] = c
	}
	types, err := nodeTypes(ctx, st, p)
	if err != nil {
		return Report{}, fmt.Errorf("computing the campaign report: %w", err)
	}

	total := ChannelReport{FailedByReason: []FailureReason{}}
	totalFails := map[[2]string]int64{}
	for id, c := range channels {
		if ch, ok := names[id]; ok {
			c.ChannelName, c.ChannelType = ch.Name, ch.Type
		}
		c.FailedByReason = reasons(fails[id])
		c.ResponseRate = rate(c.Replied, c.reached)
		for k, n := range fails[id] {
			totalFails[k] += n
		}
		total.Sessions += c.Sessions
		total.Queued += c.Queued
		total.Sent += c.Sent
		total.Delivered += c.Delivered
		total.Read += c.Read
		total.Failed += c.Failed
		total.Replied += c.Replied
		total.reached += c.reached
		rep.Channels = append(rep.Channels, *c)
	}
	total.FailedByReason = reasons(totalFails)
	total.ResponseRate = rate(total.Replied, total.reached)
	rep.Totals = total
	sort.Slice(rep.Channels, func(i, j int) bool {
		if rep.Channels[i].Sessions != rep.Channels[j].Sessions {
			return rep.Channels[i].Sessions > rep.Channels[j].Sessions
		}
		return rep.Channels[i].ChannelID < rep.Channels[j].ChannelID
	})
	for _, t := range templates {
		rep.Templates = append(rep.Templates, *t)
	}
	sort.Slice(rep.Templates, func(i, j int) bool {
		if rep.Templates[i].Sent != rep.Templates[j].Sent {
			return rep.Templates[i].Sent > rep.Templates[j].Sent
		}
		return rep.Templates[i].Name < rep.Templates[j].Name
	})
	for id, n := range ends {
		rep.Outcomes.Ends = append(rep.Outcomes.Ends, EndNode{NodeID: id, Count: n})
	}
	sort.Slice(rep.Outcomes.Ends, func(i, j int) bool {
		a, b := rep.Outcomes.Ends[i], rep.Outcomes.Ends[j]
		return a.Count > b.Count || a.Count == b.Count && a.NodeID < b.NodeID
	})
	for id, n := range entered {
		rep.Funnel = append(rep.Funnel, FunnelStep{NodeID: id, NodeType: types[id], Sessions: n})
	}
	sort.Slice(rep.Funnel, func(i, j int) bool {
		a, b := rep.Funnel[i], rep.Funnel[j]
		return a.Sessions > b.Sessions || a.Sessions == b.Sessions && a.NodeID < b.NodeID
	})
	for _, h := range hours {
		rep.Hourly = append(rep.Hourly, *h)
	}
	sort.Slice(rep.Hourly, func(i, j int) bool { return rep.Hourly[i].Hour.Before(rep.Hourly[j].Hour) })
	if rep.Voice, err = buildVoice(ctx, st, p); err != nil {
		return Report{}, fmt.Errorf("computing the campaign report: %w", err)
	}
	return rep, nil
}

// isClick reports whether an inbound message type is a tap on a button.
func isClick(typ string) bool {
	return typ == "quick_reply" || typ == "button_reply" || typ == "list_reply"
}

func rate(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(int64(float64(part)*1000/float64(whole)+0.5)) / 10
}

func reasons(m map[[2]string]int64) []FailureReason {
	out := []FailureReason{}
	for k, n := range m {
		out = append(out, FailureReason{Code: k[0], Reason: k[1], Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Count > out[j].Count || out[i].Count == out[j].Count && out[i].Code+out[i].Reason < out[j].Code+out[j].Reason
	})
	return out
}

// nodeTypes maps the flow's node IDs to their types, from its live
// revision; none when the flow has none or was deleted (the funnel then
// shows IDs only).
func nodeTypes(ctx context.Context, st Store, p Params) (map[string]string, error) {
	out := map[string]string{}
	if p.FlowID == "" {
		return out, nil
	}
	rev, err := st.FlowRevisionLatest(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.FlowID})
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the flow's node types: %w", err)
	}
	var g struct {
		Nodes []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"nodes"`
	}
	if json.Unmarshal(rev.Graph, &g) == nil {
		for _, n := range g.Nodes {
			out[n.ID] = n.Type
		}
	}
	return out, nil
}
