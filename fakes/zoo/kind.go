package zoo

import (
	"fmt"
	"slices"
	"strings"
)

// Kind names a zoo member: one team's conventions.
type Kind string

// The zoo's members.
const (
	// MethodsList is a two-token orders service: the grant in x-access-grant (no
	// scheme) lists full method names in a top-level methods claim; ES256 keys
	// in PEM files, one key, kid ignored; verified with the standard library.
	MethodsList Kind = "methods-list"
	// OAuthScope is a single-token shop cart: an RFC 9068 access token (typ
	// at+jwt) as authorization: Bearer, an OAuth space-delimited scope of
	// permission names; RS256 keys from a JWKS URL, kid required; go-jose.
	OAuthScope Kind = "oauth-scope"
	// ScpArray is a two-token files service: the grant in x-grant carries an
	// scp array of permissions and a res prefix, aud is an array; ES256 grant
	// keys by kid from a directory of PEM files or, given a JWKS URL
	// (Convention.WithSuiteKeys), from a key set refreshed in the background;
	// EdDSA identities; golang-jwt; grants revoked by jti at
	// POST /v1/grants/{jti}/revoke, at once.
	ScpArray Kind = "scp-array"
	// BearerGrant is a two-token payouts service: the grant in x-jit-grant
	// under a Bearer scheme, a permissions list, HS256 with raw secret files,
	// one-shot grants (once: true, jti register); golang-jwt with map claims;
	// grants revoked at POST /admin/revocations?jti=, in force 200 ms later.
	BearerGrant Kind = "bearer-grant"
)

// Kinds lists the zoo's members in a stable order.
func Kinds() []Kind { return []Kind{MethodsList, OAuthScope, ScpArray, BearerGrant} }

// ParseKind returns the member named s, exactly as spelled.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds(), k) {
		return k, nil
	}
	names := make([]string, 0, len(Kinds()))
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("unknown zoo kind %q (known: %s)", s, strings.Join(names, ", "))
}

// TwoToken reports whether k takes an identity and a grant (rather than one token).
func (k Kind) TwoToken() bool { return k != OAuthScope }

// Asymmetric reports whether k's grants are signed with a public-key algorithm.
func (k Kind) Asymmetric() bool { return k != BearerGrant }
