package voice

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
)

// Recording is a call's recording as a provider hands it over: the audio
// itself, downloaded (Twilio) or made (the simulated provider).
type Recording struct {
	// CallID is Parley's ID of the call (Dial.CallID).
	CallID string
	// ProviderID is the provider's ID of the recording (Twilio:
	// RecordingSid).
	ProviderID string
	// ContentType is audio/wav or audio/mpeg.
	ContentType string
	Duration    time.Duration
	Data        []byte
}

// MaxRecordingBytes bounds a recording Parley keeps: about 70 minutes of
// Twilio's 8 kHz 16-bit mono WAV (16 kB a second), which is what is
// downloaded. A bigger one is refused with an error that says so.
const MaxRecordingBytes = 64 << 20

// Recording content types.
const (
	ContentWAV = "audio/wav"
	ContentMP3 = "audio/mpeg"
)

// Validate checks a recording before it is stored.
func (r Recording) Validate() error {
	switch {
	case r.CallID == "":
		return fmt.Errorf("a recording needs its call's ID")
	case len(r.Data) == 0:
		return fmt.Errorf("the recording of call %s is empty", r.CallID)
	case len(r.Data) > MaxRecordingBytes:
		return fmt.Errorf("the recording of call %s is %d bytes, over the %d-byte limit", r.CallID, len(r.Data), MaxRecordingBytes)
	case r.ContentType != ContentWAV && r.ContentType != ContentMP3:
		return fmt.Errorf("the recording of call %s is %q, not audio/wav or audio/mpeg", r.CallID, r.ContentType)
	}
	return nil
}

// RecordingSink keeps the recordings providers hand over (the calls
// service stores them with their call). An error says the recording was
// not kept.
type RecordingSink func(ctx context.Context, r Recording) error

// Recorder is the optional side of a Provider whose calls can be
// recorded: it hands each recording of a call placed with Dial.Record to
// the sink once the recording exists, which may be after the call's
// EventEnded (Twilio's recording status callback comes later). The
// EventEnded of such a call has a RecordingURL (the provider's).
type Recorder interface {
	OnRecording(s RecordingSink)
}

// wavRate is the sample rate of the WAV files SynthesizeWAV makes:
// telephone quality, as Twilio records.
const wavRate = 8000

// SynthesizeWAV makes a small WAV recording (8 kHz, 16-bit mono PCM) of a
// text call for the simulated provider: each line is a tone as long as it
// would take to say (agent lines high, caller lines low) with a short
// pause between lines, so that a player shows a real recording whose
// shape follows the call. It is bounded to maxLen.
func SynthesizeWAV(lines []Line, maxLen time.Duration) []byte {
	var pcm []int16
	limit := int(maxLen.Seconds() * wavRate)
	add := func(freq float64, d time.Duration) {
		n := int(d.Seconds() * wavRate)
		for i := 0; i < n && len(pcm) < limit; i++ {
			v := 0.0
			if freq > 0 {
				// A gentle envelope avoids clicks at each tone's edges.
				env := math.Min(1, math.Min(float64(i), float64(n-i))/200)
				v = 0.3 * env * math.Sin(2*math.Pi*freq*float64(i)/wavRate)
			}
			pcm = append(pcm, int16(v*math.MaxInt16))
		}
	}
	for _, l := range lines {
		freq := 440.0
		if l.Speaker == SpeakerCaller {
			freq = 330
		}
		// About 15 characters a second, as people speak.
		d := time.Duration(len(strings.TrimSpace(l.Text))) * time.Second / 15
		add(freq, min(max(d, 300*time.Millisecond), 8*time.Second))
		add(0, 250*time.Millisecond)
	}
	if len(pcm) == 0 {
		add(0, 500*time.Millisecond)
	}
	return wav(pcm)
}

// wav writes 16-bit mono PCM samples as a RIFF WAVE file.
func wav(pcm []int16) []byte {
	data := len(pcm) * 2
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)        // fmt chunk size
	binary.LittleEndian.PutUint16(b[20:], 1)         // PCM
	binary.LittleEndian.PutUint16(b[22:], 1)         // mono
	binary.LittleEndian.PutUint32(b[24:], wavRate)   // sample rate
	binary.LittleEndian.PutUint32(b[28:], wavRate*2) // byte rate
	binary.LittleEndian.PutUint16(b[32:], 2)         // block align
	binary.LittleEndian.PutUint16(b[34:], 16)        // bits per sample
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}

// WAVDuration is how long a WAV file made by SynthesizeWAV plays.
func WAVDuration(b []byte) time.Duration {
	if len(b) < 44 {
		return 0
	}
	return time.Duration(binary.LittleEndian.Uint32(b[40:])/2) * time.Second / wavRate
}
