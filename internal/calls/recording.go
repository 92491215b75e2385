package calls

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
)

// Record keeps a call's recording with its call (voice.RecordingSink): the
// providers hand over the audio once it exists, Twilio's after the call
// ended. Bad audio (empty, too big, not WAV or MP3) is refused with an
// error that says what; a recording of no call is not found.
func (s *Service) Record(ctx context.Context, r voice.Recording) error {
	if err := r.Validate(); err != nil {
		return domain.Errorf(domain.CodeInvalid, "%v", err)
	}
	err := s.d.Store.CallRecordingPut(ctx, store.CallRecording{CallID: r.CallID, ProviderID: r.ProviderID, ContentType: r.ContentType,
		Duration: r.Duration, Data: r.Data, CreatedAt: s.d.Clock.Now()})
	if err != nil {
		return fmt.Errorf("storing the recording of call %s: %w", r.CallID, err)
	}
	s.d.Logger.Info("call recording stored", "call", r.CallID, "bytes", len(r.Data), "type", r.ContentType)
	return nil
}

// recordingURL is where Parley serves a recorded call's recording, in the
// call's result and variables: the provider's own URL would need the
// provider's credentials.
func (s *Service) recordingURL(c store.Call, providerURL string) string {
	if providerURL == "" || s.d.RecordingURL == nil {
		return providerURL
	}
	return s.d.RecordingURL(c.ProjectID, c.ID)
}
