package flow

// TypeSubflow runs another flow and returns.
const TypeSubflow = "subflow"

// SubflowData is the data of a subflow node.
type SubflowData struct {
	FlowID string `json:"flow_id" flow:"required"`
}

// Exit indices of a subflow node.
const (
	SubflowExitCompleted = 0
	SubflowExitFailed    = 1
)

// SubflowConfig configures a subflow node.
type SubflowConfig struct{ FlowID string }

// KindSubflow is the Kind of subflow nodes.
const KindSubflow Kind = 13

var subflowNode = def[SubflowData]{
	kind: KindSubflow,
	NodeType: NodeType{Type: TypeSubflow, Group: GroupLogic, Label: "Subflow", Description: "Runs another published flow, then returns.",
		Palette: true, Available: true, Exits: staticExits(ExitCompleted, ExitFailed)},
	aliases: []string{"enterflow", "runflow", "startsubflow"},
	check: func(a *analysis, i int, d *SubflowData) {
		if a.env != nil && d.FlowID != "" && !a.env.FlowExists(d.FlowID) {
			a.nodeErr(i, CodeUnknownSubflow, "/data/flow_id", "%s runs flow %q, which does not exist in this project; pick an existing flow", a.label(i), d.FlowID)
		}
	},
	compile: func(_ *compiler, d *SubflowData) any { return &SubflowConfig{FlowID: d.FlowID} },
}
