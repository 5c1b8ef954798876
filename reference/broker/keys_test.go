package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/token"
)

// kids lists the kids of a JWKS document.
func kids(t *testing.T, doc []byte) []string {
	t.Helper()
	set, err := token.ParseKeySet(doc)
	require.NoError(t, err)
	var out []string
	for _, k := range set.Keys() {
		assert.Nil(t, k.Private, "kid %s published with private material", k.ID)
		out = append(out, k.ID)
	}
	return out
}

func TestKeysAndRotation(t *testing.T) {
	f := newFixture(t)
	doc, err := f.b.Keys()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		token.DevKeyID(token.DevGrantIssuer, token.EdDSA), token.DevKeyID(token.DevGrantIssuer, token.ES256),
	}, kids(t, doc), "public keys only: the HS256 secret is never published")

	// A grant signed before the rotation stays verifiable until it expires.
	old := inState[jitv1.State_STATE_APPROVED](f)
	before, err := f.b.GetRequest(f.ctx(), alice, old)
	require.NoError(t, err)

	next, err := token.GenerateKey(token.ES256, "broker-2")
	require.NoError(t, err)
	require.NoError(t, f.b.Rotate(next))
	doc, err = f.b.Keys()
	require.NoError(t, err)
	assert.Contains(t, kids(t, doc), "broker-2")
	assert.Contains(t, kids(t, doc), token.DevKeyID(token.DevGrantIssuer, token.EdDSA))

	newer := inState[jitv1.State_STATE_APPROVED](f)
	after, err := f.b.GetRequest(f.ctx(), alice, newer)
	require.NoError(t, err)
	verifier, err := token.NewGrantVerifier(mustParse(t, doc), token.Config{Issuer: token.DevGrantIssuer, Audience: vault, Clock: f.clock})
	require.NoError(t, err)
	for _, r := range []string{before.GetGrant(), after.GetGrant()} {
		_, err := verifier.Verify(r, token.Request{Subject: "alice", Method: vaultRead})
		assert.NoError(t, err)
	}
	g, err := verifier.Parse(after.GetGrant())
	require.NoError(t, err)
	assert.Equal(t, "broker-2", g.KeyID)

	// Past the overlap (the longest grant of the policy) the retired signing key is gone.
	f.clock.Advance(time.Hour + time.Second)
	doc, err = f.b.Keys()
	require.NoError(t, err)
	assert.Contains(t, kids(t, doc), "broker-2")
	assert.NotContains(t, kids(t, doc), token.DevKeyID(token.DevGrantIssuer, token.EdDSA))

	assert.Equal(t, codes.InvalidArgument, codeOf(f.b.Rotate(&token.Key{ID: "x", Algorithm: token.EdDSA})))
}

func mustParse(t *testing.T, doc []byte) *token.KeySet {
	t.Helper()
	set, err := token.ParseKeySet(doc)
	require.NoError(t, err)
	return set
}
