package token

import (
	"sync"
	"time"
)

// cache holds verified tokens by their raw text so a repeat presentation
// skips signature verification. It is bounded: when full, an insert first
// drops expired entries and then arbitrary ones (Go's map order is random,
// which makes this a cheap random eviction). Only the signature and static
// claims are cached; expiry, revocation, subject and scope are checked on
// every hit.
type cache[T any] struct {
	mu      sync.RWMutex
	entries map[string]cacheEntry[T]
	max     int
}

type cacheEntry[T any] struct {
	value     *T
	notBefore time.Time // earliest instant (leeway applied) the token is valid
	expires   time.Time // latest instant (leeway applied) the token is valid
}

func newCache[T any](max int) *cache[T] {
	if max <= 0 {
		return nil
	}
	return &cache[T]{entries: make(map[string]cacheEntry[T], min(max, 1024)), max: max}
}

// get returns the cached value for raw if it is valid at now.
func (c *cache[T]) get(raw string, now time.Time) (*T, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.entries[raw]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) || now.Before(e.notBefore) {
		return nil, false
	}
	return e.value, true
}

func (c *cache[T]) put(raw string, v *T, notBefore, expires time.Time, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Look at a few entries only, so an insert stays O(1): drop the
		// first one seen and any expired ones among the sample.
		visited := 0
		for k, e := range c.entries {
			if visited == 0 || now.After(e.expires) {
				delete(c.entries, k)
			}
			if visited++; visited >= 16 {
				break
			}
		}
	}
	c.entries[raw] = cacheEntry[T]{value: v, notBefore: notBefore, expires: expires}
}

func (c *cache[T]) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
