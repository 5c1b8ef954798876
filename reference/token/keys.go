package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitbench/jitbench/reference/reason"
)

// Algorithm names the verifier and issuer support.
const (
	// EdDSA is Ed25519, the reference default.
	EdDSA = "EdDSA"
	// ES256 is ECDSA over P-256 with SHA-256.
	ES256 = "ES256"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
	RS256 = "RS256"
	// HS256 is HMAC-SHA256 with a shared secret; only for deployments that configure it.
	HS256 = "HS256"
)

// Algorithms lists every supported algorithm name, in a stable order.
func Algorithms() []string { return []string{EdDSA, ES256, RS256, HS256} }

// ErrUnknownAlgorithm is returned for an algorithm name outside Algorithms().
var ErrUnknownAlgorithm = errors.New("unknown signing algorithm")

// CheckAlgorithm returns ErrUnknownAlgorithm (naming the value) unless alg is supported.
func CheckAlgorithm(alg string) error {
	if slices.Contains(Algorithms(), alg) {
		return nil
	}
	return fmt.Errorf("%w %q (want one of %v)", ErrUnknownAlgorithm, alg, Algorithms())
}

// Key is one signing or verification key, bound to a single algorithm: a
// token whose alg differs from its key's is refused, which is what stops an
// HS256 token signed with an RSA or EC public key.
type Key struct {
	// ID is the kid header tokens signed by this key carry.
	ID string
	// Algorithm is the one algorithm this key may be used with.
	Algorithm string
	// Private signs: ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey or []byte for HS256. Nil on verify-only keys.
	Private any
	// Public verifies: ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey or []byte for HS256.
	Public any
	// VerifyUntil, when set, retires the key: it verifies tokens only until this instant.
	VerifyUntil time.Time
}

// GenerateKey returns a new random key for alg with the given kid.
func GenerateKey(alg, kid string) (*Key, error) {
	switch alg {
	case EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return &Key{ID: kid, Algorithm: alg, Private: priv, Public: pub}, nil
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return &Key{ID: kid, Algorithm: alg, Private: priv, Public: &priv.PublicKey}, nil
	case RS256:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		return &Key{ID: kid, Algorithm: alg, Private: priv, Public: &priv.PublicKey}, nil
	case HS256:
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		return &Key{ID: kid, Algorithm: alg, Private: secret, Public: secret}, nil
	}
	return nil, CheckAlgorithm(alg)
}

// DeriveKey returns a key whose material is derived from seed: the same seed
// gives the same key in every process. It is for development keys that
// `jitbench serve` and `jitbench token mint` must agree on without sharing a
// file; never use it for real keys. RS256 cannot be derived.
func DeriveKey(alg, kid, seed string) (*Key, error) {
	sum := sha256.Sum256([]byte("jitbench dev key/" + alg + "/" + seed))
	switch alg {
	case EdDSA:
		priv := ed25519.NewKeyFromSeed(sum[:])
		return &Key{ID: kid, Algorithm: alg, Private: priv, Public: priv.Public()}, nil
	case ES256:
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), sum[:])
		if err != nil {
			return nil, fmt.Errorf("derive ES256 key: %w", err)
		}
		return &Key{ID: kid, Algorithm: alg, Private: priv, Public: &priv.PublicKey}, nil
	case HS256:
		secret := sum[:]
		return &Key{ID: kid, Algorithm: alg, Private: secret, Public: secret}, nil
	case RS256:
		return nil, fmt.Errorf("RS256 keys cannot be derived from a seed: generate one with `jitbench token keygen`")
	}
	return nil, CheckAlgorithm(alg)
}

// PublicOnly returns a copy of k without its private material (HS256 keys keep
// their secret, which is needed to verify).
func (k *Key) PublicOnly() *Key {
	c := *k
	if k.Algorithm != HS256 {
		c.Private = nil
	}
	return &c
}

// method is the signing method of k's algorithm; for ES256 it emits low-s only.
func (k *Key) method() jwt.SigningMethod { return SigningMethod(k.Algorithm) }

// Signer returns the private key in the form golang-jwt signs with.
func (k *Key) signer() (any, error) {
	if k.Private == nil {
		return nil, fmt.Errorf("key %q has no private material", k.ID)
	}
	if s, ok := k.Private.(crypto.Signer); ok && k.Algorithm == EdDSA {
		return s, nil
	}
	return k.Private, nil
}

// KeySet holds the keys of one issuer: the current signing key and the keys
// that still verify. Rotation keeps the old key verifying for an overlap, so
// grants signed before a rotation stay valid until they expire.
type KeySet struct {
	mu      sync.RWMutex
	keys    map[string]*Key
	current string
}

// NewKeySet returns a set holding keys; the first one signs.
func NewKeySet(keys ...*Key) *KeySet {
	s := &KeySet{keys: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		s.Add(k)
	}
	return s
}

// Add puts k in the set; the first key added becomes the signing key.
func (s *KeySet) Add(k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ID] = k
	if s.current == "" {
		s.current = k.ID
	}
}

// Use makes the key kid the signing key.
func (s *KeySet) Use(kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[kid]; !ok {
		return fmt.Errorf("no key %q in the set", kid)
	}
	s.current = kid
	return nil
}

// Rotate makes next the signing key and retires the previous one: it keeps
// verifying until now+overlap (set overlap to the maximum grant duration).
func (s *KeySet) Rotate(next *Key, now time.Time, overlap time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.keys[s.current]; ok {
		retired := *old
		retired.VerifyUntil = now.Add(overlap)
		s.keys[old.ID] = &retired
	}
	s.keys[next.ID] = next
	s.current = next.ID
}

// Signing returns the current signing key.
func (s *KeySet) Signing() (*Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[s.current]
	if !ok {
		return nil, errors.New("key set is empty")
	}
	return k, nil
}

// Lookup returns the key kid if it may verify at now, or a GRANT_UNKNOWN_KEY error.
func (s *KeySet) Lookup(kid string, now time.Time) (*Key, error) {
	s.mu.RLock()
	k, ok := s.keys[kid]
	s.mu.RUnlock()
	if !ok {
		return nil, reason.New(reason.GrantUnknownKey, "the token's kid names no trusted key", "known_kids", s.kids())
	}
	if !k.VerifyUntil.IsZero() && now.After(k.VerifyUntil) {
		return nil, reason.New(reason.GrantUnknownKey, "the token was signed by a retired key",
			"retired_at", k.VerifyUntil.UTC().Format(time.RFC3339))
	}
	return k, nil
}

// Keys returns every key in kid order.
func (s *KeySet) Keys() []*Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Public returns a set of the same keys without private material, for verifiers.
func (s *KeySet) Public() *KeySet {
	p := NewKeySet()
	for _, k := range s.Keys() {
		p.Add(k.PublicOnly())
	}
	s.mu.RLock()
	p.current = s.current
	s.mu.RUnlock()
	return p
}

func (s *KeySet) kids() string {
	keys := s.Keys()
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return fmt.Sprint(ids)
}
