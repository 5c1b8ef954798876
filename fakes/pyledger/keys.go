package pyledger

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jitbench/jitbench/reference/token"
)

// Key file names in a Process's directory.
const (
	// publicKeyFile is the issuer's public key as the service holds it: PEM SubjectPublicKeyInfo.
	publicKeyFile = "issuer.pub.pem"
	// privateKeyFile is the issuer's private key for jitbench to sign with: PEM PKCS#8.
	privateKeyFile = "issuer.key.pem"
)

// writeIssuerKey generates the token issuer's ES256 key and writes both
// halves to dir; the service gets the public one, jitbench the private one.
func writeIssuerKey(dir string) (*token.Key, error) {
	key, err := token.GenerateKey(token.ES256, Issuer)
	if err != nil {
		return nil, fmt.Errorf("pyledger: generate the issuer key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public)
	if err != nil {
		return nil, fmt.Errorf("pyledger: encode %s: %w", publicKeyFile, err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key.Private)
	if err != nil {
		return nil, fmt.Errorf("pyledger: encode %s: %w", privateKeyFile, err)
	}
	return key, errors.Join(
		writePEM(filepath.Join(dir, publicKeyFile), "PUBLIC KEY", pub, 0o644),
		writePEM(filepath.Join(dir, privateKeyFile), "PRIVATE KEY", priv, 0o600),
	)
}

// writePEM writes one PEM block to path.
func writePEM(path, typ string, der []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), perm); err != nil {
		return fmt.Errorf("pyledger: write %s: %w", filepath.Base(path), err)
	}
	return nil
}
