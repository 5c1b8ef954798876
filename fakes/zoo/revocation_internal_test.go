package zoo

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// revocationStore is what the two teams' stores have in common, for the tests.
type revocationStore struct {
	name   string
	keep   time.Duration // how long an entry must be kept
	revoke func(jti string) bool
	denies func(jti string) bool
	held   func() int
	serve  http.Handler
	path   string // a good revocation request, %s for the jti
}

// stores makes each team's store with room for max entries, both clocks on clock.
func stores(clock clockwork.Clock, max int) []revocationStore {
	opts := Options{Clock: clock.Now, RevocationClock: clock.Now, RevocationDelay: ImmediateRevocation}
	d := newPayoutsDenyList(opts)
	d.max = max
	f := newFilesRevocations(opts)
	f.max = max
	return []revocationStore{
		{name: "payouts", keep: payoutsMaxLifetime + 2*payoutsLeeway,
			revoke: func(jti string) bool { return d.revoke(jti) == nil }, denies: d.denies,
			held:  func() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.denied) },
			serve: d.handler(), path: "/admin/revocations?jti=%s"},
		{name: "files", keep: filesMaxLifetime + 2*filesLeeway,
			revoke: func(jti string) bool { _, ok := f.revoke(jti); return ok }, denies: f.isRevoked,
			held:  func() int { f.mu.RLock(); defer f.mu.RUnlock(); return len(f.revoked) },
			serve: f, path: "/v1/grants/%s/revoke"},
	}
}

// TestRevocationsAreBounded: a store keeps an entry for as long as a grant
// issued by its revocation can be accepted (the max lifetime plus twice the
// leeway), refuses revocations once full (the endpoint answers 503), and
// forgets entries past that time to make room.
func TestRevocationsAreBounded(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	for _, s := range stores(clock, 2) {
		t.Run(s.name, func(t *testing.T) {
			start := clock.Now()
			require.True(t, s.revoke("a"))
			require.True(t, s.revoke("b"))
			assert.True(t, s.revoke("a"), "revoking again is no new entry")
			assert.False(t, s.revoke("c"), "full")
			rec := httptest.NewRecorder()
			s.serve.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, fmt.Sprintf(s.path, "c"), nil))
			assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())

			clock.Advance(start.Add(s.keep).Sub(clock.Now()))
			assert.False(t, s.revoke("c"), "still full at the last instant a grant could pass")
			assert.True(t, s.denies("a"))
			clock.Advance(time.Nanosecond)
			assert.True(t, s.revoke("c"), "the expired entries make room")
			assert.Equal(t, 1, s.held(), "a and b are forgotten")
			assert.False(t, s.denies("a"))
			assert.True(t, s.denies("c"))
		})
	}
}

// TestRevocationDelayOption: zero is the member's own delay, a negative
// one none, a positive one itself.
func TestRevocationDelayOption(t *testing.T) {
	for _, tc := range []struct {
		opt, own, want time.Duration
	}{
		{0, 200 * time.Millisecond, 200 * time.Millisecond},
		{0, 0, 0},
		{ImmediateRevocation, 200 * time.Millisecond, 0},
		{-time.Hour, 200 * time.Millisecond, 0},
		{time.Second, 200 * time.Millisecond, time.Second},
		{time.Second, 0, time.Second},
	} {
		assert.Equal(t, tc.want, Options{RevocationDelay: tc.opt}.revocationDelay(tc.own), "%s over %s", tc.opt, tc.own)
	}
}
