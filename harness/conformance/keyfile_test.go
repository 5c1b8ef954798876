package conformance_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jitbench/jitbench/harness/conformance"
	"github.com/jitbench/jitbench/reference/token"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// must is v, for test material whose making cannot fail (key generation, encoding).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// certFor is a self-signed certificate of key's public half.
func certFor(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0)}
	return must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key))
}

// TestParseKeyFileForms reads a private key in every common form and
// checks the algorithm and kid each gets.
func TestParseKeyFileForms(t *testing.T) {
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	rk := must(rsa.GenerateKey(rand.Reader, 2048))
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecJWK := must(jose.JSONWebKey{Key: ec, KeyID: "ec-1", Algorithm: "ES256"}.MarshalJSON())
	edJWK := must(jose.JSONWebKey{Key: ed}.MarshalJSON())
	jwks := []byte(`{"keys":[` + string(must(jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "pub"}.MarshalJSON())) + `,` + string(ecJWK) + `]}`)
	pkcs8 := must(x509.MarshalPKCS8PrivateKey(ec))
	sec1 := must(x509.MarshalECPrivateKey(ec))
	tests := []struct {
		name      string
		data      []byte
		opts      conformance.KeyOptions
		alg, kid  string
		keysInSet int
	}{
		{"JWKS, the private key signs", jwks, conformance.KeyOptions{}, token.ES256, "ec-1", 2},
		{"JWK without kid: its thumbprint", edJWK, conformance.KeyOptions{}, token.EdDSA, thumb(t, ed.Public()), 1},
		{"PKCS#8 PEM, kid from the config", pemOf(t, "PRIVATE KEY", pkcs8), conformance.KeyOptions{Kid: "broker-1"}, token.ES256, "broker-1", 1},
		{"SEC1 PEM after EC PARAMETERS", append(pemOf(t, "EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), pemOf(t, "EC PRIVATE KEY", sec1)...),
			conformance.KeyOptions{Alg: token.ES256}, token.ES256, thumb(t, &ec.PublicKey), 1},
		{"SEC1 with its certificate", append(pemOf(t, "EC PRIVATE KEY", sec1), pemOf(t, "CERTIFICATE", certFor(t, ec))...),
			conformance.KeyOptions{}, token.ES256, thumb(t, &ec.PublicKey), 1},
		{"PKCS#1 PEM", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), conformance.KeyOptions{}, token.RS256, thumb(t, &rk.PublicKey), 1},
		{"PKCS#8 DER", pkcs8, conformance.KeyOptions{Kid: "der"}, token.ES256, "der", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := conformance.ParseKeyFile("k", tt.data, tt.opts)
			require.NoError(t, err)
			k, err := set.Signing()
			require.NoError(t, err)
			assert.Equal(t, tt.alg, k.Algorithm)
			assert.Equal(t, tt.kid, k.ID)
			assert.NotNil(t, k.Private)
			assert.Len(t, set.Keys(), tt.keysInSet)
		})
	}

	secret, err := conformance.ParseSecret("s", []byte("short and sweet\n"), "")
	require.NoError(t, err)
	k, err := secret.Signing()
	require.NoError(t, err)
	assert.Equal(t, token.HS256, k.Algorithm)
	assert.Equal(t, []byte("short and sweet\n"), k.Private, "a secret's bytes are used as they are")

	for _, pub := range [][]byte{
		pemOf(t, "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&ec.PublicKey))),
		pemOf(t, "CERTIFICATE", certFor(t, ec)),
		certFor(t, ec),
		pemOf(t, "EC PRIVATE KEY", sec1),
	} {
		got, err := conformance.ParsePublicKey("p", pub)
		require.NoError(t, err)
		assert.True(t, ec.PublicKey.Equal(got))
	}
}

// thumb is pub's RFC 7638 thumbprint, the kid a key without one gets.
func thumb(t *testing.T, pub any) string {
	t.Helper()
	jwk := jose.JSONWebKey{Key: pub}
	return base64.RawURLEncoding.EncodeToString(must(jwk.Thumbprint(crypto.SHA256)))
}

// TestParseKeyFileRefusals: material the suite cannot sign with is one
// line naming the file and what was found.
func TestParseKeyFileRefusals(t *testing.T) {
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	p384 := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	ed := must(jose.JSONWebKey{Key: ec, Algorithm: "EdDSA"}.MarshalJSON())
	tests := []struct {
		name string
		data []byte
		opts conformance.KeyOptions
		want string
	}{
		{"public key only", pemOf(t, "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&ec.PublicKey))), conformance.KeyOptions{},
			"k.pem holds only a public key (ES256): the suite signs valid tokens with the issuer's PRIVATE test key"},
		{"a certificate", pemOf(t, "CERTIFICATE", certFor(t, ec)), conformance.KeyOptions{}, "holds only a public key"},
		{"encrypted", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1}), conformance.KeyOptions{}, "PEM block 1 (ENCRYPTED PRIVATE KEY) is encrypted: give the key unencrypted"},
		{"OpenSSH", pemOf(t, "OPENSSH PRIVATE KEY", []byte{1}), conformance.KeyOptions{}, "in OpenSSH's format"},
		{"CSR", pemOf(t, "CERTIFICATE REQUEST", []byte{1}), conformance.KeyOptions{}, "PEM block 1 (CERTIFICATE REQUEST) is not a key"},
		{"broken PEM", pemOf(t, "PRIVATE KEY", []byte{1, 2, 3}), conformance.KeyOptions{}, "PEM block 1 (PRIVATE KEY) does not decode as PKCS#8"},
		{"text", []byte("hunter2\n"), conformance.KeyOptions{}, "found 8 bytes that are not JSON (a JWKS or JWK), PEM or DER: one line of text; an HMAC secret goes in secret_file"},
		{"binary", []byte{0, 1, 2, 3}, conformance.KeyOptions{}, "binary data"},
		{"empty", []byte("  \n"), conformance.KeyOptions{}, "the file is empty"},
		{"JSON, not a key", []byte(`{"issuer":"x"}`), conformance.KeyOptions{}, "neither a JWKS"},
		{"empty JWKS", []byte(`{"keys":[]}`), conformance.KeyOptions{}, "no key in it"},
		{"alg that does not fit", ed, conformance.KeyOptions{}, "the JWK is a ES256 key, and alg says EdDSA"},
		{"config alg that does not fit", pemOf(t, "EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ec))), conformance.KeyOptions{Alg: token.RS256},
			"is a ES256 key, and alg says RS256"},
		{"P-384", pemOf(t, "EC PRIVATE KEY", must(x509.MarshalECPrivateKey(p384))), conformance.KeyOptions{}, "an ECDSA key on P-384"},
		{"kid for several keys", []byte(`{"keys":[` + string(must(jose.JSONWebKey{Key: ec}.MarshalJSON())) + `,` +
			string(must(jose.JSONWebKey{Key: ec}.MarshalJSON())) + `]}`), conformance.KeyOptions{Kid: "x"}, "it holds 2 keys: kid names one key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conformance.ParseKeyFile("k.pem", tt.data, tt.opts)
			require.ErrorIs(t, err, conformance.ErrKeyFile)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "k.pem")
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "hunter2", "a secret is never quoted")
		})
	}
	_, err := conformance.ParseSecret("s", nil, "")
	require.ErrorIs(t, err, conformance.ErrKeyFile)
	_, err = conformance.ParsePublicKey("s", []byte(`{"kty":"oct","k":"c2VjcmV0"}`))
	require.ErrorIs(t, err, conformance.ErrKeyFile)
}

// FuzzParseKeyFile feeds the key sniffer arbitrary bytes: it never panics,
// and refuses with one line wrapping ErrKeyFile.
func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}`))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	f.Add([]byte(`{"kty":"oct","k":""}`))
	f.Add([]byte(`{"keys":[{"kty":"EC"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := conformance.ParseKeyFile("fuzz", data, conformance.KeyOptions{})
		if err != nil {
			if !errors.Is(err, conformance.ErrKeyFile) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("not a one-line ErrKeyFile: %q", err)
			}
			return
		}
		if k, err := set.Signing(); err != nil || k.Private == nil {
			t.Fatalf("a key set without a private signing key was accepted")
		}
	})
}
