package chatflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// Problem codes of a flow's channel binding.
const (
	// CodeChannelRender warns that a message node is not shown natively
	// on a channel the flow is bound to (channel.Fit degrades it).
	CodeChannelRender = "channel_render"
	// CodeBindingMismatch is the flow bound to a channel its trigger does
	// not listen on: it would never start.
	CodeBindingMismatch = "binding_mismatch"
)

// Option configures a Service.
type Option func(*Service)

// WithChannelLimits gives the service what each channel type shows
// natively (channel.Type.Limits), so the linter can warn, per channel a
// flow is bound to, about message nodes the channel degrades.
func WithChannelLimits(limits func(typ string) *channel.Limits) Option {
	return func(s *Service) { s.limits = limits }
}

// target is a channel (or, for an unbound flow, a channel type its
// trigger names) that a flow's messages are shown on.
type target struct {
	label  string
	limits *channel.Limits
}

// channelProblems are the problems of a flow's binding: an error when the
// bound channel is of a type the trigger does not listen on; a warning per
// message node and bound channel (or, unbound, per channel type the
// trigger names) that the channel cannot show natively.
func (s *Service) channelProblems(ctx context.Context, q store.Channels, projectID, channelID string, g flow.Graph) ([]flow.Problem, error) {
	var ps []flow.Problem
	trig := triggerOf(g)
	var targets []target
	if channelID != "" {
		ch, err := q.ChannelGet(ctx, store.Ref{ProjectID: projectID, ID: channelID})
		if errors.Is(err, store.ErrNotFound) {
			return []flow.Problem{{Severity: flow.SeverityError, Code: CodeBindingMismatch, Pointer: "/channel_id",
				Message: fmt.Sprintf("the bound channel %q no longer exists; bind the flow to another channel or to all", channelID)}}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the bound channel of a flow: %w", err)
		}
		if types := trig.Channels(); len(types) > 0 && !slices.Contains(types, ch.Type) {
			ps = append(ps, flow.Problem{Severity: flow.SeverityError, Code: CodeBindingMismatch, Pointer: "/channel_id",
				Message: fmt.Sprintf("the flow is bound to %q, a %s channel, but its trigger listens on %s: it would never start; bind a %s channel or change the trigger",
					ch.Name, ch.Type, strings.Join(types, ", "), strings.Join(types, " or "))})
		}
		targets = append(targets, target{label: fmt.Sprintf("%q (%s)", ch.Name, ch.Type), limits: s.limitsOf(ch.Type)})
	} else {
		for _, typ := range trig.Channels() {
			targets = append(targets, target{label: typ + " channels", limits: s.limitsOf(typ)})
		}
	}
	for i, n := range g.Nodes {
		if n.Type != flow.TypeMessage {
			continue
		}
		var d flow.MessageData
		if json.Unmarshal(n.Data, &d) != nil {
			continue // the linter reports the data
		}
		var rows []string
		if d.List != nil {
			for _, sec := range d.List.Sections {
				for _, r := range sec.Rows {
					rows = append(rows, r.Title)
				}
			}
		}
		for _, t := range targets {
			if t.limits == nil {
				continue
			}
			if why := channel.Unfit(d.Buttons, rows, *t.limits); why != "" {
				ps = append(ps, flow.Problem{Severity: flow.SeverityWarning, Code: CodeChannelRender, NodeID: n.ID,
					Pointer: "/flow_data/nodes/" + strconv.Itoa(i) + "/data",
					Message: fmt.Sprintf("message node %q cannot be shown natively on %s: %s", n.ID, t.label, why)})
			}
		}
	}
	return ps, nil
}

func (s *Service) limitsOf(typ string) *channel.Limits {
	if s.limits == nil {
		return nil
	}
	return s.limits(typ)
}
