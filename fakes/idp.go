package fakes

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/token"
)

// IdentityProvider stands in for the identity provider callers log in to:
// it signs identity tokens for any subject, with no login, because what a
// scenario tests is what the service does with the token.
type IdentityProvider struct {
	// Issuer signs the tokens; its name is their iss.
	Issuer *token.Issuer
}

// DevIdentityProvider returns the development identity provider (the keys
// every reference component trusts by default), telling time by clock; a
// nil clock means the real one.
func DevIdentityProvider(clock clockwork.Clock) *IdentityProvider {
	return &IdentityProvider{Issuer: token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), clock)}
}

// Token signs an identity token of subject in groups, for audience, valid for ttl.
func (p *IdentityProvider) Token(subject string, groups []string, audience string, ttl time.Duration) (string, error) {
	return p.Issuer.Identity(token.IdentitySpec{Subject: subject, Groups: groups, Audience: audience, TTL: ttl})
}

// Source returns an interceptor.IdentitySource that asks p for a fresh token
// whenever the client credentials need one.
func (p *IdentityProvider) Source(subject string, groups []string, audience string, ttl time.Duration) interceptor.IdentitySource {
	return interceptor.IdentitySourceFunc(func(context.Context) (interceptor.Credential, error) {
		raw, err := p.Token(subject, groups, audience, ttl)
		if err != nil {
			return interceptor.Credential{}, err
		}
		return interceptor.Static(raw), nil
	})
}
