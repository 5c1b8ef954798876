package token_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

const (
	testIssuer   = "broker.test"
	testIDP      = "idp.test"
	testAudience = "demo.v1.Vault"
	alice        = "alice"
	readMethod   = "/demo.v1.Vault/Read"
	dbResource   = "secrets/team-a/db"
	grantTTL     = 10 * time.Minute
	leeway       = token.DefaultLeeway
)

// t0 is a whole second: claims carry whole seconds, so boundaries stay exact.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testKeys are generated once per test binary: RSA generation is slow under -race.
type testKeys struct {
	ed, es, rs, hs         *token.Key // trusted, kids ed-1, es-1, rs-1, hs-1
	evilEd, evilES, evilRS *token.Key // attacker keys, never trusted
}

var sharedKeys = sync.OnceValue(func() testKeys {
	gen := func(alg, kid string) *token.Key {
		k, err := token.GenerateKey(alg, kid)
		if err != nil {
			panic(err)
		}
		return k
	}
	return testKeys{
		ed: gen(token.EdDSA, "ed-1"), es: gen(token.ES256, "es-1"),
		rs: gen(token.RS256, "rs-1"), hs: gen(token.HS256, "hs-1"),
		evilEd: gen(token.EdDSA, "evil-ed"), evilES: gen(token.ES256, "evil-es"),
		evilRS: gen(token.RS256, "evil-rs"),
	}
})

// fixture is one broker (issuer + key set) and one fake clock, fresh per test.
type fixture struct {
	tb    testing.TB
	clock *clockwork.FakeClock
	keys  testKeys
	set   *token.KeySet // all four trusted keys; ed-1 signs
	iss   *token.Issuer // grants, iss=broker.test
	idp   *token.Issuer // identity tokens, iss=idp.test, same keys

	trapOnce sync.Once
	trapURL  string
	trapHits atomic.Int64
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureWith(tb, sharedKeys())
}

// derivedKeys are the same in every process, which fuzz workers need to agree
// on which seeds are validly signed. RS256 cannot be derived; it stays random.
func derivedKeys() testKeys {
	derive := func(alg, kid string) *token.Key {
		k, err := token.DeriveKey(alg, kid, "jitbench token tests/"+kid) // the seed, not the kid, picks the key
		if err != nil {
			panic(err)
		}
		return k
	}
	k := sharedKeys()
	return testKeys{
		ed: derive(token.EdDSA, "ed-1"), es: derive(token.ES256, "es-1"), rs: k.rs, hs: derive(token.HS256, "hs-1"),
		evilEd: derive(token.EdDSA, "evil-ed"), evilES: derive(token.ES256, "evil-es"), evilRS: k.evilRS,
	}
}

func newFixtureWith(tb testing.TB, k testKeys) *fixture {
	tb.Helper()
	f := &fixture{tb: tb, clock: clockwork.NewFakeClockAt(t0), keys: k}
	f.set = token.NewKeySet(k.ed, k.es, k.rs, k.hs)
	f.iss = token.NewIssuer(testIssuer, f.set, f.clock)
	f.idp = token.NewIssuer(testIDP, f.set, f.clock)
	return f
}

// trap returns the URL of a server that must never be contacted: a verifier
// that fetched a jku/x5u would hit it, and the cleanup fails the test.
func (f *fixture) trap() string {
	f.trapOnce.Do(func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			f.trapHits.Add(1)
			w.WriteHeader(http.StatusTeapot)
		}))
		f.trapURL = srv.URL + "/jwks.json"
		f.tb.Cleanup(func() {
			srv.Close()
			if n := f.trapHits.Load(); n > 0 {
				f.tb.Errorf("the verifier made %d outbound request(s) to a token-supplied URL", n)
			}
		})
	})
	return f.trapURL
}

func (f *fixture) config(mods ...func(*token.Config)) token.Config {
	c := token.Config{Issuer: testIssuer, Audience: testAudience, Clock: f.clock, MaxLifetime: time.Hour}
	for _, m := range mods {
		if m != nil {
			m(&c)
		}
	}
	return c
}

// verifier returns a grant verifier trusting the public view of f.set.
func (f *fixture) verifier(mods ...func(*token.Config)) *token.GrantVerifier {
	f.tb.Helper()
	v, err := token.NewGrantVerifier(f.set.Public(), f.config(mods...))
	require.NoError(f.tb, err)
	return v
}

func (f *fixture) identityVerifier(mods ...func(*token.Config)) *token.IdentityVerifier {
	f.tb.Helper()
	c := f.config(mods...)
	c.Issuer = testIDP
	v, err := token.NewIdentityVerifier(f.set.Public(), c)
	require.NoError(f.tb, err)
	return v
}

func (f *fixture) spec(mods ...func(*token.GrantSpec)) token.GrantSpec {
	s := token.GrantSpec{
		Subject:  alice,
		Audience: testAudience,
		Scope:    token.Scope{Methods: []string{readMethod}, Resource: "secrets/team-a/*"},
		TTL:      grantTTL,
	}
	for _, m := range mods {
		m(&s)
	}
	return s
}

// grant issues a grant with the fixture's broker.
func (f *fixture) grant(mods ...func(*token.GrantSpec)) string {
	f.tb.Helper()
	raw, _, err := f.iss.Grant(f.spec(mods...))
	require.NoError(f.tb, err)
	return raw
}

func (f *fixture) identity(subject string) string {
	f.tb.Helper()
	raw, err := f.idp.Identity(token.IdentitySpec{Subject: subject, Audience: testAudience, TTL: time.Hour})
	require.NoError(f.tb, err)
	return raw
}

// claims returns a valid grant payload at the fixture's current time.
func (f *fixture) claims() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"iss": testIssuer, "sub": alice, "aud": testAudience, "jti": "grant-1",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(grantTTL).Unix(),
		"scope": map[string]any{"methods": []string{readMethod}, "resource": "secrets/team-a/*"},
	}
}

// identityClaims returns a valid identity payload at the fixture's current time.
func (f *fixture) identityClaims() map[string]any {
	c := f.claims()
	delete(c, "scope")
	c["iss"] = testIDP
	return c
}

// signed crafts a token with a well-formed header for key and payload, signed by key.
func (f *fixture) signed(key *token.Key, payload any) string {
	return craft(f.tb, hdr(key.Algorithm, key.ID, token.TypeGrant), payload, key)
}

func defaultRequest() token.Request {
	return token.Request{Subject: alice, Method: readMethod, Resource: dbResource, HasResource: true}
}

// hdr is a JOSE header; typ is left out when empty.
func hdr(alg, kid, typ string) map[string]any {
	h := map[string]any{"alg": alg, "kid": kid}
	if typ != "" {
		h["typ"] = typ
	}
	return h
}

// deleted, as a value given to with, removes the key.
type deletedT struct{}

var deleted deletedT

// with returns a copy of m with the pairs set (or removed, for the value deleted).
func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if _, del := kv[i+1].(deletedT); del {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}

// seg base64url-encodes v: raw bytes or a string as they are, anything else as JSON.
func seg(tb testing.TB, v any) string {
	tb.Helper()
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		var err error
		b, err = json.Marshal(v)
		require.NoError(tb, err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// craft builds a compact JWS from an arbitrary header and payload. A non-nil
// key signs with golang-jwt's method for key.Algorithm and key.Private,
// whatever the header claims; a nil key leaves the signature empty ("h.p.").
func craft(tb testing.TB, header, payload any, key *token.Key) string {
	tb.Helper()
	input := seg(tb, header) + "." + seg(tb, payload)
	if key == nil {
		return input + "."
	}
	return input + "." + signature(tb, key, input)
}

// signature signs input with key and returns the base64url signature segment.
func signature(tb testing.TB, key *token.Key, input string) string {
	tb.Helper()
	m := token.SigningMethod(key.Algorithm) // ES256 low-s, as the reference verifier requires
	require.NotNil(tb, m, "no signing method for %q", key.Algorithm)
	sig, err := m.Sign(input, key.Private)
	require.NoError(tb, err)
	return base64.RawURLEncoding.EncodeToString(sig)
}

// parts splits a compact token into its three segments.
func parts(tb testing.TB, raw string) (h, p, s string) {
	tb.Helper()
	ss := strings.Split(raw, ".")
	require.Len(tb, ss, 3)
	return ss[0], ss[1], ss[2]
}

// hmacWith returns an HS256 "key" whose secret is the given bytes: the
// algorithm-confusion attack signs HS256 with a public key's bytes.
func hmacWith(kid string, secret []byte) *token.Key {
	return &token.Key{ID: kid, Algorithm: token.HS256, Private: secret, Public: secret}
}

func edPublicBytes(k *token.Key) []byte { return []byte(k.Public.(ed25519.PublicKey)) }

// esPublicBytes is the uncompressed SEC 1 point of an ES256 public key.
func esPublicBytes(tb testing.TB, k *token.Key) []byte {
	tb.Helper()
	b, err := k.Public.(*ecdsa.PublicKey).Bytes()
	require.NoError(tb, err)
	return b
}

func pemPublic(tb testing.TB, k *token.Key) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	require.NoError(tb, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// requireDenied checks err carries want (via reason.Of, errors.Is and the
// gRPC code) and echoes neither raw nor its signature segment.
func requireDenied(tb testing.TB, err error, want reason.Reason, raw string) *reason.Error {
	tb.Helper()
	require.Error(tb, err)
	assert.Equal(tb, want, reason.Of(err), "error: %v", err)
	assert.ErrorIs(tb, err, want)
	assert.Equal(tb, want.Code(), status.Code(err), "gRPC code")
	var re *reason.Error
	require.ErrorAs(tb, err, &re)
	assertNoEcho(tb, err, raw)
	return re
}

// assertNoEcho checks that the message, the status and the metadata values
// contain neither the raw token nor its signature segment.
func assertNoEcho(tb testing.TB, err error, raw string) {
	tb.Helper()
	d := reason.FromError(err)
	texts := []string{err.Error(), d.Message, status.Convert(err).Message()}
	for k, v := range d.Metadata {
		texts = append(texts, k+"="+v)
	}
	sig := raw[strings.LastIndexByte(raw, '.')+1:]
	for _, s := range texts {
		if len(raw) >= 8 {
			assert.NotContains(tb, s, raw, "the error echoes the token")
		}
		if len(sig) >= 8 {
			assert.NotContains(tb, s, sig, "the error echoes the signature")
		}
	}
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// resign returns a validly signed grant for key whose signature bytes were passed through edit.
func resign(f *fixture, key *token.Key, edit func([]byte) []byte) string {
	f.tb.Helper()
	raw := f.signed(key, f.claims())
	h, p, s := parts(f.tb, raw)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(f.tb, err)
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(edit(sig))
}

func truncateSig(f *fixture, key *token.Key, n int) string {
	return resign(f, key, func(b []byte) []byte { return b[:len(b)-n] })
}

func extendSig(f *fixture, key *token.Key) string {
	return resign(f, key, func(b []byte) []byte { return append(b, 0) })
}

// derSig signs an ES256 grant with an ASN.1 DER signature, the encoding JWS
// forbids (RFC 7518 §3.4 wants the fixed-width r||s).
func derSig(f *fixture) string {
	f.tb.Helper()
	input := seg(f.tb, hdr(token.ES256, "es-1", token.TypeGrant)) + "." + seg(f.tb, f.claims())
	sum := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, f.keys.es.Private.(*ecdsa.PrivateKey), sum[:])
	require.NoError(f.tb, err)
	return input + "." + base64.RawURLEncoding.EncodeToString(der)
}

// jwkOf is the public JWK of an Ed25519 key, as an attacker would embed it.
func jwkOf(k *token.Key) map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPublicBytes(k))}
}
