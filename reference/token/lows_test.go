package token_test

import (
	"crypto/elliptic"
	"encoding/base64"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

var (
	p256N    = elliptic.P256().Params().N
	p256Half = new(big.Int).Rsh(p256N, 1)
)

// sOf returns the s half of raw's ES256 signature.
func sOf(tb testing.TB, raw string) *big.Int {
	tb.Helper()
	_, _, s := parts(tb, raw)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(tb, err)
	require.Len(tb, sig, 64)
	return new(big.Int).SetBytes(sig[32:])
}

// swapS returns raw, an ES256 token, with its signature (r, s) replaced by
// its twin (r, n−s): a valid ECDSA signature of the same input.
func swapS(tb testing.TB, raw string) string {
	tb.Helper()
	h, p, s := parts(tb, raw)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(tb, err)
	require.Len(tb, sig, 64)
	out := append([]byte{}, sig[:32]...)
	out = append(out, new(big.Int).Sub(p256N, new(big.Int).SetBytes(sig[32:])).FillBytes(make([]byte, 32))...)
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(out)
}

// The reference issuer emits low-s ES256 signatures only, and the verifier
// refuses the high-s twin of a valid grant (finding 6). ECDSA is randomised:
// 64 grants all low-s by chance is a 2⁻⁶⁴ event without the normalisation.
func TestES256LowSOnly(t *testing.T) {
	f := newFixture(t)
	iss := token.NewIssuer(testIssuer, token.NewKeySet(f.keys.es), f.clock)
	pinES := func(c *token.Config) { c.Algorithms = []string{token.ES256} }
	v := f.verifier(pinES)
	for i := range 64 {
		raw, _, err := iss.Grant(f.spec(func(s *token.GrantSpec) { s.ID = "es-" + strconv.Itoa(i) }))
		require.NoError(t, err)
		require.LessOrEqual(t, sOf(t, raw).Cmp(p256Half), 0, "the issuer emitted a high-s signature")
		_, err = v.Verify(raw, defaultRequest())
		require.NoError(t, err)

		twin := swapS(t, raw)
		_, err = v.Verify(twin, defaultRequest())
		re := requireDenied(t, err, reason.GrantBadSignature, twin)
		assert.Contains(t, re.Message, "high-s")
		// Parse (token explain) and a cold verifier agree.
		_, err = f.verifier(pinES, func(c *token.Config) { c.CacheSize = -1 }).Parse(twin)
		requireDenied(t, err, reason.GrantBadSignature, twin)
	}
}

// SigningMethod is golang-jwt's method for every algorithm but ES256, whose
// method signs low-s and refuses high-s with ErrHighS.
func TestSigningMethod(t *testing.T) {
	for _, alg := range []string{token.EdDSA, token.RS256, token.HS256} {
		assert.Equal(t, jwt.GetSigningMethod(alg), token.SigningMethod(alg), alg)
	}
	for _, alg := range []string{"none", "ES384", "es256", ""} {
		assert.Nil(t, token.SigningMethod(alg), alg)
	}

	m := token.SigningMethod(token.ES256)
	require.NotNil(t, m)
	assert.Equal(t, token.ES256, m.Alg())
	key := sharedKeys().es
	const input = "header.payload"
	for range 32 {
		sig, err := m.Sign(input, key.Private)
		require.NoError(t, err)
		require.Len(t, sig, 64)
		s := new(big.Int).SetBytes(sig[32:])
		require.LessOrEqual(t, s.Cmp(p256Half), 0)
		require.NoError(t, m.Verify(input, sig, key.Public))
		require.NoError(t, jwt.SigningMethodES256.Verify(input, sig, key.Public), "still plain ES256 to anyone else")

		high := append([]byte{}, sig...)
		new(big.Int).Sub(p256N, s).FillBytes(high[32:])
		require.NoError(t, jwt.SigningMethodES256.Verify(input, high, key.Public), "the twin is a valid ECDSA signature")
		assert.ErrorIs(t, m.Verify(input, high, key.Public), token.ErrHighS)
		// A broken signature is a plain verification failure, not ErrHighS.
		assert.NotErrorIs(t, m.Verify(input+"x", high, key.Public), token.ErrHighS)
	}
}

// A grant crafted with golang-jwt's plain ES256 (either twin) verifies once
// normalised: the verifier is otherwise plain RFC 7518 ES256.
func TestES256ForeignSignerNormalised(t *testing.T) {
	f := newFixture(t)
	pinES := func(c *token.Config) { c.Algorithms = []string{token.ES256} }
	input := seg(t, hdr(token.ES256, "es-1", token.TypeGrant)) + "." + seg(t, f.claims())
	sig, err := jwt.SigningMethodES256.Sign(input, f.keys.es.Private)
	require.NoError(t, err)
	raw := input + "." + base64.RawURLEncoding.EncodeToString(sig)
	low, high := raw, swapS(t, raw)
	if sOf(t, raw).Cmp(p256Half) > 0 {
		low, high = high, low
	}
	_, err = f.verifier(pinES).Verify(low, defaultRequest())
	require.NoError(t, err)
	_, err = f.verifier(pinES).Verify(high, defaultRequest())
	requireDenied(t, err, reason.GrantBadSignature, high)
}

// Identity tokens come from identity providers that do not normalise ECDSA
// signatures (RFC 7518 does not ask them to): the identity verifier accepts
// both twins by default, and refuses the high-s one only when told to, and
// a grant verifier told to accept any s does so.
func TestSignatureFormDefaults(t *testing.T) {
	f := newFixture(t)
	set := token.NewKeySet(f.keys.es)
	raw, err := token.NewIssuer(testIDP, set, f.clock).Identity(token.IdentitySpec{Subject: alice, Audience: testAudience, TTL: time.Hour})
	require.NoError(t, err)
	twin := swapS(t, raw)
	identity := func(form token.SignatureForm) error {
		c := f.config(func(c *token.Config) {
			c.Issuer, c.Algorithms, c.Signatures, c.CacheSize = testIDP, []string{token.ES256}, form, -1
		})
		v, err := token.NewIdentityVerifier(set.Public(), c)
		require.NoError(t, err)
		_, err = v.Verify(twin)
		return err
	}
	assert.NoError(t, identity(token.SignaturesDefault), "the identity verifier accepts a high-s signature by default")
	assert.NoError(t, identity(token.SignaturesAnyS))
	err = identity(token.SignaturesLowSOnly)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "high-s")

	grant, _, err := token.NewIssuer(testIssuer, token.NewKeySet(f.keys.es), f.clock).Grant(f.spec())
	require.NoError(t, err)
	anyS := f.verifier(func(c *token.Config) {
		c.Algorithms, c.Signatures, c.CacheSize = []string{token.ES256}, token.SignaturesAnyS, -1
	})
	_, err = anyS.Verify(swapS(t, grant), defaultRequest())
	assert.NoError(t, err, "a grant verifier told to accept any s accepts the twin")
}
