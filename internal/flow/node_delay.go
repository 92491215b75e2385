package flow

import "time"

// TypeDelay waits a duration.
const TypeDelay = "delay"

const maxDelaySeconds = 30 * 24 * 3600

// DelayData is the data of a delay node.
type DelayData struct {
	Seconds int `json:"seconds" flow:"required"`
}

// DelayConfig configures a delay node (exit: next).
type DelayConfig struct{ Duration time.Duration }

// KindDelay is the Kind of delay nodes.
const KindDelay Kind = 12

var delayNode = def[DelayData]{
	kind: KindDelay,
	NodeType: NodeType{Type: TypeDelay, Group: GroupLogic, Label: "Delay", Description: "Waits a duration without input.",
		Palette: true, Available: true, Exits: staticExits(ExitNext),
		Limits:   []Limit{rangeLimit("seconds", 1, maxDelaySeconds, "seconds must be between 1 and 2592000 (30 days)")},
		Defaults: map[string]any{"seconds": 60}},
	aliases: []string{"wait", "sleep", "pause"},
	waits:   func(*DelayData) bool { return true },
	check: func(a *analysis, i int, d *DelayData) {
		if d.Seconds <= 0 || d.Seconds > maxDelaySeconds {
			a.nodeErr(i, CodeInvalidValue, "/data/seconds", "%s: seconds must be between 1 and %d (30 days)", a.label(i), maxDelaySeconds)
		}
	},
	compile: func(_ *compiler, d *DelayData) any { return &DelayConfig{Duration: seconds(d.Seconds)} },
}
