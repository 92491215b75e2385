package calls

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/voice"
)

// engineRealtime is the voice steps' realtime engine (flow.VoiceEngineRealtime).
const engineRealtime = "realtime"

// mediaOf is the media mode a step's speech engine needs: the realtime
// engine hears and speaks the call's audio itself.
func mediaOf(engine string) voice.MediaMode {
	if engine == engineRealtime {
		return voice.MediaAudio
	}
	return voice.MediaText
}

// speechWait bounds the wait for an answered call's audio stream.
const speechWait = 15 * time.Second

// speech gives the leg the agent talks on: in audio mode, the leg with
// its audio turned into a Conversation by the project's realtime engine
// (close ends that session); otherwise leg itself. A provider without
// audio (the simulated caller, who speaks text) keeps its text
// Conversation whatever the engine.
func (s *Service) speech(ctx context.Context, projectID string, req engine.CallMessage, leg voice.Leg) (voice.Leg, func(), error) {
	none := func() {}
	al, ok := leg.(voice.AudioLeg)
	if req.Engine != engineRealtime || !ok {
		return leg, none, nil
	}
	wctx, cancel := context.WithTimeout(ctx, speechWait)
	defer cancel()
	a, err := al.Audio(wctx)
	if errors.Is(err, voice.ErrNoAudio) {
		return leg, none, nil
	}
	if err != nil {
		return nil, none, fmt.Errorf("waiting for the call's audio stream: %w", err)
	}
	if s.d.Speech == nil {
		return nil, none, domain.Errorf(domain.CodeUnavailable, "this Parley has no realtime speech engine configured")
	}
	sp, err := s.d.Speech(ctx, projectID)
	if err != nil {
		return nil, none, fmt.Errorf("finding the realtime speech engine: %w", err)
	}
	conv, err := sp.Converse(wctx, a, voice.SpeechConfig{Voice: req.Voice, Language: req.Language})
	if err != nil {
		return nil, none, err
	}
	return voice.WithConversation(leg, conv), func() { _ = conv.Close() }, nil
}
