package lru

import (
	"fmt"
	"testing"
)

// TestCacheIsBounded: the cache never holds more than its maximum; the
// least recently used entry goes first, and a removed one is gone.
func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	c := New[string, *int](3)
	progs := map[string]*int{}
	for i := range 3 {
		id := fmt.Sprintf("s%d", i)
		progs[id] = new(int)
		c.Put(id, progs[id])
	}
	if _, ok := c.Get("s0"); !ok { // s0 is now the most recently used
		t.Fatal("s0 missing before the cache was full")
	}
	c.Put("s3", new(int))
	tests := []struct {
		session string
		kept    bool
	}{
		{"s0", true}, {"s1", false}, {"s2", true}, {"s3", true},
	}
	for _, tc := range tests {
		p, ok := c.Get(tc.session)
		if ok != tc.kept {
			t.Errorf("%s kept = %v, want %v", tc.session, ok, tc.kept)
		}
		if ok && progs[tc.session] != nil && p != progs[tc.session] {
			t.Errorf("%s: another key's value", tc.session)
		}
	}
	if n := c.Len(); n != 3 {
		t.Fatalf("%d kept, want 3", n)
	}
	c.Remove("s2")
	if _, ok := c.Get("s2"); ok || c.Len() != 2 {
		t.Fatalf("s2 still kept after remove (%d kept)", c.Len())
	}
	for i := range 1000 {
		c.Put(fmt.Sprintf("many-%d", i), new(int))
	}
	if n := c.Len(); n != 3 {
		t.Fatalf("after 1,000 more keys %d kept, want 3", n)
	}
}

func TestRemoveFunc(t *testing.T) {
	t.Parallel()
	c := New[int, string](10)
	for i := range 6 {
		c.Put(i, fmt.Sprint(i))
	}
	c.RemoveFunc(func(k int) bool { return k%2 == 0 })
	for i := range 6 {
		if _, ok := c.Get(i); ok != (i%2 == 1) {
			t.Errorf("key %d kept = %v", i, ok)
		}
	}
}

// TestTake: a value is taken once, and leaves room for another.
func TestTake(t *testing.T) {
	t.Parallel()
	c := New[string, int](2)
	c.Put("a", 1)
	c.Put("b", 2)
	if v, ok := c.Take("a"); !ok || v != 1 {
		t.Fatalf("Take(a) = %d, %v; want 1, true", v, ok)
	}
	if _, ok := c.Take("a"); ok {
		t.Fatal("a was taken twice")
	}
	c.Put("c", 3) // fits beside b: a's place is free
	if _, ok := c.Get("b"); !ok || c.Len() != 2 {
		t.Fatalf("b dropped (len %d): a taken entry still counted", c.Len())
	}
}
