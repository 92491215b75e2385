package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Graph is a flow's flow_data: a ReactFlow document of nodes and edges.
// Keys the model does not know (React Flow's width, measured, selected…)
// are kept in Extra and written back unchanged, so a round trip through the
// model never loses what the canvas stored.
type Graph struct {
	Nodes []Node
	Edges []Edge
	Extra map[string]json.RawMessage
}

// Position is a node's place on the canvas.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Node is one step of the flow. Data holds the type-specific settings as raw
// JSON; the linter checks it against the type's schema and the compiler
// decodes it into the typed structs of this package.
type Node struct {
	ID       string
	Type     string
	Position *Position
	Data     json.RawMessage
	Extra    map[string]json.RawMessage
}

// Edge connects an exit of its Source node to its Target node. The exit is
// named by SourceHandle, or by Data's trigger_value for a button_click
// trigger, or is the node's default exit when both are empty.
type Edge struct {
	ID           string
	Source       string
	SourceHandle string
	Target       string
	TargetHandle string
	Label        string
	Data         json.RawMessage
	Extra        map[string]json.RawMessage
}

// EdgeTrigger is the chat-flow API's way of naming a button exit in an
// edge's data.
type EdgeTrigger struct {
	Trigger      string `json:"trigger,omitempty"`
	TriggerValue string `json:"trigger_value,omitempty"`
}

// Trigger decodes the edge's data.trigger / data.trigger_value; other data
// keys are UI state and ignored.
func (e Edge) Trigger() EdgeTrigger {
	var t EdgeTrigger
	if len(e.Data) > 0 {
		// Non-string values are reported by the linter, not here.
		_ = json.Unmarshal(e.Data, &t)
	}
	return t
}

var (
	nodeKeys = []string{"id", "type", "position", "data"}
	edgeKeys = []string{"id", "source", "sourceHandle", "target", "targetHandle", "label", "data"}
)

// objectWriter writes a JSON object with known keys first in a fixed order,
// then extra keys sorted, which makes encoding deterministic.
type objectWriter struct {
	buf   bytes.Buffer
	first bool
	err   error
}

func newObjectWriter() *objectWriter {
	w := &objectWriter{first: true}
	w.buf.WriteByte('{')
	return w
}

func (w *objectWriter) raw(key string, v []byte) {
	if !w.first {
		w.buf.WriteByte(',')
	}
	w.first = false
	k, _ := json.Marshal(key)
	w.buf.Write(k)
	w.buf.WriteByte(':')
	w.buf.Write(v)
}

func (w *objectWriter) value(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("encoding %s: %w", key, err)
		}
		return
	}
	w.raw(key, b)
}

func (w *objectWriter) extras(extra map[string]json.RawMessage) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.raw(k, extra[k])
	}
}

func (w *objectWriter) done() ([]byte, error) {
	w.buf.WriteByte('}')
	return w.buf.Bytes(), w.err
}

// MarshalJSON writes nodes and edges, then extra keys sorted.
func (g Graph) MarshalJSON() ([]byte, error) {
	w := newObjectWriter()
	nodes := g.Nodes
	if nodes == nil {
		nodes = []Node{}
	}
	edges := g.Edges
	if edges == nil {
		edges = []Edge{}
	}
	w.value("nodes", nodes)
	w.value("edges", edges)
	w.extras(withoutKeys(g.Extra, "nodes", "edges"))
	return w.done()
}

// UnmarshalJSON reads a graph; unknown top-level keys go to Extra.
func (g *Graph) UnmarshalJSON(b []byte) error {
	out, err := decodeGraph(b, "")
	if err != nil {
		return err
	}
	*g = out
	return nil
}

// MarshalJSON writes id, type, position, data, then extra keys sorted.
func (n Node) MarshalJSON() ([]byte, error) {
	w := newObjectWriter()
	w.value("id", n.ID)
	w.value("type", n.Type)
	if n.Position != nil {
		w.value("position", n.Position)
	}
	if len(n.Data) > 0 {
		w.raw("data", compactJSON(n.Data))
	} else {
		w.raw("data", []byte("{}"))
	}
	w.extras(withoutKeys(n.Extra, nodeKeys...))
	return w.done()
}

// UnmarshalJSON reads a node; unknown keys go to Extra.
func (n *Node) UnmarshalJSON(b []byte) error {
	out, err := decodeNode(b, "")
	if err != nil {
		return err
	}
	*n = out
	return nil
}

// MarshalJSON writes the edge's known keys (empty ones omitted), then extra
// keys sorted.
func (e Edge) MarshalJSON() ([]byte, error) {
	w := newObjectWriter()
	w.value("id", e.ID)
	w.value("source", e.Source)
	if e.SourceHandle != "" {
		w.value("sourceHandle", e.SourceHandle)
	}
	w.value("target", e.Target)
	if e.TargetHandle != "" {
		w.value("targetHandle", e.TargetHandle)
	}
	if e.Label != "" {
		w.value("label", e.Label)
	}
	if len(e.Data) > 0 {
		w.raw("data", compactJSON(e.Data))
	}
	w.extras(withoutKeys(e.Extra, edgeKeys...))
	return w.done()
}

// UnmarshalJSON reads an edge; unknown keys go to Extra.
func (e *Edge) UnmarshalJSON(b []byte) error {
	out, err := decodeEdge(b, "")
	if err != nil {
		return err
	}
	*e = out
	return nil
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

func withoutKeys(m map[string]json.RawMessage, keys ...string) map[string]json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// Node returns the index of the node with the given ID, or -1.
func (g Graph) Node(id string) int {
	for i := range g.Nodes {
		if g.Nodes[i].ID == id {
			return i
		}
	}
	return -1
}
