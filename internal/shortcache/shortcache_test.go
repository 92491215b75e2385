package shortcache

import (
	"errors"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	errGone := errors.New("gone")
	tests := []struct {
		name    string
		put     func(c *Cache[int])
		at      time.Duration
		want    int
		wantErr error
		found   bool
	}{
		{"fresh value", func(c *Cache[int]) { c.Put("k", 7, nil, t0) }, 500 * time.Millisecond, 7, nil, true},
		{"expired", func(c *Cache[int]) { c.Put("k", 7, nil, t0) }, time.Second, 0, nil, false},
		{"clock went back", func(c *Cache[int]) { c.Put("k", 7, nil, t0) }, -time.Millisecond, 0, nil, false},
		{"errors are kept", func(c *Cache[int]) { c.Put("k", 0, errGone, t0) }, 0, 0, errGone, true},
		{"forgotten", func(c *Cache[int]) { c.Put("k", 7, nil, t0); c.Forget() }, 0, 0, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c Cache[int]
			tc.put(&c)
			v, err, ok := c.Get("k", t0.Add(tc.at))
			if v != tc.want || !errors.Is(err, tc.wantErr) || ok != tc.found {
				t.Fatalf("Get = (%d, %v, %v), want (%d, %v, %v)", v, err, ok, tc.want, tc.wantErr, tc.found)
			}
		})
	}
	var c Cache[int]
	for i := range MaxKeys + 2 {
		c.Put(string(rune('a'+i%26))+string(rune(i)), i, nil, t0)
	}
	if len(c.m) > MaxKeys+1 {
		t.Fatalf("the cache grew to %d keys", len(c.m))
	}
}
