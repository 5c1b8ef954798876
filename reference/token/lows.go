package token

import (
	"bytes"
	"crypto/elliptic"
	"errors"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// ECDSA signatures are malleable: if (r, s) verifies, so does (r, n−s), a
// second spelling of the same token that anything keyed on the token's text
// (a cache, a one-shot register, an audit log) would take for another one.
// The reference therefore signs only the low-s form (s ≤ n/2), as Bitcoin's
// BIP 62 does: its issuer normalises every ES256 signature it makes (Go's
// crypto/ecdsa returns either twin). Its grant verifier refuses the high-s
// twin, since grants come from the reference broker alone; its identity
// verifier accepts both by default, since identity providers (and RFC 7518)
// do not normalise, and keys nothing but its cache on the token's text.
// Whatever the form, one-shot use and revocation are keyed on the grant id.

// SignatureForm says which spellings of an ES256 signature a verifier accepts.
type SignatureForm int

// The forms; the zero value picks the verifier kind's default.
const (
	// SignaturesDefault is low-s only for grants and any s for identity tokens.
	SignaturesDefault SignatureForm = iota
	// SignaturesLowSOnly refuses the high-s twin of a signature (GRANT_BAD_SIGNATURE).
	SignaturesLowSOnly
	// SignaturesAnyS accepts either twin, as RFC 7518 does.
	SignaturesAnyS
)

// ErrHighS is returned when an ECDSA signature verifies but is the high-s
// twin of the canonical one.
var ErrHighS = errors.New("the ECDSA signature is not canonical (high s)")

// es256 is ES256 signing low-s and refusing high-s.
var es256 jwt.SigningMethod = lowS{jwt.SigningMethodES256}

var (
	p256Order = elliptic.P256().Params().N
	// p256HalfOrder is ⌊n/2⌋ as 32 big-endian bytes, compared with s as bytes so verifying allocates nothing more.
	p256HalfOrder = new(big.Int).Rsh(p256Order, 1).FillBytes(make([]byte, 32))
)

// lowS is an ECDSA method over P-256 whose signatures are canonical.
type lowS struct{ *jwt.SigningMethodECDSA }

// Sign signs input and replaces a high s by n−s.
func (m lowS) Sign(input string, key any) ([]byte, error) {
	sig, err := m.SigningMethodECDSA.Sign(input, key)
	if err != nil {
		return nil, err
	}
	if highS(sig) {
		s := new(big.Int).SetBytes(sig[32:])
		s.Sub(p256Order, s).FillBytes(sig[32:])
	}
	return sig, nil
}

// Verify checks the signature, then that it is the low-s form.
func (m lowS) Verify(input string, sig []byte, key any) error {
	if err := m.SigningMethodECDSA.Verify(input, sig, key); err != nil {
		return err
	}
	if highS(sig) {
		return ErrHighS
	}
	return nil
}

// highS reports whether sig, a 64-byte r||s, has s > n/2.
func highS(sig []byte) bool {
	return len(sig) == 64 && bytes.Compare(sig[32:], p256HalfOrder) > 0
}

// SigningMethod returns the golang-jwt method the reference signs and
// verifies alg with: golang-jwt's own, except ES256, which makes and accepts
// only low-s signatures. Code that signs tokens for the reference outside
// Sign should use it; nil means alg is not supported.
func SigningMethod(alg string) jwt.SigningMethod {
	if CheckAlgorithm(alg) != nil {
		return nil
	}
	if alg == ES256 {
		return es256
	}
	return jwt.GetSigningMethod(alg)
}
