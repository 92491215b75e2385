package chatflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
)

// Limits on a flow's graph. They keep one flow from exhausting memory or
// making every save and lint slow; split bigger flows into subflows.
const (
	// MaxNodes is the most nodes a flow may have.
	MaxNodes = flow.MaxNodes
	// MaxFlowDataBytes is the largest flow_data document accepted.
	MaxFlowDataBytes = 2 << 20
)

// decodeInput reads a flow_data document sent by a client. A document that
// is not a graph at all is a CodeInvalid error naming every structural
// problem (not only the first) with its JSON pointer under base; one over
// the limits is CodeTooLarge. Lint problems are not errors here: an invalid
// graph may be saved as a draft.
func decodeInput(raw json.RawMessage, base string) (flow.Graph, error) {
	if len(raw) > MaxFlowDataBytes {
		return flow.Graph{}, &domain.Error{Code: domain.CodeTooLarge,
			Message: fmt.Sprintf("flow_data is %d bytes; the limit is %d bytes (2 MB) — split the flow into subflows", len(raw), MaxFlowDataBytes),
			Fields:  []domain.FieldError{{Pointer: base, Code: "too_large", Message: "flow_data is over 2 MB"}}}
	}
	g, err := flow.DecodeGraph(raw)
	if err != nil {
		return flow.Graph{}, malformed(raw, base)
	}
	if len(g.Nodes) > MaxNodes {
		return flow.Graph{}, &domain.Error{Code: domain.CodeTooLarge,
			Message: fmt.Sprintf("flow_data has %d nodes; the limit is %d — split the flow into subflows", len(g.Nodes), MaxNodes),
			Fields:  []domain.FieldError{{Pointer: base + "/nodes", Code: flow.CodeTooManyNodes, Message: fmt.Sprintf("%d nodes; the limit is %d", len(g.Nodes), MaxNodes)}}}
	}
	return canonical(g), nil
}

// malformed collects every structural problem of a graph that does not
// decode: flow.DecodeGraph stops at the first, so each node and edge is
// decoded on its own and its pointer rebased.
func malformed(raw json.RawMessage, base string) error {
	var fields []domain.FieldError
	add := func(ptr, msg string) {
		fields = append(fields, domain.FieldError{Pointer: base + ptr, Code: "malformed", Message: msg})
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		add("", "flow_data must be a JSON object {\"nodes\": [...], \"edges\": [...]}")
	} else {
		for _, key := range []string{"nodes", "edges"} {
			v, ok := top[key]
			if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				continue
			}
			var items []json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				add("/"+key, key+" must be an array")
				continue
			}
			for i, it := range items {
				doc := append(append([]byte(`{"`+key+`":[`), it...), ']', '}')
				_, err := flow.DecodeGraph(doc)
				var de *flow.DecodeError
				if err == nil || !asDecodeError(err, &de) {
					continue
				}
				prefix := "/" + key + "/" + strconv.Itoa(i)
				ptr := prefix + strings.TrimPrefix(de.Pointer, "/"+key+"/0")
				add(ptr, de.Msg)
			}
		}
	}
	if len(fields) == 0 {
		add("", "flow_data cannot be read as a flow graph")
	}
	return &domain.Error{Code: domain.CodeInvalid,
		Message: fmt.Sprintf("flow_data is malformed (%d problem(s)); first: %s at %s", len(fields), fields[0].Message, fields[0].Pointer),
		Fields:  fields}
}

func asDecodeError(err error, target **flow.DecodeError) bool {
	de, ok := err.(*flow.DecodeError)
	if ok {
		*target = de
	}
	return ok
}

// decodeStored reads a graph the store holds. It was validated on the way
// in, so a failure is a bug or corruption, reported as such.
func decodeStored(raw json.RawMessage, what string) (flow.Graph, error) {
	g, err := flow.DecodeGraph(raw)
	if err != nil {
		return flow.Graph{}, fmt.Errorf("decoding the stored %s: %w", what, err)
	}
	return canonical(g), nil
}

// canonical rewrites every free-form JSON value of a graph (node and edge
// data, canvas keys) with sorted keys. PostgreSQL's JSONB reorders keys and
// SQLite keeps them, so without this the two databases would export the
// same flow differently.
func canonical(g flow.Graph) flow.Graph {
	g.Extra = canonicalMap(g.Extra)
	for i := range g.Nodes {
		g.Nodes[i].Data = canonicalJSON(g.Nodes[i].Data)
		g.Nodes[i].Extra = canonicalMap(g.Nodes[i].Extra)
	}
	for i := range g.Edges {
		g.Edges[i].Data = canonicalJSON(g.Edges[i].Data)
		g.Edges[i].Extra = canonicalMap(g.Edges[i].Extra)
	}
	return g
}

func canonicalMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	for k, v := range m {
		m[k] = canonicalJSON(v)
	}
	return m
}

// canonicalJSON re-encodes a JSON value with object keys sorted and numbers
// kept exactly as written.
func canonicalJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))
}

// encodeGraph is the stored form of a graph.
func encodeGraph(g flow.Graph) (json.RawMessage, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("encoding flow_data: %w", err)
	}
	return b, nil
}

// triggerOf derives the flow's trigger from its start node: manual when the
// start node names none, nil when there is no (readable) start node.
func triggerOf(g flow.Graph) *flow.TriggerData {
	for _, n := range g.Nodes {
		if n.Type != flow.TypeStart {
			continue
		}
		var sd flow.StartData
		if len(n.Data) > 0 && json.Unmarshal(n.Data, &sd) != nil {
			return nil
		}
		if sd.Trigger == nil {
			return &flow.TriggerData{Type: "manual"}
		}
		return sd.Trigger
	}
	return nil
}

func encodeTrigger(t *flow.TriggerData) json.RawMessage {
	if t == nil {
		return json.RawMessage(`{}`)
	}
	b, _ := json.Marshal(t)
	return b
}

func decodeTrigger(raw json.RawMessage) *flow.TriggerData {
	var t flow.TriggerData
	if len(raw) == 0 || json.Unmarshal(raw, &t) != nil || t.Type == "" {
		return nil
	}
	return &t
}

// starterGraph is the graph of a flow created without flow_data: a start
// node joined to an end node, so a new flow is valid from the first save.
func starterGraph() flow.Graph {
	return flow.Graph{
		Nodes: []flow.Node{
			{ID: "start", Type: flow.TypeStart, Position: &flow.Position{X: 0, Y: 0}, Data: json.RawMessage(`{"trigger":{"type":"manual"}}`)},
			{ID: "end", Type: flow.TypeEnd, Position: &flow.Position{X: 0, Y: 200}, Data: json.RawMessage(`{}`)},
		},
		Edges: []flow.Edge{{ID: "e_start_end", Source: "start", Target: "end"}},
	}
}

// prefixProblems makes lint pointers (into flow_data) pointers into the
// flow document, so clients resolve them against what they sent.
func prefixProblems(ps flow.Problems) []flow.Problem {
	out := make([]flow.Problem, len(ps))
	for i, p := range ps {
		p.Pointer = "/flow_data" + p.Pointer
		out[i] = p
	}
	return out
}
