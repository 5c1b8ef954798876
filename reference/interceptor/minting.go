package interceptor

import (
	"context"
	"time"

	"github.com/jitbench/jitbench/reference/token"
)

// Minting is a GrantSource and IdentitySource that signs credentials itself
// with issuers it holds, skipping approval. It stands in for an identity
// provider and a broker that approves everything: for tests, load runs and
// demos where approval is not what is being measured.
type Minting struct {
	// Identities signs identity tokens; nil means Identity fails.
	Identities *token.Issuer
	// Grants signs grants; nil means Grant fails.
	Grants *token.Issuer
	// Subject is the caller the credentials name.
	Subject string
	// Audience is the service the credentials are for.
	Audience string
	// TTL is each credential's lifetime.
	TTL time.Duration
	// Resource, when set, limits each grant to this resource pattern.
	Resource string
	// OneShot makes every grant valid for a single call.
	OneShot bool
}

var (
	_ GrantSource    = (*Minting)(nil)
	_ IdentitySource = (*Minting)(nil)
)

// Identity implements IdentitySource.
func (m *Minting) Identity(context.Context) (Credential, error) {
	raw, err := m.Identities.Identity(token.IdentitySpec{Subject: m.Subject, Audience: m.Audience, TTL: m.TTL})
	if err != nil {
		return Credential{}, err
	}
	return Static(raw), nil
}

// Grant implements GrantSource with a grant scoped to exactly method.
func (m *Minting) Grant(_ context.Context, method string) (Credential, error) {
	raw, g, err := m.Grants.Grant(token.GrantSpec{
		Subject:  m.Subject,
		Audience: m.Audience,
		Scope:    token.Scope{Methods: []string{method}, Resource: m.Resource},
		TTL:      m.TTL,
		OneShot:  m.OneShot,
	})
	if err != nil {
		return Credential{}, err
	}
	return Credential{Token: raw, Expires: g.ExpiresAt, Once: g.OneShot}, nil
}
