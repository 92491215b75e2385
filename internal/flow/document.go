package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Export format identifiers.
const (
	FormatName    = "parley.flow"
	FormatVersion = 1
)

// Settings are the flow settings carried by an exported document.
type Settings struct {
	Name               string       `json:"name"`
	Remark             string       `json:"remark,omitempty"`
	Trigger            *TriggerData `json:"trigger,omitempty"`
	Logging            bool         `json:"logging"`
	ExpireAfterSeconds int          `json:"expire_after_seconds,omitempty"`
	// OnRetrigger is ignore or restart: what happens when a contact already
	// in the flow triggers it again.
	OnRetrigger   string `json:"on_retrigger,omitempty"`
	StartTemplate string `json:"start_template,omitempty"`
}

// Document is a self-contained exported flow.
type Document struct {
	Format   string   `json:"format"`
	Version  int      `json:"version"`
	Flow     Settings `json:"flow"`
	FlowData Graph    `json:"flow_data"`
}

// Export encodes a flow as an indented, deterministic JSON document. The
// trigger setting is taken from the start node when the graph has one.
func Export(d Document) ([]byte, error) {
	d.Format, d.Version = FormatName, FormatVersion
	if t := startTrigger(d.FlowData); t != nil {
		d.Flow.Trigger = t
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("exporting flow %q: %w", d.Flow.Name, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, fmt.Errorf("exporting flow %q: %w", d.Flow.Name, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func startTrigger(g Graph) *TriggerData {
	for _, n := range g.Nodes {
		if n.Type != TypeStart || len(n.Data) == 0 {
			continue
		}
		var sd StartData
		if json.Unmarshal(n.Data, &sd) == nil && sd.Trigger != nil {
			return sd.Trigger
		}
		return nil
	}
	return nil
}

// Import reads an exported document, a chat-flow API flow object (with
// flow_data), or a bare {nodes, edges} graph. Node types of other tools
// (SendMessage, WaitForResponse, …) are mapped to Parley's. Structural
// errors name what is wrong and where (a *DecodeError with a JSON pointer);
// semantic problems are left to Lint so an imperfect flow can still be
// imported as a draft.
func Import(b []byte) (Document, error) {
	top, err := decodeObject(b, "", "the document")
	if err != nil {
		var probe any
		if jerr := json.Unmarshal(b, &probe); jerr != nil {
			return Document{}, decodeErr("", "not valid JSON: %v", jerr)
		}
		return Document{}, err
	}
	var d Document
	switch {
	case top["format"] != nil:
		var format string
		if json.Unmarshal(top["format"], &format) != nil || format != FormatName {
			return Document{}, decodeErr("/format", "format must be %q", FormatName)
		}
		var version int
		if raw, ok := top["version"]; ok && json.Unmarshal(raw, &version) != nil {
			return Document{}, decodeErr("/version", "version must be a number")
		}
		if version > FormatVersion {
			return Document{}, decodeErr("/version", "version %d is newer than this Parley understands (%d); upgrade Parley", version, FormatVersion)
		}
		if raw, ok := top["flow"]; ok && !isNull(raw) {
			if err := json.Unmarshal(raw, &d.Flow); err != nil {
				return Document{}, decodeErr("/flow", "flow settings cannot be read: %v", err)
			}
		}
		raw, ok := top["flow_data"]
		if !ok {
			return Document{}, decodeErr("/flow_data", "the document has no flow_data")
		}
		if d.FlowData, err = decodeGraph(raw, "/flow_data"); err != nil {
			return Document{}, err
		}
	case top["flow_data"] != nil:
		// A chat-flow API flow object.
		var s struct {
			Name          string          `json:"name"`
			Remark        string          `json:"remark"`
			StartTemplate json.RawMessage `json:"start_template"`
			Logging       *bool           `json:"logging"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return Document{}, decodeErr("", "flow settings cannot be read: %v", err)
		}
		d.Flow = Settings{Name: s.Name, Remark: s.Remark, Logging: s.Logging == nil || *s.Logging}
		if len(s.StartTemplate) > 0 && !isNull(s.StartTemplate) {
			// Template IDs may be strings or numbers in the chat-flow API.
			var str string
			if json.Unmarshal(s.StartTemplate, &str) == nil {
				d.Flow.StartTemplate = str
			} else {
				d.Flow.StartTemplate = string(bytes.TrimSpace(s.StartTemplate))
			}
		}
		if d.FlowData, err = decodeGraph(top["flow_data"], "/flow_data"); err != nil {
			return Document{}, err
		}
	case top["nodes"] != nil:
		if d.FlowData, err = decodeGraph(b, ""); err != nil {
			return Document{}, err
		}
		d.Flow.Logging = true
	default:
		return Document{}, decodeErr("", "expected a parley.flow document, a flow with flow_data, or a graph with nodes and edges")
	}
	for i := range d.FlowData.Nodes {
		d.FlowData.Nodes[i].Type = NormalizeType(d.FlowData.Nodes[i].Type)
	}
	d.Format, d.Version = FormatName, FormatVersion
	return d, nil
}

// NormalizeType maps a node type of Parley or of another tool (SendMessage,
// send_message, WaitForResponse…) to Parley's type name; unknown names are
// returned unchanged so the linter can report them.
func NormalizeType(t string) string {
	if _, ok := specs[t]; ok {
		return t
	}
	key := strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(t))
	if m, ok := foreignTypes[key]; ok {
		return m
	}
	return t
}
