package jsontext

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendString: every string is written as encoding/json writes it,
// whether it takes the plain-ASCII path or not.
func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "node_entered", "wait-1_b", "a b", "q\"uote", "back\\slash", "<b>&amp;", "tab\t", "\x00", "\x7f", "é", "\u2028", "\xff"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}
