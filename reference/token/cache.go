package token

import (
	"strings"
	"sync"
	"time"
)

// DefaultCacheBytes bounds the estimated memory of each verified-token cache
// when Config.CacheBytes is zero: about 4,000 tokens of the 8 KiB maximum,
// or the whole DefaultCacheSize of ordinary ones.
const DefaultCacheBytes = 32 << 20

// cacheEntryOverhead estimates what an entry costs besides its key text and
// value: the map slot (key header, entry struct, control byte) and the
// value's allocation header, rounded up.
const cacheEntryOverhead = 128

// cache holds verified tokens by their raw text so a repeat presentation
// skips signature verification. It is bounded by count and by estimated
// bytes (key text, entry, value), since one caller can send many distinct
// tokens of the maximum size: when either bound would be passed, an insert
// first drops expired entries and then arbitrary ones (Go's map order is
// random, which makes this a cheap random eviction). Only the signature and
// static claims are cached; expiry, revocation, subject and scope are
// checked on every hit.
type cache[T any] struct {
	mu       sync.RWMutex
	entries  map[string]cacheEntry[T]
	max      int
	maxBytes int
	bytes    int
	size     func(*T) int // estimated bytes the value holds beyond the entry
}

type cacheEntry[T any] struct {
	value     *T
	notBefore time.Time // earliest instant (leeway applied) the token is valid
	expires   time.Time // latest instant (leeway applied) the token is valid
	cost      int       // estimated bytes, counted in cache.bytes
}

// newCache returns a cache of at most max entries and maxBytes estimated
// bytes (0 means DefaultCacheBytes), or nil (no caching) when either is negative or max is 0.
func newCache[T any](max, maxBytes int, size func(*T) int) *cache[T] {
	if maxBytes == 0 {
		maxBytes = DefaultCacheBytes
	}
	if max <= 0 || maxBytes < 0 {
		return nil
	}
	return &cache[T]{entries: make(map[string]cacheEntry[T], min(max, 1024)), max: max, maxBytes: maxBytes, size: size}
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
	cost := len(raw) + cacheEntryOverhead + c.size(v)
	if cost > c.maxBytes {
		return
	}
	// The key may be a slice of a larger buffer (a metadata value); a copy
	// keeps only the token alive, so the count above is what it costs.
	raw = strings.Clone(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[raw]; ok {
		delete(c.entries, raw)
		c.bytes -= old.cost
	}
	for len(c.entries) > 0 && (len(c.entries) >= c.max || c.bytes+cost > c.maxBytes) {
		c.evict(now)
	}
	c.entries[raw] = cacheEntry[T]{value: v, notBefore: notBefore, expires: expires, cost: cost}
	c.bytes += cost
}

// evict looks at a few entries only, so an insert stays cheap: it drops the
// first one seen and any expired ones among the sample.
func (c *cache[T]) evict(now time.Time) {
	visited := 0
	for k, e := range c.entries {
		if visited == 0 || now.After(e.expires) {
			delete(c.entries, k)
			c.bytes -= e.cost
		}
		if visited++; visited >= 16 {
			break
		}
	}
}

func (c *cache[T]) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// usage reports the cache's estimated bytes.
func (c *cache[T]) usage() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}

// stringsBytes is the bytes held by the contents of ss (not their headers).
func stringsBytes(ss ...string) int {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	return n
}
