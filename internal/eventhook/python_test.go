package eventhook_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"
)

// TestDocsPythonReceiver runs docs/webhooks.md's Python block, as written
// there, on a body signed like a delivery: it must accept it and refuse a
// changed body and a stale signature. Skipped where python3 is absent.
func TestDocsPythonReceiver(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	doc, err := os.ReadFile("../../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### Python\n.*?```python\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/webhooks.md has no Python block")
	}
	body := `{"id":"e1","type":"message.received","data":{"text":"hi"}}`
	tests := []struct {
		name, header, body, want string
	}{
		{"valid", eventhook.Sign("whsec_x", time.Now(), []byte(body)), body, "ok message.received"},
		{"changed body", eventhook.Sign("whsec_x", time.Now(), []byte(body)), strings.Replace(body, "hi", "ho", 1), "signature mismatch"},
		{"replayed", eventhook.Sign("whsec_x", time.Now().Add(-10*time.Minute), []byte(body)), body, "stale or missing timestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script := string(m[1]) + `
import sys
try:
    print("ok", verify_parley(sys.argv[1], sys.argv[2].encode(), "whsec_x")["type"])
except ValueError as e:
    print(e)
`
			out, err := exec.Command(py, "-c", script, tc.header, tc.body).CombinedOutput()
			if err != nil {
				t.Fatalf("python: %v: %s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
