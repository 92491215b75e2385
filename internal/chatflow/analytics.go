package chatflow

import (
	"context"
	"sort"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// AnalyticsParams select execution analytics: one flow or the whole
// project, optionally one revision, in [From, To) (zero: open).
type AnalyticsParams struct {
	FlowID   string
	Revision int
	From     time.Time
	To       time.Time
}

// NodeStat are one node's counters.
type NodeStat struct {
	// ID is the node's global ID, as the node endpoints return it.
	ID     string `json:"id" doc:"The node's id as the node endpoints return it: <flow_id>:<node_id>"`
	NodeID string `json:"node_id" doc:"The node's id within flow_data"`
	// Type is empty for a node counted in a revision but no longer in the
	// draft.
	Type     string `json:"type"`
	Visits   int64  `json:"visits"`
	DropOffs int64  `json:"drop_offs" doc:"Sessions that ended at this node without leaving it (expired, failed or an unconnected exit)"`
	// LLM is set for nodes that called the AI provider (ai_agent).
	LLM *store.LLMCounts `json:"llm,omitempty" doc:"ai_agent nodes: calls to the AI provider, failed calls, prompt and completion tokens, summed latency in ms"`
}

// llmOf is a node's model calls, nil when it made none.
func llmOf(c store.NodeCounts) *store.LLMCounts {
	if c.LLM == (store.LLMCounts{}) {
		return nil
	}
	l := c.LLM
	return &l
}

// EdgeStat are one edge's counters.
type EdgeStat struct {
	ID          string `json:"id" doc:"The edge's id as the edge endpoints return it: <flow_id>:<edge_id>"`
	EdgeID      string `json:"edge_id" doc:"The edge's id within flow_data"`
	SourceNode  string `json:"source_node,omitempty" doc:"The source node's id as the node endpoints return it"`
	TargetNode  string `json:"target_node,omitempty" doc:"The target node's id as the node endpoints return it"`
	Source      string `json:"source,omitempty"`
	Target      string `json:"target,omitempty"`
	Transitions int64  `json:"transitions"`
}

// FlowStat are one flow's session counts.
type FlowStat struct {
	Flow     string              `json:"flow"`
	Name     string              `json:"name"`
	Status   string              `json:"status"`
	Sessions store.SessionCounts `json:"sessions"`
}

// Analytics are execution counts recorded by the runner; until it records
// any, they are zeros for real flows, never invented numbers.
type Analytics struct {
	Flow     string              `json:"flow,omitempty"`
	Revision int                 `json:"revision,omitempty"`
	From     *time.Time          `json:"from,omitempty"`
	To       *time.Time          `json:"to,omitempty"`
	Sessions store.SessionCounts `json:"sessions"`
	// Nodes and Edges: every node and edge of the flow's draft (zero when
	// never counted), plus counted ones since removed; one flow only.
	Nodes []NodeStat `json:"nodes"`
	Edges []EdgeStat `json:"edges"`
	// Flows: session counts per flow; whole project only.
	Flows []FlowStat `json:"flows"`
}

// Analytics reads the execution counters.
func (s *Service) Analytics(ctx context.Context, projectID string, p AnalyticsParams) (Analytics, error) {
	if !p.From.IsZero() && !p.To.IsZero() && !p.To.After(p.From) {
		return Analytics{}, &domain.Error{Code: domain.CodeInvalid, Message: "to must be after from",
			Fields: []domain.FieldError{{Location: "query.to", Message: "to must be after from"}}}
	}
	out := Analytics{Flow: p.FlowID, Revision: p.Revision, Nodes: []NodeStat{}, Edges: []EdgeStat{}, Flows: []FlowStat{}}
	if !p.From.IsZero() {
		out.From = &p.From
	}
	if !p.To.IsZero() {
		out.To = &p.To
	}
	var f store.Flow
	if p.FlowID != "" {
		var err error
		if f, err = s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: p.FlowID}); err != nil {
			return Analytics{}, err
		}
	}
	st, err := s.store.FlowStatsGet(ctx, store.FlowStatsParams{ProjectID: projectID, FlowID: p.FlowID, Revision: p.Revision, From: p.From, To: p.To})
	if err != nil {
		return Analytics{}, err
	}
	out.Sessions = st.Sessions
	if p.FlowID == "" {
		for id, c := range st.Flows {
			fl, err := s.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			if err != nil {
				return Analytics{}, err
			}
			out.Flows = append(out.Flows, FlowStat{Flow: id, Name: fl.Name, Status: fl.Status, Sessions: c})
		}
		sort.Slice(out.Flows, func(i, j int) bool { return out.Flows[i].Flow < out.Flows[j].Flow })
		return out, nil
	}
	g, err := decodeStored(f.Draft, "flow_data of flow "+f.ID)
	if err != nil {
		return Analytics{}, err
	}
	for _, n := range g.Nodes {
		c := st.Nodes[n.ID]
		delete(st.Nodes, n.ID)
		out.Nodes = append(out.Nodes, NodeStat{ID: Ref(f.ID, n.ID), NodeID: n.ID, Type: n.Type, Visits: c.Visits, DropOffs: c.DropOffs, LLM: llmOf(c)})
	}
	for _, id := range sortedKeys(st.Nodes) {
		c := st.Nodes[id]
		out.Nodes = append(out.Nodes, NodeStat{ID: Ref(f.ID, id), NodeID: id, Visits: c.Visits, DropOffs: c.DropOffs, LLM: llmOf(c)})
	}
	for _, e := range g.Edges {
		n := st.Edges[e.ID]
		delete(st.Edges, e.ID)
		out.Edges = append(out.Edges, EdgeStat{ID: Ref(f.ID, e.ID), EdgeID: e.ID, SourceNode: Ref(f.ID, e.Source), TargetNode: Ref(f.ID, e.Target),
			Source: e.Source, Target: e.Target, Transitions: n})
	}
	for _, id := range sortedKeys(st.Edges) {
		out.Edges = append(out.Edges, EdgeStat{ID: Ref(f.ID, id), EdgeID: id, Transitions: st.Edges[id]})
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
