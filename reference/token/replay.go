package token

import (
	"strconv"
	"sync"
	"time"

	"github.com/jitbench/jitbench/reference/reason"
)

// DefaultReplayCapacity is how many unexpired one-shot grant ids a
// ReplayGuard holds when NewReplayGuard is given no size.
const DefaultReplayCapacity = 100_000

// ReplayGuard remembers the ids (jti) of one-shot grants already used, so
// each is accepted once. It keys on the id, never on the token's text: an
// ECDSA signature can be re-signed into a different valid text for the same
// grant. An id is kept while a verifier could still accept its grant (until
// its exp plus leeway) and forgotten exactly after, in expiry order, so the
// register only fills with grants that are still live. When it does, it
// refuses new ids with ONE_SHOT_REGISTER_FULL rather than forgetting one and
// allowing a replay.
type ReplayGuard struct {
	mu   sync.Mutex
	seen map[string]time.Time // jti -> last instant a verifier could accept it
	heap forgetHeap           // the same ids, earliest forget time first
	max  int
}

// NewReplayGuard returns a guard holding at most max unexpired ids (0 means DefaultReplayCapacity).
func NewReplayGuard(max int) *ReplayGuard {
	if max <= 0 {
		max = DefaultReplayCapacity
	}
	return &ReplayGuard{seen: make(map[string]time.Time), max: max}
}

// Use records jti as used and returns nil the first time, a GRANT_REPLAYED
// error after. forget is the last instant a verifier could accept the grant
// (its exp plus the leeway): the id is held until then. When max unexpired
// ids are held, a new one gets ONE_SHOT_REGISTER_FULL.
func (g *ReplayGuard) Use(jti string, forget, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(now)
	if _, used := g.seen[jti]; used {
		return reason.New(reason.GrantReplayed, "this one-shot grant was already used", "grant_id", jti)
	}
	if len(g.seen) >= g.max {
		return reason.New(reason.OneShotRegisterFull,
			"the verifier holds as many unexpired one-shot grants as it can; retry after older ones expire",
			"capacity", strconv.Itoa(g.max), "next_free_after", stamp(g.heap.min().forget))
	}
	g.seen[jti] = forget
	g.heap.push(forgetEntry{forget: forget, jti: jti})
	return nil
}

// Used reports whether jti was used and is still held at now; it records nothing.
func (g *ReplayGuard) Used(jti string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(now)
	_, used := g.seen[jti]
	return used
}

// Len reports how many ids the guard holds at now, after forgetting those no verifier could accept any more.
func (g *ReplayGuard) Len(now time.Time) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(now)
	return len(g.seen)
}

// expire forgets every id whose grant no verifier could accept at now. Each
// id is popped once, so this is amortised O(log n) per Use.
func (g *ReplayGuard) expire(now time.Time) {
	for len(g.heap) > 0 && now.After(g.heap.min().forget) {
		delete(g.seen, g.heap.pop().jti)
	}
}
