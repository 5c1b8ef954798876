package buggy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitbench/jitbench/reference/token"
)

// pemOf encodes a public key as a PEM "PUBLIC KEY" block, the form key files
// are kept in and the form clients are usually handed.
func pemOf(pub any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// algorithmOf names the one algorithm a parsed public key is for; "" when none is supported.
func algorithmOf(pub any) string {
	switch pub.(type) {
	case ed25519.PublicKey:
		return token.EdDSA
	case *ecdsa.PublicKey:
		return token.ES256
	case *rsa.PublicKey:
		return token.RS256
	}
	return ""
}

// secretForms are the byte strings the hs256-public-key service MACs with
// for an asymmetric key: its PEM and its raw encoding, whichever a client
// (or an attacker) happened to use.
func secretForms(pub any) jwt.VerificationKeySet {
	var set jwt.VerificationKeySet
	if p, err := pemOf(pub); err == nil {
		set.Keys = append(set.Keys, p)
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		set.Keys = append(set.Keys, []byte(k))
	case *ecdsa.PublicKey:
		if e, err := k.ECDH(); err == nil {
			set.Keys = append(set.Keys, e.Bytes())
		}
	case *rsa.PublicKey:
		set.Keys = append(set.Keys, x509.MarshalPKCS1PublicKey(k))
	}
	return set
}
