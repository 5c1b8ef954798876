package buggy

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// This file is the kid-file-path service's key store: one file per grant
// key, named by its kid, holding a PEM public key or a raw HMAC secret.

// writeKeyFiles puts every key of keys whose algorithm is pinned into dir.
// Unpinned keys are left out, so the only way to an unpinned algorithm is the bug.
func writeKeyFiles(dir string, keys *token.KeySet, pinned []string) error {
	for _, k := range keys.Keys() {
		if !slices.Contains(pinned, k.Algorithm) {
			continue
		}
		if k.ID == "" || filepath.Base(k.ID) != k.ID {
			return fmt.Errorf("key id %q cannot name a key file", k.ID)
		}
		data, ok := k.Public.([]byte) // an HMAC secret is stored as it is
		if !ok {
			var err error
			if data, err = pemOf(k.Public); err != nil {
				return fmt.Errorf("key %q: %w", k.ID, err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, k.ID), data, 0o600); err != nil {
			return fmt.Errorf("write key file: %w", err)
		}
	}
	return nil
}

// fileKey reads the key the kid names from the key directory.
func (v *verifier) fileKey(kid, alg string) (any, error) {
	// BUG kid-file-path: kid is joined to the directory unchecked, so
	// "../../../../dev/null" leaves it and reads an empty file.
	data, err := os.ReadFile(filepath.Join(v.keyDir, kid))
	if err != nil {
		return nil, v.fail(reason.GrantUnknownKey, "no key file for the token's kid")
	}
	block, _ := pem.Decode(data)
	if block == nil {
		// Not PEM, so "a shared secret": whatever the file holds, even nothing.
		if alg != token.HS256 {
			return nil, v.fail(reason.GrantAlgMismatch, "the key file holds a secret, and the token is not HS256", "offered_algorithm", alg)
		}
		return data, nil
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, v.fail(reason.GrantUnknownKey, "the key file does not hold a usable public key")
	}
	if keyAlg := algorithmOf(pub); keyAlg != alg || !slices.Contains(v.pinned, alg) {
		return nil, v.fail(reason.GrantAlgMismatch, "the token's algorithm is not its key's, or not one this service accepts",
			"offered_algorithm", alg, "key_algorithm", keyAlg)
	}
	return pub, nil
}
