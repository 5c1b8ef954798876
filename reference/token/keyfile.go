package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/jitbench/jitbench/reference/filecap"
)

// Key files are JSON Web Key Sets (RFC 7517): a format every JWT stack reads,
// so keys made with `jitbench token keygen` work with other tools and back.
// go-jose does the JWK encoding; each key must carry "kid" and "alg".

// ReadKeyFile loads a key set from a JWKS file. Errors name the file and,
// for JSON syntax errors, the line and column.
func ReadKeyFile(path string) (*KeySet, error) {
	data, err := filecap.ReadFile(path, filecap.KeyFile)
	if err != nil {
		return nil, err
	}
	set, err := ParseKeySet(data)
	if err != nil {
		return nil, fmt.Errorf("%s%s", path, err)
	}
	return set, nil
}

// ParseKeySet decodes a JWKS document; errors start with ":line:col: " when a position is known, else ": ".
func ParseKeySet(data []byte) (*KeySet, error) {
	var doc jose.JSONWebKeySet
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			l, c := lineCol(data, se.Offset)
			return nil, fmt.Errorf(":%d:%d: %v", l, c, se)
		case errors.As(err, &te):
			l, c := lineCol(data, te.Offset)
			return nil, fmt.Errorf(":%d:%d: %v", l, c, te)
		}
		return nil, fmt.Errorf(": not a JSON Web Key Set: %v", err)
	}
	if len(doc.Keys) == 0 {
		return nil, errors.New(`: the key set has no keys (want {"keys":[...]})`)
	}
	set := NewKeySet()
	for i, jwk := range doc.Keys {
		k, err := fromJWK(jwk)
		if err != nil {
			return nil, fmt.Errorf(": key %d: %w", i, err)
		}
		set.Add(k)
	}
	return set, nil
}

func fromJWK(j jose.JSONWebKey) (*Key, error) {
	if j.KeyID == "" {
		return nil, errors.New(`missing "kid"`)
	}
	if err := CheckAlgorithm(j.Algorithm); err != nil {
		return nil, fmt.Errorf("kid %q: %w", j.KeyID, err)
	}
	k := &Key{ID: j.KeyID, Algorithm: j.Algorithm}
	ok := false
	switch v := j.Key.(type) {
	case ed25519.PrivateKey:
		k.Private, k.Public, ok = v, v.Public(), j.Algorithm == EdDSA
	case ed25519.PublicKey:
		k.Public, ok = v, j.Algorithm == EdDSA
	case *ecdsa.PrivateKey:
		k.Private, k.Public, ok = v, &v.PublicKey, j.Algorithm == ES256
	case *ecdsa.PublicKey:
		k.Public, ok = v, j.Algorithm == ES256
	case *rsa.PrivateKey:
		k.Private, k.Public, ok = v, &v.PublicKey, j.Algorithm == RS256
	case *rsa.PublicKey:
		k.Public, ok = v, j.Algorithm == RS256
	case []byte:
		if len(v) < 32 {
			// RFC 7518 section 3.2: an HS256 key must be at least 256 bits.
			return nil, fmt.Errorf("kid %q: HS256 secret is %d bytes, want at least 32", j.KeyID, len(v))
		}
		k.Private, k.Public, ok = v, v, j.Algorithm == HS256
	}
	if !ok {
		return nil, fmt.Errorf("kid %q: key material %T does not fit alg %s", j.KeyID, j.Key, j.Algorithm)
	}
	return k, nil
}

// MarshalKeySet encodes keys as an indented JWKS document; private keys keep their private parts.
func MarshalKeySet(keys []*Key) ([]byte, error) {
	doc := jose.JSONWebKeySet{}
	for _, k := range keys {
		material := k.Public
		if k.Private != nil {
			material = k.Private
		}
		doc.Keys = append(doc.Keys, jose.JSONWebKey{Key: material, KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"})
	}
	return json.MarshalIndent(doc, "", "  ")
}

func lineCol(data []byte, offset int64) (int, int) {
	offset = max(offset-1, 0) // encoding/json's Offset counts the offending byte itself
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
