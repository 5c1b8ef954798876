package token_test

import (
	"strings"
	"testing"

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
