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
// while a verifier could still accept the grant it names, until its exp plus
// the leeway, after which expiry alone refuses it. The leeway kept is
// DefaultLeeway, raised to a verifier's own when the set is given to it with
// WithRevocations, or with CoverLeeway.
type RevocationSet struct {
	mu      sync.RWMutex
	revoked map[string]time.Time // jti -> when the grant expires
	leeway  time.Duration
}

// NewRevocationSet returns an empty set that keeps entries until exp + DefaultLeeway.
func NewRevocationSet() *RevocationSet {
	return &RevocationSet{revoked: make(map[string]time.Time), leeway: DefaultLeeway}
}

// CoverLeeway makes the set keep each entry until at least exp + leeway: a
// verifier with that leeway still accepts the grant until then.
func (s *RevocationSet) CoverLeeway(leeway time.Duration) {
	s.mu.Lock()
	s.leeway = max(s.leeway, leeway)
	s.mu.Unlock()
}

// Revoke records that grant jti, valid until expires, is revoked. A second
// revocation of the same id never shortens how long it is kept.
func (s *RevocationSet) Revoke(jti string, expires time.Time) {
	s.mu.Lock()
	if cur, ok := s.revoked[jti]; !ok || expires.After(cur) {
		s.revoked[jti] = expires
	}
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

// Prune drops entries for grants no verifier could accept at now (exp +
// leeway is past) and returns how many remain.
func (s *RevocationSet) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for jti, exp := range s.revoked {
		if now.After(exp.Add(s.leeway)) {
			delete(s.revoked, jti)
		}
	}
	return len(s.revoked)
}
