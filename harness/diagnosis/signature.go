package diagnosis

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitbench/jitbench/reference/token"
)

// Signatures are checked with golang-jwt's signing methods over the keys of
// a token.KeySet: token.Key already holds its material in the form those
// methods take (ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey, []byte),
// so nothing is converted, and the token is never parsed by golang-jwt (its
// parser decodes with encoding/json): only Verify is used, on the signing
// input split here. go-jose would need its own key types and parse the token
// itself. golang-jwt's ES256 accepts either ECDSA twin (high or low s), as a
// foreign service does; the reference's low-s rule is not a foreign one.

// sigVerdict is what checking a token's signature with its issuer's keys found.
type sigVerdict int

const (
	// sigUnchecked: no keys were given for the token's issuer.
	sigUnchecked sigVerdict = iota
	// sigVerified: the key its kid names verifies it (or, with no kid, a key of the issuer does).
	sigVerified
	// sigShape: the signature cannot be one of its alg at all (empty, wrong length, DER).
	sigShape
	// sigWrongKid: a key of the issuer verifies it, but not the one its kid names.
	sigWrongKid
	// sigUnknownKid: a key of the issuer verifies it, but its kid names none of the issuer's keys.
	sigUnknownKid
	// sigKidOtherAlg: its kid names a key of another algorithm than its alg.
	sigKidOtherAlg
	// sigOtherIssuer: no key of its issuer verifies it; a key of the other issuer does.
	sigOtherIssuer
	// sigNoKeyForAlg: its issuer has no key of its alg.
	sigNoKeyForAlg
	// sigBad: no key of its issuer verifies it.
	sigBad
)

// sigCheck is the verdict with the figures to word it.
type sigCheck struct {
	verdict sigVerdict
	// by is the kid of the key that verified it, or that its kid named.
	by string
	// byAlg is the algorithm of the key its kid names (sigKidOtherAlg).
	byAlg string
	// tried is how many keys of its alg were tried.
	tried int
	// shape says what is wrong with the signature's form (sigShape).
	shape string
}

// invalid reports whether the verdict means the service cannot verify the token.
func (s sigCheck) invalid() bool {
	switch s.verdict {
	case sigShape, sigWrongKid, sigKidOtherAlg, sigOtherIssuer, sigNoKeyForAlg, sigBad:
		return true
	}
	return false
}

// signatureShape says why sig cannot be a signature of alg, or "".
func signatureShape(alg string, sig []byte) string {
	if len(sig) == 0 {
		return "its signature is empty"
	}
	want := map[string]int{"ES256": 64, "ES384": 96, "ES512": 132, "EdDSA": 64, "HS256": 32, "HS384": 48, "HS512": 64}[alg]
	switch {
	case want == 0 || len(sig) == want:
		return ""
	case strings.HasPrefix(alg, "ES") && sig[0] == 0x30:
		return fmt.Sprintf("its %s signature is %d bytes of ASN.1 DER; JWS wants the %d-byte r||s form (RFC 7518 §3.4)", alg, len(sig), want)
	}
	return fmt.Sprintf("its %s signature is %d bytes, not %d", alg, len(sig), want)
}

// checkSignature judges j's signature, alg and kid with the keys of its
// issuer, and of the other issuer when those fail.
func checkSignature(j *jose, alg, kid string, keys, other *token.KeySet) sigCheck {
	if shape := signatureShape(alg, j.sig); shape != "" {
		return sigCheck{verdict: sigShape, shape: shape}
	}
	if keys == nil || len(keys.Keys()) == 0 {
		return sigCheck{verdict: sigUnchecked}
	}
	var named *token.Key
	var same []*token.Key
	for _, k := range keys.Keys() {
		if k.ID == kid && kid != "" {
			named = k
		}
		if k.Algorithm == alg {
			same = append(same, k)
		}
	}
	if named != nil && named.Algorithm != alg {
		return sigCheck{verdict: sigKidOtherAlg, by: named.ID, byAlg: named.Algorithm}
	}
	if named != nil && verifies(j, alg, named) {
		return sigCheck{verdict: sigVerified, by: named.ID, tried: len(same)}
	}
	for _, k := range same {
		if k != named && verifies(j, alg, k) {
			switch {
			case kid == "":
				return sigCheck{verdict: sigVerified, by: k.ID, tried: len(same)}
			case named != nil:
				return sigCheck{verdict: sigWrongKid, by: k.ID, tried: len(same)}
			}
			return sigCheck{verdict: sigUnknownKid, by: k.ID, tried: len(same)}
		}
	}
	if other != nil {
		for _, k := range other.Keys() {
			if k.Algorithm == alg && verifies(j, alg, k) {
				return sigCheck{verdict: sigOtherIssuer, by: k.ID, tried: len(same)}
			}
		}
	}
	if len(same) == 0 {
		return sigCheck{verdict: sigNoKeyForAlg, tried: 0}
	}
	return sigCheck{verdict: sigBad, tried: len(same)}
}

// verifies reports whether k, bound to alg, verifies j's signature.
func verifies(j *jose, alg string, k *token.Key) bool {
	if k.Algorithm != alg || k.Public == nil {
		return false
	}
	m := jwt.GetSigningMethod(alg)
	return m != nil && m.Verify(j.input, j.sig, k.Public) == nil
}

// keyConfusion says, for an HMAC token whose issuer signs with asymmetric
// keys, which key it is set against and whether its HMAC is keyed with that
// key's public encoding (the classic forgery); "" when it is not one.
func keyConfusion(j *jose, alg, kid string, keys *token.KeySet) string {
	if !strings.HasPrefix(alg, "HS") || keys == nil {
		return ""
	}
	var named *token.Key
	var asym []*token.Key
	hmacKeys := false
	for _, k := range keys.Keys() {
		if k.ID == kid && kid != "" {
			named = k
		}
		if strings.HasPrefix(k.Algorithm, "HS") {
			hmacKeys = true
		} else {
			asym = append(asym, k)
		}
	}
	switch {
	case named != nil && strings.HasPrefix(named.Algorithm, "HS"):
		return "" // its kid names an HMAC key of the issuer
	case named == nil && (hmacKeys || len(asym) == 0):
		return "" // the issuer has HMAC keys: a wrong kid, not confusion
	}
	target := named
	if target == nil {
		target = asym[0]
	}
	words := fmt.Sprintf("%s against the issuer's %s key %s", alg, target.Algorithm, quote(target.ID))
	if hmacKeyedWithPublic(j, alg, target) {
		words += ", its HMAC keyed with that key's public encoding"
	}
	return words
}

// hmacKeyedWithPublic reports whether j's HMAC was made with k's public key
// as the secret, in the encodings a confused verifier would feed it.
func hmacKeyedWithPublic(j *jose, alg string, k *token.Key) bool {
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return false
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		return false
	}
	for _, secret := range [][]byte{der, block, []byte(strings.TrimSpace(string(block)))} {
		if m.Verify(j.input, j.sig, secret) == nil {
			return true
		}
	}
	return false
}
