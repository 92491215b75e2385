package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSandboxNoticeCommand: `parley sandbox notice` asks the running
// `serve --sandbox` to play Meta's quality and account notices on its
// WhatsApp channel (the field follows from the event); an event Meta does
// not send is refused with the ones it does.
func TestSandboxNoticeCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{"PARLEY_DATA_DIR": t.TempDir() + "/data", "PARLEY_LOG_LEVEL": "warn"}
	out, errb, done := serveSandbox(ctx, env)
	// The server stops before the data directory is removed: a shutdown
	// still writing its database failed TempDir's clean-up.
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	send := regexp.MustCompile(`go run ./cmd/parley sandbox send --server (\S+) --to-channel (\S+)`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
		m = send.FindStringSubmatch(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("serve --sandbox printed no sandbox command: %s %s", out.String(), errb.String())
		}
	}
	base, channelID := m[1], m[2]
	tests := []struct {
		args []string
		want string
		fail bool
	}{
		{[]string{"--event", "FLAGGED", "--limit", "TIER_250"}, "phone_number_quality_update FLAGGED about channel " + channelID, false},
		{[]string{"--event", "ACCOUNT_RESTRICTION"}, "account_update ACCOUNT_RESTRICTION", false},
		{[]string{"--event", "SOLD"}, "FLAGGED, DOWNGRADE", true},
	}
	for _, tc := range tests {
		var o, e syncBuffer
		root := newRoot(&o, &e, func(string) string { return "" })
		root.SetArgs(append([]string{"sandbox", "notice", "--server", base}, tc.args...))
		err := root.ExecuteContext(context.Background())
		got := o.String()
		if err != nil {
			got = err.Error()
		}
		if (err != nil) != tc.fail || !strings.Contains(got, tc.want) {
			t.Errorf("%v: err %v, printed %q; want %q", tc.args, err, got, tc.want)
		}
	}
}
