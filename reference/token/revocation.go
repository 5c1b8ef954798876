package token

import (
	"sync"
	"time"

	"github.com/jitbench/jitbench/reference/reason"
)

// Revocations tells a verifier whether a grant was revoked. Check returns nil
// when the grant may be used, a GRANT_REVOKED error when it was revoked, or a
// REVOCATION_VIEW_STALE error when the view is too old to tell and the
// implementation fails closed.
type Revocations interface {
	Check(jti string, now time.Time) error
}

// RevocationsFunc adapts a function to Revocations.
type RevocationsFunc func(jti string, now time.Time) error

// Check calls f.
func (f RevocationsFunc) Check(jti string, now time.Time) error { return f(jti, now) }

var (
	_ Revocations = RevocationsFunc(nil)
	_ Revocations = (*RevocationSet)(nil)
)

// RevocationSet is an in-memory set of revoked grant ids. An entry is kept
// until the grant it names has expired, after which expiry alone refuses it.
type RevocationSet struct {
	mu      sync.RWMutex
	revoked map[string]time.Time // jti -> when the grant expires
}

// NewRevocationSet returns an empty set.
func NewRevocationSet() *RevocationSet {
	return &RevocationSet{revoked: make(map[string]time.Time)}
}

// Revoke records that grant jti, valid until expires, is revoked.
func (s *RevocationSet) Revoke(jti string, expires time.Time) {
	s.mu.Lock()
	s.revoked[jti] = expires
	s.mu.Unlock()
}

// Check implements Revocations.
func (s *RevocationSet) Check(jti string, _ time.Time) error {
	s.mu.RLock()
	_, revoked := s.revoked[jti]
	s.mu.RUnlock()
	if revoked {
		return reason.New(reason.GrantRevoked, "the grant was revoked after it was issued", "grant_id", jti)
	}
	return nil
}

// Prune drops entries for grants that expired before now and returns how many remain.
func (s *RevocationSet) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for jti, exp := range s.revoked {
		if now.After(exp) {
			delete(s.revoked, jti)
		}
	}
	return len(s.revoked)
}

// ReplayGuard remembers the ids of one-shot grants already used, until they
// expire, so each is accepted once. When full of unexpired ids it refuses new
// ones (fails closed) rather than forgetting and allowing a replay.
type ReplayGuard struct {
	mu   sync.Mutex
	seen map[string]time.Time
	max  int
}

// NewReplayGuard returns a guard holding at most max ids (0 means 100,000).
func NewReplayGuard(max int) *ReplayGuard {
	if max <= 0 {
		max = 100_000
	}
	return &ReplayGuard{seen: make(map[string]time.Time), max: max}
}

// Use records jti as used and returns nil the first time, a GRANT_REPLAYED error after.
func (g *ReplayGuard) Use(jti string, expires, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, used := g.seen[jti]; used {
		return reason.New(reason.GrantReplayed, "this one-shot grant was already used", "grant_id", jti)
	}
	if len(g.seen) >= g.max {
		for id, exp := range g.seen {
			if now.After(exp) {
				delete(g.seen, id)
			}
		}
		if len(g.seen) >= g.max {
			return reason.New(reason.GrantReplayed, "the verifier's one-shot register is full; refusing rather than risking a replay")
		}
	}
	g.seen[jti] = expires
	return nil
}
