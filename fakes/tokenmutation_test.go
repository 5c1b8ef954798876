package fakes

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// mutationFixture is a fake Env with a valid grant and identity signed by
// the development keys, and verifiers like the reference service's.
type mutationFixture struct {
	env      *fakeEnv
	clock    *clockwork.FakeClock
	grant    string
	identity string
	grants   *token.GrantVerifier
	ids      *token.IdentityVerifier
}

func newMutationFixture(t *testing.T) *mutationFixture {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	m := &mutationFixture{env: newFakeEnv(clock), clock: clock}
	broker := token.NewIssuer(token.DevGrantIssuer, token.DevKeySet(token.DevGrantIssuer), clock)
	var err error
	m.grant, _, err = broker.Grant(token.GrantSpec{Subject: "alice", Audience: token.DevAudience,
		Scope: token.Scope{Methods: []string{demov1.Vault_Read_FullMethodName}}, TTL: 5 * time.Minute})
	require.NoError(t, err)
	m.identity, err = DevIdentityProvider(clock).Token("alice", []string{"eng"}, token.DevAudience, time.Hour)
	require.NoError(t, err)
	svc := m.env.clocks[TargetService]
	m.grants, err = token.NewGrantVerifier(token.DevKeySet(token.DevGrantIssuer).Public(),
		token.Config{Issuer: token.DevGrantIssuer, Audience: token.DevAudience, Clock: svc, MaxLifetime: DefaultMaxLifetime, CacheSize: -1})
	require.NoError(t, err)
	m.ids, err = token.NewIdentityVerifier(token.DevKeySet(token.DevIdentityIssuer).Public(),
		token.Config{Issuer: token.DevIdentityIssuer, Audience: token.DevAudience, Clock: svc, CacheSize: -1})
	require.NoError(t, err)
	return m
}

func (m *mutationFixture) apply(t *testing.T, params map[string]any) func() {
	t.Helper()
	f, err := New(KindTokenMutation, params)
	require.NoError(t, err)
	remove, err := f.Apply(m.env)
	require.NoError(t, err)
	return remove
}

func (m *mutationFixture) verifyGrant(raw string) reason.Reason {
	_, err := m.grants.Verify(raw, token.Request{Subject: "alice", Method: demov1.Vault_Read_FullMethodName})
	return reason.Of(err)
}

func TestTokenMutationForgesTheChosenCredential(t *testing.T) {
	m := newMutationFixture(t)
	remove := m.apply(t, map[string]any{"case": "CLM-006"})
	mutate := m.env.client.Settings().Mutate
	require.NotNil(t, mutate)

	forged := mutate(CredentialGrant, m.grant)
	assert.Equal(t, reason.GrantAudienceMismatch, m.verifyGrant(forged))
	assert.Equal(t, m.identity, mutate(CredentialIdentity, m.identity), "the other credential passes untouched")

	remove()
	assert.Nil(t, m.env.client.Settings().Mutate)
	assert.Equal(t, reason.Reason(""), m.verifyGrant(m.grant))
}

func TestTokenMutationIdentity(t *testing.T) {
	m := newMutationFixture(t)
	m.apply(t, map[string]any{"credential": "identity", "case": "ID-004/expired"})
	forged := m.env.client.Settings().Mutate(CredentialIdentity, m.identity)
	_, err := m.ids.Verify(forged)
	assert.Equal(t, reason.IdentityExpired, reason.Of(err))
	assert.Equal(t, m.grant, m.env.client.Settings().Mutate(CredentialGrant, m.grant))
}

// TestTokenMutationUsesTheServiceClockAndLeeway checks that skew cases are
// placed against the target: its skewed clock and its leeway.
func TestTokenMutationUsesTheServiceClockAndLeeway(t *testing.T) {
	m := newMutationFixture(t)
	m.env.service.Update(func(s *ServiceSettings) { s.Leeway = 5 * time.Second })
	defer m.env.clocks[TargetService].Set(10*time.Minute, 0)()
	grants, err := token.NewGrantVerifier(token.DevKeySet(token.DevGrantIssuer).Public(),
		token.Config{Issuer: token.DevGrantIssuer, Audience: token.DevAudience, Clock: m.env.clocks[TargetService], Leeway: 5 * time.Second, CacheSize: -1})
	require.NoError(t, err)
	m.grants = grants

	for id, want := range map[string]reason.Reason{"SKW-001": "", "SKW-002": reason.GrantExpired, "SKW-003": reason.GrantNotYetValid} {
		remove := m.apply(t, map[string]any{"case": id})
		assert.Equal(t, want, m.verifyGrant(m.env.client.Settings().Mutate(CredentialGrant, m.grant)), id)
		remove()
	}
}

func TestTokenMutationComposesWithAnEarlierMutation(t *testing.T) {
	m := newMutationFixture(t)
	m.env.client.Update(func(s *ClientSettings) {
		s.Mutate = func(cred, tok string) string { return "broken by an earlier fault" }
	})
	m.apply(t, map[string]any{"case": "CLM-005"})
	// The earlier mutation broke the token, so the forger crafts from nothing:
	// still the case's failure, and a token, not the earlier fault's text.
	forged := m.env.client.Settings().Mutate(CredentialGrant, m.grant)
	d, err := token.Inspect(forged)
	require.NoError(t, err)
	assert.Equal(t, "jitbench-forged-issuer", d.String("iss"))
	assert.Equal(t, reason.GrantIssuerMismatch, m.verifyGrant(forged))
	assert.Equal(t, "broken by an earlier fault", m.env.client.Settings().Mutate(CredentialIdentity, m.identity))
}

func TestTokenMutationFailsWhenTheCaseCannotBeForged(t *testing.T) {
	m := newMutationFixture(t)
	m.env.service.Update(func(s *ServiceSettings) { s.Algorithms = token.Algorithms() })
	f, err := New(KindTokenMutation, map[string]any{"case": "ALG-003"})
	require.NoError(t, err)
	_, err = f.Apply(m.env)
	require.ErrorIs(t, err, ErrNotApplicable, "a case the target makes impossible fails the window, not silently")
	assert.Nil(t, m.env.client.Settings().Mutate)

	delete(m.env.clocks, TargetService)
	f, err = New(KindTokenMutation, map[string]any{"case": "CLM-001"})
	require.NoError(t, err)
	_, err = f.Apply(m.env)
	require.Error(t, err)
}

func TestTokenMutationHeaderCases(t *testing.T) {
	m := newMutationFixture(t)
	remove := m.apply(t, map[string]any{"credential": "identity", "case": "ID-002/bare"})
	assert.Equal(t, []string{"tok"}, m.env.client.Settings().IdentityHeader("tok"))
	remove()
	assert.Nil(t, m.env.client.Settings().IdentityHeader)
}
