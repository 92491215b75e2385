package flow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// TypeVoiceCall places an AI voice call.
const TypeVoiceCall = "voice_call"

// ExitTransferred is the exit of a call the AI handed to a person.
const ExitTransferred = "transferred"

// Speech engines of a voice call: relay is the telephony provider's
// speech recognition and synthesis around any chat model; realtime is a
// speech-to-speech model on the call's audio.
const (
	VoiceEngineRelay    = "relay"
	VoiceEngineRealtime = "realtime"
)

// SeedVoices are the six voices our users' earlier tools offered.
var SeedVoices = []string{"alloy", "echo", "fable", "onyx", "nova", "shimmer"}

// voiceEngineVoices lists what each engine can speak. OpenAI's Realtime
// API has no fable, onyx or nova (it has ash, ballad, coral, sage, verse,
// marin and cedar instead); text-to-speech has all six.
var voiceEngineVoices = map[string][]string{
	VoiceEngineRelay:    {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse", "marin", "cedar"},
	VoiceEngineRealtime: {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"},
}

// CheckVoice says whether engine ("" is relay) can speak voice ("" is the
// engine's default); the error names the voices it has, so a step is fixed
// when it is saved rather than failing during a call.
func CheckVoice(engine, voice string) error {
	if engine == "" {
		engine = VoiceEngineRelay
	}
	vs, ok := voiceEngineVoices[engine]
	if !ok {
		return fmt.Errorf("unknown speech engine %q: want %q or %q", engine, VoiceEngineRelay, VoiceEngineRealtime)
	}
	if voice == "" || slices.Contains(vs, voice) {
		return nil
	}
	return fmt.Errorf("the %s engine has no voice %q; choose one of %s", engine, voice, strings.Join(vs, ", "))
}

// optionNotes: the seed's voices an engine cannot speak.
func (*VoiceCallData) optionNotes(field string) []OptionNote {
	if field != "voice" {
		return nil
	}
	var out []OptionNote
	for _, engine := range []string{VoiceEngineRelay, VoiceEngineRealtime} {
		for _, v := range SeedVoices {
			if err := CheckVoice(engine, v); err != nil {
				value := engine
				if engine == VoiceEngineRelay {
					value = "" // the default engine
				}
				out = append(out, OptionNote{Option: v, Field: "engine", Value: value, Reason: fmt.Sprintf("the %s engine has no voice %s", engine, v)})
			}
		}
	}
	return out
}

// Voice call defaults and bounds.
const (
	DefaultCallMaxDuration = 600
	maxCallDuration        = 14400 // Twilio's TimeLimit ceiling: 4 hours
	DefaultRingTimeout     = 60
	maxRingTimeout         = 600
	maxCallOutcomes        = 20
)

// VoiceCallData is the data of a voice_call node.
type VoiceCallData struct {
	ChannelID          string   `json:"channel_id,omitempty" flow:"channel=voice" doc:"The voice number (a channel of type voice) that places the call."`
	To                 string   `json:"to,omitempty" flow:"template" doc:"Number to call (E.164); empty: the contact's phone."`
	Prompt             string   `json:"prompt,omitempty" flow:"template" doc:"Instructions of the AI voice agent."`
	Voice              string   `json:"voice,omitempty" flow:"options=alloy|echo|fable|onyx|nova|shimmer" doc:"The agent's voice (default: the engine's); the realtime engine has no fable, onyx or nova."`
	Engine             string   `json:"engine,omitempty" flow:"enum=relay|realtime" doc:"relay: the provider's speech recognition and synthesis around any chat model (default); realtime: a realtime speech model hears and speaks the call's audio (Twilio Media Streams)."`
	Language           string   `json:"language,omitempty"`
	Greeting           string   `json:"greeting,omitempty" flow:"template"`
	Recording          bool     `json:"recording,omitempty"`
	MaxDurationSeconds int      `json:"max_duration_seconds,omitempty" doc:"The call ends after this long (default 600)."`
	RingTimeoutSeconds int      `json:"ring_timeout_seconds,omitempty" doc:"How long it rings before no_answer (default 60)."`
	DetectMachine      bool     `json:"detect_machine,omitempty" doc:"Detect answering machines: a machine takes the no_answer exit."`
	TransferTo         string   `json:"transfer_to,omitempty" flow:"template" doc:"Where the AI may transfer the caller when they ask for a person: a number (E.164) or agent:NAME; empty: the AI cannot transfer (unless hold_for_transfer)."`
	TransferMode       string   `json:"transfer_mode,omitempty" flow:"enum=blind|warm" doc:"How the AI transfers to transfer_to: blind (default) or warm (the agent hears a summary first)."`
	HoldForTransfer    bool     `json:"hold_for_transfer,omitempty" doc:"The AI may transfer without transfer_to: the caller holds, the transferred exit is taken and a voice_transfer step says where."`
	Outcomes           []string `json:"outcomes,omitempty" doc:"Labels the call's outcome is classified into after it ends (default: interested, not_interested, callback, wrong_person, voicemail)."`
	Variable           string   `json:"variable,omitempty" flow:"variable" doc:"Variable that receives the call: status, outcome, summary, duration_seconds, transcript, recording_url."`
}

// Exit indices of a voice_call node.
const (
	VoiceCallExitCompleted = iota
	VoiceCallExitNoAnswer
	VoiceCallExitFailed
	VoiceCallExitTransferred
)

// VoiceCallConfig configures a voice_call node.
type VoiceCallConfig struct {
	ChannelID                        string
	To, Prompt, Greeting, TransferTo *expr.Template
	Voice, Engine, Language          string
	Recording, DetectMachine         bool
	TransferMode                     string
	HoldForTransfer                  bool
	MaxDuration, RingTimeout         time.Duration
	Outcomes                         []string
	Variable                         string
}

// Wait is how long the session waits for the call's result: it rings,
// it lasts, and the result is posted; past that something was lost and
// the failed exit is taken.
func (c *VoiceCallConfig) Wait() time.Duration { return c.RingTimeout + c.MaxDuration + 2*time.Minute }

// VoiceConfig configures the voice node types that are not executed yet;
// Data is the decoded data struct of the node.
type VoiceConfig struct{ Data any }

// KindVoiceCall is the Kind of voice_call nodes.
const KindVoiceCall Kind = 16

var voiceCallNode = def[VoiceCallData]{
	kind: KindVoiceCall,
	NodeType: NodeType{Type: TypeVoiceCall, Group: GroupVoice, Label: "Voice call", Description: "Places an AI voice call and waits for how it ended.",
		Palette: true, Available: true,
		Exits: Exits{Static: []ExitDef{{Name: ExitCompleted}, {Name: ExitNoAnswer, Optional: true}, {Name: ExitFailed, Optional: true}, {Name: ExitTransferred, Optional: true}}},
		Limits: []Limit{
			rangeLimit("max_duration_seconds", 0, maxCallDuration, "max_duration_seconds must be between 0 (default 600) and 14400"),
			rangeLimit("ring_timeout_seconds", 0, maxRingTimeout, "ring_timeout_seconds must be between 0 (default 60) and 600"),
		}},
	aliases: []string{"call", "aicall"},
	waits:   func(*VoiceCallData) bool { return true },
	// Only a call whose AI may transfer can be transferred.
	canFire: func(d *VoiceCallData, exit string) bool {
		return exit != ExitTransferred || d.TransferTo != "" || d.HoldForTransfer
	},
	check: func(a *analysis, i int, d *VoiceCallData) {
		if d.ChannelID == "" {
			a.nodeErr(i, CodeMissingField, "/data/channel_id", "%s needs a voice number to call from (channel_id)", a.label(i))
		}
		if strings.TrimSpace(d.Prompt) == "" {
			a.nodeErr(i, CodeMissingField, "/data/prompt", "%s needs a prompt: the instructions of the AI voice agent", a.label(i))
		}
		if err := CheckVoice(d.Engine, d.Voice); err != nil {
			a.nodeErr(i, CodeInvalidValue, "/data/voice", "%s: %v", a.label(i), err)
		}
		if d.MaxDurationSeconds < 0 || d.MaxDurationSeconds > maxCallDuration {
			a.nodeErr(i, CodeInvalidValue, "/data/max_duration_seconds", "%s: max_duration_seconds must be between 0 (default 600) and 14400", a.label(i))
		}
		if d.RingTimeoutSeconds < 0 || d.RingTimeoutSeconds > maxRingTimeout {
			a.nodeErr(i, CodeInvalidValue, "/data/ring_timeout_seconds", "%s: ring_timeout_seconds must be between 0 (default 60) and 600", a.label(i))
		}
		checkCallTransfer(a, i, d.TransferTo, d.HoldForTransfer)
		if len(d.Outcomes) > maxCallOutcomes {
			a.nodeErr(i, CodeInvalidValue, "/data/outcomes", "%s has %d outcome labels; at most %d", a.label(i), len(d.Outcomes), maxCallOutcomes)
		}
		seen := map[string]bool{}
		for k, o := range d.Outcomes {
			ptr := fmt.Sprintf("/data/outcomes/%d", k)
			switch {
			case !IsVariableName(o):
				a.nodeErr(i, CodeInvalidValue, ptr, "%s: outcome label %q must be a name (letters, digits and _; not starting with a digit)", a.label(i), o)
			case seen[o]:
				a.nodeErr(i, CodeInvalidValue, ptr, "%s: outcome label %q is listed twice", a.label(i), o)
			}
			seen[o] = true
		}
		a.checkVariable(i, "/data/variable", d.Variable)
	},
	compile: func(c *compiler, d *VoiceCallData) any {
		cfg := &VoiceCallConfig{ChannelID: d.ChannelID, To: c.tpl(d.To), Prompt: c.tpl(d.Prompt), Greeting: c.tpl(d.Greeting), TransferTo: c.tpl(d.TransferTo),
			Voice: d.Voice, Engine: d.Engine, Language: d.Language, Recording: d.Recording, DetectMachine: d.DetectMachine,
			TransferMode: d.TransferMode, HoldForTransfer: d.HoldForTransfer, MaxDuration: seconds(d.MaxDurationSeconds), RingTimeout: seconds(d.RingTimeoutSeconds), Outcomes: d.Outcomes, Variable: d.Variable}
		if cfg.Engine == "" {
			cfg.Engine = VoiceEngineRelay
		}
		if cfg.MaxDuration == 0 {
			cfg.MaxDuration = DefaultCallMaxDuration * time.Second
		}
		if cfg.RingTimeout == 0 {
			cfg.RingTimeout = DefaultRingTimeout * time.Second
		}
		return cfg
	},
}

// checkCallTransfer lints a call's transfer settings: a literal
// destination must be valid, and the AI either transfers there itself or
// holds the call for the flow, not both.
func checkCallTransfer(a *analysis, i int, to string, hold bool) {
	if to == "" {
		return
	}
	if hold {
		a.nodeErr(i, CodeInvalidValue, "/data/hold_for_transfer", "%s: set transfer_to (the AI transfers there) or hold_for_transfer (a voice_transfer step says where), not both", a.label(i))
	}
	a.checkTransferField(i, "/data/transfer_to", to)
}
