package broker

import (
	"crypto/sha256"
	"encoding/hex"
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
	doc, _, err := b.keysAt(b.clock.Now())
	return doc, err
}

// keysAt returns the key document published at now and its id, which the
// revocation feed's heartbeats announce: verifiers whose copy has another
// id fetch the keys again, so a key that leaves the document (retired,
// removed, past its overlap) stops verifying within their staleness bound.
func (b *Broker) keysAt(now time.Time) (doc []byte, id string, err error) {
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
	doc, err = token.MarshalKeySet(keys)
	if err != nil {
		return nil, "", fmt.Errorf("encode the key set: %w", err)
	}
	sum := sha256.Sum256(doc)
	return doc, hex.EncodeToString(sum[:16]), nil
}

// keySetID is the id of the key document published at now; empty if it
// cannot be encoded (verifiers then keep what they have).
func (b *Broker) keySetID(now time.Time) string {
	_, id, err := b.keysAt(now)
	if err != nil {
		return ""
	}
	return id
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
	b.announceKeys()
	return nil
}

// RetireKey stops the key kid from verifying grants at once, as for a key
// that leaked: it leaves the published key set now, and verifiers hear of
// it on the revocation feed (strict ones refuse every grant until they have
// fetched the new set). The signing key cannot be retired: rotate first.
func (b *Broker) RetireKey(kid string) error {
	keys := b.issuer.Keys()
	signing, err := keys.Signing()
	if err == nil && signing.ID == kid {
		return fail(ErrInvalidArgument, "key %q signs grants: rotate to another key before retiring it", kid)
	}
	now := b.clock.Now()
	for _, k := range keys.Keys() {
		if k.ID != kid {
			continue
		}
		retired := *k
		// Lookup accepts a key up to and including VerifyUntil: one tick
		// before now makes the key refused from this instant on.
		retired.VerifyUntil = now.Add(-time.Nanosecond)
		if !k.VerifyUntil.IsZero() && k.VerifyUntil.Before(retired.VerifyUntil) {
			retired.VerifyUntil = k.VerifyUntil // already retired earlier
		}
		keys.Add(&retired)
		b.announceKeys()
		return nil
	}
	return fail(ErrNotFound, "no key %q in the broker's key set", kid)
}

// announceKeys sends every revocation subscriber a heartbeat carrying the
// key set published now, rather than at the next tick.
func (b *Broker) announceKeys() {
	b.feed.heartbeat(b.clock.Now(), b.keySetID)
}

// maxGrantDuration is the largest MaxDuration of the policy's rules.
func (b *Broker) maxGrantDuration() time.Duration {
	var longest time.Duration
	for _, r := range b.policy.Rules {
		longest = max(longest, r.MaxDuration)
	}
	return longest
}
