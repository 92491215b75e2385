package audiotest

import (
	"bytes"
	"testing"
)

func TestSpeakAndRecognise(t *testing.T) {
	t.Parallel()
	if !bytes.Equal(Speak("Hello?"), Speak("Hello?")) || bytes.Equal(Speak("Hello?"), Speak("Hallo?")) {
		t.Fatal("Speak is not a deterministic function of the text")
	}
	if n := len(Speak("Hi")); n != 2*segment*Rate/1000 {
		t.Fatalf("two characters are %d bytes", n)
	}
	if l := Level(Speak("Hello")); l < 1000 {
		t.Fatalf("speech level %.0f is too low for a VAD", l)
	}
	if l := Level(SilenceOf(20)); l != 0 {
		t.Fatalf("silence level %.0f", l)
	}
	b := NewBook("Hi", "Hi there", "Tuesday works.")
	for _, tc := range []struct {
		audio []byte
		want  string
		ok    bool
	}{
		{append(SilenceOf(300), append(Speak("Hi there"), SilenceOf(500)...)...), "Hi there", true},
		{Speak("Tuesday works."), "Tuesday works.", true},
		{Speak("Tuesday works.")[:800], "", false},
		{Speak("Monday"), "", false},
	} {
		got, ok := b.Recognise(tc.audio)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Recognise = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
		}
	}
}
