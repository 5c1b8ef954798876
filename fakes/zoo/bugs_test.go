package zoo_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/fakes/zoo"
)

// demo is a call that shows a bug: the buggy build answers buggy (OK for
// most: it lets the call through), the correct build refuses it with
// correct. echo says the buggy build quotes the token.
type demo struct {
	call    func(t *testing.T, f *fixture) call
	buggy   codes.Code
	correct func(f *fixture) codes.Code
	echo    bool
	// after runs once both builds answered, for checks beyond the code.
	after func(t *testing.T, f *fixture)
}

// demos has one demonstration per bug, built from the member's convention
// the way the conformance suite builds its cases: a valid token with one
// thing changed.
func demos(t *testing.T, f *fixture) map[zoo.Bug]demo {
	t.Helper()
	allowed := func(e edit) demo { return demo{call: grantCall(e), correct: tokenFault} }
	scopeOnly := func(perm any) edit {
		return func(_, c map[string]any) { c[f.conv.Scope.Claim] = perm }
	}
	other := f.conv.Scope.Permissions[f.conv.Other.Method]
	need := f.conv.Scope.Permissions[f.conv.Unary.Method]
	var list = func(p string) any { return []string{p} }
	if f.conv.Scope.Form == "space-delimited" {
		list = func(p string) any { return p }
	}
	lookAlike := map[zoo.Kind]string{
		zoo.MethodsList: need + "s",    // extends: GetOrders for GetOrder
		zoo.OAuthScope:  need + "only", // contains: cart.readonly
		zoo.ScpArray:    "files:",      // prefixes: files: for files:read
		zoo.BearerGrant: need + "All",  // contains: SendAll for Send
	}[f.kind]
	attacker := attackerSigner(t, f)
	jku, err := zoo.NewJWKSServer(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: attacker.Public(), KeyID: "attacker", Algorithm: attacker.Alg, Use: "sig"}}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, jku.Close()) })

	return map[zoo.Bug]demo{
		zoo.AlgNone: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			h["alg"] = "none"
			return f.withGrant(t, rawToken(t, h, c, nil))
		}, correct: tokenFault},
		zoo.NoSignatureCheck: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			tok, err := attacker.Sign(h, c)
			require.NoError(t, err)
			return f.withGrant(t, tok)
		}, correct: tokenFault},
		zoo.HS256PublicKey: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			return f.withGrant(t, hs256(t, h, c, publicKeyBytes(t, f)))
		}, correct: tokenFault},
		zoo.AlgNotPinned: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			return f.withGrant(t, unpinned(t, f, h, c))
		}, correct: tokenFault},
		zoo.PsychicSignature: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			h["alg"] = "ES256"
			return f.withGrant(t, rawToken(t, h, c, make([]byte, 64)))
		}, correct: tokenFault},
		zoo.NoExpCheck: allowed(func(_, c map[string]any) { delete(c, "exp") }),
		zoo.NoAudCheck: allowed(func(_, c map[string]any) { c["aud"] = []string{"another-service"} }),
		zoo.NoIssCheck: allowed(func(_, c map[string]any) { c["iss"] = "https://evil.example" }),
		zoo.HugeLeeway: allowed(func(_, c map[string]any) {
			exp := t0.Add(-f.conv.Leeway - time.Second) // SKW-002: the target's clock leeway + 1 s ahead
			c["exp"], c["iat"] = exp.Unix(), exp.Add(-time.Minute).Unix()
			if _, ok := c["nbf"]; ok {
				c["nbf"] = c["iat"]
			}
		}),
		zoo.NoMaxLifetime:    allowed(func(_, c map[string]any) { c["exp"] = t0.Add(f.conv.MaxLifetime + time.Minute).Unix() }),
		zoo.NoSubjectBinding: {call: grantCall(func(_, c map[string]any) { c["sub"] = "mallory" }), correct: permissionDenied},
		zoo.NoStreamInterceptor: {call: func(t *testing.T, f *fixture) call {
			return call{Call: f.conv.Stream}
		}, correct: unauthenticated},
		zoo.ScopeIgnored:   {call: grantCall(scopeOnly(list(other))), correct: permissionDenied},
		zoo.ScopeLookAlike: {call: grantCall(scopeOnly(list(lookAlike))), correct: permissionDenied},
		zoo.ResourceIgnored: {call: func(t *testing.T, f *fixture) call {
			c := f.valid(t)
			c.Call = *f.conv.OutOfScope
			return c
		}, correct: permissionDenied},
		zoo.OnceIgnored: {call: func(t *testing.T, f *fixture) call {
			c := f.withGrant(t, f.grant(t, func(_, c map[string]any) { c[f.conv.Scope.OneShotClaim] = true }))
			c.twice = true
			return c
		}, correct: permissionDenied},
		zoo.TypIgnored: allowed(func(h, _ map[string]any) { h["typ"] = "JWT" }),
		zoo.CaseInsensitiveClaims: allowed(func(_, c map[string]any) {
			c["EXP"] = c["exp"]
			delete(c, "exp")
		}),
		zoo.DuplicateKeys: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			cj, err := json.Marshal(c)
			require.NoError(t, err)
			// The first iss is wrong; a decoder keeping the last one never sees it.
			payload := append([]byte(`{"iss":"https://evil.example",`), cj[1:]...)
			hj, err := json.Marshal(mergeHeader(h, f.keys.Grant))
			require.NoError(t, err)
			tok, err := f.keys.Grant.SignBytes(hj, payload)
			require.NoError(t, err)
			return f.withGrant(t, tok)
		}, correct: tokenFault},
		zoo.TimeOverflow: allowed(func(_, c map[string]any) { c["exp"] = 1e19 }),
		zoo.EmbeddedJWK: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			h["jwk"] = publicJWK(t, attacker)
			tok, err := attacker.Sign(h, c)
			require.NoError(t, err)
			return f.withGrant(t, tok)
		}, correct: tokenFault},
		zoo.JKUFetched: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			h["jku"], h["kid"] = jku.URL, "attacker"
			tok, err := attacker.Sign(h, c)
			require.NoError(t, err)
			return f.withGrant(t, tok)
		}, correct: tokenFault, after: func(t *testing.T, _ *fixture) {
			assert.Equal(t, int64(1), jku.Fetches(), "only the buggy build fetched the jku")
		}},
		zoo.UnknownKidFallback: allowed(func(h, _ map[string]any) { h["kid"] = "no-such-kid" }),
		zoo.KidPathTraversal: {call: func(t *testing.T, f *fixture) call {
			h, c := f.claims(f.conv.Grant, nil)
			h["kid"] = strings.Repeat("../", 24) + "dev/null"
			return f.withGrant(t, hs256(t, h, c, []byte{}))
		}, correct: tokenFault},
		zoo.TokenEcho: {call: grantCall(func(_, c map[string]any) { c["iss"] = "https://evil.example" }),
			buggy: f.tokenFault(), correct: tokenFault, echo: true},
		zoo.PanicOnMalformed: {call: func(t *testing.T, f *fixture) call {
			g := f.grant(t, nil)
			return f.withGrant(t, g[:strings.LastIndex(g, ".")])
		}, buggy: codes.Unknown, correct: tokenFault},
		zoo.NoSizeLimit: allowed(func(_, c map[string]any) { c["pad"] = strings.Repeat("A", f.conv.MaxTokenBytes) }),
		zoo.IdentityPermissionDenied: {call: func(t *testing.T, f *fixture) call {
			return call{Call: f.conv.Unary, md: f.md("", f.grant(t, nil))}
		}, buggy: codes.PermissionDenied, correct: unauthenticated},
	}
}

// TestEachBugShows starts every buggy build of every member and makes the
// bug's demonstration call on it and on the correct build: the buggy one
// lets it through (or answers it wrongly), the correct one refuses it with
// the catalog's code. The handler runs only for allowed calls.
func TestEachBugShows(t *testing.T) {
	for _, k := range zoo.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			f := newFixture(t, k)
			correct := f.start(t, zoo.None)
			table := demos(t, f)
			for _, bug := range zoo.Bugs(k) {
				t.Run(string(bug), func(t *testing.T) {
					d, ok := table[bug]
					require.True(t, ok, "no demonstration of %s", bug)
					c := d.call(t, f)
					want := correct.do(t, c)
					assert.Equal(t, d.correct(f), want.code, "the correct build: %s", want.msg)
					assert.False(t, want.ran, "the correct build ran the handler")
					assertNoEcho(t, c, want.msg)

					got := f.start(t, bug).do(t, c)
					assert.Equal(t, d.buggy, got.code, "the buggy build: %s", got.msg)
					assert.Equal(t, got.code == codes.OK, got.ran, "the handler runs only for allowed calls")
					if d.echo {
						assert.True(t, echoes(c, got.msg), "the buggy build quotes the token: %s", got.msg)
					}
					if d.after != nil {
						d.after(t, f)
					}
				})
			}
		})
	}
}

// echoes reports whether msg quotes the grant of c.
func echoes(c call, msg string) bool {
	for _, values := range c.md {
		for _, v := range values {
			if tok := v[strings.LastIndex(v, " ")+1:]; strings.Count(tok, ".") == 2 && strings.Contains(msg, tok) {
				return true
			}
		}
	}
	return false
}

// attackerSigner is a fresh key of the member's grant algorithm family, under the grant's kid.
func attackerSigner(t *testing.T, f *fixture) *zoo.Signer {
	t.Helper()
	s, err := zoo.GenerateSigner(f.keys.Grant.Alg, f.keys.Grant.KeyID)
	require.NoError(t, err)
	return s
}

// publicJWK is s's public key as a JWK header value (an oct key for HS256).
func publicJWK(t *testing.T, s *zoo.Signer) map[string]any {
	t.Helper()
	if secret, ok := s.Public().([]byte); ok {
		return map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(secret)}
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: s.Public(), Algorithm: s.Alg, Use: "sig"})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// publicKeyBytes is the grant key as the member's hs256-public-key bug
// uses it: the PEM file as written (methods-list), else the DER SPKI.
func publicKeyBytes(t *testing.T, f *fixture) []byte {
	t.Helper()
	if f.conv.Grant.Key.Format == zoo.KeyPEMSPKI {
		b, err := os.ReadFile(filepath.Join(f.keys.Dir, f.conv.Grant.Key.Path))
		require.NoError(t, err)
		return b
	}
	der, err := x509.MarshalPKIXPublicKey(f.keys.Grant.Public())
	require.NoError(t, err)
	return der
}

// unpinned signs with the member's key under an algorithm of the same
// family it does not pin: RS384 with the RSA key, HS512 with the secret.
func unpinned(t *testing.T, f *fixture, h, c map[string]any) string {
	t.Helper()
	switch k := f.keys.Grant.Private().(type) {
	case *rsa.PrivateKey:
		h["alg"] = "RS384"
		input := rawInput(t, h, c)
		digest := sha512.Sum384([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA384, digest[:])
		require.NoError(t, err)
		return input + "." + base64.RawURLEncoding.EncodeToString(sig)
	case []byte:
		h["alg"] = "HS512"
		return hmacToken(t, h, c, k, sha512.New)
	}
	t.Fatalf("no unpinned algorithm for a %T", f.keys.Grant.Private())
	return ""
}

// mergeHeader is h with the signer's alg and kid, as Signer.Sign would set them.
func mergeHeader(h map[string]any, s *zoo.Signer) map[string]any {
	h["alg"] = s.Alg
	if _, ok := h["kid"]; !ok && s.KeyID != "" {
		h["kid"] = s.KeyID
	}
	return h
}

// TestTimeOverflowVariants checks the time-overflow build lets through each
// absurd time of CLM-009 the correct build refuses: exp at 1e19 and 1e308
// and nbf negative (nbf at 1e19 wraps to the past only where int64(1e19)
// does, so it is left out).
func TestTimeOverflowVariants(t *testing.T) {
	variants := map[string]edit{
		"exp 1e19":  func(_, c map[string]any) { c["exp"] = 1e19 },
		"exp 1e308": func(_, c map[string]any) { c["exp"] = 1e308 },
		"nbf -1":    func(_, c map[string]any) { c["nbf"] = -1 },
		"nbf -1e19": func(_, c map[string]any) { c["nbf"] = -1e19 },
	}
	for _, k := range zoo.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			f := newFixture(t, k)
			correct, buggy := f.start(t, zoo.None), f.start(t, zoo.TimeOverflow)
			for name, e := range variants {
				c := grantCall(e)(t, f)
				assert.Equal(t, f.tokenFault(), correct.do(t, c).code, "%s: correct", name)
				got := buggy.do(t, c)
				assert.Equal(t, codes.OK, got.code, "%s: buggy: %s", name, got.msg)
			}
		})
	}
}
