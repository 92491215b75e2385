package flow

// Program is a compiled flow: the immutable IR the engine interprets. Nodes
// are addressed by index; exits are resolved to target indices, templates
// and expressions are parsed and regexes compiled, so stepping a node needs
// no map lookup and no JSON. A Program is safe for concurrent use.
type Program struct {
	// Steps are the compiled nodes, in the order of the graph's nodes.
	Steps []Step
	// Start is the index of the start node.
	Start int
	// Trigger is the start node's trigger (manual when it has none).
	Trigger Trigger
	// Hash fingerprints the graph the program was compiled from (hex
	// SHA-256 of its canonical JSON): equal graphs give equal hashes.
	Hash  string
	index map[string]int
}

// NodeIndex returns the index of the node with the given ID, for resuming a
// stored session (not for the hot path).
func (p *Program) NodeIndex(id string) (int, bool) {
	i, ok := p.index[id]
	return i, ok
}

// Kind enumerates node types for a cheap switch in the engine.
type Kind uint8

// KindInvalid is the Kind of no registered type; each node_*.go file
// declares its type's Kind.
const KindInvalid Kind = 0

// NoTarget is the Target of an unconnected exit: taking it ends the session
// (completed).
const NoTarget = -1

// Step is one compiled node.
type Step struct {
	// ID is the graph node ID (for traces and analytics).
	ID string
	// Type is the node type name; Kind the same as an enum.
	Type string
	Kind Kind
	// Waits is true when entering the node always ends the sprint (it waits
	// for input, a timer or a release).
	Waits bool
	// Exits in the order documented per type: static exits in registry
	// order; buttons/list rows/rules/branches in data order followed by
	// other+timeout (messages, templates) or else (conditions).
	Exits []Exit
	// Config is the typed configuration, a pointer to the *Config struct
	// of the node's type (e.g. *MessageConfig for message nodes).
	Config any
}

// Exit is a resolved exit.
type Exit struct {
	// Name is the exit name (a button title, rule id, next, timeout…).
	Name string
	// Target is the index of the next node, or NoTarget.
	Target int
	// EdgeID is the edge taken, for analytics ("" when unconnected).
	EdgeID string
}

// ExitIndex returns the index of the named exit or -1 (a linear scan; use
// the indices in the configs on the hot path).
func (n *Step) ExitIndex(name string) int {
	for i, e := range n.Exits {
		if e.Name == name {
			return i
		}
	}
	return -1
}
