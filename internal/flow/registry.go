package flow

import (
	"sort"
	"strings"
)

// registry lists every node type, in palette order within each group. A new
// node type is a node_*.go file declaring a def and one line here (and one
// in the engine's executors when the engine runs it).
var registry = []*spec{
	startNode.spec(),
	endNode.spec(),
	messageNode.spec(),
	templateNode.spec(),
	waitNode.spec(),
	conditionNode.spec(),
	splitNode.spec(),
	setVariableNode.spec(),
	actionNode.spec(),
	httpRequestNode.spec(),
	codeNode.spec(),
	dataNode.spec(),
	whatsAppFlowNode.spec(),
	delayNode.spec(),
	subflowNode.spec(),
	handoffNode.spec(),
	aiAgentNode.spec(),
	voiceCallNode.spec(),
	waitInboundCallNode.spec(),
	voiceTransferNode.spec(),
}

// specs indexes the registry by type name; kindByType by Kind. Both are
// built once at package init and never modified.
var (
	specs      = map[string]*spec{}
	kindByType = map[string]Kind{}
	// foreignTypes maps step names of other tools, normalised (lower case,
	// no separators), to node types.
	foreignTypes = map[string]string{}
)

func init() {
	kinds := map[Kind]bool{}
	for _, s := range registry {
		if _, dup := specs[s.Type]; dup || s.kind == KindInvalid || kinds[s.kind] {
			panic("node type " + s.Type + " is registered twice or has no unique kind")
		}
		kinds[s.kind] = true
		specs[s.Type] = s
		kindByType[s.Type] = s.kind
		foreignTypes[strings.ReplaceAll(s.Type, "_", "")] = s.Type
		for _, a := range s.aliases {
			foreignTypes[a] = s.Type
		}
	}
}

// KindOf returns the Kind of a node type name, KindInvalid when unknown.
func KindOf(typ string) Kind { return kindByType[typ] }

// MaxKind is the largest registered Kind, to size dispatch tables.
func MaxKind() Kind {
	var m Kind
	for _, s := range registry {
		m = max(m, s.kind)
	}
	return m
}

// NodeTypes lists every registered node type, sorted by group then type
// (group_order gives the palette's order of the groups).
func NodeTypes() []NodeType {
	out := make([]NodeType, 0, len(registry))
	for _, s := range registry {
		out = append(out, s.NodeType)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// LookupNodeType returns the registered node type named t.
func LookupNodeType(t string) (NodeType, bool) {
	s, ok := specs[t]
	if !ok {
		return NodeType{}, false
	}
	return s.NodeType, true
}
