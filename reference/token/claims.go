// Package token issues and verifies the two credentials of the reference JIT
// model: identity tokens (who the caller is) and JIT grants (what the caller
// was approved for, until when). Verification pins algorithms and keys, never
// trusts a token's own alg, jku, x5u or jwk, and explains every failure with
// a typed reason from package reason.
package token

import (
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Type header values that tell a grant from an identity token, so one can
// never be replayed as the other.
const (
	// TypeGrant is the typ header of a JIT grant.
	TypeGrant = "jit-grant+jwt"
	// TypeIdentity is the typ header of an identity token from the reference identity provider.
	TypeIdentity = "jit-id+jwt"
)

// Scope is what a grant allows: methods and, optionally, a resource.
//
// A method or resource pattern ending in "*" matches any suffix; any other
// pattern matches exactly. An empty resource allows every resource.
type Scope struct {
	Methods  []string `json:"methods"`
	Resource string   `json:"resource,omitempty"`
}

// AllowsMethod reports whether the full gRPC method name is in scope.
func (s Scope) AllowsMethod(method string) bool {
	for _, m := range s.Methods {
		if match(m, method) {
			return true
		}
	}
	return false
}

// AllowsResource reports whether the resource is in scope.
func (s Scope) AllowsResource(resource string) bool {
	return s.Resource == "" || match(s.Resource, resource)
}

// String renders the scope for humans, e.g. "/demo.v1.Vault/Read on secrets/*".
func (s Scope) String() string {
	out := strings.Join(s.Methods, ",")
	if s.Resource != "" {
		out += " on " + s.Resource
	}
	return out
}

func match(pattern, value string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(value, p)
	}
	return pattern == value
}

// Claims are the registered claims both token kinds share.
type Claims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.ClaimStrings `json:"aud,omitempty"`
	ExpiresAt *NumericTime     `json:"exp,omitempty"`
	NotBefore *NumericTime     `json:"nbf,omitempty"`
	IssuedAt  *NumericTime     `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
}

// GrantClaims are the claims of a JIT grant.
type GrantClaims struct {
	Claims
	Scope     *Scope `json:"scope,omitempty"`
	OneShot   bool   `json:"one_shot,omitempty"`
	RequestID string `json:"rid,omitempty"`
}

// IdentityClaims are the claims of an identity token.
type IdentityClaims struct {
	Claims
	Groups []string `json:"groups,omitempty"`
}

// The jwt.Claims methods exist only so golang-jwt can sign these claims (and
// other code can hand them to its parser): the reference verifier decodes
// and checks claims itself, strictly, so every failure gets a precise reason.
var (
	_ jwt.Claims = (*GrantClaims)(nil)
	_ jwt.Claims = (*IdentityClaims)(nil)
)

func numeric(t *NumericTime) *jwt.NumericDate {
	if t == nil {
		return nil
	}
	return jwt.NewNumericDate(t.Time)
}

// GetExpirationTime implements jwt.Claims.
func (c Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numeric(c.ExpiresAt), nil }

// GetNotBefore implements jwt.Claims.
func (c Claims) GetNotBefore() (*jwt.NumericDate, error) { return numeric(c.NotBefore), nil }

// GetIssuedAt implements jwt.Claims.
func (c Claims) GetIssuedAt() (*jwt.NumericDate, error) { return numeric(c.IssuedAt), nil }

// GetIssuer implements jwt.Claims.
func (c Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c Claims) GetAudience() (jwt.ClaimStrings, error) { return c.Audience, nil }

// Grant is a verified JIT grant. It is shared by the verifier's cache and must not be modified.
type Grant struct {
	ID        string
	RequestID string
	Issuer    string
	Subject   string
	Audience  []string
	Scope     Scope
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
	OneShot   bool
	KeyID     string
	Algorithm string
}

// Identity is a verified caller identity. It is shared by the verifier's cache and must not be modified.
type Identity struct {
	Subject   string
	Groups    []string
	Issuer    string
	IssuedAt  time.Time
	ExpiresAt time.Time
	KeyID     string
	Algorithm string
}

// Request is what a caller is trying to do, checked against a grant.
type Request struct {
	// Subject is the verified identity of the caller.
	Subject string
	// Method is the full gRPC method name, e.g. "/demo.v1.Vault/Read".
	Method string
	// Resource is the resource the call addresses, checked when HasResource is set.
	Resource string
	// HasResource says the method addresses a resource, even an empty one:
	// an empty List prefix means "everything", which a grant for secrets/*
	// must not allow.
	HasResource bool
}
