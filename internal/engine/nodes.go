package engine

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/flow"
)

// Contact changes of contact_changed events.
const (
	ChangeAddTag    = "add_tag"
	ChangeRemoveTag = "remove_tag"
	ChangeSetField  = "set_field"
	ChangeOptOut    = "opt_out"
	ChangeOptIn     = "opt_in"
	ChangeAssign    = "assign"
	ChangeClose     = "close"
	// ChangeHandoff: the conversation is handed to a human (Name is the
	// assignee, possibly empty); the bot is silent until released.
	ChangeHandoff = "handoff"
)

// exec runs a node that was just entered and returns the next node or stop.
func (r *sprint) exec(st *flow.Step) int {
	switch st.Kind {
	case flow.KindStart:
		return r.take(0)
	case flow.KindEnd:
		c := st.Config.(*flow.EndConfig)
		if c.Text != nil {
			r.send(&Message{Type: MessageText, Text: r.render(c.Text, "text")})
		}
		return r.finish("reached end node " + strconv.Quote(st.ID))
	case flow.KindMessage:
		return r.message(st.Config.(*flow.MessageConfig))
	case flow.KindTemplateMsg:
		return r.template(st.Config.(*flow.TemplateConfig))
	case flow.KindWaitForResponse:
		return r.wait(WaitReply, st.Config.(*flow.WaitConfig).Timeout, 0)
	case flow.KindCondition:
		k, err := st.Config.(*flow.ConditionConfig).Choose(&r.env)
		if err != nil {
			r.errorf("rules", err)
		}
		return r.take(k)
	case flow.KindSplit:
		return r.take(st.Config.(*flow.SplitConfig).Pick(r.random()))
	case flow.KindSetVariable:
		c := st.Config.(*flow.SetVariableConfig)
		for i := range c.Assignments {
			a := &c.Assignments[i]
			r.setVar(a.Variable, r.value(a.Value, "assignments"))
		}
		return r.take(0)
	case flow.KindAction:
		r.action(st.Config.(*flow.ActionConfig))
		return r.take(0)
	case flow.KindHTTPRequest:
		return r.httpRequest(st.Config.(*flow.HTTPConfig))
	case flow.KindWhatsAppFlow:
		c := st.Config.(*flow.WhatsAppFlowConfig)
		r.send(&Message{Type: MessageWhatsAppFlow, Flow: &FlowMessage{ID: c.WhatsAppFlowID, Header: r.render(c.Header, "header"),
			Body: r.render(c.Body, "body"), CTA: c.CTA, Screen: c.Screen, Data: c.Data, Mode: c.Mode, Token: flowToken(r.s, r.s.Wait.Seq+1)}})
		return r.wait(WaitFlow, c.Timeout, 0)
	case flow.KindDelay:
		d := st.Config.(*flow.DelayConfig).Duration
		if d <= 0 {
			return r.take(0)
		}
		return r.wait(WaitDelay, d, 0)
	case flow.KindSubflow:
		return r.subflow(st.Config.(*flow.SubflowConfig))
	case flow.KindHandoff:
		c := st.Config.(*flow.HandoffConfig)
		if c.Message != nil {
			r.send(&Message{Type: MessageText, Text: r.render(c.Message, "message")})
		}
		r.emit(Event{Kind: EventContactChanged, Node: st.ID, Change: ChangeHandoff, Name: c.Assignee})
		return r.wait(WaitHandoff, c.Timeout, 0)
	case flow.KindAIAgent:
		return r.aiAgent(st.Config.(*flow.AIAgentConfig))
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

func (r *sprint) message(c *flow.MessageConfig) int {
	m := &Message{Type: MessageText, Text: r.render(c.Text, "text")}
	if c.Media != nil {
		m.Type = MessageMedia
		m.Media = &Media{Type: c.Media.Type, URL: r.render(c.Media.URL, "media.url"), Caption: r.render(c.Media.Caption, "media.caption")}
	}
	switch {
	case len(c.Buttons) > 0:
		m.Type, m.Buttons = MessageButtons, c.Buttons
	case c.List != nil:
		m.Type, m.List = MessageList, c.List
	}
	r.send(m)
	if c.Choices == nil {
		return r.take(0)
	}
	kind := WaitButton
	if c.List != nil && len(c.Buttons) == 0 {
		kind = WaitList
	}
	return r.wait(kind, c.Choices.Wait, 0)
}

func (r *sprint) template(c *flow.TemplateConfig) int {
	t := &Template{ID: c.TemplateID, Name: c.TemplateName, Language: c.Language,
		Header: r.renderAll(c.Header, "params.header"), Body: r.renderAll(c.Body, "params.body"), ButtonParams: r.renderAll(c.ButtonParams, "params.buttons")}
	if c.Choices != nil {
		t.QuickReplies = c.Choices.Titles
	}
	r.send(&Message{Type: MessageTemplate, Template: t})
	if c.Choices == nil {
		return r.take(0)
	}
	return r.wait(WaitButton, c.Choices.Wait, 0)
}

func (r *sprint) action(c *flow.ActionConfig) {
	ct := &r.env.Contact
	ev := Event{Kind: EventContactChanged, Node: r.nodeID(), Change: c.Action}
	switch c.Action {
	case ChangeAddTag, ChangeRemoveTag:
		tag := strings.TrimSpace(r.render(c.Tag, "tag"))
		if tag == "" {
			r.errorf("tag", errors.New("the tag is empty"))
			return
		}
		ev.Name = tag
		i := slices.Index(ct.Tags, tag)
		if c.Action == ChangeAddTag && i < 0 {
			ct.Tags = append(ct.Tags, tag)
		} else if c.Action == ChangeRemoveTag && i >= 0 {
			ct.Tags = slices.Delete(slices.Clone(ct.Tags), i, i+1)
		}
	case ChangeSetField:
		v := normalize(r.value(c.Value, "value"))
		if ct.Fields == nil {
			ct.Fields = make(map[string]any, 4)
		}
		ct.Fields[c.Field] = v
		ev.Name, ev.Value = c.Field, v
	case ChangeAssign:
		ev.Name = c.Assignee
	}
	r.emit(ev)
}

func (r *sprint) subflow(c *flow.SubflowConfig) int {
	s := r.s
	var child Flow
	var err error
	switch {
	case len(s.Frames) >= r.e.lim.MaxDepth:
		err = fmt.Errorf("subflows nested deeper than %d", r.e.lim.MaxDepth)
	case r.e.svc.Flows == nil:
		err = errors.New("subflows are not available here")
	default:
		child, err = r.e.svc.Flows.Load(r.ctx, c.FlowID, 0)
		if err == nil && child.Program == nil {
			err = ErrNoProgram
		}
	}
	if err != nil {
		r.errorf("flow_id", fmt.Errorf("loading subflow %q: %w", c.FlowID, err))
		return r.take(flow.SubflowExitFailed)
	}
	r.emit(Event{Kind: EventSubflowStarted, Node: r.nodeID(), Name: child.ID, Value: child.Revision})
	s.Frames = append(s.Frames, Frame{FlowID: child.ID, Revision: child.Revision, Return: s.Node})
	r.rt = append(r.rt, frameRT{prog: child.Program, flow: child})
	r.enterFrame()
	return child.Program.Start
}

// leaveSubflow pops the innermost frame and continues in the parent through
// the subflow node's exit.
func (r *sprint) leaveSubflow(st Status, reason string, exit int) int {
	s := r.s
	f := s.Frames[len(s.Frames)-1]
	r.emit(Event{Kind: EventSubflowEnded, Node: r.nodeID(), Name: f.FlowID, Status: st, Text: reason})
	s.Frames = s.Frames[:len(s.Frames)-1]
	if len(s.Frames) == 0 {
		s.Frames = nil
	}
	r.rt[len(r.rt)-1] = frameRT{}
	r.rt = r.rt[:len(r.rt)-1]
	r.enterFrame()
	s.Node = f.Return
	return r.take(exit)
}

func (r *sprint) aiAgent(c *flow.AIAgentConfig) int {
	const next, failed = 0, 1
	if r.e.svc.LLM == nil {
		r.errorf("system_prompt", errors.New("no LLM provider is configured"))
		return r.take(failed)
	}
	req := LLMRequest{ContactID: r.env.Contact.ID, Model: c.Model, System: r.render(c.SystemPrompt, "system_prompt"),
		Temperature: c.Temperature, MaxTokens: c.MaxTokens, HistoryTurns: c.HistoryTurns}
	if c.Prompt != nil {
		req.Prompt = r.render(c.Prompt, "prompt")
	} else {
		req.Prompt = r.env.Input.Text
	}
	answer, err := r.e.svc.LLM.Complete(r.ctx, req)
	ev := Event{Kind: EventLLMCalled, Node: r.nodeID(), Name: c.Model}
	if err != nil {
		ev.Text = err.Error()
	}
	r.emit(ev)
	if err != nil {
		return r.take(failed)
	}
	if c.Send {
		r.send(&Message{Type: MessageText, Text: answer})
	}
	r.setVar(c.Variable, answer)
	return r.take(next)
}
