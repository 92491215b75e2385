package store

import (
	"context"
	"time"
)

// CallRecordings are the repository methods of calls' recordings: the audio
// of a recorded call, kept in the database beside its call.
type CallRecordings interface {
	// CallRecordingPut stores the recording of call CallID (replacing one
	// stored before: a provider may deliver it twice). The project is the
	// call's; ErrNotFound says there is no such call.
	CallRecordingPut(ctx context.Context, r CallRecording) error
	// CallRecordingGet returns a project's call's recording, audio
	// included; ErrNotFound when the call has none (yet).
	CallRecordingGet(ctx context.Context, r Ref) (CallRecording, error)
}

// CallRecording is one call's recording. Ref's ID is the call's.
type CallRecording struct {
	CallID    string
	ProjectID string
	// ProviderID is the provider's ID of the recording (Twilio:
	// RecordingSid).
	ProviderID string
	// ContentType is audio/wav or audio/mpeg.
	ContentType string
	Duration    time.Duration
	Data        []byte
	CreatedAt   time.Time
}
