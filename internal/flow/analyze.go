package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/expr"
)

// MaxNodes is the largest graph the linter accepts.
const MaxNodes = 1000

// LintEnv lets the linter check references into the project. A nil LintEnv
// skips those checks.
type LintEnv interface {
	// TemplateExists reports whether the project has the message template
	// with this ID or, when id is empty, this name.
	TemplateExists(id, name string) bool
	// FlowExists reports whether the project has the chat flow with this ID.
	FlowExists(id string) bool
}

// TemplateButtonsEnv is an optional extension of LintEnv: it returns the
// quick-reply button titles of a template, which become the exits of a
// template node whose data does not list its buttons.
type TemplateButtonsEnv interface {
	TemplateButtons(id, name string) (titles []string, ok bool)
}

// ChannelTypesEnv is an optional extension of LintEnv: the channel types
// this build can connect (the channel registry's), which start triggers
// may listen on.
type ChannelTypesEnv interface {
	// ChannelTypes lists the connectable channel types; nil when unknown
	// (nothing is checked then).
	ChannelTypes() []string
}

// WhatsAppFlowEnv is an optional extension of LintEnv that checks the
// whatsapp_flow_id of whatsapp_flow nodes.
type WhatsAppFlowEnv interface {
	WhatsAppFlowExists(id string) bool
}

// AIProvidersEnv is an optional extension of LintEnv: the project's AI
// providers, which ai_agent nodes call (ok false when unknown: nothing is
// checked then).
type AIProvidersEnv interface {
	AIProviders() (ids []string, ok bool)
}

type nodeInfo struct {
	spec  *spec
	data  any // pointer to the type's data struct; nil when undecodable
	json  any // data as decoded JSON, for the declarative rules (exits, variables)
	exits []exitDef
	waits bool
	ptr   string
	// out[e] is the edge index leaving through exit e, or -1.
	out  []int
	refs []templateRef
}

type templateRef struct {
	ptr string
	ref expr.Ref
}

type edgeInfo struct {
	src, dst int // node indices, -1 when dangling
	exit     int // exit index on src, -1 when unresolved
	ptr      string
}

// analysis is the shared first pass of Lint and Compile.
type analysis struct {
	g     Graph
	env   LintEnv
	nodes []nodeInfo
	edges []edgeInfo
	byID  map[string]int
	start int
	out   Problems
}

func (a *analysis) add(sev Severity, code string, node, edge int, ptr, format string, args ...any) {
	p := Problem{Severity: sev, Code: code, Pointer: ptr, Message: fmt.Sprintf(format, args...)}
	if node >= 0 && node < len(a.g.Nodes) {
		p.NodeID = a.g.Nodes[node].ID
	}
	if edge >= 0 && edge < len(a.g.Edges) {
		p.EdgeID = a.g.Edges[edge].ID
	}
	a.out = append(a.out, p)
}

func (a *analysis) nodeErr(i int, code, ptr, format string, args ...any) {
	a.add(SeverityError, code, i, -1, a.nodes[i].ptr+ptr, format, args...)
}

func (a *analysis) nodeWarn(i int, code, ptr, format string, args ...any) {
	a.add(SeverityWarning, code, i, -1, a.nodes[i].ptr+ptr, format, args...)
}

// label names a node in messages.
func (a *analysis) label(i int) string {
	n := a.g.Nodes[i]
	if n.ID == "" {
		return fmt.Sprintf("node #%d (%s)", i, n.Type)
	}
	return fmt.Sprintf("%s node %q", n.Type, n.ID)
}

func analyze(g Graph, env LintEnv) *analysis {
	a := &analysis{g: g, env: env, byID: make(map[string]int, len(g.Nodes)), start: -1}
	if len(g.Nodes) > MaxNodes {
		a.add(SeverityError, CodeTooManyNodes, -1, -1, "/nodes", "the flow has %d nodes; the limit is %d — split it into subflows", len(g.Nodes), MaxNodes)
		return a
	}
	a.nodes = make([]nodeInfo, len(g.Nodes))
	a.checkIDs()
	for i := range g.Nodes {
		a.node(i)
	}
	a.resolveEdges()
	return a
}

func (a *analysis) checkIDs() {
	for i, n := range a.g.Nodes {
		a.nodes[i].ptr = "/nodes/" + strconv.Itoa(i)
		switch _, dup := a.byID[n.ID]; {
		case n.ID == "":
			a.nodeErr(i, CodeMissingID, "/id", "a %s node has no id; give every node a unique id", n.Type)
		case dup:
			a.nodeErr(i, CodeDuplicateNodeID, "/id", "node id %q is used more than once; node ids must be unique", n.ID)
		default:
			a.byID[n.ID] = i
		}
	}
	seen := make(map[string]bool, len(a.g.Edges))
	for i, e := range a.g.Edges {
		ptr := "/edges/" + strconv.Itoa(i) + "/id"
		switch {
		case e.ID == "":
			a.add(SeverityError, CodeMissingID, -1, i, ptr, "the edge from %q to %q has no id; give every edge a unique id", e.Source, e.Target)
		case seen[e.ID]:
			a.add(SeverityError, CodeDuplicateEdgeID, -1, i, ptr, "edge id %q is used more than once; edge ids must be unique", e.ID)
		default:
			seen[e.ID] = true
		}
	}
}

// node checks one node's type and data and computes its exits.
func (a *analysis) node(i int) {
	n := a.g.Nodes[i]
	info := &a.nodes[i]
	s, ok := specs[n.Type]
	if !ok {
		a.nodeErr(i, CodeUnknownNodeType, "/type", "unknown node type %q; use one of %s", n.Type, strings.Join(typeNames(), ", "))
		return
	}
	info.spec = s
	if !s.Available {
		a.nodeWarn(i, CodeNotExecutable, "/type", "%s nodes are not executed yet; a session reaching %q fails — keep it in drafts or remove it", n.Type, n.ID)
	}
	raw := n.Data
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	where := a.label(i)
	check := schemaCheck{
		// The checker builds full pointers (it starts at info.ptr+"/data"),
		// so they are added as they are, not under the node's pointer again.
		report: func(code, ptr, msg string) { a.add(SeverityError, code, i, -1, ptr, "%s", msg) },
		template: func(ptr, src string) {
			t, err := expr.ParseTemplate(src)
			if err != nil {
				var se *expr.SyntaxError
				if errors.As(err, &se) {
					a.add(SeverityError, CodeExpressionSyntax, i, -1, ptr, "%s: template error at line %d, column %d (offset %d): %s", where, se.Line, se.Column, se.Offset, se.Msg)
				} else {
					a.add(SeverityError, CodeExpressionSyntax, i, -1, ptr, "%s: %v", where, err)
				}
				return
			}
			for _, r := range t.Refs() {
				info.refs = append(info.refs, templateRef{ptr: ptr, ref: r})
			}
		},
		regex: func(ptr, src string) {
			if _, err := regexp.Compile(src); err != nil {
				a.add(SeverityError, CodeInvalidRegex, i, -1, ptr, "%s: invalid regular expression %q: %v", where, src, err)
			}
		},
	}
	if !check.object(s.Fields, raw, info.ptr+"/data", where) {
		return
	}
	data := reflect.New(s.dataType).Interface()
	if err := json.Unmarshal(raw, data); err != nil {
		a.nodeErr(i, CodeWrongType, "/data", "%s: data cannot be read: %v", where, err)
		return
	}
	info.data = data
	s.check(a, i, data)
	s.resolve(a, i, data)
	if s.needsJSON {
		info.json = toJSONValue(data)
	}
	info.exits = s.Exits.of(info.json)
	info.waits = s.waits(data)
	info.out = make([]int, len(info.exits))
	for k := range info.out {
		info.out[k] = -1
	}
}

func typeNames() []string {
	out := make([]string, 0, len(specs))
	for _, t := range NodeTypes() {
		out = append(out, t.Type)
	}
	return out
}

// edgeExitName is the exit an edge names: sourceHandle, else a trigger_value.
func edgeExitName(e Edge) string {
	if e.SourceHandle != "" {
		return e.SourceHandle
	}
	return e.Trigger().TriggerValue
}

// defaultExit is the exit an edge without a name leaves by: next, or the
// only required exit.
func defaultExit(exits []exitDef) int {
	req := -1
	for k, x := range exits {
		if x.name == ExitNext {
			return k
		}
		if !x.optional {
			if req >= 0 {
				return -1
			}
			req = k
		}
	}
	return req
}

func exitNames(exits []exitDef) string {
	names := make([]string, len(exits))
	for k, x := range exits {
		names[k] = strconv.Quote(x.name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (a *analysis) resolveEdges() {
	a.edges = make([]edgeInfo, len(a.g.Edges))
	for i, e := range a.g.Edges {
		ei := &a.edges[i]
		ei.ptr = "/edges/" + strconv.Itoa(i)
		ei.src, ei.dst, ei.exit = -1, -1, -1
		if len(e.Data) > 0 {
			var raw map[string]any
			_ = json.Unmarshal(e.Data, &raw)
			for _, k := range []string{"trigger", "trigger_value"} {
				if v, ok := raw[k]; ok && v != nil {
					if _, ok := v.(string); !ok {
						a.add(SeverityError, CodeWrongType, -1, i, ei.ptr+"/data/"+k, "edge %q: data.%s must be a string", e.ID, k)
					}
				}
			}
		}
		if idx, ok := a.byID[e.Source]; ok {
			ei.src = idx
		} else {
			a.add(SeverityError, CodeDanglingEdge, -1, i, ei.ptr+"/source", "edge %q starts at node %q, which does not exist; reconnect or delete the edge", e.ID, e.Source)
		}
		if idx, ok := a.byID[e.Target]; ok {
			ei.dst = idx
		} else {
			a.add(SeverityError, CodeDanglingEdge, -1, i, ei.ptr+"/target", "edge %q leads to node %q, which does not exist; reconnect or delete the edge", e.ID, e.Target)
		}
		if ei.src < 0 || a.nodes[ei.src].data == nil {
			continue
		}
		src := &a.nodes[ei.src]
		trig := e.Trigger()
		if e.SourceHandle != "" && trig.TriggerValue != "" && trig.Trigger == "button_click" && e.SourceHandle != trig.TriggerValue {
			a.add(SeverityError, CodeConflictingEdgeExit, -1, i, ei.ptr+"/sourceHandle", "edge %q names exit %q in sourceHandle but %q in data.trigger_value; make them agree", e.ID, e.SourceHandle, trig.TriggerValue)
			continue
		}
		name := edgeExitName(e)
		k := -1
		if name == "" {
			k = defaultExit(src.exits)
			if k < 0 {
				a.add(SeverityError, CodeUnknownExit, -1, i, ei.ptr+"/sourceHandle", "edge %q leaves %s without naming an exit, and the node has several (%s); set sourceHandle", e.ID, a.label(ei.src), exitNames(src.exits))
				continue
			}
		} else {
			for j, x := range src.exits {
				if x.name == name {
					k = j
					break
				}
			}
			if k < 0 {
				ptr := ei.ptr + "/sourceHandle"
				if e.SourceHandle == "" {
					ptr = ei.ptr + "/data/trigger_value"
				}
				a.add(SeverityError, CodeUnknownExit, -1, i, ptr, "%s has no exit %q (its exits: %s); reconnect the edge to an existing exit", a.label(ei.src), name, exitNames(src.exits))
				continue
			}
		}
		ei.exit = k
		if prev := src.out[k]; prev >= 0 {
			a.add(SeverityError, CodeDuplicateExitEdge, -1, i, ei.ptr, "exit %q of %s already leads to %q through edge %q; an exit has one edge — delete one of them", src.exits[k].name, a.label(ei.src), a.g.Edges[prev].Target, a.g.Edges[prev].ID)
			continue
		}
		src.out[k] = i
	}
}

// ResolvedExits is how the linter resolves a graph's edges: EdgeExit[i] is the
// exit edge i leaves its source by ("" when it names none the node has),
// and NodeExits the exits of each node by ID. The chat-flow API checks an
// edge write with it.
type ResolvedExits struct {
	EdgeExit  []string
	NodeExits map[string][]string
}

// ResolveExits resolves g's edges to exits as Lint does (env as there).
func ResolveExits(g Graph, env LintEnv) ResolvedExits {
	a := analyze(g, env)
	out := ResolvedExits{EdgeExit: make([]string, len(g.Edges)), NodeExits: make(map[string][]string, len(g.Nodes))}
	for i := range a.nodes {
		names := make([]string, 0, len(a.nodes[i].exits))
		for _, x := range a.nodes[i].exits {
			names = append(names, x.name)
		}
		out.NodeExits[g.Nodes[i].ID] = names
	}
	for i, ei := range a.edges {
		if ei.src >= 0 && ei.exit >= 0 && ei.exit < len(a.nodes[ei.src].exits) {
			out.EdgeExit[i] = a.nodes[ei.src].exits[ei.exit].name
		}
	}
	return out
}
