package token_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// The kind of token is judged before its key (finding 9): an identity token
// sent as a grant is GRANT_WRONG_TYPE even though its kid names a key only
// the identity provider has, and even when its algorithm is not pinned.
func TestWrongTypeBeforeKey(t *testing.T) {
	f := newFixture(t)
	idpKey, err := token.GenerateKey(token.EdDSA, "idp-key")
	require.NoError(t, err)
	idp := token.NewIssuer(testIDP, token.NewKeySet(idpKey), f.clock)
	identity, err := idp.Identity(token.IdentitySpec{Subject: alice, Audience: testAudience, TTL: time.Minute})
	require.NoError(t, err)

	tests := []struct {
		name string
		raw  string
		cfg  func(*token.Config)
	}{
		{"identity from another key set", identity, nil},
		{"identity, algorithm not pinned", identity, func(c *token.Config) { c.Algorithms = []string{token.ES256} }},
		{"typ JWT, unknown kid", craft(t, hdr(token.EdDSA, "nobody", "JWT"), f.claims(), f.keys.evilEd), nil},
		{"typ missing, unsigned", craft(t, hdr("none", "ed-1", ""), f.claims(), nil), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.verifier(tc.cfg).Verify(tc.raw, defaultRequest())
			re := requireDenied(t, err, reason.GrantWrongType, tc.raw)
			assert.Equal(t, token.TypeGrant, re.Metadata["expected_typ"])
		})
	}

	// And the other way: a grant sent as the identity names its kind as the cause.
	grant := f.grant()
	_, err = f.identityVerifier().Verify(grant)
	re := requireDenied(t, err, reason.IdentityInvalid, grant)
	assert.Equal(t, string(reason.GrantWrongType), re.Metadata["cause"])
	assert.Equal(t, token.TypeGrant, re.Metadata["typ"])
}
