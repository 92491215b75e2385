package engine

import (
	"maps"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/flow"
)

// voiceCallExec runs voice_call nodes: ask the host to place the call,
// wait for its result, store it and take the exit the result names.
var voiceCallExec = executor{
	enter: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.VoiceCallConfig)
		to := r.render(c.To, "to")
		if to == "" {
			to = r.env.Contact.Phone
		}
		if to == "" {
			r.setVar(c.Variable, map[string]any{"status": "failed", "error": "the contact has no phone number to call"})
			return r.take(flow.VoiceCallExitFailed)
		}
		m := &CallMessage{ChannelID: c.ChannelID, To: to, Prompt: r.render(c.Prompt, "prompt"), Greeting: r.render(c.Greeting, "greeting"),
			Voice: c.Voice, Engine: c.Engine, Language: c.Language, Recording: c.Recording,
			MaxDurationSeconds: int(c.MaxDuration.Seconds()), RingTimeoutSeconds: int(c.RingTimeout.Seconds()), DetectMachine: c.DetectMachine,
			TransferTo: r.render(c.TransferTo, "transfer_to"), TransferMode: c.TransferMode, HoldForTransfer: c.HoldForTransfer,
			Outcomes: c.Outcomes, Context: maps.Clone(r.s.Vars), Token: flowToken(r.s, r.s.Wait.Seq+1)}
		r.send(&Message{Type: MessageVoiceCall, Call: m})
		return r.wait(WaitCall, c.Wait(), 0)
	},
	resume: func(r *sprint, st *flow.Step, in *Input) {
		if want := flowToken(r.s, r.s.Wait.Seq); in.Token != want {
			r.ignore(*in, "the result of call "+in.Token+"; this wait is for "+want)
			return
		}
		c := st.Config.(*flow.VoiceCallConfig)
		r.accept(in)
		res := maps.Clone(in.Data)
		exit, _ := res["exit"].(string)
		delete(res, "exit")
		r.setVar(c.Variable, res)
		k := st.ExitIndex(exit)
		if k < 0 {
			r.errorf("exit", errUnknownCallExit(exit))
			k = flow.VoiceCallExitFailed
		}
		r.run(r.take(k))
	},
	timeout: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.VoiceCallConfig)
		r.setVar(c.Variable, map[string]any{"status": "failed", "error": "the call's result never came back"})
		return flow.VoiceCallExitFailed
	},
}

type errUnknownCallExit string

func (e errUnknownCallExit) Error() string {
	return "the call's result names exit " + string(e) + ", which a voice_call node does not have; taking failed"
}

// waitInboundCallExec runs wait_inbound_call nodes: tell the host which
// caller to expect on which voice number and how the agent answers, wait
// for the call's result (or the timeout), store it and take answered or
// failed.
var waitInboundCallExec = executor{
	enter: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.WaitInboundCallConfig)
		from := r.env.Contact.Phone
		if from == "" {
			r.setVar(c.Variable, map[string]any{"status": "failed", "error": "the contact has no phone number to call from"})
			if k := st.ExitIndex(flow.ExitFailed); k >= 0 {
				return r.take(k)
			}
			return r.take(flow.WaitInboundCallExitTimeout)
		}
		m := &CallMessage{ChannelID: c.ChannelID, Direction: CallInbound, To: from, Prompt: r.render(c.Prompt, "prompt"), Greeting: r.render(c.Greeting, "greeting"),
			Voice: c.Voice, Engine: c.Engine, Language: c.Language, Recording: c.Recording, MaxDurationSeconds: int(c.MaxDuration.Seconds()),
			TransferTo: r.render(c.TransferTo, "transfer_to"), TransferMode: c.TransferMode, HoldForTransfer: c.HoldForTransfer,
			Outcomes: c.Outcomes, Context: maps.Clone(r.s.Vars), Token: flowToken(r.s, r.s.Wait.Seq+1)}
		if c.Timeout > 0 {
			m.AwaitSeconds = int(c.Timeout.Seconds())
		}
		r.send(&Message{Type: MessageVoiceCall, Call: m})
		return r.wait(WaitCall, c.Timeout, 0)
	},
	resume: func(r *sprint, st *flow.Step, in *Input) {
		if want := flowToken(r.s, r.s.Wait.Seq); in.Token != want {
			r.ignore(*in, "the result of call "+in.Token+"; this wait is for "+want)
			return
		}
		c := st.Config.(*flow.WaitInboundCallConfig)
		r.accept(in)
		res := maps.Clone(in.Data)
		exit, _ := res["exit"].(string)
		delete(res, "exit")
		r.setVar(c.Variable, res)
		// The caller reached the agent: answered, however the talk ended
		// (the variable says how); a call that broke down is failed.
		k := flow.WaitInboundCallExitAnswered
		if exit == "failed" {
			if k = st.ExitIndex(flow.ExitFailed); k < 0 {
				k = flow.WaitInboundCallExitAnswered
			}
		}
		r.run(r.take(k))
	},
	timeout: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.WaitInboundCallConfig)
		r.setVar(c.Variable, map[string]any{"status": "timeout"})
		return flow.WaitInboundCallExitTimeout
	},
}

// transferWait bounds how long a voice_transfer step waits for the host's
// answer: a warm transfer rings the agent and briefs them first.
const transferWait = 5 * time.Minute

// voiceTransferExec runs voice_transfer nodes: ask the host to transfer
// the call a voice_call step held for this session, wait for how it went,
// store it and take completed or failed. A destination that renders to
// something that is not a number or agent:NAME fails at once.
var voiceTransferExec = executor{
	enter: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.VoiceTransferConfig)
		to := strings.TrimSpace(r.render(c.To, "to"))
		if err := flow.CheckTransferTarget(to); err != nil {
			r.setVar(c.Variable, map[string]any{"status": "failed", "to": to, "mode": c.Mode, "error": err.Error()})
			return r.take(flow.VoiceTransferExitFailed)
		}
		m := &TransferMessage{To: to, Mode: c.Mode, Message: r.render(c.Message, "message"), Token: flowToken(r.s, r.s.Wait.Seq+1)}
		r.send(&Message{Type: MessageVoiceTransfer, Transfer: m})
		return r.wait(WaitCall, transferWait, 0)
	},
	resume: func(r *sprint, st *flow.Step, in *Input) {
		if want := flowToken(r.s, r.s.Wait.Seq); in.Token != want {
			r.ignore(*in, "the result of transfer "+in.Token+"; this wait is for "+want)
			return
		}
		c := st.Config.(*flow.VoiceTransferConfig)
		r.accept(in)
		res := maps.Clone(in.Data)
		exit, _ := res["exit"].(string)
		delete(res, "exit")
		r.setVar(c.Variable, res)
		k := flow.VoiceTransferExitFailed
		if exit == flow.ExitTransferred || exit == flow.ExitCompleted {
			k = flow.VoiceTransferExitCompleted
		}
		r.run(r.take(k))
	},
	timeout: func(r *sprint, st *flow.Step) int {
		c := st.Config.(*flow.VoiceTransferConfig)
		r.setVar(c.Variable, map[string]any{"status": "failed", "error": "the transfer's result never came back"})
		return flow.VoiceTransferExitFailed
	},
}
