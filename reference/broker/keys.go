package broker

import (
	"fmt"
	"time"

	"github.com/jitbench/jitbench/reference/token"
)

// Keys returns the JWKS document of the public keys that may still verify a
// grant: the signing key and retired keys within their overlap. HS256
// secrets are never published (their "public" half is the secret itself:
// publishing it would let anyone sign grants); a deployment that configures
// HS256 shares the secret out of band.
func (b *Broker) Keys() ([]byte, error) {
	now := b.clock.Now()
	var keys []*token.Key
	for _, k := range b.issuer.Keys().Public().Keys() {
		if k.Algorithm == token.HS256 {
			continue
		}
		if !k.VerifyUntil.IsZero() && now.After(k.VerifyUntil) {
			continue
		}
		keys = append(keys, k)
	}
	doc, err := token.MarshalKeySet(keys)
	if err != nil {
		return nil, fmt.Errorf("encode the key set: %w", err)
	}
	return doc, nil
}

// Rotate makes next the signing key. The previous key keeps verifying for
// the longest grant any rule allows, so every grant it signed stays valid
// until it expires.
func (b *Broker) Rotate(next *token.Key) error {
	if next == nil || next.Private == nil {
		return fail(ErrInvalidArgument, "rotation needs a key with private material")
	}
	if err := token.CheckAlgorithm(next.Algorithm); err != nil {
		return fail(ErrInvalidArgument, "rotation: %v", err)
	}
	b.issuer.Keys().Rotate(next, b.clock.Now(), b.maxGrantDuration())
	return nil
}

// maxGrantDuration is the largest MaxDuration of the policy's rules.
func (b *Broker) maxGrantDuration() time.Duration {
	var longest time.Duration
	for _, r := range b.policy.Rules {
		longest = max(longest, r.MaxDuration)
	}
	return longest
}
