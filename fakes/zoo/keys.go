package zoo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"
)

// Key file names under a keys directory, by member.
const (
	// methods-list: ES256, SPKI public keys for the service, private keys for the test signer.
	ordersIdentityPublic  = "identity.pub.pem"
	ordersIdentityPrivate = "identity.key.pem" // PKCS#8
	ordersGrantPublic     = "grant.pub.pem"
	ordersGrantPrivate    = "grant.key.pem" // SEC1 (EC PRIVATE KEY)

	// oauth-scope: RS256 key sets; the service reads neither: it fetches the public set from a URL.
	shopPrivateJWKS = "signer.jwks.json"
	shopPublicJWKS  = "public.jwks.json"
	shopKeyID       = "shop-2026-a"

	// scp-array: EdDSA identities, ES256 grants by kid from a directory.
	filesIdentityPublic  = "identity.pub.pem"
	filesIdentityPrivate = "identity.key.pem" // PKCS#8
	filesGrantKeyDir     = "grant-keys"       // <kid>.pem, SPKI
	filesGrantPrivate    = "grant-signer.pem" // PKCS#8, the key of filesKeyID
	filesKeyID           = "files-jit-1"
	filesNextKeyID       = "files-jit-2" // trusted too, for rotation; no signer in the material

	// bearer-grant: raw HS256 secrets.
	payoutsIdentitySecret = "identity.secret"
	payoutsGrantSecret    = "grant.secret"
)

// Material is a member's test key material: the files its service reads,
// written in the member's own formats, and the signers a test mints valid
// tokens with.
type Material struct {
	// Kind is the member the material is for.
	Kind Kind
	// Dir is the keys directory: pass it as Options.KeysDir.
	Dir string
	// Grant signs grants (in the single-token profile, the one token).
	Grant *Signer
	// Identity signs identity tokens; nil in the single-token profile.
	Identity *Signer
	// JWKS is the public key set an oauth-scope service fetches (serve it with
	// NewJWKSServer); nil for the other kinds.
	JWKS *jose.JSONWebKeySet
}

// GenerateKeys makes fresh test keys for k and writes them to dir (created
// if needed) in k's formats; Convention's KeySource fields name the files.
func GenerateKeys(k Kind, dir string) (*Material, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("zoo: keys directory: %w", err)
	}
	m := &Material{Kind: k, Dir: dir}
	var err error
	switch k {
	case MethodsList:
		err = m.ordersKeys()
	case OAuthScope:
		err = m.shopKeys()
	case ScpArray:
		err = m.filesKeys()
	case BearerGrant:
		err = m.payoutsKeys()
	default:
		_, err = ParseKind(string(k))
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Material) ordersKeys() error {
	id, err := GenerateSigner(ES256, "")
	if err != nil {
		return err
	}
	grant, err := GenerateSigner(ES256, "")
	if err != nil {
		return err
	}
	m.Identity, m.Grant = id, grant
	sec1, err := x509.MarshalECPrivateKey(grant.key.(*ecdsa.PrivateKey))
	if err != nil {
		return fmt.Errorf("zoo: encode the grant key: %w", err)
	}
	return errors.Join(
		m.writePublic(ordersIdentityPublic, id.Public()),
		m.writePKCS8(ordersIdentityPrivate, id.key),
		m.writePublic(ordersGrantPublic, grant.Public()),
		m.write(ordersGrantPrivate, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), 0o600),
	)
}

func (m *Material) shopKeys() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("zoo: generate the RSA key: %w", err)
	}
	if m.Grant, err = NewSigner(RS256, shopKeyID, key); err != nil {
		return err
	}
	private := jose.JSONWebKey{Key: key, KeyID: shopKeyID, Algorithm: RS256, Use: "sig"}
	m.JWKS = &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{private.Public()}}
	privJSON, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{private}}, "", "  ")
	if err != nil {
		return fmt.Errorf("zoo: encode the private key set: %w", err)
	}
	pubJSON, err := json.MarshalIndent(m.JWKS, "", "  ")
	if err != nil {
		return fmt.Errorf("zoo: encode the public key set: %w", err)
	}
	return errors.Join(m.write(shopPrivateJWKS, privJSON, 0o600), m.write(shopPublicJWKS, pubJSON, 0o644))
}

func (m *Material) filesKeys() error {
	id, err := GenerateSigner(EdDSA, "")
	if err != nil {
		return err
	}
	grant, err := GenerateSigner(ES256, filesKeyID)
	if err != nil {
		return err
	}
	next, err := GenerateSigner(ES256, filesNextKeyID)
	if err != nil {
		return err
	}
	m.Identity, m.Grant = id, grant
	if err := os.MkdirAll(filepath.Join(m.Dir, filesGrantKeyDir), 0o700); err != nil {
		return fmt.Errorf("zoo: grant key directory: %w", err)
	}
	return errors.Join(
		m.writePublic(filesIdentityPublic, id.Public()),
		m.writePKCS8(filesIdentityPrivate, id.key),
		m.writePublic(filepath.Join(filesGrantKeyDir, filesKeyID+".pem"), grant.Public()),
		m.writePublic(filepath.Join(filesGrantKeyDir, filesNextKeyID+".pem"), next.Public()),
		m.writePKCS8(filesGrantPrivate, grant.key),
	)
}

func (m *Material) payoutsKeys() error {
	id, err := GenerateSigner(HS256, "")
	if err != nil {
		return err
	}
	grant, err := GenerateSigner(HS256, "")
	if err != nil {
		return err
	}
	m.Identity, m.Grant = id, grant
	return errors.Join(
		m.write(payoutsIdentitySecret, id.key.([]byte), 0o600),
		m.write(payoutsGrantSecret, grant.key.([]byte), 0o600),
	)
}

// writePublic writes pub as a PEM SubjectPublicKeyInfo.
func (m *Material) writePublic(name string, pub any) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("zoo: encode %s: %w", name, err)
	}
	return m.write(name, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// writePKCS8 writes key as a PEM PKCS#8 private key.
func (m *Material) writePKCS8(name string, key any) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("zoo: encode %s: %w", name, err)
	}
	return m.write(name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func (m *Material) write(name string, data []byte, perm os.FileMode) error {
	if err := os.WriteFile(filepath.Join(m.Dir, name), data, perm); err != nil {
		return fmt.Errorf("zoo: write %s: %w", name, err)
	}
	return nil
}

// readPublicPEM reads a PEM SubjectPublicKeyInfo file, returning the key and
// the file's bytes (which the hs256-public-key bug uses as a secret).
func readPublicPEM(path string) (any, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("zoo: read the public key: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
		return nil, nil, fmt.Errorf("zoo: %s: want exactly one PEM PUBLIC KEY block", filepath.Base(path))
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("zoo: %s: %w", filepath.Base(path), err)
	}
	return pub, data, nil
}

// readECPublic reads a P-256 public key from a PEM file.
func readECPublic(path string) (*ecdsa.PublicKey, []byte, error) {
	pub, data, err := readPublicPEM(path)
	if err != nil {
		return nil, nil, err
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, nil, fmt.Errorf("zoo: %s: want a P-256 public key", filepath.Base(path))
	}
	return ec, data, nil
}

// readSecret reads a raw HMAC secret file, refusing one too short for HS256.
func readSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("zoo: read the secret: %w", err)
	}
	if len(data) < 32 {
		return nil, fmt.Errorf("zoo: %s: an HS256 secret needs at least 32 bytes", filepath.Base(path))
	}
	return data, nil
}
