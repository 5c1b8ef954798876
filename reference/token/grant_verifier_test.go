package token_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

func TestGrantVerifyHappyPathEveryAlgorithm(t *testing.T) {
	k := sharedKeys()
	for _, key := range []*token.Key{k.ed, k.es, k.rs, k.hs} {
		t.Run(key.Algorithm, func(t *testing.T) {
			f := newFixture(t)
			// A fresh key proves GenerateKey yields working keys; RSA reuses
			// the shared one (also from GenerateKey) as generation is slow under -race.
			fresh := key
			if key.Algorithm != token.RS256 {
				var err error
				fresh, err = token.GenerateKey(key.Algorithm, "fresh-"+key.Algorithm)
				require.NoError(t, err)
			}
			set := token.NewKeySet(fresh)
			iss := token.NewIssuer(testIssuer, set, f.clock)
			raw, issued, err := iss.Grant(f.spec(func(s *token.GrantSpec) {
				s.RequestID, s.ID = "req-7", "grant-7"
			}))
			require.NoError(t, err)

			v, err := token.NewGrantVerifier(set.Public(), f.config(func(c *token.Config) {
				c.Algorithms = []string{key.Algorithm}
			}))
			require.NoError(t, err)
			g, err := v.Verify(raw, defaultRequest())
			require.NoError(t, err)
			assert.Equal(t, issued, g, "the issuer's view and the verifier's agree")
			assert.Equal(t, token.Grant{
				ID: "grant-7", RequestID: "req-7", Issuer: testIssuer, Subject: alice,
				Audience: []string{testAudience},
				Scope:    token.Scope{Methods: []string{readMethod}, Resource: "secrets/team-a/*"},
				IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(grantTTL),
				KeyID: fresh.ID, Algorithm: key.Algorithm,
			}, *g)

			p, err := v.Parse(raw)
			require.NoError(t, err)
			assert.Equal(t, g.ID, p.ID)
		})
	}
}

// A pinned list naming several algorithms accepts each with its own key.
func TestGrantVerifyAllPinned(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(func(c *token.Config) { c.Algorithms = token.Algorithms() })
	for _, key := range []*token.Key{f.keys.ed, f.keys.es, f.keys.rs, f.keys.hs} {
		_, err := v.Verify(f.signed(key, with(f.claims(), "jti", key.ID)), defaultRequest())
		assert.NoError(t, err, key.Algorithm)
	}
}

// Variations a valid grant may have and still pass.
func TestGrantVerifyAcceptedVariations(t *testing.T) {
	f := newFixture(t)
	signed := func(kv ...any) string { return f.signed(f.keys.ed, with(f.claims(), kv...)) }
	tests := []struct {
		name string
		raw  string
	}{
		{"nbf absent", signed("nbf", deleted)},
		{"aud as an array holding ours", signed("aud", []string{"other", testAudience})},
		{"fractional times", signed("iat", float64(t0.Unix())+0.25, "exp", float64(t0.Add(time.Minute).Unix())+0.5)},
		{"no resource allows every resource", signed("scope", map[string]any{"methods": []string{readMethod}})},
		{"unknown extra claims", signed("xyz", map[string]any{"nested": true})},
		{"typ in another case", craft(t, hdr(token.EdDSA, "ed-1", strings.ToUpper(token.TypeGrant)), f.claims(), f.keys.ed)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.verifier().Verify(tc.raw, defaultRequest())
			require.NoError(t, err)
		})
	}
}

// The clock-skew boundaries (SKW-001..003, CLM-001, CLM-003): one second
// inside the leeway passes, one second outside fails. Skew is simulated both
// by shifting the claims and by giving issuer and verifier different clocks.
func TestGrantVerifySkewBoundaries(t *testing.T) {
	tests := []struct {
		id   string
		name string
		// shift is the verifier's clock minus the issuer's.
		shift time.Duration
		want  reason.Reason
	}{
		{"SKW-001", "verifier ahead of exp by leeway-1s", grantTTL + leeway - time.Second, ""},
		{"SKW-002", "verifier ahead of exp by leeway+1s", grantTTL + leeway + time.Second, reason.GrantExpired},
		{"SKW-001", "verifier ahead of exp by exactly the leeway", grantTTL + leeway, ""},
		{"SKW-003", "verifier behind iat/nbf by leeway-1s", -leeway + time.Second, ""},
		{"SKW-003", "verifier behind iat/nbf by leeway+1s", -leeway - time.Second, reason.GrantNotYetValid},
		{"SKW-003", "verifier behind iat/nbf by exactly the leeway", -leeway, ""},
	}
	for _, tc := range tests {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			f := newFixture(t)
			raw := f.grant()
			v, err := token.NewGrantVerifier(f.set.Public(), f.config(func(c *token.Config) {
				c.Clock = clockwork.NewFakeClockAt(t0.Add(tc.shift))
			}))
			require.NoError(t, err)
			_, err = v.Verify(raw, defaultRequest())
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			requireDenied(t, err, tc.want, raw)
		})
	}
}

func TestGrantVerifyTimeClaimBoundaries(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	past := now.Add(-time.Hour).Unix()
	tests := []struct {
		name string
		kv   []any
		want reason.Reason
		md   map[string]string
	}{
		{"exp leeway-1s ago", []any{"iat", past, "nbf", past, "exp", now.Add(-leeway + time.Second).Unix()}, "", nil},
		{"exp leeway+1s ago", []any{"iat", past, "nbf", past, "exp", now.Add(-leeway - time.Second).Unix()}, reason.GrantExpired,
			map[string]string{"expired_ago": "31s", "skew_needed": "1s", "leeway": "30s", "token_age": "1h0m0s",
				"expired_at": now.Add(-leeway - time.Second).Format(time.RFC3339), "now": now.Format(time.RFC3339)}},
		{"exp 3m ago", []any{"iat", past, "nbf", past, "exp", now.Add(-3 * time.Minute).Unix()}, reason.GrantExpired,
			map[string]string{"expired_ago": "3m0s", "skew_needed": "2m30s"}},
		{"nbf leeway-1s ahead", []any{"nbf", now.Add(leeway - time.Second).Unix()}, "", nil},
		{"nbf leeway+1s ahead", []any{"nbf", now.Add(leeway + time.Second).Unix()}, reason.GrantNotYetValid,
			map[string]string{"claim": "nbf", "skew_seen": "31s", "skew_needed": "1s", "leeway": "30s"}},
		{"iat leeway-1s ahead", []any{"iat", now.Add(leeway - time.Second).Unix(), "nbf", deleted}, "", nil},
		{"iat leeway+1s ahead", []any{"iat", now.Add(leeway + time.Second).Unix(), "nbf", deleted}, reason.GrantNotYetValid,
			map[string]string{"claim": "iat", "skew_seen": "31s", "skew_needed": "1s"}},
		{"lifetime exactly the maximum", []any{"exp", now.Add(time.Hour).Unix()}, "", nil},
		{"lifetime a second over", []any{"exp", now.Add(time.Hour + time.Second).Unix()}, reason.GrantLifetimeExceeded,
			map[string]string{"lifetime": "1h0m1s", "max_lifetime": "1h0m0s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := f.signed(f.keys.ed, with(f.claims(), tc.kv...))
			_, err := f.verifier().Verify(raw, defaultRequest())
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			re := requireDenied(t, err, tc.want, raw)
			for k, want := range tc.md {
				assert.Equal(t, want, re.Metadata[k], "metadata %q", k)
			}
		})
	}
}

// A custom leeway applies to both ends of the window.
func TestGrantVerifyCustomLeeway(t *testing.T) {
	f := newFixture(t)
	raw := f.grant()
	f.clock.Advance(grantTTL + 5*time.Second)
	_, err := f.verifier(func(c *token.Config) { c.Leeway = 10 * time.Second }).Verify(raw, defaultRequest())
	require.NoError(t, err)
	_, err = f.verifier(func(c *token.Config) { c.Leeway = 4 * time.Second }).Verify(raw, defaultRequest())
	requireDenied(t, err, reason.GrantExpired, raw)
}

func TestScopePatterns(t *testing.T) {
	tests := []struct {
		name     string
		scope    token.Scope
		method   string
		resource string
		allowed  bool
	}{
		{"exact method", token.Scope{Methods: []string{readMethod}}, readMethod, "", true},
		{"exact method is not a prefix", token.Scope{Methods: []string{readMethod}}, readMethod + "All", "", false},
		{"service wildcard", token.Scope{Methods: []string{"/demo.v1.Vault/*"}}, "/demo.v1.Vault/Delete", "", true},
		{"service wildcard, other service", token.Scope{Methods: []string{"/demo.v1.Vault/*"}}, "/demo.v1.Ledger/Read", "", false},
		{"service wildcard, lookalike service", token.Scope{Methods: []string{"/demo.v1.Vault/*"}}, "/demo.v1.VaultAdmin/Read", "", false},
		{"prefix wildcard", token.Scope{Methods: []string{"/demo.v1.Vault/Re*"}}, "/demo.v1.Vault/ReadAll", "", true},
		{"global wildcard", token.Scope{Methods: []string{"*"}}, "/any.Service/Any", "", true},
		{"star inside is literal", token.Scope{Methods: []string{"/demo.*/Read"}}, "/demo.v1.Vault/Read", "", false},
		{"star inside matches itself", token.Scope{Methods: []string{"/demo.*/Read"}}, "/demo.*/Read", "", true},
		{"second method", token.Scope{Methods: []string{"/x/Y", readMethod}}, readMethod, "", true},
		{"method case matters", token.Scope{Methods: []string{readMethod}}, strings.ToLower(readMethod), "", false},
		{"resource wildcard", token.Scope{Methods: []string{"*"}, Resource: "secrets/team-a/*"}, readMethod, "secrets/team-a/db", true},
		{"resource wildcard, deeper", token.Scope{Methods: []string{"*"}, Resource: "secrets/team-a/*"}, readMethod, "secrets/team-a/x/y", true},
		{"resource wildcard, sibling", token.Scope{Methods: []string{"*"}, Resource: "secrets/team-a/*"}, readMethod, "secrets/team-b/db", false},
		{"resource wildcard, parent", token.Scope{Methods: []string{"*"}, Resource: "secrets/team-a/*"}, readMethod, "secrets/team-a", false},
		{"resource exact", token.Scope{Methods: []string{"*"}, Resource: "secrets/a"}, readMethod, "secrets/a", true},
		{"resource exact is not a prefix", token.Scope{Methods: []string{"*"}, Resource: "secrets/a"}, readMethod, "secrets/ab", false},
		{"no resource in grant allows any", token.Scope{Methods: []string{"*"}}, readMethod, "anything", true},
		{"no resource in request", token.Scope{Methods: []string{"*"}, Resource: "secrets/a"}, readMethod, "", true},
	}
	// A method that addresses a resource with an empty value (List with prefix
	// "" lists everything) is not covered by a resource-scoped grant.
	t.Run("empty resource addressed", func(t *testing.T) {
		f := newFixture(t)
		raw := f.grant(func(s *token.GrantSpec) { s.Scope = token.Scope{Methods: []string{"*"}, Resource: "secrets/*"} })
		_, err := f.verifier().Verify(raw, token.Request{Subject: alice, Method: readMethod, HasResource: true})
		requireDenied(t, err, reason.GrantScopeMismatch, raw)
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			raw := f.grant(func(s *token.GrantSpec) { s.Scope = tc.scope })
			req := token.Request{Subject: alice, Method: tc.method, Resource: tc.resource, HasResource: tc.resource != ""}
			_, err := f.verifier().Verify(raw, req)
			if tc.allowed {
				require.NoError(t, err)
			} else {
				requireDenied(t, err, reason.GrantScopeMismatch, raw)
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	f := newFixture(t)
	revoked := token.NewRevocationSet()
	v, err := token.NewGrantVerifier(f.set.Public(), f.config(), token.WithRevocations(revoked))
	require.NoError(t, err)
	raw := f.grant(func(s *token.GrantSpec) { s.ID = "g-1" })
	other := f.grant(func(s *token.GrantSpec) { s.ID = "g-2" })

	_, err = v.Verify(raw, defaultRequest())
	require.NoError(t, err)
	require.Equal(t, 1, v.CacheLen(), "the grant is cached before the revocation")

	revoked.Revoke("g-1", t0.Add(grantTTL))
	_, err = v.Verify(raw, defaultRequest())
	re := requireDenied(t, err, reason.GrantRevoked, raw)
	assert.Equal(t, "g-1", re.Metadata["grant_id"])

	_, err = v.Verify(other, defaultRequest())
	assert.NoError(t, err, "revoking one grant leaves others alone")

	// A revoked grant is refused even on its first presentation.
	fresh, err := token.NewGrantVerifier(f.set.Public(), f.config(), token.WithRevocations(revoked))
	require.NoError(t, err)
	_, err = fresh.Verify(raw, defaultRequest())
	requireDenied(t, err, reason.GrantRevoked, raw)

	// Pruning keeps entries while the verifier could accept the grant (exp
	// + leeway); expiry refuses it after.
	assert.Equal(t, 1, revoked.Prune(t0.Add(grantTTL+leeway)))
	assert.Equal(t, 0, revoked.Prune(t0.Add(grantTTL+leeway+time.Nanosecond)))
}

// A revocation must outlive every instant at which the verifier could accept
// the grant: exp plus the verifier's leeway, not exp (finding 8). The set
// learns a longer leeway from the verifier it is given to.
func TestRevocationOutlivesLeeway(t *testing.T) {
	tests := []struct {
		name   string
		leeway time.Duration // the verifier's; 0 means the default
	}{
		{"default leeway", 0},
		{"verifier leeway longer than the default", 2 * time.Minute},
		{"verifier leeway shorter than the default", 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			revoked := token.NewRevocationSet()
			v, err := token.NewGrantVerifier(f.set.Public(), f.config(func(c *token.Config) { c.Leeway = tc.leeway }),
				token.WithRevocations(revoked))
			require.NoError(t, err)
			raw := f.grant(func(s *token.GrantSpec) { s.ID = "g-1" })
			revoked.Revoke("g-1", t0.Add(grantTTL))

			kept := max(v.Leeway(), token.DefaultLeeway)
			last := t0.Add(grantTTL + v.Leeway()) // the last instant the verifier accepts the grant
			f.clock.Advance(grantTTL + v.Leeway())
			revoked.Prune(f.clock.Now())
			_, err = v.Verify(raw, defaultRequest())
			requireDenied(t, err, reason.GrantRevoked, raw)

			assert.Equal(t, 1, revoked.Prune(t0.Add(grantTTL+kept)), "kept until exp + leeway")
			assert.Equal(t, 0, revoked.Prune(t0.Add(grantTTL+kept+time.Nanosecond)), "dropped right after")
			f.clock.Advance(kept - v.Leeway() + time.Nanosecond)
			require.True(t, f.clock.Now().After(last))
			_, err = v.Verify(raw, defaultRequest())
			requireDenied(t, err, reason.GrantExpired, raw)
		})
	}
	t.Run("a second revocation never shortens the first", func(t *testing.T) {
		revoked := token.NewRevocationSet()
		revoked.Revoke("g-1", t0.Add(time.Hour))
		revoked.Revoke("g-1", t0.Add(time.Minute))
		assert.Equal(t, 1, revoked.Prune(t0.Add(time.Hour)))
	})
}

func TestRevocationViewStale(t *testing.T) {
	f := newFixture(t)
	var seen []string
	stale := token.RevocationsFunc(func(jti string, now time.Time) error {
		seen = append(seen, jti+"@"+now.Format(time.RFC3339))
		return reason.New(reason.RevocationViewStale, "the revocation view is 2m old")
	})
	v, err := token.NewGrantVerifier(f.set.Public(), f.config(), token.WithRevocations(stale))
	require.NoError(t, err)
	raw := f.grant(func(s *token.GrantSpec) { s.ID = "g-1" })
	_, err = v.Verify(raw, defaultRequest())
	requireDenied(t, err, reason.RevocationViewStale, raw)
	assert.Equal(t, []string{"g-1@" + t0.Format(time.RFC3339)}, seen, "the check gets the jti and the verifier's time")
}

func TestOneShot(t *testing.T) {
	t.Run("used twice", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		raw := f.grant(func(s *token.GrantSpec) { s.OneShot, s.ID = true, "once" })
		g, err := v.Verify(raw, defaultRequest())
		require.NoError(t, err)
		assert.True(t, g.OneShot)
		assert.Zero(t, v.CacheLen(), "a one-shot grant is never cached")

		_, err = v.Verify(raw, defaultRequest())
		re := requireDenied(t, err, reason.GrantReplayed, raw)
		assert.Equal(t, "once", re.Metadata["grant_id"])
		assert.Zero(t, v.CacheLen())
	})
	t.Run("a denied use does not consume it", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		raw := f.grant(func(s *token.GrantSpec) { s.OneShot = true })
		_, err := v.Verify(raw, token.Request{Subject: "mallory", Method: readMethod})
		requireDenied(t, err, reason.GrantSubjectMismatch, raw)
		_, err = v.Verify(raw, defaultRequest())
		require.NoError(t, err)
	})
	t.Run("Parse does not consume it", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		raw := f.grant(func(s *token.GrantSpec) { s.OneShot = true })
		_, err := v.Parse(raw)
		require.NoError(t, err)
		_, err = v.Verify(raw, defaultRequest())
		require.NoError(t, err)
	})
	t.Run("shared guard across verifiers", func(t *testing.T) {
		// Two replicas sharing one register must not each accept the grant once.
		f := newFixture(t)
		guard := token.NewReplayGuard(0)
		a, err := token.NewGrantVerifier(f.set.Public(), f.config(), token.WithReplayGuard(guard))
		require.NoError(t, err)
		b, err := token.NewGrantVerifier(f.set.Public(), f.config(), token.WithReplayGuard(guard))
		require.NoError(t, err)
		raw := f.grant(func(s *token.GrantSpec) { s.OneShot = true })
		_, err = a.Verify(raw, defaultRequest())
		require.NoError(t, err)
		_, err = b.Verify(raw, defaultRequest())
		requireDenied(t, err, reason.GrantReplayed, raw)
	})
	t.Run("full register fails closed until entries expire", func(t *testing.T) {
		f := newFixture(t)
		v, err := token.NewGrantVerifier(f.set.Public(), f.config(), token.WithReplayGuard(token.NewReplayGuard(1)))
		require.NoError(t, err)
		short := f.grant(func(s *token.GrantSpec) { s.OneShot, s.TTL = true, time.Minute })
		long := f.grant(func(s *token.GrantSpec) { s.OneShot = true })
		_, err = v.Verify(short, defaultRequest())
		require.NoError(t, err)
		_, err = v.Verify(long, defaultRequest())
		re := requireDenied(t, err, reason.OneShotRegisterFull, long)
		assert.Equal(t, "1", re.Metadata["capacity"])

		// At exp + leeway the verifier still accepts short, so its id is held.
		f.clock.Advance(time.Minute + leeway)
		_, err = v.Verify(long, defaultRequest())
		requireDenied(t, err, reason.OneShotRegisterFull, long)
		_, err = v.Verify(short, defaultRequest())
		requireDenied(t, err, reason.GrantReplayed, short)

		f.clock.Advance(time.Nanosecond) // short's entry can now be forgotten
		_, err = v.Verify(long, defaultRequest())
		require.NoError(t, err)
		_, err = v.Verify(short, defaultRequest())
		requireDenied(t, err, reason.GrantExpired, short)
	})
	t.Run("concurrent uses: exactly one wins", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		raw := f.grant(func(s *token.GrantSpec) { s.OneShot = true })
		var ok, replayed atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				_, err := v.Verify(raw, defaultRequest())
				switch reason.Of(err) {
				case "":
					ok.Add(1)
				case reason.GrantReplayed:
					replayed.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), ok.Load())
		assert.Equal(t, int32(15), replayed.Load())
	})
}

func TestCache(t *testing.T) {
	t.Run("hit returns the same grant", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		raw := f.grant()
		g1, err := v.Verify(raw, defaultRequest())
		require.NoError(t, err)
		g2, err := v.Verify(raw, defaultRequest())
		require.NoError(t, err)
		assert.Same(t, g1, g2)
		assert.Equal(t, 1, v.CacheLen())
	})
	// A negative CacheSize or CacheBytes disables the cache.
	for name, off := range map[string]func(*token.Config){
		"disabled cache verifies every time":     func(c *token.Config) { c.CacheSize = -1 },
		"negative CacheBytes disables the cache": func(c *token.Config) { c.CacheBytes = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			v := f.verifier(off)
			raw := f.grant()
			g1, err := v.Verify(raw, defaultRequest())
			require.NoError(t, err)
			g2, err := v.Verify(raw, defaultRequest())
			require.NoError(t, err)
			assert.NotSame(t, g1, g2)
			assert.Zero(t, v.CacheLen())
		})
	}
	t.Run("hit still checks subject and scope", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		raw := f.grant()
		_, err := v.Verify(raw, defaultRequest())
		require.NoError(t, err)
		_, err = v.Verify(raw, token.Request{Subject: "mallory", Method: readMethod})
		requireDenied(t, err, reason.GrantSubjectMismatch, raw)
		_, err = v.Verify(raw, token.Request{Subject: alice, Method: "/demo.v1.Vault/Delete"})
		requireDenied(t, err, reason.GrantScopeMismatch, raw)
	})
	t.Run("expired cached grant is refused", func(t *testing.T) {
		f := newFixture(t)
		v := f.verifier()
		raw := f.grant()
		_, err := v.Verify(raw, defaultRequest())
		require.NoError(t, err)

		f.clock.Advance(grantTTL + leeway) // the last instant of the window
		_, err = v.Verify(raw, defaultRequest())
		require.NoError(t, err)

		f.clock.Advance(time.Second)
		_, err = v.Verify(raw, defaultRequest())
		requireDenied(t, err, reason.GrantExpired, raw)
	})
	t.Run("a grant not yet valid is not served from the cache early", func(t *testing.T) {
		f := newFixture(t)
		later := clockwork.NewFakeClockAt(t0.Add(time.Hour))
		raw, _, err := token.NewIssuer(testIssuer, f.set, later).Grant(f.spec())
		require.NoError(t, err)
		v := f.verifier()
		_, err = v.Verify(raw, defaultRequest())
		requireDenied(t, err, reason.GrantNotYetValid, raw)
		assert.Zero(t, v.CacheLen(), "a refused grant is not cached")
	})
	t.Run("bounded", func(t *testing.T) {
		f := newFixture(t)
		const size = 8
		v := f.verifier(func(c *token.Config) { c.CacheSize = size })
		for i := range 200 {
			raw := f.grant(func(s *token.GrantSpec) { s.ID = fmt.Sprint("g-", i) })
			_, err := v.Verify(raw, defaultRequest())
			require.NoError(t, err)
			require.LessOrEqual(t, v.CacheLen(), size)
		}
		assert.Positive(t, v.CacheLen())
	})
	t.Run("bounded with expired entries", func(t *testing.T) {
		f := newFixture(t)
		const size = 4
		v := f.verifier(func(c *token.Config) { c.CacheSize = size })
		for i := range 50 {
			raw := f.grant(func(s *token.GrantSpec) { s.ID, s.TTL = fmt.Sprint("g-", i), time.Second })
			_, err := v.Verify(raw, defaultRequest())
			require.NoError(t, err)
			f.clock.Advance(time.Minute) // every earlier entry is now expired
			require.LessOrEqual(t, v.CacheLen(), size)
		}
	})
}

// Verify must not hand back a grant together with a denial: a caller testing
// g != nil instead of err would let the call through.
func TestGrantVerifyReturnsNoGrantWhenDenied(t *testing.T) {
	f := newFixture(t)
	v := f.verifier()
	raw := f.grant()
	for _, req := range []token.Request{
		{Subject: "mallory", Method: readMethod},
		{Subject: alice, Method: "/demo.v1.Vault/Delete"},
		{Subject: alice, Method: readMethod, Resource: "secrets/team-b/db", HasResource: true},
	} {
		g, err := v.Verify(raw, req)
		require.Error(t, err)
		assert.Nil(t, g, "Verify(%+v) returned a grant with its error", req)
	}
}

// Presentations of one grant under different byte strings must not pass:
// the cache is keyed by the raw text, and anything keyed on the token
// downstream (logs, deny lists) would see a new token. Go's base64 decoder
// skips \r and \n, so a newline inside the signature segment is invisible to
// the signature check.
func TestGrantVerifyRefusesNonCanonicalEncoding(t *testing.T) {
	f := newFixture(t)
	raw := f.grant()
	h, p, s := parts(t, raw)
	for name, variant := range map[string]string{
		"newline inside the signature": h + "." + p + "." + s[:10] + "\n" + s[10:],
		"CR LF after the signature":    raw + "\r\n",
		"newline before the signature": h + "." + p + ".\n" + s,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.verifier().Verify(variant, defaultRequest())
			requireDenied(t, err, reason.GrantMalformed, variant)
		})
	}
}

// KEY-004: after a rotation the old key verifies until the overlap ends, then
// its kid is refused.
func TestRetiredKey(t *testing.T) {
	const overlap = 5 * time.Minute
	setup := func(t *testing.T) (*fixture, *token.GrantVerifier, string, *token.Key) {
		f := newFixture(t)
		old := f.grant() // signed by ed-1, valid 10 minutes
		next, err := token.GenerateKey(token.EdDSA, "ed-2")
		require.NoError(t, err)
		f.set.Rotate(next, f.clock.Now(), overlap)
		// The verifier resolves keys from the live set, as one fed by the broker would.
		v, err := token.NewGrantVerifier(f.set, f.config())
		require.NoError(t, err)
		return f, v, old, next
	}
	t.Run("still verifies before the overlap ends", func(t *testing.T) {
		f, v, old, _ := setup(t)
		f.clock.Advance(overlap)
		_, err := v.Verify(old, defaultRequest())
		require.NoError(t, err)
	})
	t.Run("refused after the overlap", func(t *testing.T) {
		f, v, old, _ := setup(t)
		f.clock.Advance(overlap + time.Second)
		_, err := v.Verify(old, defaultRequest())
		re := requireDenied(t, err, reason.GrantUnknownKey, old)
		assert.Equal(t, t0.Add(overlap).Format(time.RFC3339), re.Metadata["retired_at"])
	})
	t.Run("new key signs and verifies", func(t *testing.T) {
		f, v, _, next := setup(t)
		f.clock.Advance(overlap + time.Second)
		raw := f.grant()
		g, err := v.Verify(raw, defaultRequest())
		require.NoError(t, err)
		assert.Equal(t, next.ID, g.KeyID)
	})
	// A grant verified (and cached) while its key was live must not outlive
	// the key's retirement: the cache entry only knows the grant's exp.
	t.Run("refused after the overlap even when cached before", func(t *testing.T) {
		f, v, old, _ := setup(t)
		_, err := v.Verify(old, defaultRequest())
		require.NoError(t, err)
		f.clock.Advance(overlap + time.Second) // the grant itself is still inside its window
		_, err = v.Verify(old, defaultRequest())
		requireDenied(t, err, reason.GrantUnknownKey, old)
	})
}

func TestNewVerifierConfigErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		mod  func(*token.Config)
	}{
		{"no issuer", func(c *token.Config) { c.Issuer = "" }},
		{"no audience", func(c *token.Config) { c.Audience = "" }},
		{"alg none pinned", func(c *token.Config) { c.Algorithms = []string{"none"} }},
		{"unknown alg pinned", func(c *token.Config) { c.Algorithms = []string{token.EdDSA, "PS256"} }},
		{"negative leeway", func(c *token.Config) { c.Leeway = -time.Second }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.NewGrantVerifier(f.set, f.config(tc.mod))
			assert.Error(t, err)
			_, err = token.NewIdentityVerifier(f.set, f.config(tc.mod))
			assert.Error(t, err)
		})
	}
}

func TestVerifierAccessors(t *testing.T) {
	f := newFixture(t)
	pinned := []string{token.ES256}
	v := f.verifier(func(c *token.Config) { c.Algorithms = pinned })
	got := v.Algorithms()
	assert.Equal(t, pinned, got)
	got[0] = token.HS256
	assert.Equal(t, []string{token.ES256}, v.Algorithms(), "the pinned list is not aliased")
	pinned[0] = token.HS256
	assert.Equal(t, []string{token.ES256}, v.Algorithms(), "the config's slice is copied")
	assert.Equal(t, token.DefaultLeeway, v.Leeway())
	assert.Equal(t, testIssuer, v.Issuer())
	assert.Equal(t, t0, v.Now())
	assert.Equal(t, token.DefaultAlgorithms(), f.verifier().Algorithms())
}

// Verification is safe for concurrent use (run with -race).
func TestGrantVerifyConcurrent(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(func(c *token.Config) { c.CacheSize = 4 })
	raws := make([]string, 8)
	for i := range raws {
		raws[i] = f.grant(func(s *token.GrantSpec) { s.ID = fmt.Sprint("g-", i) })
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				_, err := v.Verify(raws[(w+i)%len(raws)], defaultRequest())
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, v.CacheLen(), 4)
}
