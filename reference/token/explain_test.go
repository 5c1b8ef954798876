package token_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

func TestInspect(t *testing.T) {
	f := newFixture(t)
	raw := f.grant(func(s *token.GrantSpec) { s.ID = "g-1" })
	d, err := token.Inspect(raw)
	require.NoError(t, err)
	assert.Equal(t, "EdDSA", d.String("alg"))
	assert.Equal(t, "ed-1", d.String("kid"))
	assert.Equal(t, alice, d.String("sub"), "claims are read before the header")
	exp, ok := d.Time("exp")
	require.True(t, ok)
	assert.Equal(t, t0.Add(grantTTL), exp)
	assert.Equal(t, t0.Add(grantTTL), token.UnverifiedExpiry(raw))

	for name, bad := range map[string]string{
		"two segments":      "a.b",
		"64 KiB of dots":    strings.Repeat(".", 64<<10),
		"over 1 MiB":        strings.Repeat("a", 1<<20+1),
		"bad base64 header": "!!." + seg(t, f.claims()) + ".",
		"non-JSON payload":  seg(t, hdr("EdDSA", "k", "")) + "." + seg(t, "x") + ".",
	} {
		_, err := token.Inspect(bad)
		assert.ErrorIs(t, err, token.ErrNotJWT, name)
		assert.True(t, token.UnverifiedExpiry(bad).IsZero(), name)
	}
	_, ok = (&token.Decoded{Claims: map[string]any{"exp": "soon"}}).Time("exp")
	assert.False(t, ok, "a string exp is not a time")
}

// Inspect runs before any verifier size check in Explain, so a 1 MiB run of
// dots must not cost more than a small multiple of its size (CVE-2025-30204
// class). strings.Split makes a 16-byte string header per dot: ~16 MiB.
func TestInspectDotsAllocationBounded(t *testing.T) {
	dots := strings.Repeat(".", 1<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := token.Inspect(dots)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, token.ErrNotJWT)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated to refuse 1 MiB of dots")
}

func TestExplain(t *testing.T) {
	f := newFixture(t)
	cfg := token.ExplainConfig{
		Grant:        f.config(),
		GrantKeys:    f.set.Public(),
		Identity:     f.config(func(c *token.Config) { c.Issuer = testIDP }),
		IdentityKeys: f.set.Public(),
	}
	at := func(d time.Duration) token.ExplainConfig { c := cfg; c.At = t0.Add(d); return c }
	grant := f.grant()
	identity := f.identity(alice)

	tests := []struct {
		name     string
		raw      string
		cfg      token.ExplainConfig
		kind     string
		accepted bool
		reason   reason.Reason
		lines    []string // substrings some line must contain
	}{
		{"valid grant", grant, at(time.Minute), "grant", true, "", []string{"Accepted at", `trusting "broker.test"`, "Scope: methods [/demo.v1.Vault/Read]"}},
		{"expired grant", grant, at(grantTTL + leeway + time.Minute), "grant", false, reason.GrantExpired,
			[]string{"Expired 1m30s ago", "clock were 1m0s behind (leeway 30s)", "Fix: "}},
		{"grant from the future", grant, at(-leeway - 5*time.Second), "grant", false, reason.GrantNotYetValid,
			[]string{"clock were 5s further ahead"}},
		{"valid identity", identity, at(0), "identity", true, "", []string{`trusting "idp.test"`}},
		{"expired identity", identity, at(2 * time.Hour), "identity", false, reason.IdentityExpired,
			[]string{"underlying check that failed: GRANT_EXPIRED", "clock were 59m30s behind"}},
		{"alg none", craft(t, hdr("none", "ed-1", token.TypeGrant), f.claims(), nil), at(0), "grant", false, reason.GrantAlgMismatch,
			[]string{"The token offers none; the verifier accepts only EdDSA,ES256."}},
		{"not a JWT", "a.b", at(0), "unknown", false, reason.GrantMalformed, []string{"not a decodable JWT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := token.Explain(tc.raw, tc.cfg)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, e.Kind)
			assert.Equal(t, tc.accepted, e.Accepted)
			assert.Equal(t, tc.reason, e.Reason)
			text := strings.Join(e.Lines, "\n")
			for _, want := range tc.lines {
				assert.Contains(t, text, want)
			}
			if i := strings.LastIndexByte(tc.raw, '.'); i >= 0 && len(tc.raw)-i > 8 {
				assert.NotContains(t, text, tc.raw[i+1:], "the explanation echoes the signature")
			}
		})
	}

	_, err := token.Explain(grant, token.ExplainConfig{GrantKeys: f.set})
	assert.Error(t, err, "a verifier config without issuer and audience is an error, not a verdict")
}
