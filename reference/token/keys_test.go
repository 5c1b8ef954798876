package token_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Two processes deriving the development keys must agree: a token minted by
// one verifies in the other, for every derived algorithm.
func TestDevKeySetDeterministic(t *testing.T) {
	f := newFixture(t)
	a, b := token.DevKeySet(token.DevGrantIssuer), token.DevKeySet(token.DevGrantIssuer)
	require.Len(t, a.Keys(), 3)
	signing, err := a.Signing()
	require.NoError(t, err)
	assert.Equal(t, token.DevKeyID(token.DevGrantIssuer, token.EdDSA), signing.ID, "EdDSA signs by default")

	for _, alg := range []string{token.EdDSA, token.ES256, token.HS256} {
		t.Run(alg, func(t *testing.T) {
			kid := token.DevKeyID(token.DevGrantIssuer, alg)
			assert.Equal(t, token.DevGrantIssuer+"-"+alg, kid)
			for _, pair := range [][2]*token.KeySet{{a, b}, {b, a}} {
				signer := token.NewKeySet()
				for _, k := range pair[0].Keys() {
					signer.Add(k)
				}
				require.NoError(t, signer.Use(kid))
				raw, _, err := token.NewIssuer(token.DevGrantIssuer, signer, f.clock).Grant(
					f.spec(func(s *token.GrantSpec) { s.Audience = token.DevAudience }))
				require.NoError(t, err)
				v, err := token.NewGrantVerifier(pair[1].Public(), token.Config{
					Issuer: token.DevGrantIssuer, Audience: token.DevAudience, Clock: f.clock, Algorithms: []string{alg},
				})
				require.NoError(t, err)
				g, err := v.Verify(raw, defaultRequest())
				require.NoError(t, err)
				assert.Equal(t, kid, g.KeyID)
			}
		})
	}

	// Another issuer's dev keys are different keys under different kids.
	other := token.DevKeySet(token.DevIdentityIssuer)
	ka, err := a.Signing()
	require.NoError(t, err)
	ko, err := other.Signing()
	require.NoError(t, err)
	assert.NotEqual(t, ka.Public, ko.Public)
}

func TestDeriveKey(t *testing.T) {
	for _, alg := range []string{token.EdDSA, token.ES256, token.HS256} {
		k1, err := token.DeriveKey(alg, "k", "seed")
		require.NoError(t, err)
		k2, err := token.DeriveKey(alg, "k", "seed")
		require.NoError(t, err)
		k3, err := token.DeriveKey(alg, "k", "other seed")
		require.NoError(t, err)
		assert.Equal(t, k1.Public, k2.Public, alg)
		assert.NotEqual(t, k1.Public, k3.Public, alg)
		assert.Equal(t, alg, k1.Algorithm)
	}
	_, err := token.DeriveKey(token.RS256, "k", "seed")
	assert.ErrorContains(t, err, "RS256")
	_, err = token.DeriveKey("none", "k", "seed")
	assert.ErrorIs(t, err, token.ErrUnknownAlgorithm)
}

func TestGenerateKeyUnknownAlgorithm(t *testing.T) {
	for _, alg := range []string{"", "none", "HS512", "eddsa"} {
		_, err := token.GenerateKey(alg, "k")
		assert.ErrorIs(t, err, token.ErrUnknownAlgorithm, alg)
	}
	for _, alg := range token.Algorithms() {
		assert.NoError(t, token.CheckAlgorithm(alg))
	}
}

func TestKeySet(t *testing.T) {
	k := sharedKeys()
	t.Run("empty", func(t *testing.T) {
		s := token.NewKeySet()
		_, err := s.Signing()
		assert.Error(t, err)
		_, _, err = token.NewIssuer(testIssuer, s, nil).Grant(newFixture(t).spec())
		assert.Error(t, err, "an issuer without keys cannot sign")
		assert.Error(t, s.Use("nope"))
	})
	t.Run("first key signs, Use switches", func(t *testing.T) {
		s := token.NewKeySet(k.es, k.ed)
		cur, err := s.Signing()
		require.NoError(t, err)
		assert.Equal(t, "es-1", cur.ID)
		require.NoError(t, s.Use("ed-1"))
		cur, err = s.Signing()
		require.NoError(t, err)
		assert.Equal(t, "ed-1", cur.ID)
	})
	t.Run("Keys in kid order", func(t *testing.T) {
		s := token.NewKeySet(k.rs, k.hs, k.ed, k.es)
		var ids []string
		for _, key := range s.Keys() {
			ids = append(ids, key.ID)
		}
		assert.Equal(t, []string{"ed-1", "es-1", "hs-1", "rs-1"}, ids)
	})
	t.Run("Public strips private material but keeps HMAC secrets", func(t *testing.T) {
		s := token.NewKeySet(k.ed, k.es, k.rs, k.hs)
		pub := s.Public()
		for _, key := range pub.Keys() {
			if key.Algorithm == token.HS256 {
				assert.Equal(t, k.hs.Private, key.Private)
			} else {
				assert.Nil(t, key.Private, key.ID)
			}
			assert.NotNil(t, key.Public, key.ID)
		}
		cur, err := pub.Signing()
		require.NoError(t, err)
		assert.Equal(t, "ed-1", cur.ID, "the public view keeps the current kid")
		_, err = token.Sign(cur, token.TypeGrant, &token.GrantClaims{})
		assert.Error(t, err, "a public-only key cannot sign")
		assert.NotNil(t, k.ed.Private, "PublicOnly copies, it does not strip the original")
	})
	t.Run("Lookup", func(t *testing.T) {
		s := token.NewKeySet(k.ed)
		got, err := s.Lookup("ed-1", t0)
		require.NoError(t, err)
		assert.Same(t, k.ed, got)
		_, err = s.Lookup("nope", t0)
		re := requireDenied(t, err, reason.GrantUnknownKey, "")
		assert.Equal(t, "[ed-1]", re.Metadata["known_kids"])
	})
	t.Run("Rotate keeps the old key until the overlap ends", func(t *testing.T) {
		s := token.NewKeySet(k.ed)
		s.Rotate(k.es, t0, time.Minute)
		cur, err := s.Signing()
		require.NoError(t, err)
		assert.Equal(t, "es-1", cur.ID)
		_, err = s.Lookup("ed-1", t0.Add(time.Minute))
		assert.NoError(t, err)
		_, err = s.Lookup("ed-1", t0.Add(time.Minute+time.Nanosecond))
		requireDenied(t, err, reason.GrantUnknownKey, "")
		assert.True(t, k.ed.VerifyUntil.IsZero(), "Rotate retires a copy, not the caller's key")
	})
}

func TestIssuerBadSpec(t *testing.T) {
	f := newFixture(t)
	for name, mod := range map[string]func(*token.GrantSpec){
		"no subject":  func(s *token.GrantSpec) { s.Subject = "" },
		"no audience": func(s *token.GrantSpec) { s.Audience = "" },
		"no methods":  func(s *token.GrantSpec) { s.Scope.Methods = nil },
		"zero TTL":    func(s *token.GrantSpec) { s.TTL = 0 },
	} {
		_, _, err := f.iss.Grant(f.spec(mod))
		assert.ErrorIs(t, err, token.ErrBadSpec, name)
	}
	_, err := f.idp.Identity(token.IdentitySpec{Subject: alice, Audience: testAudience})
	assert.ErrorIs(t, err, token.ErrBadSpec)
	assert.Equal(t, testIssuer, f.iss.Name())
	assert.Same(t, f.set, f.iss.Keys())
}

// Issued grants carry the headers and claims verifiers rely on.
func TestIssuerGrantShape(t *testing.T) {
	f := newFixture(t)
	nbf := t0.Add(time.Minute)
	raw := f.grant(func(s *token.GrantSpec) { s.NotBefore, s.ID, s.RequestID, s.OneShot = nbf, "g-1", "r-1", true })
	h, p, _ := parts(t, raw)
	var header, claims map[string]any
	require.NoError(t, json.Unmarshal(decodeSeg(t, h), &header))
	require.NoError(t, json.Unmarshal(decodeSeg(t, p), &claims))
	assert.Equal(t, map[string]any{"alg": "EdDSA", "kid": "ed-1", "typ": token.TypeGrant}, header)
	assert.Equal(t, map[string]any{
		"iss": testIssuer, "sub": alice, "aud": []any{testAudience}, "jti": "g-1", "rid": "r-1", "one_shot": true,
		"iat": float64(t0.Unix()), "nbf": float64(nbf.Unix()), "exp": float64(t0.Add(grantTTL).Unix()),
		"scope": map[string]any{"methods": []any{readMethod}, "resource": "secrets/team-a/*"},
	}, claims)

	random := f.grant()
	_, p2, _ := parts(t, random)
	var c2 map[string]any
	require.NoError(t, json.Unmarshal(decodeSeg(t, p2), &c2))
	assert.Len(t, c2["jti"], 32, "a random 128-bit hex jti when none is given")
	assert.NotEqual(t, token.NewID(), token.NewID())
}

func decodeSeg(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}
