package httpapi

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// The node and edge endpoints edit a flow's draft one element at a time.
// Their IDs are global, "<flow_id>:<node_id>", because node and edge IDs
// are unique only within a flow (see chatflow.Ref): that is the id every
// response carries and every path takes. Where the flow is known (?flow=
// or the body's flow) the short ID (node_1) names the node too. Writes
// need the flow version (If-Match or version) like flow saves.

// FlowQuery names the flow a list is about.
type FlowQuery struct {
	Flow string `query:"flow" required:"true" minLength:"1" maxLength:"100" doc:"The flow's ID"`
}

func (a *flowAPI) nodeList(ctx context.Context, in *FlowQuery) (*ListOutput[chatflow.Node], error) {
	n, err := a.svc.Nodes(ctx, principalFrom(ctx).ProjectID, in.Flow)
	if err != nil {
		return nil, err
	}
	return listOf(store.List[chatflow.Node]{Items: n}), nil
}

// NodeCreateInput adds a node to a flow's draft.
type NodeCreateInput struct {
	IfMatch
	Body struct {
		Flow     string          `json:"flow" minLength:"1" maxLength:"100" doc:"The flow's ID"`
		ID       string          `json:"id,omitempty" maxLength:"200" doc:"The node's ID within the flow (or its global ID); <type>_<n> when absent"`
		Type     string          `json:"type" minLength:"1" maxLength:"50" doc:"A node type of GET /chat-flow/node-types/ (other tools' names are mapped)"`
		Position *flow.Position  `json:"position,omitempty"`
		Data     json.RawMessage `json:"data,omitempty" doc:"The type's fields"`
		Version  *int            `json:"version,omitempty" doc:"The flow version this edit is based on"`
	}
}

func (a *flowAPI) nodeCreate(ctx context.Context, in *NodeCreateInput) (*Body[chatflow.Node], error) {
	p := principalFrom(ctx)
	b := in.Body
	v, err := versionOf(in.IfMatch.IfMatch, b.Version)
	if err != nil {
		return nil, err
	}
	n, err := a.svc.CreateNode(ctx, p.ProjectID, string(p.Actor()), v, chatflow.NodeInput{FlowID: b.Flow, ID: b.ID, Type: b.Type, Position: b.Position, Data: b.Data})
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return bodyOf(n), nil
}

// NodePath names a node by its global ID, or by its short ID and ?flow=.
type NodePath struct {
	NodeID string `path:"node_id" maxLength:"300" doc:"The node's id as returned: <flow_id>:<node_id>; or its short ID (node_id) with ?flow="`
	Flow   string `query:"flow" maxLength:"100" doc:"The flow, when node_id is a short ID"`
}

// splitRef returns the flow and local ID of a node or edge reference: a
// short ID within the first flow hint given, else a global ID. The service
// then reads the flow within the caller's project (the scope check has
// checked global IDs already).
func splitRef(kind, ref string, hints ...string) (string, string, error) {
	for _, h := range hints {
		if h == "" {
			continue
		}
		if f, id, ok := chatflow.SplitRef(ref); ok && f == h {
			return h, id, nil
		}
		return h, ref, nil
	}
	f, id, ok := chatflow.SplitRef(ref)
	if !ok {
		return "", "", domain.Errorf(domain.CodeNotFound, "%s %q not found: name its flow with ?flow=<flow_id> or use its id <flow_id>:%s", kind, ref, ref)
	}
	return f, id, nil
}

func (a *flowAPI) nodeGet(ctx context.Context, in *NodePath) (*Body[chatflow.Node], error) {
	f, id, err := splitRef("node", in.NodeID, in.Flow)
	if err != nil {
		return nil, err
	}
	n, err := a.svc.GetNode(ctx, principalFrom(ctx).ProjectID, f, id)
	if err != nil {
		return nil, err
	}
	return bodyOf(n), nil
}

// NodeUpdateInput changes a node.
type NodeUpdateInput struct {
	NodePath
	IfMatch
	Body struct {
		Type     *string         `json:"type,omitempty" minLength:"1" maxLength:"50"`
		Position *flow.Position  `json:"position,omitempty"`
		Data     json.RawMessage `json:"data,omitempty" doc:"Replaces the node's data"`
		Version  *int            `json:"version,omitempty"`
		Flow     string          `json:"flow,omitempty" maxLength:"100" doc:"The flow, when the path has the node's short ID"`
		ID       string          `json:"id,omitempty" doc:"Ignored: node IDs do not change"`
	}
}

func (a *flowAPI) nodeUpdate(ctx context.Context, in *NodeUpdateInput) (*Body[chatflow.Node], error) {
	p := principalFrom(ctx)
	f, id, err := splitRef("node", in.NodeID, in.Flow, in.Body.Flow)
	if err != nil {
		return nil, err
	}
	v, err := versionOf(in.IfMatch.IfMatch, in.Body.Version)
	if err != nil {
		return nil, err
	}
	n, err := a.svc.UpdateNode(ctx, p.ProjectID, f, id, string(p.Actor()), v, chatflow.NodePatch{Type: in.Body.Type, Position: in.Body.Position, Data: in.Body.Data})
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return bodyOf(n), nil
}

// NodeDeleteInput deletes a node.
type NodeDeleteInput struct {
	NodePath
	IfMatch
	Version int `query:"version" minimum:"0" doc:"The flow version (instead of If-Match)"`
}

func (a *flowAPI) nodeDelete(ctx context.Context, in *NodeDeleteInput) (*struct{}, error) {
	p := principalFrom(ctx)
	f, id, err := splitRef("node", in.NodeID, in.Flow)
	if err != nil {
		return nil, err
	}
	v, err := versionOf(in.IfMatch.IfMatch, queryVersion(in.Version))
	if err != nil {
		return nil, err
	}
	_, err = a.svc.DeleteNode(ctx, p.ProjectID, f, id, string(p.Actor()), v)
	return nil, a.flowErr(ctx, err)
}

func (a *flowAPI) edgeList(ctx context.Context, in *FlowQuery) (*ListOutput[chatflow.Edge], error) {
	e, err := a.svc.Edges(ctx, principalFrom(ctx).ProjectID, in.Flow)
	if err != nil {
		return nil, err
	}
	return listOf(store.List[chatflow.Edge]{Items: e}), nil
}

// EdgeCreateInput adds an edge: {flow, source_node, target_node, trigger,
// trigger_value} or ReactFlow's {flow, source, target, sourceHandle, …}.
type EdgeCreateInput struct {
	IfMatch
	Body struct {
		Flow         string          `json:"flow" minLength:"1" maxLength:"100"`
		ID           string          `json:"id,omitempty" maxLength:"200" doc:"e_<n> when absent"`
		SourceNode   string          `json:"source_node,omitempty" maxLength:"300" doc:"Source node ID (global or within the flow)"`
		TargetNode   string          `json:"target_node,omitempty" maxLength:"300"`
		Trigger      string          `json:"trigger,omitempty" maxLength:"50" doc:"button_click (the default when trigger_value is set)"`
		TriggerValue string          `json:"trigger_value,omitempty" maxLength:"200" doc:"The button title the edge leaves by"`
		Source       string          `json:"source,omitempty" maxLength:"300"`
		SourceHandle string          `json:"sourceHandle,omitempty" maxLength:"200"`
		Target       string          `json:"target,omitempty" maxLength:"300"`
		TargetHandle string          `json:"targetHandle,omitempty" maxLength:"200"`
		Label        string          `json:"label,omitempty" maxLength:"200"`
		Data         json.RawMessage `json:"data,omitempty"`
		Version      *int            `json:"version,omitempty"`
	}
}

func (a *flowAPI) edgeCreate(ctx context.Context, in *EdgeCreateInput) (*Body[chatflow.Edge], error) {
	p := principalFrom(ctx)
	b := in.Body
	v, err := versionOf(in.IfMatch.IfMatch, b.Version)
	if err != nil {
		return nil, err
	}
	e, err := a.svc.CreateEdge(ctx, p.ProjectID, string(p.Actor()), v, chatflow.EdgeInput{FlowID: b.Flow, ID: b.ID, SourceNode: b.SourceNode,
		TargetNode: b.TargetNode, Trigger: b.Trigger, TriggerValue: b.TriggerValue, Source: b.Source, SourceHandle: b.SourceHandle,
		Target: b.Target, TargetHandle: b.TargetHandle, Label: b.Label, Data: b.Data})
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return bodyOf(e), nil
}

// EdgePath names an edge by its global ID, or by its short ID and ?flow=.
type EdgePath struct {
	EdgeID string `path:"edge_id" maxLength:"300" doc:"The edge's id as returned: <flow_id>:<edge_id>; or its short ID (edge_id) with ?flow="`
	Flow   string `query:"flow" maxLength:"100" doc:"The flow, when edge_id is a short ID"`
}

func (a *flowAPI) edgeGet(ctx context.Context, in *EdgePath) (*Body[chatflow.Edge], error) {
	f, id, err := splitRef("edge", in.EdgeID, in.Flow)
	if err != nil {
		return nil, err
	}
	e, err := a.svc.GetEdge(ctx, principalFrom(ctx).ProjectID, f, id)
	if err != nil {
		return nil, err
	}
	return bodyOf(e), nil
}

// EdgeUpdateInput changes an edge.
type EdgeUpdateInput struct {
	EdgePath
	IfMatch
	Body struct {
		TargetNode   string          `json:"target_node,omitempty" maxLength:"300"`
		Target       string          `json:"target,omitempty" maxLength:"300"`
		Trigger      string          `json:"trigger,omitempty" maxLength:"50"`
		TriggerValue string          `json:"trigger_value,omitempty" maxLength:"200"`
		SourceHandle *string         `json:"sourceHandle,omitempty" maxLength:"200"`
		TargetHandle *string         `json:"targetHandle,omitempty" maxLength:"200"`
		Label        *string         `json:"label,omitempty" maxLength:"200"`
		Data         json.RawMessage `json:"data,omitempty"`
		Version      *int            `json:"version,omitempty"`
		Flow         string          `json:"flow,omitempty" maxLength:"100" doc:"The flow, when the path has the edge's short ID"`
	}
}

func (a *flowAPI) edgeUpdate(ctx context.Context, in *EdgeUpdateInput) (*Body[chatflow.Edge], error) {
	p := principalFrom(ctx)
	f, id, err := splitRef("edge", in.EdgeID, in.Flow, in.Body.Flow)
	if err != nil {
		return nil, err
	}
	b := in.Body
	v, err := versionOf(in.IfMatch.IfMatch, b.Version)
	if err != nil {
		return nil, err
	}
	target := b.TargetNode
	if target == "" {
		target = b.Target
	}
	e, err := a.svc.UpdateEdge(ctx, p.ProjectID, f, id, string(p.Actor()), v, chatflow.EdgePatch{TargetNode: target, Trigger: b.Trigger,
		TriggerValue: b.TriggerValue, SourceHandle: b.SourceHandle, TargetHandle: b.TargetHandle, Label: b.Label, Data: b.Data})
	if err != nil {
		return nil, a.flowErr(ctx, err)
	}
	return bodyOf(e), nil
}

// EdgeDeleteInput deletes an edge.
type EdgeDeleteInput struct {
	EdgePath
	IfMatch
	Version int `query:"version" minimum:"0" doc:"The flow version (instead of If-Match)"`
}

func (a *flowAPI) edgeDelete(ctx context.Context, in *EdgeDeleteInput) (*struct{}, error) {
	p := principalFrom(ctx)
	f, id, err := splitRef("edge", in.EdgeID, in.Flow)
	if err != nil {
		return nil, err
	}
	v, err := versionOf(in.IfMatch.IfMatch, queryVersion(in.Version))
	if err != nil {
		return nil, err
	}
	_, err = a.svc.DeleteEdge(ctx, p.ProjectID, f, id, string(p.Actor()), v)
	return nil, a.flowErr(ctx, err)
}

// flowScopes are the scope checks of the chat-flow path parameters.
func (s *Server) flowScopes() map[string]scopeCheck {
	draftHas := func(kind string, has func(g flow.Graph, id string) bool) scopeCheck {
		return func(ctx context.Context, projectID, ref string) error {
			flowID, id, ok := chatflow.SplitRef(ref)
			if !ok {
				// A short ID: the handler resolves it with ?flow= or the
				// body's flow, and reads that flow within the project.
				return nil
			}
			f, err := s.deps.Store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
			if err != nil {
				return err
			}
			g, err := flow.DecodeGraph(f.Draft)
			if err != nil || !has(g, id) {
				return domain.NotFound(kind, ref)
			}
			return nil
		}
	}
	return map[string]scopeCheck{
		"flow_id": func(ctx context.Context, projectID, id string) error {
			_, err := s.deps.Store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: id})
			return err
		},
		"node_id": draftHas("node", func(g flow.Graph, id string) bool { return g.Node(id) >= 0 }),
		"edge_id": draftHas("edge", func(g flow.Graph, id string) bool {
			for _, e := range g.Edges {
				if e.ID == id {
					return true
				}
			}
			return false
		}),
		// A revision is always addressed under its {flow_id}, which is
		// checked first; the number alone belongs to no project.
		"revision": func(ctx context.Context, projectID, id string) error { return nil },
	}
}

// queryVersion is ?version= as versionOf's optional body version.
func queryVersion(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}
