package conformance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/jitbench/jitbench/reference/token"
)

// A target's test keys come in whatever form its team uses: a JSON Web Key
// Set or a single JWK, PEM of any common kind (PKCS#8, PKCS#1, SEC1,
// SubjectPublicKeyInfo, an X.509 certificate), DER, or a raw HMAC secret.
// The form is sniffed from the bytes; what the file cannot say (the
// algorithm of a PEM key, its kid) comes from the config or from the key.

// ErrKeyFile is wrapped by every error about key material.
var ErrKeyFile = errors.New("unusable key file")

// KeyOptions say what key material may not: the algorithm and the kid.
type KeyOptions struct {
	// Alg is the key's algorithm; empty means the one its type implies.
	Alg string
	// Kid is the key's kid; empty means the file's, or else the key's RFC 7638 thumbprint.
	Kid string
}

// ParseKeyFile reads private key material in any form ParseKeyFile
// sniffs and returns it as a key set whose signing key is the first
// private key. Public-only material is an error: the suite signs valid
// tokens with the private key. name is the file's name for messages.
func ParseKeyFile(name string, data []byte, opts KeyOptions) (*token.KeySet, error) {
	keys, err := parseKeyMaterial(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, name, err)
	}
	set := token.NewKeySet()
	for _, k := range keys { // the private keys first: the first one added signs
		if k.Private != nil {
			set.Add(k)
		}
	}
	if len(set.Keys()) == 0 {
		return nil, fmt.Errorf("%w: %s holds only a public key (%s): the suite signs valid tokens with the issuer's PRIVATE test key; "+
			"give that (a public key is enough only as public_file)", ErrKeyFile, name, keys[0].Algorithm)
	}
	for _, k := range keys {
		if _, err := set.Lookup(k.ID, time.Time{}); k.Private == nil && err != nil {
			set.Add(k) // a certificate of a key already there adds nothing
		}
	}
	return set, nil
}

// ParseSecret returns an HMAC secret as an HS256 key set; the bytes are used as they are.
func ParseSecret(name string, secret []byte, kid string) (*token.KeySet, error) {
	if len(secret) == 0 {
		return nil, fmt.Errorf("%w: %s: the secret is empty", ErrKeyFile, name)
	}
	if kid == "" {
		kid = thumbprint(jose.JSONWebKey{Key: secret})
	}
	return token.NewKeySet(&token.Key{ID: kid, Algorithm: token.HS256, Private: secret, Public: secret}), nil
}

// ParsePublicKey reads one public key (PEM, DER, certificate, JWK or JWKS;
// a private key gives its public half) and returns it.
func ParsePublicKey(name string, data []byte) (crypto.PublicKey, error) {
	keys, err := parseKeyMaterial(data, KeyOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, name, err)
	}
	if _, ok := keys[0].Public.([]byte); ok {
		return nil, fmt.Errorf("%w: %s is an HMAC secret, not a public key", ErrKeyFile, name)
	}
	return keys[0].Public, nil
}

// parseKeyMaterial sniffs data's form and reads every key in it.
func parseKeyMaterial(data []byte, opts KeyOptions) ([]*token.Key, error) {
	trimmed := bytes.TrimSpace(data)
	var raws []rawKey
	var err error
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("the file is empty")
	case trimmed[0] == '{':
		raws, err = jsonKeys(trimmed)
	case bytes.Contains(data, []byte("-----BEGIN ")):
		raws, err = pemKeys(data)
	default:
		var k rawKey
		if k, err = derKey(data); err != nil {
			return nil, fmt.Errorf("found %d bytes that are not JSON (a JWKS or JWK), PEM or DER: %s; an HMAC secret goes in secret_file or secret_env",
				len(data), describeBytes(data))
		}
		raws = []rawKey{k}
	}
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, errors.New("no key in it")
	}
	if opts.Kid != "" && len(raws) > 1 {
		return nil, fmt.Errorf("it holds %d keys: kid names one key, so give a file with one", len(raws))
	}
	out := make([]*token.Key, 0, len(raws))
	for _, raw := range raws {
		k, err := raw.key(opts)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// rawKey is one key as read, before its algorithm and kid are settled.
type rawKey struct {
	material any    // a private key, a public key or []byte
	alg, kid string // what the file said, if anything
	what     string // how it was written, for messages
}

// key settles the algorithm and kid: the file's, the options', or the key's own.
func (r rawKey) key(opts KeyOptions) (*token.Key, error) {
	k := &token.Key{ID: r.kid}
	switch m := r.material.(type) {
	case ed25519.PrivateKey:
		k.Private, k.Public, k.Algorithm = m, m.Public(), token.EdDSA
	case ed25519.PublicKey:
		k.Public, k.Algorithm = m, token.EdDSA
	case *ecdsa.PrivateKey:
		k.Private, k.Public, k.Algorithm = m, &m.PublicKey, token.ES256
	case *ecdsa.PublicKey:
		k.Public, k.Algorithm = m, token.ES256
	case *rsa.PrivateKey:
		k.Private, k.Public, k.Algorithm = m, &m.PublicKey, token.RS256
	case *rsa.PublicKey:
		k.Public, k.Algorithm = m, token.RS256
	case []byte:
		k.Private, k.Public, k.Algorithm = m, m, token.HS256
	default:
		return nil, fmt.Errorf("%s holds a key of type %T, which the suite cannot sign with", r.what, r.material)
	}
	if pub, ok := k.Public.(*ecdsa.PublicKey); ok && pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s is an ECDSA key on %s: the suite signs ES256 (P-256), EdDSA, RS256 and HS256", r.what, pub.Curve.Params().Name)
	}
	for _, alg := range []string{r.alg, opts.Alg} {
		if alg != "" && alg != k.Algorithm {
			return nil, fmt.Errorf("%s is a %s key, and alg says %s", r.what, k.Algorithm, alg)
		}
	}
	switch {
	case opts.Kid != "":
		k.ID = opts.Kid
	case k.ID == "":
		k.ID = thumbprint(jose.JSONWebKey{Key: k.Public})
	}
	return k, nil
}

// thumbprint is a key's RFC 7638 SHA-256 thumbprint in base64url: the kid many issuers use.
func thumbprint(jwk jose.JSONWebKey) string {
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "jitbench-key"
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// jsonKeys reads a JWKS ({"keys": [...]}) or a single JWK.
func jsonKeys(data []byte) ([]rawKey, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if _, ok := probe["keys"]; ok {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
		}
		var out []rawKey
		for i, raw := range set.Keys {
			k, err := jwkKey(raw, fmt.Sprintf("key %d of the JWKS", i))
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
		return out, nil
	}
	if _, ok := probe["kty"]; !ok {
		return nil, errors.New(`JSON that is neither a JWKS ({"keys": [...]}) nor a JWK (no "kty")`)
	}
	k, err := jwkKey(data, "the JWK")
	return []rawKey{k}, err
}

// jwkKey reads one JWK.
func jwkKey(data []byte, what string) (rawKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		return rawKey{}, fmt.Errorf("%s: %v", what, err)
	}
	return rawKey{material: jwk.Key, alg: jwk.Algorithm, kid: jwk.KeyID, what: what}, nil
}

// pemKeys reads every key block of a PEM file; a certificate gives its public key.
func pemKeys(data []byte) ([]rawKey, error) {
	var out []rawKey
	for i := 1; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out, nil
		}
		what := fmt.Sprintf("PEM block %d (%s)", i, block.Type)
		var m any
		var err error
		var form string
		switch block.Type {
		case "PRIVATE KEY":
			form = "PKCS#8"
			m, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			form = "PKCS#1"
			m, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			form = "SEC1"
			m, err = x509.ParseECPrivateKey(block.Bytes)
		case "PUBLIC KEY":
			form = "SubjectPublicKeyInfo"
			m, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			form = "PKCS#1"
			m, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			form = "an X.509 certificate"
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				m = cert.PublicKey
			}
		case "EC PARAMETERS":
			continue // openssl ecparam -genkey writes the curve before the key
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s is encrypted: give the key unencrypted (openssl pkcs8 -topk8 -nocrypt)", what)
		case "OPENSSH PRIVATE KEY":
			return nil, fmt.Errorf("%s is in OpenSSH's format: convert it to PKCS#8 (ssh-keygen -p -m PKCS8)", what)
		default:
			return nil, fmt.Errorf("%s is not a key: want PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, PUBLIC KEY or CERTIFICATE", what)
		}
		if err != nil {
			return nil, fmt.Errorf("%s does not decode as %s", what, form)
		}
		out = append(out, rawKey{material: m, what: what})
	}
}

// derKey reads one DER key or certificate.
func derKey(data []byte) (rawKey, error) {
	if m, err := x509.ParsePKCS8PrivateKey(data); err == nil {
		return rawKey{material: m, what: "the DER private key"}, nil
	}
	if m, err := x509.ParsePKCS1PrivateKey(data); err == nil {
		return rawKey{material: m, what: "the DER RSA private key"}, nil
	}
	if m, err := x509.ParseECPrivateKey(data); err == nil {
		return rawKey{material: m, what: "the DER EC private key"}, nil
	}
	if m, err := x509.ParsePKIXPublicKey(data); err == nil {
		return rawKey{material: m, what: "the DER public key"}, nil
	}
	cert, err := x509.ParseCertificate(data)
	if err != nil {
		return rawKey{}, err
	}
	return rawKey{material: cert.PublicKey, what: "the DER certificate"}, nil
}

// describeBytes says what the start of unreadable key material looks like, without quoting a secret.
func describeBytes(data []byte) string {
	printable := 0
	for _, b := range data {
		if b >= 0x20 && b < 0x7f || b == '\n' || b == '\r' || b == '\t' {
			printable++
		}
	}
	if printable == len(data) {
		if strings.Count(string(data), "\n") > 1 {
			return "several lines of text"
		}
		return "one line of text"
	}
	return "binary data"
}
