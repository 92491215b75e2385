package postgres

import (
	"strings"
	"testing"
)

func TestServerAdvice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		buffers, maxWAL int64
		want            []string
	}{
		{"packaged defaults", 128 << 20, 1 << 30, []string{"shared_buffers is 128 MB", "max_wal_size is 1024 MB"}},
		{"less than the defaults", 32 << 20, 512 << 20, []string{"shared_buffers is 32 MB", "max_wal_size is 512 MB"}},
		{"buffers sized, log not", 4 << 30, 1 << 30, []string{"max_wal_size is 1024 MB"}},
		{"log sized, buffers not", 128 << 20, 8 << 30, []string{"shared_buffers is 128 MB"}},
		{"both sized", 4 << 30, 8 << 30, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := serverAdvice(tc.buffers, tc.maxWAL)
			if len(got) != len(tc.want) {
				t.Fatalf("serverAdvice(%d, %d) = %q, want %d sentences naming %q", tc.buffers, tc.maxWAL, got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("sentence %d = %q, want it to name %q", i, got[i], w)
				}
			}
		})
	}
}
