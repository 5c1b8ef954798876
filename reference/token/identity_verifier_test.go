package token_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

func TestIdentityVerifyHappyPath(t *testing.T) {
	k := sharedKeys()
	for _, key := range []*token.Key{k.ed, k.es, k.rs, k.hs} {
		t.Run(key.Algorithm, func(t *testing.T) {
			f := newFixture(t)
			set := token.NewKeySet(key)
			raw, err := token.NewIssuer(testIDP, set, f.clock).Identity(token.IdentitySpec{
				Subject: alice, Audience: testAudience, Groups: []string{"sre", "oncall"}, TTL: time.Hour,
			})
			require.NoError(t, err)
			c := f.config(func(c *token.Config) { c.Issuer, c.Algorithms = testIDP, []string{key.Algorithm} })
			v, err := token.NewIdentityVerifier(set.Public(), c)
			require.NoError(t, err)

			id, err := v.Verify(raw)
			require.NoError(t, err)
			assert.Equal(t, token.Identity{
				Subject: alice, Groups: []string{"sre", "oncall"}, Issuer: testIDP,
				IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), KeyID: key.ID, Algorithm: key.Algorithm,
			}, *id)

			again, err := v.Verify(raw)
			require.NoError(t, err)
			assert.Same(t, id, again, "the second presentation is a cache hit")
		})
	}
}

func TestIdentityVerifyMissing(t *testing.T) {
	f := newFixture(t)
	_, err := f.identityVerifier().Verify("")
	requireDenied(t, err, reason.IdentityMissing, "")
}

// Every shared-check failure becomes one of three identity reasons, with the
// precise grant reason kept in "cause".
func TestIdentityVerifyFailures(t *testing.T) {
	idHdr := func(alg, kid string) map[string]any { return hdr(alg, kid, token.TypeIdentity) }
	tests := []struct {
		name  string
		raw   func(f *fixture) string
		cfg   func(*token.Config)
		want  reason.Reason
		cause reason.Reason
	}{
		{"not three segments", func(*fixture) string { return "a.b" }, nil, reason.IdentityMalformed, reason.GrantMalformed},
		{"bad base64url", func(f *fixture) string { return "!!.!!.!!" }, nil, reason.IdentityMalformed, reason.GrantMalformed},
		{"non-JSON payload", func(f *fixture) string { return craft(f.tb, idHdr(token.EdDSA, "ed-1"), "alice", f.keys.ed) },
			nil, reason.IdentityMalformed, reason.GrantMalformed},
		{"64 KiB of dots", func(*fixture) string { return strings.Repeat(".", 64<<10) }, nil, reason.IdentityMalformed, reason.GrantTooLarge},
		{"exp as a string", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(), "exp", "1772600767"), f.keys.ed)
		}, nil, reason.IdentityMalformed, reason.GrantMalformed},
		{"crit header", func(f *fixture) string {
			return craft(f.tb, with(idHdr(token.EdDSA, "ed-1"), "crit", []string{"b64"}), f.identityClaims(), f.keys.ed)
		}, nil, reason.IdentityMalformed, reason.GrantMalformed},
		{"alg none", func(f *fixture) string { return craft(f.tb, idHdr("none", "ed-1"), f.identityClaims(), nil) },
			nil, reason.IdentityInvalid, reason.GrantAlgMismatch},
		{"HS256 with the EdDSA public key", func(f *fixture) string {
			return craft(f.tb, idHdr(token.HS256, "ed-1"), f.identityClaims(), hmacWith("ed-1", edPublicBytes(f.keys.ed)))
		}, pinHS256, reason.IdentityInvalid, reason.GrantAlgMismatch},
		{"signature stripped", func(f *fixture) string { return craft(f.tb, idHdr(token.EdDSA, "ed-1"), f.identityClaims(), nil) },
			nil, reason.IdentityInvalid, reason.GrantBadSignature},
		{"signed by an unknown key, known kid", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), f.identityClaims(), f.keys.evilEd)
		}, nil, reason.IdentityInvalid, reason.GrantBadSignature},
		{"unknown kid", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "evil-ed"), f.identityClaims(), f.keys.evilEd)
		}, nil, reason.IdentityInvalid, reason.GrantUnknownKey},
		{"expired", func(f *fixture) string {
			now := f.clock.Now()
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(),
				"iat", now.Add(-time.Hour).Unix(), "exp", now.Add(-leeway-time.Second).Unix()), f.keys.ed)
		}, nil, reason.IdentityExpired, reason.GrantExpired},
		{"not yet valid", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(),
				"nbf", f.clock.Now().Add(leeway+time.Second).Unix()), f.keys.ed)
		}, nil, reason.IdentityExpired, reason.GrantNotYetValid},
		{"exp missing", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(), "exp", deleted), f.keys.ed)
		}, nil, reason.IdentityInvalid, reason.GrantClaimMissing},
		{"sub missing", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(), "sub", deleted), f.keys.ed)
		}, nil, reason.IdentityInvalid, reason.GrantClaimMissing},
		{"wrong iss", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(), "iss", testIssuer), f.keys.ed)
		}, nil, reason.IdentityInvalid, reason.GrantIssuerMismatch},
		{"wrong aud", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(), "aud", "other"), f.keys.ed)
		}, nil, reason.IdentityInvalid, reason.GrantAudienceMismatch},
		{"lifetime over the maximum", func(f *fixture) string {
			return craft(f.tb, idHdr(token.EdDSA, "ed-1"), with(f.identityClaims(),
				"exp", f.clock.Now().Add(2*time.Hour).Unix()), f.keys.ed)
		}, nil, reason.IdentityInvalid, reason.GrantLifetimeExceeded},
		{"grant presented as identity", func(f *fixture) string {
			raw, _, err := token.NewIssuer(testIDP, f.set, f.clock).Grant(f.spec())
			require.NoError(f.tb, err)
			return raw
		}, nil, reason.IdentityInvalid, reason.GrantWrongType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			raw := tc.raw(f)
			_, err := f.identityVerifier(tc.cfg).Verify(raw)
			re := requireDenied(t, err, tc.want, raw)
			assert.Equal(t, string(tc.cause), re.Metadata["cause"])
			assert.True(t, strings.HasPrefix(re.Message, "identity: "), re.Message)
		})
	}
}

func TestIdentityCacheExpiry(t *testing.T) {
	f := newFixture(t)
	v := f.identityVerifier()
	raw := f.identity(alice) // one hour
	_, err := v.Verify(raw)
	require.NoError(t, err)
	f.clock.Advance(time.Hour + leeway + time.Second)
	_, err = v.Verify(raw)
	re := requireDenied(t, err, reason.IdentityExpired, raw)
	assert.Equal(t, string(reason.GrantExpired), re.Metadata["cause"])
}

func TestIdentityVerifyRefusesNonCanonicalEncoding(t *testing.T) {
	f := newFixture(t)
	raw := f.identity(alice) + "\n"
	_, err := f.identityVerifier().Verify(raw)
	requireDenied(t, err, reason.IdentityMalformed, raw)
}
