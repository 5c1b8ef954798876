package buggy

import (
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// verifier is the service's own token check, written the way a team in a
// hurry writes one: golang-jwt parses and checks the signature, the claims
// are compared by hand. Each "BUG" comment marks the only place a bug makes
// it differ from the reference; with no bug it refuses what the reference
// refuses, with the same codes.
type verifier struct {
	bug string
	// identity makes failures identity reasons (UNAUTHENTICATED); otherwise they are grant reasons.
	identity bool
	issuer   string
	audience string
	typ      string
	keys     *token.KeySet
	keyDir   string // read only by the kid-file-path bug
	pinned   []string
	leeway   time.Duration
	maxLife  time.Duration // zero: no limit
	clock    clockwork.Clock
	parser   *jwt.Parser
}

// maxTokenBytes is the size above which a credential is refused unparsed, as the reference does.
const maxTokenBytes = token.DefaultMaxTokenBytes

// newParser returns the golang-jwt parser both verifiers use. Algorithms are
// pinned in the key lookup, not with WithValidMethods, so that each refusal
// can say why; claims are checked by hand for the same reason.
func newParser() *jwt.Parser {
	return jwt.NewParser(jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding())
}

// verifyGrant checks raw as a JIT grant, up to the claims every grant needs.
func (v *verifier) verifyGrant(raw string) (*token.GrantClaims, error) {
	var c token.GrantClaims
	if err := v.verify(raw, &c, &c.Claims); err != nil {
		return nil, err
	}
	switch {
	case c.ID == "":
		return nil, v.fail(reason.GrantClaimMissing, "the grant has no jti claim", "claim", "jti")
	case c.Scope == nil || len(c.Scope.Methods) == 0:
		return nil, v.fail(reason.GrantClaimMissing, "the grant has no scope", "claim", "scope")
	}
	return &c, nil
}

// verifyIdentity checks raw as an identity token.
func (v *verifier) verifyIdentity(raw string) (*token.IdentityClaims, error) {
	var c token.IdentityClaims
	if err := v.verify(raw, &c, &c.Claims); err != nil {
		return nil, err
	}
	return &c, nil
}

// verify parses raw into claims (whose registered part is base) and checks it.
func (v *verifier) verify(raw string, claims jwt.Claims, base *token.Claims) error {
	if len(raw) > maxTokenBytes {
		return v.fail(reason.GrantTooLarge, fmt.Sprintf("the token is %d bytes, more than the %d this service reads", len(raw), maxTokenBytes))
	}
	if err := strictJSON(raw); err != nil {
		return v.parseFailure(err)
	}
	now := v.clock.Now()
	tok, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) { return v.key(t, now) })
	if err != nil {
		return v.parseFailure(err)
	}
	if !v.identity && tok.Method.Alg() == token.ES256 && highS(tok.Signature) {
		return v.fail(reason.GrantBadSignature, "the ECDSA signature is the high-s twin of the canonical one")
	}
	return v.checkClaims(tok, base, now)
}

// key finds the key that must have signed t.
func (v *verifier) key(t *jwt.Token, now time.Time) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, v.fail(reason.GrantMalformed, "the token has a crit header this service does not understand")
	}
	alg := t.Method.Alg()
	kid, _ := t.Header["kid"].(string)
	switch {
	case v.bug == AlgNone && alg == jwt.SigningMethodNone.Alg():
		// BUG alg-none: unsigned tokens "for the integration tests" were let
		// through here and nobody took the branch out.
		return jwt.UnsafeAllowNoneSignatureType, nil
	case v.bug == KidFilePath && !v.identity:
		// BUG kid-file-path: grant keys live in files named by their kid.
		return v.fileKey(kid, alg)
	case v.bug == HS256PublicKey && alg == token.HS256:
		// BUG hs256-public-key: the token's alg decides how the named key is
		// used, so an HS256 token naming a public key is checked with that
		// key's bytes as the shared secret, which everyone knows.
		if k, err := v.keys.Lookup(kid, now); err == nil && k.Algorithm != token.HS256 {
			return secretForms(k.Public), nil
		}
	}
	return v.trustedKey(kid, alg, now)
}

// trustedKey is the correct lookup: a pinned algorithm, a kid in the key
// set, and the key's own algorithm equal to the token's.
func (v *verifier) trustedKey(kid, alg string, now time.Time) (any, error) {
	if !slices.Contains(v.pinned, alg) {
		return nil, v.fail(reason.GrantAlgMismatch, "the token's algorithm is not one this service accepts",
			"offered_algorithm", alg, "accepted_algorithms", strings.Join(v.pinned, ","))
	}
	k, err := v.keys.Lookup(kid, now)
	if err != nil {
		return nil, v.fail(reason.GrantUnknownKey, "the token's kid names no key this service trusts")
	}
	if k.Algorithm != alg {
		return nil, v.fail(reason.GrantAlgMismatch, "the token's algorithm is not its key's algorithm",
			"offered_algorithm", alg, "key_algorithm", k.Algorithm)
	}
	return k.Public, nil
}

// p256HalfOrder is half the order of P-256: a canonical signature's s is at most this.
var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// highS reports whether sig, an r||s ES256 signature, has s > n/2: golang-jwt
// accepts both (r, s) and (r, n−s), so the services refuse the second in a
// grant, as the reference does (identity providers may sign either way).
func highS(sig []byte) bool {
	return len(sig) == 64 && new(big.Int).SetBytes(sig[32:]).Cmp(p256HalfOrder) > 0
}

// parseFailure turns a golang-jwt error into the denial.
func (v *verifier) parseFailure(err error) error {
	var re *reason.Error
	switch {
	case errors.As(err, &re): // from key, already a denial
		return re
	case errors.Is(err, jwt.ErrTokenMalformed) && v.bug == UnknownOnParseError:
		// BUG unknown-on-parse-error: the library's error is passed on as it
		// is, and gRPC sends a plain error as UNKNOWN.
		return fmt.Errorf("parse token: %w", err)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return v.fail(reason.GrantMalformed, "the token is not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return v.fail(reason.GrantBadSignature, "the signature does not verify with the named key")
	case errors.Is(err, jwt.ErrTokenUnverifiable): // alg missing or unknown to the library
		return v.fail(reason.GrantAlgMismatch, "the token's algorithm is not one this service accepts",
			"accepted_algorithms", strings.Join(v.pinned, ","))
	}
	return v.fail(reason.GrantMalformed, "the token could not be verified")
}

// checkClaims applies the claim rules both credentials share, in the
// reference's order.
func (v *verifier) checkClaims(tok *jwt.Token, c *token.Claims, now time.Time) error {
	if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(typ, v.typ) {
		return v.fail(reason.GrantWrongType, "the token's typ header is not "+v.typ, "typ", typ)
	}
	if c.Issuer != v.issuer {
		return v.fail(reason.GrantIssuerMismatch, "the token comes from an issuer this service does not trust",
			"issuer", c.Issuer, "expected_issuer", v.issuer)
	}
	// BUG no-aud-check: "we are the only service using this broker".
	if v.bug != NoAudCheck && !slices.Contains(c.Audience, v.audience) {
		return v.fail(reason.GrantAudienceMismatch, "the token was issued for another audience",
			"audience", strings.Join(c.Audience, ","), "expected_audience", v.audience)
	}
	// BUG no-exp-check: exp is neither required nor compared with the clock.
	checkExp := v.bug != NoExpCheck
	switch {
	case checkExp && c.ExpiresAt == nil:
		return v.fail(reason.GrantClaimMissing, "the token has no exp claim", "claim", "exp")
	case c.IssuedAt == nil:
		return v.fail(reason.GrantClaimMissing, "the token has no iat claim", "claim", "iat")
	case c.Subject == "":
		return v.fail(reason.GrantClaimMissing, "the token has no sub claim", "claim", "sub")
	}
	if checkExp {
		if late := now.Sub(c.ExpiresAt.Time); late > v.leeway {
			return v.fail(reason.GrantExpired, fmt.Sprintf("the token expired %s ago (leeway %s)", late, v.leeway),
				"expired_ago", late.String(), "leeway", v.leeway.String())
		}
	}
	if err := v.notInFuture("nbf", c.NotBefore, now); err != nil {
		return err
	}
	if err := v.notInFuture("iat", c.IssuedAt, now); err != nil {
		return err
	}
	if v.maxLife > 0 && c.ExpiresAt != nil {
		if life := c.ExpiresAt.Sub(c.IssuedAt.Time); life > v.maxLife {
			return v.fail(reason.GrantLifetimeExceeded, fmt.Sprintf("the token lives %s, longer than the maximum %s", life, v.maxLife),
				"lifetime", life.String(), "max_lifetime", v.maxLife.String())
		}
	}
	return nil
}

// notInFuture refuses a time claim (nbf, iat) further ahead of now than the leeway.
func (v *verifier) notInFuture(name string, at *token.NumericTime, now time.Time) error {
	if at == nil {
		return nil
	}
	if early := at.Sub(now); early > v.leeway {
		return v.fail(reason.GrantNotYetValid, fmt.Sprintf("the token's %s is %s in the future (leeway %s)", name, early, v.leeway),
			"claim", name, "skew_seen", early.String(), "leeway", v.leeway.String())
	}
	return nil
}

// fail builds the denial for r, a grant reason. An identity verifier
// reports the identity reason instead, keeping r as the cause: a caller
// whose identity fails is unknown, so the code is UNAUTHENTICATED.
func (v *verifier) fail(r reason.Reason, msg string, kv ...string) *reason.Error {
	if !v.identity {
		return reason.New(r, msg, kv...)
	}
	id := reason.IdentityInvalid
	switch r {
	case reason.GrantMalformed, reason.GrantTooLarge:
		id = reason.IdentityMalformed
	case reason.GrantExpired, reason.GrantNotYetValid:
		id = reason.IdentityExpired
	}
	return reason.New(id, "identity: "+msg, kv...).Set("cause", string(r))
}
