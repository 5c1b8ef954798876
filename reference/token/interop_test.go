package token_test

import (
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/token"
)

// Tokens from an independent JOSE implementation must verify: the verifier
// follows RFC 7515/7519, not golang-jwt's particular output.
func TestInteropGoJoseMintedTokens(t *testing.T) {
	k := sharedKeys()
	for _, tc := range []struct {
		key *token.Key
		alg jose.SignatureAlgorithm
	}{
		{k.ed, jose.EdDSA},
		{k.es, jose.ES256},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			f := newFixture(t)
			now := f.clock.Now()
			sign := func(typ, iss string, extra map[string]any) string {
				signer, err := jose.NewSigner(jose.SigningKey{Algorithm: tc.alg, Key: tc.key.Private},
					(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", tc.key.ID))
				require.NoError(t, err)
				raw, err := josejwt.Signed(signer).Claims(josejwt.Claims{
					Issuer: iss, Subject: alice, Audience: josejwt.Audience{testAudience}, ID: "jose-1",
					IssuedAt: josejwt.NewNumericDate(now), NotBefore: josejwt.NewNumericDate(now),
					Expiry: josejwt.NewNumericDate(now.Add(5 * time.Minute)),
				}).Claims(extra).Serialize()
				require.NoError(t, err)
				if tc.alg == jose.ES256 && sOf(t, raw).Cmp(p256Half) > 0 {
					// go-jose, like Go's crypto/ecdsa, may return the high-s
					// twin; the reference accepts low-s only (TestES256LowSOnly).
					raw = swapS(t, raw)
				}
				return raw
			}

			grant := sign(token.TypeGrant, testIssuer, map[string]any{
				"scope": token.Scope{Methods: []string{readMethod}, Resource: "secrets/*"}, "rid": "req-9",
			})
			g, err := f.verifier().Verify(grant, defaultRequest())
			require.NoError(t, err)
			assert.Equal(t, "jose-1", g.ID)
			assert.Equal(t, "req-9", g.RequestID)
			assert.Equal(t, tc.key.ID, g.KeyID)
			assert.Equal(t, now.Add(5*time.Minute), g.ExpiresAt)

			id, err := f.identityVerifier().Verify(sign(token.TypeIdentity, testIDP, map[string]any{"groups": []string{"sre"}}))
			require.NoError(t, err)
			assert.Equal(t, alice, id.Subject)
			assert.Equal(t, []string{"sre"}, id.Groups)
		})
	}
}

// And the other way: go-jose verifies what the issuer signs.
func TestInteropGoJoseVerifiesIssuedTokens(t *testing.T) {
	k := sharedKeys()
	for _, tc := range []struct {
		key *token.Key
		alg jose.SignatureAlgorithm
	}{
		{k.ed, jose.EdDSA},
		{k.es, jose.ES256},
		{k.rs, jose.RS256},
		{k.hs, jose.HS256},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			f := newFixture(t)
			raw, _, err := token.NewIssuer(testIssuer, token.NewKeySet(tc.key), f.clock).Grant(f.spec())
			require.NoError(t, err)
			parsed, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{tc.alg})
			require.NoError(t, err)
			require.Len(t, parsed.Headers, 1)
			assert.Equal(t, tc.key.ID, parsed.Headers[0].KeyID)
			assert.Equal(t, token.TypeGrant, parsed.Headers[0].ExtraHeaders[jose.HeaderType])

			var std josejwt.Claims
			var custom struct {
				Scope token.Scope `json:"scope"`
			}
			require.NoError(t, parsed.Claims(tc.key.Public, &std, &custom))
			require.NoError(t, std.ValidateWithLeeway(josejwt.Expected{
				Issuer: testIssuer, Subject: alice, AnyAudience: josejwt.Audience{testAudience}, Time: f.clock.Now(),
			}, 0))
			assert.Equal(t, []string{readMethod}, custom.Scope.Methods)
		})
	}
}
