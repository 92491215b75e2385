package inbox

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestPassLocks: passes over different contacts never wait for each other
// (2,000 held at once by one goroutine: striped locks would deadlock on
// the first two contacts sharing a stripe); a second pass over the same
// contact waits for the first; nothing is kept once the passes end.
func TestPassLocks(t *testing.T) {
	t.Parallel()
	var p passLocks
	var unlocks []func()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			unlocks = append(unlocks, p.lock(fmt.Sprint("contact-", i)))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("locking 2,000 different contacts blocked: unrelated contacts share a lock")
	}
	if got := p.held(); got != 2000 {
		t.Fatalf("held = %d, want 2000", got)
	}

	var second atomic.Bool
	got := make(chan struct{})
	go func() {
		defer close(got)
		unlock := p.lock("contact-7")
		second.Store(true)
		unlock()
	}()
	time.Sleep(50 * time.Millisecond)
	if second.Load() {
		t.Fatal("a second pass over contact-7 ran while the first held it")
	}
	for _, u := range unlocks {
		u()
	}
	<-got
	if !second.Load() {
		t.Fatal("the second pass never ran")
	}
	if n := p.held(); n != 0 {
		t.Fatalf("%d locks kept after every pass ended", n)
	}
}
