package token_test

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// FuzzGrantVerify mutates tokens and checks that the verifier never panics,
// answers every refusal with a catalogued PERMISSION_DENIED reason that does
// not echo the input, and never accepts anything but the exact bytes of a
// token the test issued. Time stays bounded because MaxTokenBytes caps the
// input before any parsing.
func FuzzGrantVerify(f *testing.F) {
	fx := newFixtureWith(f, derivedKeys())
	cfg := func(c *token.Config) {
		pinHS256(c)
		c.CacheSize = 64 // small, so eviction runs under the fuzzer too
	}

	// Ed25519 and HMAC signatures are deterministic and the keys derived, so
	// every fuzz worker process issues byte-identical valid tokens. (ECDSA
	// signatures are randomised, so no valid ES256 token is seeded; ES256
	// still gets fuzzed through the refused seeds.)
	valid := map[string]bool{}
	for _, kid := range []string{"ed-1", "hs-1"} {
		require.NoError(f, fx.set.Use(kid))
		raw := fx.grant(func(s *token.GrantSpec) { s.ID = "fuzz-" + kid })
		valid[raw] = true
		f.Add(raw)
	}
	require.NoError(f, fx.set.Use("ed-1"))

	// Seeds: every crafted refusal that this verifier config and request
	// refuse too (some table rows are only refused under another config or
	// request, and would be valid here).
	probe := fx.verifier(cfg, func(c *token.Config) { c.CacheSize = -1 })
	for _, tc := range grantFailures() {
		raw := tc.raw(fx)
		if _, err := probe.Verify(raw, defaultRequest()); err != nil {
			f.Add(raw)
		}
	}

	v := fx.verifier(cfg)
	f.Fuzz(func(t *testing.T, raw string) {
		g, err := v.Verify(raw, defaultRequest())
		if err == nil {
			require.True(t, valid[raw], "accepted a token the test never issued: %q", raw)
			require.NotNil(t, g)
		} else {
			checkRefusal(t, err, raw)
		}
		if _, err := v.Parse(raw); err == nil {
			require.True(t, valid[raw], "Parse accepted a token the test never issued: %q", raw)
		} else {
			checkRefusal(t, err, raw)
		}
	})
}

func checkRefusal(t *testing.T, err error, raw string) {
	t.Helper()
	r := reason.Of(err)
	info, ok := reason.Lookup(r)
	require.True(t, ok, "reason %q is not in the catalog (error %v)", r, err)
	require.Equal(t, codes.PermissionDenied, info.Code, "reason %s", r)
	// Short inputs can occur in any text by chance; a long one must not be echoed.
	if len(raw) >= 16 {
		require.False(t, strings.Contains(err.Error(), raw), "the error echoes the input")
	}
}

// grantClaimNames are the names the grant decoder reads at the top level.
var grantClaimNames = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "one_shot", "rid"}

// FuzzClaimsDecode signs fuzzed payloads with a trusted key, so every input
// reaches the strict claim decoder, and checks that a refusal is a catalogued
// reason and that an accepted payload is unambiguous: encoding/json, which
// matches names case-insensitively and lets duplicates win, must read the
// very same grant from it, and no top-level name may be a case variant of a
// claim name.
func FuzzClaimsDecode(f *testing.F) {
	fx := newFixtureWith(f, derivedKeys())
	now := fx.clock.Now().Unix()
	valid := fmtPayload(now, "")
	for _, s := range []string{
		valid,
		fmtPayload(now, `,"exp":1,"EXP":`+itoa64(now+60)),
		fmtPayload(now, `,"Exp":`+itoa64(now+60)),
		fmtPayload(now, `,"exp":`+itoa64(now+60)),
		fmtPayload(now, `,"\u0065xp":`+itoa64(now+60)),
		fmtPayload(now, `,"Scope":{"methods":["/*"]}`),
		fmtPayload(now, `,"scope":{"methods":["/*"],"Methods":["/*"]}`),
		fmtPayload(now, `,"ſub":"bob"`),
		fmtPayload(now, `,"xyz":{"a":1,"a":2}`),
		fmtPayload(now, `,"XYZ":1,"xyz":2`),
		fmtPayload(now, `,"nbf":9223372000000000000`),
		fmtPayload(now, `,"nbf":1e19`),
		fmtPayload(now, `,"iat":-1`),
		fmtPayload(now, `,"exp":1e308`),
		fmtPayload(now, `,"exp":1e-400`),
		fmtPayload(now, `,"exp":253402300799.999999`),
		fmtPayload(now, `,"exp":"1"`),
		fmtPayload(now, `,"one_shot":"true"`),
		fmtPayload(now, ",\"sub\":\"ali\xffce\""), // invalid UTF-8
		strings.Repeat("[", 2000),
		`{"a":` + strings.Repeat(`{"a":`, 500) + "1" + strings.Repeat("}", 501),
		"",
		"null",
		`"x"`,
	} {
		f.Add([]byte(s))
	}

	header := seg(f, hdr(token.HS256, "hs-1", token.TypeGrant)) + "."
	sign := func(tb testing.TB, payload []byte) string {
		input := header + base64.RawURLEncoding.EncodeToString(payload)
		return input + "." + signature(tb, fx.keys.hs, input)
	}
	v := fx.verifier(pinHS256, func(c *token.Config) { c.CacheSize = -1 })
	_, err := v.Parse(sign(f, []byte(valid)))
	require.NoError(f, err, "the valid seed must reach the accepted branch")
	f.Fuzz(func(t *testing.T, payload []byte) {
		raw := sign(t, payload)
		g, err := v.Parse(raw)
		if err != nil {
			checkRefusal(t, err, raw)
			return
		}
		var lenient token.GrantClaims
		require.NoError(t, json.Unmarshal(payload, &lenient), "encoding/json refuses an accepted payload")
		require.NotNil(t, lenient.Scope)
		require.NotNil(t, lenient.ExpiresAt)
		require.NotNil(t, lenient.IssuedAt)
		assert.Equal(t, g.Issuer, lenient.Issuer)
		assert.Equal(t, g.Subject, lenient.Subject)
		assert.Equal(t, g.Audience, []string(lenient.Audience))
		assert.Equal(t, g.ID, lenient.ID)
		assert.Equal(t, g.RequestID, lenient.RequestID)
		assert.Equal(t, g.OneShot, lenient.OneShot)
		assert.Equal(t, g.Scope, *lenient.Scope)
		assert.True(t, g.ExpiresAt.Equal(lenient.ExpiresAt.Time))
		assert.True(t, g.IssuedAt.Equal(lenient.IssuedAt.Time))
		var names map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(payload, &names))
		for name := range names {
			for _, known := range grantClaimNames {
				if strings.EqualFold(name, known) {
					assert.Equal(t, known, name, "an accepted payload has a case variant of a claim name")
				}
			}
		}
	})
}

// fmtPayload is a valid grant payload issued at now (for the derived HS256
// key of FuzzClaimsDecode), with extra members spliced in at the end.
func fmtPayload(now int64, extra string) string {
	return `{"iss":"` + testIssuer + `","sub":"` + alice + `","aud":"` + testAudience + `","jti":"fuzz","iat":` + itoa64(now) +
		`,"nbf":` + itoa64(now) + `,"exp":` + itoa64(now+60) + `,"scope":{"methods":["` + readMethod + `"],"resource":"secrets/*"}` + extra + "}"
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
