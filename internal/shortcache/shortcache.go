// Package shortcache keeps values read for the hot paths (channel rows on
// every webhook and send, a project's keyword settings on every inbound
// text) for a short time, so that a burst reads the database once. A
// change made in this process forgets them at once; one made by another
// process is seen within the TTL.
package shortcache

import (
	"sync"
	"time"
)

// MaxKeys bounds a cache: past it, the cache starts afresh.
const MaxKeys = 10_000

// Cache keeps values by key for TTL. Errors are kept too: a row that does
// not exist is not looked up on every request naming it. The zero value is
// ready to use with a TTL of one second.
type Cache[V any] struct {
	// TTL is how long an entry is reused (0: one second).
	TTL time.Duration

	mu sync.Mutex
	m  map[string]entry[V]
}

type entry[V any] struct {
	v   V
	err error
	at  time.Time
}

// Get is the value kept for key, if it is recent at now.
func (c *Cache[V]) Get(key string, now time.Time) (V, error, bool) {
	ttl := c.TTL
	if ttl <= 0 {
		ttl = time.Second
	}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) >= ttl || now.Before(e.at) {
		var zero V
		return zero, nil, false
	}
	return e.v, e.err, true
}

// Put keeps a value (or an error) read at now.
func (c *Cache[V]) Put(key string, v V, err error, now time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) > MaxKeys {
		c.m = map[string]entry[V]{}
	}
	c.m[key] = entry[V]{v: v, err: err, at: now}
	c.mu.Unlock()
}

// Forget drops every entry.
func (c *Cache[V]) Forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
