package voice

import (
	"context"
	"errors"
	"time"
)

// Dial asks a provider to place a call.
type Dial struct {
	// CallID is Parley's ID of the call; providers echo it in their events
	// (Twilio: a custom parameter and the callback URL).
	CallID string
	To     string // E.164
	From   string // the assigned number (DID), E.164
	// RingTimeout is how long it rings before no_answer (Twilio: Timeout,
	// 60 s by default).
	RingTimeout time.Duration
	// MaxDuration is the provider's own time limit (Twilio: TimeLimit),
	// set beside Parley's timer so a call ends even if Parley does not.
	MaxDuration time.Duration
	Record      bool
	// DetectMachine turns on answering-machine detection.
	DetectMachine bool
	// Voice and Language are for the provider's speech synthesis in text
	// relay mode.
	Voice    string
	Language string
	// Media is how the call's media reaches Parley ("" is MediaText).
	Media MediaMode
}

// Provider places and controls calls. Implementations: voice/sim (the
// simulated caller) and the Twilio adapter.
type Provider interface {
	// Place starts an outbound call; the Leg reports its progress. An
	// error means no call was placed.
	Place(ctx context.Context, d Dial) (Leg, error)
}

// EventKind is the kind of a call's status event.
type EventKind string

// Status event kinds, in the order a call can go through them.
const (
	EventRinging  EventKind = "ringing"
	EventAnswered EventKind = "answered"
	EventEnded    EventKind = "ended"
)

// Event is a call's status change, normalised; Raw keeps the provider's own
// value (e.g. Twilio's CallStatus).
type Event struct {
	Kind       EventKind
	Status     Status
	AnsweredBy AnsweredBy
	// Duration (talk time) and RecordingURL come with EventEnded.
	Duration     time.Duration
	RecordingURL string
	Raw          string
	At           time.Time
}

// Leg is one placed or answered call.
type Leg interface {
	// ID is the provider's ID of the call (Twilio: CallSid).
	ID() string
	// Events delivers the call's status changes and is closed after
	// EventEnded.
	Events() <-chan Event
	// Conversation is the call's media once it is answered.
	Conversation() Conversation
	// Hangup ends the call (cancels it while ringing).
	Hangup(ctx context.Context) error
	// Transfer hands the caller to a number or an agent and ends the
	// agent's part of the call.
	Transfer(ctx context.Context, t Target) error
}

// InputKind is the kind of something the caller did.
type InputKind string

// Caller inputs.
const (
	// InputSpeech is a finished utterance (the provider's speech-to-text
	// decided the caller stopped speaking).
	InputSpeech InputKind = "speech"
	// InputDTMF is a key press.
	InputDTMF InputKind = "dtmf"
	// InputInterrupt says the caller spoke over the agent; Heard is the
	// part of the agent's line played before that (ConversationRelay's
	// utteranceUntilInterrupt). Its speech follows as InputSpeech.
	InputInterrupt InputKind = "interrupt"
)

// Input is something the caller said or did.
type Input struct {
	Kind  InputKind
	Text  string // speech, or the key for DTMF
	Heard string // for InputInterrupt
}

// ErrHungUp is what Conversation.Recv returns once the caller has hung up.
var ErrHungUp = errors.New("the caller hung up")

// Conversation is a call's media as text, whichever mode the provider
// runs in: the caller's turns come in, the agent's lines go out.
type Conversation interface {
	// Recv waits for the caller's next input; it returns ErrHungUp when
	// the call ended and ctx's error when ctx ends first.
	Recv(ctx context.Context) (Input, error)
	// Say speaks text to the caller. The provider may still be speaking
	// it when Say returns; an InputInterrupt tells what was heard.
	Say(ctx context.Context, text string) error
}

// InboundCall is a call a provider answered on one of its numbers: From
// called To; Leg is answered (its Events start with EventAnswered) and its
// Conversation is live once the handler accepted it.
type InboundCall struct {
	From string
	To   string
	Leg  Leg
	// Accept, when not nil, tells the provider how to answer: a provider
	// that answers only once it knows how (Twilio: the TwiML of its
	// incoming-call webhook picks ConversationRelay or Media Streams, and
	// may start a recording) waits for it, a bounded while, before the
	// caller is connected. The handler calls it once, before it uses Leg;
	// a later call is ignored. nil: the call is answered already, in text
	// mode (the simulator).
	Accept func(a InboundAnswer)
}

// InboundAnswer is how the host takes an inbound call.
type InboundAnswer struct {
	// CallID is Parley's ID of the call (store's): its recording is
	// handed to the RecordingSink under it.
	CallID string
	// Media is the mode the step's speech engine needs ("" is MediaText).
	Media MediaMode
	// Record records the call.
	Record bool
	// Voice and Language are for the provider's speech synthesis and
	// recognition in text relay mode, as on Dial.
	Voice    string
	Language string
}

// InboundHandler takes an answered inbound call. It returns once it has
// taken the call over (the talk goes on after it returns); an error says
// nobody takes it, and the provider ends the call.
type InboundHandler func(ctx context.Context, call InboundCall) error

// InboundProvider is the optional side of a Provider that receives calls to its
// numbers (Twilio: the incoming-call webhook, answered with
// ConversationRelay or Media Streams as the handler accepts it). The host
// registers one handler; the provider hands it every inbound call,
// whichever number was called.
type InboundProvider interface {
	OnInbound(h InboundHandler)
}
