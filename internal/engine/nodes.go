package engine

import (
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/flow"
)

// executor is how the engine runs one node type; each node_*.go file
// declares one and executors lists it. Nil hooks mean the type does not
// take that input.
type executor struct {
	// enter runs a node that was just entered and returns the next node or
	// stop.
	enter func(r *sprint, st *flow.Step) int
	// resume applies an inbound message to a session waiting at the node.
	resume func(r *sprint, st *flow.Step, in *Input)
	// timeout returns the exit a fired timer takes (exit 0 when nil).
	timeout func(r *sprint, st *flow.Step) int
	// release continues a session an agent released.
	release func(r *sprint, st *flow.Step, in Input)
}

// executors lists the node types the engine runs, by type name. A type the
// flow package registers but this table lacks (the voice types not built
// yet) fails the
// session when reached.
var executors = map[string]executor{
	flow.TypeStart:           startExec,
	flow.TypeEnd:             endExec,
	flow.TypeMessage:         messageExec,
	flow.TypeTemplate:        templateExec,
	flow.TypeWaitForResponse: waitExec,
	flow.TypeCondition:       conditionExec,
	flow.TypeSplit:           splitExec,
	flow.TypeSetVariable:     setVariableExec,
	flow.TypeAction:          actionExec,
	flow.TypeHTTPRequest:     httpRequestExec,
	flow.TypeCode:            codeExec,
	flow.TypeData:            dataExec,
	flow.TypeWhatsAppFlow:    whatsAppFlowExec,
	flow.TypeDelay:           delayExec,
	flow.TypeSubflow:         subflowExec,
	flow.TypeHandoff:         handoffExec,
	flow.TypeAIAgent:         aiAgentExec,
	flow.TypeVoiceCall:       voiceCallExec,
	flow.TypeWaitInboundCall: waitInboundCallExec,
	flow.TypeVoiceTransfer:   voiceTransferExec,
}

// byKind indexes executors by flow.Kind for the hot path; it is filled
// once at init (not in its declaration, which would make an
// initialization cycle through the executors' use of run).
var byKind []executor

func init() {
	byKind = make([]executor, flow.MaxKind()+1)
	for t, x := range executors {
		if k := flow.KindOf(t); k != flow.KindInvalid {
			byKind[k] = x
		}
	}
}

// executorOf returns the executor of a step; its enter is nil for types
// the engine does not run.
func executorOf(st *flow.Step) executor {
	if int(st.Kind) < len(byKind) {
		return byKind[st.Kind]
	}
	return executor{}
}

// exec runs a node that was just entered and returns the next node or stop.
func (r *sprint) exec(st *flow.Step) int {
	if x := executorOf(st); x.enter != nil {
		return x.enter(r, st)
	}
	// Voice nodes (and anything newer than this engine): not executable.
	msg := fmt.Sprintf("%s nodes are not supported yet", st.Type)
	r.errorf("type", errors.New(msg))
	if k := st.ExitIndex(flow.ExitFailed); k >= 0 {
		return r.take(k)
	}
	return r.fail(fmt.Sprintf("node %q: %s", st.ID, msg))
}

func (r *sprint) send(m *Message) {
	r.emit(Event{Kind: EventMessageOut, Node: r.nodeID(), Message: m})
}

// next leaves a node by its single exit.
func next(r *sprint, _ *flow.Step) int { return r.take(0) }
