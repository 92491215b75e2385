package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// DecodeError is a document that cannot be read as a flow, with the JSON
// pointer of the offending value.
type DecodeError struct {
	Pointer string
	Msg     string
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Pointer == "" {
		return e.Msg
	}
	return e.Pointer + ": " + e.Msg
}

func decodeErr(ptr, format string, args ...any) *DecodeError {
	return &DecodeError{Pointer: ptr, Msg: fmt.Sprintf(format, args...)}
}

// DecodeGraph reads a flow_data document, reporting structural problems
// (not JSON, a node that is not an object, an id that is not a string…)
// with their JSON pointer. Semantic problems are the linter's job.
func DecodeGraph(b []byte) (Graph, error) {
	return decodeGraph(b, "")
}

func decodeObject(b []byte, ptr, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, decodeErr(ptr, "%s must be a JSON object", what)
	}
	return m, nil
}

func decodeGraph(b []byte, ptr string) (Graph, error) {
	m, err := decodeObject(b, ptr, "flow_data")
	if err != nil {
		return Graph{}, err
	}
	var g Graph
	if raw, ok := m["nodes"]; ok && !isNull(raw) {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return Graph{}, decodeErr(ptr+"/nodes", "nodes must be an array")
		}
		g.Nodes = make([]Node, 0, len(items))
		for i, it := range items {
			n, err := decodeNode(it, ptr+"/nodes/"+strconv.Itoa(i))
			if err != nil {
				return Graph{}, err
			}
			g.Nodes = append(g.Nodes, n)
		}
	}
	if raw, ok := m["edges"]; ok && !isNull(raw) {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return Graph{}, decodeErr(ptr+"/edges", "edges must be an array")
		}
		g.Edges = make([]Edge, 0, len(items))
		for i, it := range items {
			e, err := decodeEdge(it, ptr+"/edges/"+strconv.Itoa(i))
			if err != nil {
				return Graph{}, err
			}
			g.Edges = append(g.Edges, e)
		}
	}
	delete(m, "nodes")
	delete(m, "edges")
	if len(m) > 0 {
		g.Extra = m
	}
	return g, nil
}

func isNull(b json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(b), []byte("null"))
}

// stringField reads an optional string member; null counts as absent.
func stringField(m map[string]json.RawMessage, key, ptr string) (string, error) {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		// React Flow ids are strings, but hand-written documents often use
		// numbers; accept those losslessly as their decimal text.
		var n json.Number
		if key != "label" && json.Unmarshal(raw, &n) == nil {
			return n.String(), nil
		}
		return "", decodeErr(ptr+"/"+key, "%s must be a string", key)
	}
	return s, nil
}

func decodeNode(b []byte, ptr string) (Node, error) {
	m, err := decodeObject(b, ptr, "a node")
	if err != nil {
		return Node{}, err
	}
	var n Node
	if n.ID, err = stringField(m, "id", ptr); err != nil {
		return Node{}, err
	}
	if n.Type, err = stringField(m, "type", ptr); err != nil {
		return Node{}, err
	}
	if raw, ok := m["position"]; ok && !isNull(raw) {
		var p Position
		if err := json.Unmarshal(raw, &p); err != nil {
			return Node{}, decodeErr(ptr+"/position", "position must be {\"x\": number, \"y\": number}")
		}
		n.Position = &p
	}
	if raw, ok := m["data"]; ok && !isNull(raw) {
		if _, err := decodeObject(raw, ptr+"/data", "data"); err != nil {
			return Node{}, err
		}
		n.Data = compactJSON(raw)
	}
	for _, k := range nodeKeys {
		delete(m, k)
	}
	if len(m) > 0 {
		n.Extra = m
	}
	return n, nil
}

func decodeEdge(b []byte, ptr string) (Edge, error) {
	m, err := decodeObject(b, ptr, "an edge")
	if err != nil {
		return Edge{}, err
	}
	var e Edge
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"id", &e.ID}, {"source", &e.Source}, {"sourceHandle", &e.SourceHandle},
		{"target", &e.Target}, {"targetHandle", &e.TargetHandle}, {"label", &e.Label},
	} {
		if *f.dst, err = stringField(m, f.key, ptr); err != nil {
			return Edge{}, err
		}
	}
	if raw, ok := m["data"]; ok && !isNull(raw) {
		if _, err := decodeObject(raw, ptr+"/data", "data"); err != nil {
			return Edge{}, err
		}
		e.Data = compactJSON(raw)
	}
	for _, k := range edgeKeys {
		delete(m, k)
	}
	if len(m) > 0 {
		e.Extra = m
	}
	return e, nil
}
