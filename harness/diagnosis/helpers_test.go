package diagnosis_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/harness/diagnosis"
	"github.com/jitbench/jitbench/reference/token"
)

const (
	grantIssuer    = "broker.test"
	identityIssuer = "idp.test"
	audience       = "demo.v1.Vault"
)

// t0 is a whole second: claims carry whole seconds, so figures stay exact.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// keys are derived, so every run signs the same tokens; RS256 (slow to generate) is not needed.
type keys struct {
	grantEd, grantES, identityEd, evilEd, hs *token.Key
}

func testKeys(tb testing.TB) keys {
	tb.Helper()
	derive := func(alg, kid, seed string) *token.Key {
		k, err := token.DeriveKey(alg, kid, "diagnosis tests/"+seed)
		require.NoError(tb, err)
		return k
	}
	return keys{
		grantEd:    derive(token.EdDSA, "g-ed", "grant"),
		grantES:    derive(token.ES256, "g-es", "grant"),
		identityEd: derive(token.EdDSA, "i-ed", "identity"),
		evilEd:     derive(token.EdDSA, "g-ed", "evil"), // the grant key's kid, another key
		hs:         derive(token.HS256, "hs", "hmac"),
	}
}

// claims is a token payload; nil values are left out.
type claims map[string]any

func (c claims) with(kv ...any) claims {
	out := claims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	for k, v := range out {
		if v == nil {
			delete(out, k)
		}
	}
	return out
}

func grantClaims() claims {
	return claims{
		"iss": grantIssuer, "sub": "alice", "aud": audience, "jti": "grant-1",
		"iat": t0.Add(-time.Second).Unix(), "nbf": t0.Add(-time.Second).Unix(), "exp": t0.Add(5 * time.Minute).Unix(),
		"scope": map[string]any{"methods": []string{"/demo.v1.Vault/Read"}},
	}
}

func identityClaims() claims {
	return claims{
		"iss": identityIssuer, "sub": "alice", "aud": audience, "jti": "id-1",
		"iat": t0.Add(-time.Minute).Unix(), "exp": t0.Add(time.Hour).Unix(),
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64JSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return b64(b)
}

// sign signs c with k, with header alg, kid (k's unless kid is given) and typ JWT.
func sign(tb testing.TB, k *token.Key, c claims, kid ...string) string {
	tb.Helper()
	h := map[string]any{"alg": k.Algorithm, "kid": k.ID, "typ": "JWT"}
	if len(kid) > 0 {
		h["kid"] = kid[0]
	}
	return signRaw(tb, k, b64JSON(tb, h)+"."+b64JSON(tb, c))
}

// signRaw signs the signing input with k.
func signRaw(tb testing.TB, k *token.Key, input string) string {
	tb.Helper()
	sig, err := jwt.GetSigningMethod(k.Algorithm).Sign(input, k.Private)
	require.NoError(tb, err)
	return input + "." + b64(sig)
}

// confused is an HS256 token whose HMAC secret is k's public key in PEM, kid naming k.
func confused(tb testing.TB, k *token.Key, c claims) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	require.NoError(tb, err)
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	input := b64JSON(tb, map[string]any{"alg": "HS256", "kid": k.ID, "typ": "JWT"}) + "." + b64JSON(tb, c)
	sig, err := jwt.SigningMethodHS256.Sign(input, secret)
	require.NoError(tb, err)
	return input + "." + b64(sig)
}

// unsigned is an alg "none" token.
func unsigned(tb testing.TB, c claims) string {
	return b64JSON(tb, map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64JSON(tb, c) + "."
}

// raw is a token with the JSON texts given as they are, signed with k.
func raw(tb testing.TB, k *token.Key, header, payload string) string {
	return signRaw(tb, k, b64([]byte(header))+"."+b64([]byte(payload)))
}

// world is a target and a valid call to it: each case changes one thing.
type world struct {
	keys   keys
	target diagnosis.Target
	call   diagnosis.Call
}

func newWorld(tb testing.TB) world {
	k := testKeys(tb)
	return world{
		keys: k,
		target: diagnosis.Target{
			Audience: audience, GrantIssuer: grantIssuer, IdentityIssuer: identityIssuer,
			Algorithms: []string{token.EdDSA, token.ES256}, MaxLifetime: time.Hour,
			GrantKeys: token.NewKeySet(k.grantEd, k.grantES), IdentityKeys: token.NewKeySet(k.identityEd),
		},
		call: diagnosis.Call{
			Code: codes.PermissionDenied, Phase: diagnosis.PhaseCall, Sent: t0,
			Identity: sign(tb, k.identityEd, identityClaims()), Grant: sign(tb, k.grantEd, grantClaims()),
			Deadline: 5 * time.Second, Latency: 20 * time.Millisecond, Attempts: 1,
		},
	}
}

// requireNoEcho fails when a token, or any 12-character run of one, shows in text.
func requireNoEcho(t *testing.T, text string, tokens ...string) {
	t.Helper()
	const n = 12
	grams := map[string]bool{}
	for i := 0; i+n <= len(text); i++ {
		grams[text[i:i+n]] = true
	}
	for _, tok := range tokens {
		if len(tok) >= 8 && strings.Contains(text, tok) {
			t.Fatalf("text %q shows the token %q", text, tok)
		}
		for i := 0; i+n <= len(tok); i++ {
			if grams[tok[i:i+n]] {
				t.Fatalf("text %q shows %q, part of a token sent", text, tok[i:i+n])
			}
		}
	}
}
