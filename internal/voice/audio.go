package voice

import (
	"context"
	"errors"
)

// MediaMode is how a call's media reaches Parley.
type MediaMode string

// The media modes. Text is the default: the provider does speech-to-text
// and text-to-speech (Twilio ConversationRelay). Audio streams the call's
// sound (Twilio Media Streams, μ-law 8 kHz) and a Speech engine turns it
// into a Conversation.
const (
	MediaText  MediaMode = "text"
	MediaAudio MediaMode = "audio"
)

// Chunk is what the caller's side of an audio stream carries: μ-law 8 kHz
// mono audio, or a key press (DTMF) the provider recognised.
type Chunk struct {
	Audio []byte
	DTMF  string
}

// Audio is a call's sound in audio mode, μ-law 8 kHz mono both ways.
type Audio interface {
	// Recv waits for the caller's next chunk; it returns ErrHungUp once
	// the stream ended and ctx's error when ctx ends first.
	Recv(ctx context.Context) (Chunk, error)
	// Play queues μ-law audio for the caller; the provider plays it in
	// real time after what was queued before.
	Play(ctx context.Context, ulaw []byte) error
	// Mark queues a checkpoint after the audio played so far; its name
	// comes out of Marks once everything before it was played (or
	// cleared).
	Mark(ctx context.Context, name string) error
	// Marks delivers the names of marks reached.
	Marks() <-chan string
	// Clear drops the audio queued and not yet played (barge-in).
	Clear(ctx context.Context) error
}

// ErrNoAudio is what AudioLeg.Audio returns for a call that runs in text
// relay (placed, or accepted when inbound, with MediaText).
var ErrNoAudio = errors.New("the call's media is text, not audio")

// AudioLeg is a Leg of a provider that can stream a call's audio.
type AudioLeg interface {
	Leg
	// Audio waits until the call's audio stream started and returns it;
	// ErrNoAudio when the call was not placed with MediaAudio.
	Audio(ctx context.Context) (Audio, error)
}

// SpeechConfig is what a call asks of its speech engine.
type SpeechConfig struct {
	// Voice is the engine's voice ("" for its default); flow.CheckVoice
	// refused voices the engine lacks when the step was saved.
	Voice string
	// Language is the caller's language (BCP 47), a hint for speech
	// recognition; "" lets the engine decide.
	Language string
}

// SpeechConversation is a Conversation a Speech engine holds open; Close
// ends the engine's session.
type SpeechConversation interface {
	Conversation
	Close() error
}

// Speech turns a call's audio into a Conversation: the caller's speech is
// recognised into InputSpeech, the agent's lines are spoken into the
// stream, and a caller speaking over the agent clears what is queued and
// comes as InputInterrupt. Implementation: voice/realtime.
type Speech interface {
	Converse(ctx context.Context, a Audio, cfg SpeechConfig) (SpeechConversation, error)
}

// WithConversation returns leg with conv as its Conversation: an audio
// leg once a Speech engine turned its stream into text.
func WithConversation(leg Leg, conv Conversation) Leg { return convLeg{Leg: leg, conv: conv} }

type convLeg struct {
	Leg
	conv Conversation
}

// Conversation implements Leg.
func (l convLeg) Conversation() Conversation { return l.conv }
