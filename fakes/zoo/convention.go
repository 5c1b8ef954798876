package zoo

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"time"
)

// Profiles of a convention.
const (
	// TwoToken is an identity token plus a JIT grant.
	TwoToken = "two-token"
	// SingleToken is one token that is both identity and permission.
	SingleToken = "single-token"
)

// Capabilities a member may have, spelled as the catalog's "needs" column.
const (
	CapSizeLimit     = "size limit"
	CapECDSA         = "ECDSA"
	CapAsymmetric    = "asymmetric"
	CapKidRequired   = "kid required"
	CapKeySource     = "key source control"
	CapMaxLifetime   = "max lifetime"
	CapOneShot       = "one-shot"
	CapTypChecked    = "typ checked"
	CapResourceScope = "resource scope"
	CapStreamMethod  = "a stream method"
	CapSuiteKeys     = "key source served by the suite"
	// CapRevocation is an admin HTTP endpoint that revokes a grant by its jti
	// (Convention.RevokePath), which the verifier then refuses.
	CapRevocation = "revocation"
)

// JTIPlaceholder stands for a grant's id in Convention.RevokePath, as a
// jitbench target config's revoke url spells it.
const JTIPlaceholder = "${jti}"

// Convention describes a zoo member the way its team would document it, in
// neutral terms (plain data, none of the conformance suite's types): enough
// to write a target config, a token template and the test keys.
type Convention struct {
	// Kind is the member.
	Kind Kind
	// Profile is TwoToken or SingleToken.
	Profile string
	// Service is the protected gRPC service's full name.
	Service string
	// Unary and Stream are protected calls the template grant allows.
	Unary, Stream Call
	// Other is a protected unary call the template grant does not allow.
	Other Call
	// OutOfScope is Unary's method with a request for a resource outside the
	// template grant's; nil without resource scope.
	OutOfScope *Call
	// Control is an unprotected call that answers OK without credentials.
	Control Call
	// Identity is the identity token; nil in the single-token profile.
	Identity *Credential
	// Grant is the JIT grant or, in the single-token profile, the one token.
	Grant Credential
	// Subject is the caller the template tokens name.
	Subject string
	// Scope says how the grant carries what it allows.
	Scope Scope
	// Leeway is the clock skew tolerated on exp, nbf and iat, for both tokens.
	Leeway time.Duration
	// MaxLifetime is the longest grant accepted, exp − iat.
	MaxLifetime time.Duration
	// MaxTokenBytes is the size above which a token is refused unread.
	MaxTokenBytes int
	// Capabilities are the catalog capabilities the member has (Cap*).
	Capabilities []string
	// RevokePath is, with CapRevocation, the admin endpoint to POST to to
	// revoke a grant, relative to the service's admin URL (Target.AdminURL),
	// JTIPlaceholder standing for the grant's id; empty without.
	RevokePath string
	// RevocationDelay is how long a revocation takes to reach the verifier
	// unless Options.RevocationDelay says otherwise; zero: at once.
	RevocationDelay time.Duration
}

// RevokeURL is the URL that revokes a grant of a service whose admin API is
// at adminURL, JTIPlaceholder standing for its id; empty when c has no
// revocation or adminURL is empty.
func (c Convention) RevokeURL(adminURL string) string {
	if c.RevokePath == "" || adminURL == "" {
		return ""
	}
	return strings.TrimSuffix(adminURL, "/") + c.RevokePath
}

// Call is a method and its request in protobuf JSON.
type Call struct {
	Method, JSON string
}

// Credential describes one token of a convention.
type Credential struct {
	// Header is the metadata key the token travels in; Scheme, when set,
	// precedes the token with a space ("Bearer <jwt>").
	Header, Scheme string
	// Issuer is the iss a token must carry.
	Issuer string
	// Audience is the aud a token must carry; AudienceArray says the service
	// wants a JSON array (otherwise a string or an array will do).
	Audience      string
	AudienceArray bool
	// Algorithms are the alg values accepted.
	Algorithms []string
	// Typ is the typ header required; empty when typ is not checked.
	Typ string
	// KeyID is the kid of the signing key; empty when the service ignores kid.
	// KidRequired says a token without a kid the service knows is refused.
	KeyID       string
	KidRequired bool
	// Key says where the service and the test signer find their keys.
	Key KeySource
	// Required lists the claims a token must carry.
	Required []string
	// Claims are the static claims of a valid token; the template adds iat,
	// exp (iat + Lifetime), nbf and a fresh jti when Required lists them.
	Claims map[string]any
	// Lifetime is exp − iat of a template token.
	Lifetime time.Duration
}

// Key source formats.
const (
	// KeyPEMSPKI is one PEM SubjectPublicKeyInfo file.
	KeyPEMSPKI = "pem-spki"
	// KeyPEMDir is a directory of PEM SubjectPublicKeyInfo files named <kid>.pem.
	KeyPEMDir = "pem-spki-dir"
	// KeyJWKSURL is a JWKS fetched over HTTP from a URL given at start.
	KeyJWKSURL = "jwks-url"
	// KeySecretFile is a file holding the raw HMAC secret.
	KeySecretFile = "hmac-secret-file"
	// PrivatePEMSEC1 and PrivatePEMPKCS8 are PEM EC PRIVATE KEY and PRIVATE KEY files.
	PrivatePEMSEC1  = "pem-sec1"
	PrivatePEMPKCS8 = "pem-pkcs8"
	// PrivateJWKS is a JWKS file with the private halves.
	PrivateJWKS = "jwks-private"
)

// KeySource is where a credential's keys are, relative to the keys directory.
type KeySource struct {
	// Format is how the service reads its verification key (Key* constants).
	Format string
	// Path is the service's key file or directory; empty for KeyJWKSURL.
	Path string
	// PrivateFormat and PrivatePath are the test signer's key (Private*
	// constants, or KeySecretFile: the same secret file).
	PrivateFormat, PrivatePath string
	// KeyJWKSURL fetched on demand (oauth-scope): a fetched set is used for
	// CacheMaxAge; an unknown kid triggers a fetch unless it was unknown
	// within UnknownKidTTL or the last RefetchWindow already saw
	// MaxRefetches fetches.
	CacheMaxAge, UnknownKidTTL, RefetchWindow time.Duration
	MaxRefetches                              int
	// KeyJWKSURL refreshed in the background (scp-array): the set is fetched
	// every RefreshInterval, the last good set kept while fetches fail; an
	// unknown kid waits for an early fetch, started no sooner than
	// RefreshCooldown after the last one, which every such caller shares.
	RefreshInterval, RefreshCooldown time.Duration
}

// Scope says how a grant carries what it allows.
type Scope struct {
	// Claim names the claim of permissions; Form is "list" (a JSON array of
	// strings) or "space-delimited" (one string, OAuth 2 style).
	Claim, Form string
	// Permissions maps each protected full method name to the permission it needs.
	Permissions map[string]string
	// ResourceClaim names the claim scoping resources, empty when none;
	// ResourceForm is "prefix": a path prefix the request's resource must be under.
	ResourceClaim, ResourceForm string
	// OneShotClaim names the boolean claim that makes a grant single-use,
	// empty when none; one-shot grants need a jti.
	OneShotClaim string
}

// Describe returns k's convention.
func Describe(k Kind) (Convention, error) {
	switch k {
	case MethodsList:
		return ordersConvention(), nil
	case OAuthScope:
		return shopConvention(), nil
	case ScpArray:
		return filesConvention(), nil
	case BearerGrant:
		return payoutsConvention(), nil
	}
	_, err := ParseKind(string(k))
	return Convention{}, err
}

// ValidClaims returns the claims of a valid token issued at now: Claims plus
// iat, exp and, when required, nbf (= iat) and a fresh jti.
func (c Credential) ValidClaims(now time.Time) map[string]any {
	out := maps.Clone(c.Claims)
	for k, v := range out {
		if s, ok := v.([]string); ok {
			out[k] = slices.Clone(s)
		}
	}
	out["iat"] = now.Unix()
	out["exp"] = now.Add(c.Lifetime).Unix()
	if slices.Contains(c.Required, "nbf") {
		out["nbf"] = now.Unix()
	}
	if slices.Contains(c.Required, "jti") {
		out["jti"] = newJTI()
	}
	return out
}

// ValidHeader returns the header parameters of a valid token besides alg
// (which the signer sets): typ and kid when the convention has them.
func (c Credential) ValidHeader() map[string]any {
	h := map[string]any{}
	if c.Typ != "" {
		h["typ"] = c.Typ
	}
	if c.KeyID != "" {
		h["kid"] = c.KeyID
	}
	return h
}

// Value is the header value that carries tok: Scheme, a space and tok, or tok alone.
func (c Credential) Value(tok string) string {
	if c.Scheme == "" {
		return tok
	}
	return c.Scheme + " " + tok
}

// newJTI is a random token id.
func newJTI() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
