package token

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"
)

// Issuer signs tokens with the current key of a KeySet.
type Issuer struct {
	name  string
	keys  *KeySet
	clock clockwork.Clock
}

// NewIssuer returns an issuer named name (the iss claim) signing with keys; a nil clock means the real one.
func NewIssuer(name string, keys *KeySet, clock clockwork.Clock) *Issuer {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Issuer{name: name, keys: keys, clock: clock}
}

// Name is the issuer's iss claim.
func (i *Issuer) Name() string { return i.name }

// Keys is the issuer's key set; verifiers get its Public() view.
func (i *Issuer) Keys() *KeySet { return i.keys }

// GrantSpec describes a grant to issue.
type GrantSpec struct {
	Subject   string
	Audience  string
	Scope     Scope
	TTL       time.Duration
	OneShot   bool
	RequestID string
	// ID is the jti; a random one is made when empty.
	ID string
	// NotBefore defaults to the issue time.
	NotBefore time.Time
}

// IdentitySpec describes an identity token to issue.
type IdentitySpec struct {
	Subject  string
	Audience string
	Groups   []string
	TTL      time.Duration
}

// ErrBadSpec is returned when a token spec lacks a required field.
var ErrBadSpec = errors.New("invalid token spec")

// Grant signs a grant for spec and returns it with its verified form.
func (i *Issuer) Grant(spec GrantSpec) (string, *Grant, error) {
	if spec.Subject == "" || spec.Audience == "" || len(spec.Scope.Methods) == 0 || spec.TTL <= 0 {
		return "", nil, fmt.Errorf("%w: a grant needs a subject, an audience, at least one method and a positive TTL", ErrBadSpec)
	}
	now := i.clock.Now()
	id := spec.ID
	if id == "" {
		id = NewID()
	}
	nbf := spec.NotBefore
	if nbf.IsZero() {
		nbf = now
	}
	scope := spec.Scope
	c := &GrantClaims{
		Claims: Claims{
			Issuer:    i.name,
			Subject:   spec.Subject,
			Audience:  jwt.ClaimStrings{spec.Audience},
			IssuedAt:  At(now),
			NotBefore: At(nbf),
			ExpiresAt: At(now.Add(spec.TTL)),
			ID:        id,
		},
		Scope:     &scope,
		OneShot:   spec.OneShot,
		RequestID: spec.RequestID,
	}
	key, raw, err := i.sign(TypeGrant, c)
	if err != nil {
		return "", nil, err
	}
	return raw, grantFrom(c, key.ID, key.Algorithm), nil
}

// Identity signs an identity token for spec.
func (i *Issuer) Identity(spec IdentitySpec) (string, error) {
	if spec.Subject == "" || spec.Audience == "" || spec.TTL <= 0 {
		return "", fmt.Errorf("%w: an identity needs a subject, an audience and a positive TTL", ErrBadSpec)
	}
	now := i.clock.Now()
	c := &IdentityClaims{
		Claims: Claims{
			Issuer:    i.name,
			Subject:   spec.Subject,
			Audience:  jwt.ClaimStrings{spec.Audience},
			IssuedAt:  At(now),
			NotBefore: At(now),
			ExpiresAt: At(now.Add(spec.TTL)),
			ID:        NewID(),
		},
		Groups: spec.Groups,
	}
	_, raw, err := i.sign(TypeIdentity, c)
	return raw, err
}

func (i *Issuer) sign(typ string, claims jwt.Claims) (*Key, string, error) {
	key, err := i.keys.Signing()
	if err != nil {
		return nil, "", err
	}
	raw, err := Sign(key, typ, claims)
	return key, raw, err
}

// Sign signs claims with key, setting the alg, kid and typ headers.
func Sign(key *Key, typ string, claims jwt.Claims) (string, error) {
	m := key.method()
	if m == nil {
		return "", CheckAlgorithm(key.Algorithm)
	}
	priv, err := key.signer()
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(m, claims)
	t.Header["kid"] = key.ID
	if typ != "" {
		t.Header["typ"] = typ
	}
	return t.SignedString(priv)
}

// NewID returns a random 128-bit identifier in hex, used for jti claims.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func grantFrom(c *GrantClaims, kid, alg string) *Grant {
	g := &Grant{
		ID:        c.ID,
		RequestID: c.RequestID,
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  []string(c.Audience),
		OneShot:   c.OneShot,
		KeyID:     kid,
		Algorithm: alg,
	}
	if c.Scope != nil {
		g.Scope = *c.Scope
	}
	g.IssuedAt = timeOf(c.IssuedAt)
	g.NotBefore = timeOf(c.NotBefore)
	g.ExpiresAt = timeOf(c.ExpiresAt)
	return g
}

func timeOf(t *NumericTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}
