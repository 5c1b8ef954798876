package token_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

type resolverFunc func(kid string, now time.Time) (*token.Key, error)

func (f resolverFunc) Lookup(kid string, now time.Time) (*token.Key, error) { return f(kid, now) }

// OUT-002 / DESIGN "broker unreachable → UNAVAILABLE, never silently
// UNAUTHENTICATED": when the key source is down the verifier must say so,
// not blame the token, in the grant and the identity verifier alike.
func TestKeySourceDown(t *testing.T) {
	f := newFixture(t)
	down := map[string]token.KeyResolver{
		"resolver returns BROKER_UNAVAILABLE": resolverFunc(func(string, time.Time) (*token.Key, error) {
			return nil, reason.New(reason.BrokerUnavailable, "the broker's key endpoint did not answer")
		}),
		"resolver returns a plain error": resolverFunc(func(string, time.Time) (*token.Key, error) {
			return nil, errors.New("dial tcp 10.0.0.7:443: connect: connection refused")
		}),
	}
	for name, keys := range down {
		t.Run("grant/"+name, func(t *testing.T) {
			v, err := token.NewGrantVerifier(keys, f.config())
			assert.NoError(t, err)
			raw := f.grant()
			_, err = v.Verify(raw, defaultRequest())
			requireDenied(t, err, reason.BrokerUnavailable, raw)
		})
		t.Run("identity/"+name, func(t *testing.T) {
			v, err := token.NewIdentityVerifier(keys, f.config(func(c *token.Config) { c.Issuer = testIDP }))
			assert.NoError(t, err)
			raw := f.identity(alice)
			_, err = v.Verify(raw)
			requireDenied(t, err, reason.BrokerUnavailable, raw)
		})
	}
}
