package token_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/token"
)

// bigGrant is a valid grant of about size bytes, padded with its request id.
func (f *fixture) bigGrant(id string, size int) string {
	f.tb.Helper()
	pad, raw := 0, ""
	for range 4 { // base64 and JSON framing make the size a little off at first
		raw = f.grant(func(s *token.GrantSpec) { s.ID, s.RequestID = id, strings.Repeat("r", pad) })
		if d := size - len(raw); d > -4 && d < 4 {
			break
		}
		pad = max(pad+(size-len(raw))*3/4, 0)
	}
	require.InDelta(f.tb, size, len(raw), 4)
	return raw
}

// The verified-token caches are bounded by estimated bytes as well as by
// count: many distinct tokens of the maximum size must not grow them past
// the byte budget (finding 14).
func TestCacheBoundedByBytes(t *testing.T) {
	const budget = 64 << 10
	const tokenSize = token.DefaultMaxTokenBytes - 64
	t.Run("grants", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier(func(c *token.Config) { c.CacheBytes = budget })
		for i := range 40 {
			raw := f.bigGrant(fmt.Sprint("g-", i), tokenSize)
			_, err := v.Verify(raw, defaultRequest())
			require.NoError(t, err)
			require.LessOrEqual(t, v.CacheBytes(), budget)
			require.LessOrEqual(t, v.CacheLen()*len(raw), budget, "%d tokens of %d bytes cached", v.CacheLen(), len(raw))
		}
		assert.Positive(t, v.CacheLen(), "the cache still caches")
		assert.Greater(t, v.CacheBytes(), v.CacheLen()*tokenSize, "the estimate counts the key text and more")
	})
	t.Run("identities", func(t *testing.T) {
		f := newFixture(t)
		v := f.identityVerifier(func(c *token.Config) { c.CacheBytes = budget })
		for i := range 40 {
			groups := []string{fmt.Sprint("group-", i), strings.Repeat("g", tokenSize*3/4-400)}
			raw, err := f.idp.Identity(token.IdentitySpec{Subject: alice, Audience: testAudience, Groups: groups, TTL: time.Hour})
			require.NoError(t, err)
			require.LessOrEqual(t, len(raw), token.DefaultMaxTokenBytes)
			_, err = v.Verify(raw)
			require.NoError(t, err)
			require.LessOrEqual(t, v.CacheBytes(), budget)
			require.LessOrEqual(t, v.CacheLen()*len(raw), budget, "%d tokens of %d bytes cached", v.CacheLen(), len(raw))
		}
		assert.Positive(t, v.CacheLen())
	})
}

func TestCacheBytesAccounting(t *testing.T) {
	t.Run("the default budget applies", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		_, err := v.Verify(f.grant(), defaultRequest())
		require.NoError(t, err)
		assert.Positive(t, v.CacheBytes())
		assert.Less(t, v.CacheBytes(), 4<<10, "one ordinary grant costs far less than 4 KiB")
	})
	t.Run("a token larger than the budget is verified but not cached", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier(func(c *token.Config) { c.CacheBytes = 4 << 10 })
		raw := f.bigGrant("big", 6<<10)
		_, err := v.Verify(raw, defaultRequest())
		require.NoError(t, err)
		assert.Zero(t, v.CacheLen())
		assert.Zero(t, v.CacheBytes())
	})
	t.Run("eviction gives the bytes back", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier(func(c *token.Config) { c.CacheSize = 1 })
		_, err := v.Verify(f.bigGrant("big", 6<<10), defaultRequest())
		require.NoError(t, err)
		big := v.CacheBytes()
		_, err = v.Verify(f.grant(func(s *token.GrantSpec) { s.ID = "small" }), defaultRequest())
		require.NoError(t, err)
		assert.Equal(t, 1, v.CacheLen())
		assert.Less(t, v.CacheBytes(), big-5<<10, "only the small grant is counted")
	})
	t.Run("a big token makes room by evicting several small ones", func(t *testing.T) {
		f := newFixture(t)
		const budget = 16 << 10
		v := f.verifier(func(c *token.Config) { c.CacheBytes = budget })
		for i := range 30 {
			_, err := v.Verify(f.grant(func(s *token.GrantSpec) { s.ID = fmt.Sprint("small-", i) }), defaultRequest())
			require.NoError(t, err)
		}
		small := v.CacheLen()
		require.Greater(t, small, 5)
		_, err := v.Verify(f.bigGrant("big", 8<<10-64), defaultRequest())
		require.NoError(t, err)
		assert.LessOrEqual(t, v.CacheBytes(), budget)
		assert.Less(t, v.CacheLen(), small)
	})
}
