package zoo

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
)

// The JWS algorithms zoo signers use.
const (
	ES256 = "ES256"
	RS256 = "RS256"
	EdDSA = "EdDSA"
	HS256 = "HS256"
)

// Signer mints compact JWS tokens with one private key (or secret).
type Signer struct {
	// Alg is the JWS algorithm, KeyID the kid Sign puts in headers (empty: none).
	Alg, KeyID string
	key        any // *ecdsa.PrivateKey (P-256), *rsa.PrivateKey, ed25519.PrivateKey or []byte
}

// NewSigner returns a signer of alg (ES256, RS256, EdDSA or HS256) with key,
// which must be of alg's kind: *ecdsa.PrivateKey on P-256,
// *rsa.PrivateKey, ed25519.PrivateKey or a []byte secret.
func NewSigner(alg, kid string, key any) (*Signer, error) {
	ok := false
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		ok = alg == ES256 && k.Curve == elliptic.P256()
	case *rsa.PrivateKey:
		ok = alg == RS256
	case ed25519.PrivateKey:
		ok = alg == EdDSA && len(k) == ed25519.PrivateKeySize
	case []byte:
		ok = alg == HS256
	}
	if !ok {
		return nil, fmt.Errorf("zoo: a %T cannot sign %s", key, alg)
	}
	return &Signer{Alg: alg, KeyID: kid, key: key}, nil
}

// GenerateSigner returns a signer of alg with a fresh key: an attacker's, or
// a key no service trusts.
func GenerateSigner(alg, kid string) (*Signer, error) {
	var key any
	var err error
	switch alg {
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case HS256:
		secret := make([]byte, 32)
		_, err = rand.Read(secret)
		key = secret
	default:
		return nil, fmt.Errorf("zoo: cannot generate a %s key", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("zoo: generate a %s key: %w", alg, err)
	}
	return NewSigner(alg, kid, key)
}

// Private returns the signing key: a private key, or the secret for HS256.
func (s *Signer) Private() any { return s.key }

// Public returns the verification key: the public key, or the secret for HS256.
func (s *Signer) Public() any {
	if k, ok := s.key.(crypto.Signer); ok {
		return k.Public()
	}
	return s.key
}

// Sign signs claims under header (typ and any extra parameters; nil for
// none), setting alg to the signer's and kid when header has none.
func (s *Signer) Sign(header, claims map[string]any) (string, error) {
	h := maps.Clone(header)
	if h == nil {
		h = map[string]any{}
	}
	h["alg"] = s.Alg
	if _, ok := h["kid"]; !ok && s.KeyID != "" {
		h["kid"] = s.KeyID
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("zoo: encode the header: %w", err)
	}
	cj, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("zoo: encode the claims: %w", err)
	}
	return s.SignBytes(hj, cj)
}

// SignBytes signs header and payload exactly as given, for tokens
// json.Marshal cannot produce (duplicate keys, odd spellings).
func (s *Signer) SignBytes(header, payload []byte) (string, error) {
	input := b64(header) + "." + b64(payload)
	sig, err := s.signature([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// signature signs input with the signer's algorithm.
func (s *Signer) signature(input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		r, sv, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			return nil, fmt.Errorf("zoo: sign: %w", err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		sv.FillBytes(sig[32:])
		return sig, nil
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input), nil
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write(input)
		return m.Sum(nil), nil
	}
	return nil, errors.New("zoo: the signer has no key")
}

// b64 is unpadded base64url.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
