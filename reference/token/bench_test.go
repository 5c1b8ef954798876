package token_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/token"
)

// benchGrant returns a verifier pinned to key's algorithm and a grant it accepts.
func benchGrant(tb testing.TB, key *token.Key, cacheSize int) (*token.GrantVerifier, string) {
	tb.Helper()
	f := newFixture(tb)
	set := token.NewKeySet(key)
	raw, _, err := token.NewIssuer(testIssuer, set, f.clock).Grant(f.spec())
	require.NoError(tb, err)
	v, err := token.NewGrantVerifier(set.Public(), f.config(func(c *token.Config) {
		c.Algorithms, c.CacheSize = []string{key.Algorithm}, cacheSize
	}))
	require.NoError(tb, err)
	_, err = v.Verify(raw, defaultRequest())
	require.NoError(tb, err)
	return v, raw
}

// BenchmarkVerifyCold is a full verification: parse, signature, claims (cache disabled).
func BenchmarkVerifyCold(b *testing.B) {
	k := sharedKeys()
	for _, key := range []*token.Key{k.ed, k.es, k.rs, k.hs} {
		b.Run(key.Algorithm, func(b *testing.B) {
			v, raw := benchGrant(b, key, -1)
			req := defaultRequest()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(raw, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCacheHit is the steady state of a caller reusing its grant.
func BenchmarkVerifyCacheHit(b *testing.B) {
	v, raw := benchGrant(b, sharedKeys().ed, token.DefaultCacheSize)
	req := defaultRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(raw, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCacheHitParallel(b *testing.B) {
	v, raw := benchGrant(b, sharedKeys().ed, token.DefaultCacheSize)
	req := defaultRequest()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(raw, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// A cache hit must not allocate: it runs on every protected call.
func TestVerifyCacheHitDoesNotAllocate(t *testing.T) {
	v, raw := benchGrant(t, sharedKeys().ed, token.DefaultCacheSize)
	req := defaultRequest()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(raw, req); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
