package fakes

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

func TestIdentityProvider(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	idp := DevIdentityProvider(clock)
	v, err := token.NewIdentityVerifier(token.DevKeySet(token.DevIdentityIssuer).Public(),
		token.Config{Issuer: token.DevIdentityIssuer, Audience: token.DevAudience, Clock: clock, CacheSize: -1})
	require.NoError(t, err)

	raw, err := idp.Token("alice", []string{"eng", "oncall"}, token.DevAudience, 10*time.Minute)
	require.NoError(t, err)
	id, err := v.Verify(raw)
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Subject)
	assert.Equal(t, []string{"eng", "oncall"}, id.Groups)
	assert.Equal(t, t0.Add(10*time.Minute), id.ExpiresAt)

	clock.Advance(11 * time.Minute)
	_, err = v.Verify(raw)
	assert.Equal(t, reason.IdentityExpired, reason.Of(err), "the token lives ttl on the provider's clock")

	_, err = idp.Token("", nil, token.DevAudience, time.Minute)
	require.ErrorIs(t, err, token.ErrBadSpec)
}

func TestIdentityProviderSource(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	src := DevIdentityProvider(clock).Source("bob", nil, token.DevAudience, time.Minute)
	c, err := src.Identity(t.Context())
	require.NoError(t, err)
	assert.Equal(t, t0.Add(time.Minute), c.Expires)
	d, err := token.Inspect(c.Token)
	require.NoError(t, err)
	assert.Equal(t, "bob", d.String("sub"))
	assert.Equal(t, token.TypeIdentity, d.String("typ"))

	_, err = DevIdentityProvider(clock).Source("bob", nil, "", time.Minute).Identity(t.Context())
	require.ErrorIs(t, err, token.ErrBadSpec)
	assert.Equal(t, token.DevIdentityIssuer, DevIdentityProvider(nil).Issuer.Name())
}
