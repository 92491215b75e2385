// Package audiotest makes the test phrases of audio-mode calls: deterministic
// speech-like μ-law audio for a line of text (Speak), and a phrasebook that
// recognises the phrases it knows inside a stretch of audio (Book). The
// fake Twilio speaks its callee's lines with it and recognises what it
// heard; the fake realtime model (voice/realtime/realtimetest) speaks the
// agent's lines and recognises the caller's.
//
// The audio is synthesised, not recorded: no permissively licensed
// recordings were taken into the repository. A fake cannot do speech
// recognition, so recognition is by fingerprint: a phrase is recognised
// when its exact audio occurs in what was heard, which holds because μ-law
// passes through the adapter and the model's stream untouched.
package audiotest

import (
	"bytes"
	"encoding/binary"
	"math"
	"sync"

	"github.com/zaf/g711"
)

// Rate is the sample rate of telephone audio (8 kHz, one byte per sample
// in μ-law).
const Rate = 8000

// FrameBytes is one 20 ms frame of μ-law audio, as Twilio sends them.
const FrameBytes = 160

// Silence is the μ-law byte of a zero sample.
const Silence byte = 0xFF

// segment is how long each character of a line sounds.
const segment = 30 // ms

// Speak returns the audio of text: per character a 30 ms voiced segment (a
// 110 Hz buzz with two formant-like partials whose pitch depends on the
// character; spaces and punctuation are quieter), faded in and out so
// segments join without clicks. The same text always gives the same bytes.
func Speak(text string) []byte {
	n := segment * Rate / 1000
	pcm := make([]byte, 0, len(text)*n*2)
	i := 0
	for _, r := range text {
		amp := 9000.0
		if r == ' ' || r < '0' {
			amp = 2500
		}
		f1 := 300 + float64(int(r)%23)*35
		f2 := 900 + float64(int(r)%17)*90
		for k := 0; k < n; k++ {
			t := float64(i) / Rate
			fade := math.Min(1, math.Min(float64(k), float64(n-k))/40)
			v := amp * fade * (0.5*math.Sin(2*math.Pi*110*t) + 0.3*math.Sin(2*math.Pi*f1*t) + 0.2*math.Sin(2*math.Pi*f2*t))
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(v)))
			i++
		}
	}
	return g711.EncodeUlaw(pcm)
}

// SilenceOf returns d milliseconds of μ-law silence.
func SilenceOf(ms int) []byte { return bytes.Repeat([]byte{Silence}, ms*Rate/1000) }

// Level is the RMS level of μ-law audio as 16-bit PCM (0 for silence, a
// few thousand for Speak's voiced segments).
func Level(ulaw []byte) float64 {
	if len(ulaw) == 0 {
		return 0
	}
	pcm := g711.DecodeUlaw(ulaw)
	var sum float64
	for i := 0; i+1 < len(pcm); i += 2 {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[i:])))
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)/2))
}

// Book is a phrasebook: the phrases it knows, by their audio. Safe for
// concurrent use; share one between the fakes of a test.
type Book struct {
	mu      sync.Mutex
	phrases map[string][]byte
}

// NewBook returns a book that knows phrases.
func NewBook(phrases ...string) *Book {
	b := &Book{phrases: map[string][]byte{}}
	for _, p := range phrases {
		b.Add(p)
	}
	return b
}

// Add teaches the book a phrase and returns its audio.
func (b *Book) Add(text string) []byte {
	a := Speak(text)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.phrases[text] = a
	return a
}

// Recognise returns the known phrase whose audio occurs whole in audio
// first (the longest of those starting at the same place); ok is false
// when none does.
func (b *Book) Recognise(audio []byte) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	type hit struct {
		at   int
		text string
	}
	var best *hit
	for text, a := range b.phrases {
		if len(a) == 0 {
			continue
		}
		at := bytes.Index(audio, a)
		if at < 0 {
			continue
		}
		// The longest phrase wins at the same place ("Hi" inside "Hi there").
		if best == nil || at < best.at || at == best.at && len(text) > len(best.text) {
			best = &hit{at, text}
		}
	}
	if best == nil {
		return "", false
	}
	return best.text, true
}
