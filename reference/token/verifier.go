package token

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/reference/reason"
)

// KeyResolver finds the key a token's kid names; *KeySet implements it.
type KeyResolver interface {
	Lookup(kid string, now time.Time) (*Key, error)
}

var _ KeyResolver = (*KeySet)(nil)

// Defaults applied by NewGrantVerifier and NewIdentityVerifier to zero fields of Config.
const (
	DefaultLeeway        = 30 * time.Second
	DefaultMaxTokenBytes = 8 << 10
	DefaultCacheSize     = 8192
)

// DefaultAlgorithms is the pinned list when a Config names none: the
// asymmetric algorithms the reference broker signs with.
func DefaultAlgorithms() []string { return []string{EdDSA, ES256} }

// Config is what a verifier accepts.
type Config struct {
	// Issuer is the required iss claim.
	Issuer string
	// Audience is the value the aud claim must contain: this service's name.
	Audience string
	// Algorithms is the pinned list of accepted algorithms; the token's alg header is only checked against it.
	Algorithms []string
	// Leeway tolerates clock skew on exp, nbf and iat.
	Leeway time.Duration
	// MaxLifetime refuses tokens whose exp minus iat is longer; zero means no limit.
	MaxLifetime time.Duration
	// Type is the required typ header; empty skips the check.
	Type string
	// MaxTokenBytes refuses larger tokens before parsing them.
	MaxTokenBytes int
	// CacheSize bounds the verified-token cache; negative disables it.
	CacheSize int
	// CacheBytes bounds the cache's estimated memory (keys and entries); zero means DefaultCacheBytes, negative disables the cache.
	CacheBytes int
	// Signatures says which spellings of an ES256 signature are accepted;
	// zero means the verifier kind's default (see SignatureForm).
	Signatures SignatureForm
	// Clock is the verifier's time source; nil means the real clock.
	Clock clockwork.Clock
}

func (c Config) withDefaults(typ string) (Config, error) {
	if c.Issuer == "" || c.Audience == "" {
		return c, errors.New("verifier config needs an issuer and an audience")
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = DefaultAlgorithms()
	}
	for _, a := range c.Algorithms {
		if err := CheckAlgorithm(a); err != nil {
			return c, err
		}
	}
	c.Algorithms = slices.Clone(c.Algorithms)
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.Leeway < 0 {
		return c, errors.New("verifier leeway must not be negative")
	}
	if c.MaxTokenBytes == 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Type == "" {
		c.Type = typ
	}
	if c.Signatures == SignaturesDefault {
		// Grants come from the reference broker, which signs low-s only;
		// identity tokens come from identity providers, which rarely do.
		c.Signatures = SignaturesAnyS
		if typ == TypeGrant {
			c.Signatures = SignaturesLowSOnly
		}
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	return c, nil
}

// core is the signature and claim checking both verifiers share. Its errors
// carry grant reasons; the identity verifier translates them.
type core struct {
	cfg  Config
	keys KeyResolver
}

func newCore(keys KeyResolver, cfg Config) core {
	return core{cfg: cfg, keys: keys}
}

// b64 is strict base64url: golang-jwt's WithStrictDecoding, so set bits
// after the last character make a token malformed, not another spelling.
var b64 = base64.RawURLEncoding.Strict()

// parse verifies raw's size, shape, JSON, type, algorithm, key and signature,
// decoding the payload into claims. It parses the compact JWS itself rather
// than through golang-jwt's parser, which decodes with encoding/json: only
// the signature is golang-jwt's (through SigningMethod).
func (c *core) parse(raw string, claims jwt.Claims, now time.Time) (*jwt.Token, *Key, error) {
	if len(raw) > c.cfg.MaxTokenBytes {
		return nil, nil, reason.New(reason.GrantTooLarge, "the token is larger than the verifier accepts",
			"size_bytes", itoa(len(raw)), "max_bytes", itoa(c.cfg.MaxTokenBytes))
	}
	// Counting dots first keeps a 64 KiB run of dots (CVE-2025-30204) cheap.
	if strings.Count(raw, ".") != 2 {
		return nil, nil, reason.New(reason.GrantMalformed, "the token is not three dot-separated segments")
	}
	// Go's base64 decoder skips \r and \n, so without this one token could be
	// spelled many ways, each a new cache entry and a miss for anything keyed
	// on the token's text.
	if !compactJWS(raw) {
		return nil, nil, reason.New(reason.GrantMalformed, "the token has characters outside base64url")
	}
	h64, rest, _ := strings.Cut(raw, ".")
	p64, s64, _ := strings.Cut(rest, ".")
	var segs [3][]byte
	for i, seg := range []string{h64, p64, s64} {
		b, err := b64.DecodeString(seg)
		if err != nil {
			return nil, nil, reason.New(reason.GrantMalformed, "the token's "+segmentName[i]+" is not strict base64url")
		}
		segs[i] = b
	}
	header := map[string]any{}
	if err := decodeStrict(segs[0], headerNames, &header); err != nil {
		return nil, nil, malformedJSON("header", err)
	}
	if err := decodeStrict(segs[1], namesFor(claims), claims); err != nil {
		return nil, nil, malformedJSON("payload", err)
	}
	// The kind of token first: an identity token sent as a grant is named
	// as such, not as signed by a key the grant verifier does not know.
	if typ, _ := header["typ"].(string); c.cfg.Type != "" && !strings.EqualFold(typ, c.cfg.Type) {
		return nil, nil, reason.New(reason.GrantWrongType, "the token's typ header is not the expected one",
			"expected_typ", c.cfg.Type, "typ", typ)
	}
	alg, _ := header["alg"].(string)
	if err := c.checkAlg(alg); err != nil {
		return nil, nil, err
	}
	if _, ok := header["crit"]; ok {
		return nil, nil, reason.New(reason.GrantMalformed, "the token has a crit header this verifier does not understand")
	}
	kid, _ := header["kid"].(string)
	key, err := c.keys.Lookup(kid, now)
	if err != nil {
		return nil, nil, c.keyErr(err)
	}
	if key.Algorithm != alg {
		return nil, nil, reason.New(reason.GrantAlgMismatch, "the token's algorithm is not its key's algorithm",
			"offered_algorithm", alg, "key_algorithm", key.Algorithm, "kid", kid)
	}
	method := SigningMethod(alg)
	if alg == ES256 && c.cfg.Signatures == SignaturesAnyS {
		method = jwt.SigningMethodES256
	}
	if err := method.Verify(raw[:len(h64)+1+len(p64)], segs[2], key.Public); err != nil {
		if errors.Is(err, ErrHighS) {
			return nil, nil, reason.New(reason.GrantBadSignature,
				"the signature is the non-canonical (high-s) twin of a valid one: this verifier accepts only low-s ECDSA signatures")
		}
		return nil, nil, reason.New(reason.GrantBadSignature, "the signature does not verify with the named key")
	}
	return &jwt.Token{Raw: raw, Method: method, Header: header, Claims: claims, Signature: segs[2], Valid: true}, key, nil
}

// malformedJSON is the GRANT_MALFORMED refusal of a header or payload that
// strict decoding refused, naming the claim or header parameter concerned.
func malformedJSON(what string, err error) error {
	var se *strictError
	if !errors.As(err, &se) {
		return reason.New(reason.GrantMalformed, "the token's "+what+" is not one well-formed JSON object")
	}
	noun, key := "claim", "claim"
	if what == "header" {
		noun, key = "parameter", "header"
	}
	out := reason.New(reason.GrantMalformed, se.describe(what, noun))
	if se.member != "" {
		out.Set(key, se.member)
	}
	return out
}

// keyErr keeps a reason from the key source and reads any other lookup
// failure as the key source being unreachable: a verifier that cannot get
// keys must not call the token malformed.
func (c *core) keyErr(err error) error {
	var re *reason.Error
	if errors.As(err, &re) {
		return re
	}
	return reason.New(reason.BrokerUnavailable, "the verifier could not get the signing keys: "+err.Error())
}

// compactJWS reports whether raw holds only base64url characters and dots.
func compactJWS(raw string) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (c *core) checkAlg(alg string) error {
	if slices.Contains(c.cfg.Algorithms, alg) {
		return nil
	}
	return reason.New(reason.GrantAlgMismatch, "the token's signing algorithm is not one this verifier accepts",
		"offered_algorithm", alg, "accepted_algorithms", strings.Join(c.cfg.Algorithms, ","))
}

// checkClaims applies the claim rules every token kind shares.
// The typ header was checked by parse, before the key lookup.
func (c *core) checkClaims(_ *jwt.Token, cl *Claims, now time.Time) error {
	if cl.Issuer != c.cfg.Issuer {
		return reason.New(reason.GrantIssuerMismatch, "the token comes from an issuer this service does not trust",
			"expected_issuer", c.cfg.Issuer, "issuer", cl.Issuer)
	}
	if !slices.Contains(cl.Audience, c.cfg.Audience) {
		return reason.New(reason.GrantAudienceMismatch, "the token was issued for another audience",
			"expected_audience", c.cfg.Audience, "audience", strings.Join(cl.Audience, ","))
	}
	switch {
	case cl.ExpiresAt == nil:
		return reason.New(reason.GrantClaimMissing, "the token has no exp claim", "claim", "exp")
	case cl.IssuedAt == nil:
		return reason.New(reason.GrantClaimMissing, "the token has no iat claim", "claim", "iat")
	case cl.Subject == "":
		return reason.New(reason.GrantClaimMissing, "the token has no sub claim", "claim", "sub")
	}
	leeway := c.cfg.Leeway
	if late := now.Sub(cl.ExpiresAt.Time); late > leeway {
		return reason.Newf(reason.GrantExpired, "the token expired %s ago (leeway %s)", round(late), leeway).
			Set("expired_at", stamp(cl.ExpiresAt.Time)).Set("now", stamp(now)).
			Set("expired_ago", round(late).String()).Set("leeway", leeway.String()).
			Set("token_age", round(now.Sub(cl.IssuedAt.Time)).String()).
			Set("skew_needed", round(late-leeway).String())
	}
	for _, t := range []struct {
		name string
		at   *NumericTime
	}{{"nbf", cl.NotBefore}, {"iat", cl.IssuedAt}} {
		if t.at == nil {
			continue
		}
		if early := t.at.Sub(now); early > leeway {
			return reason.Newf(reason.GrantNotYetValid,
				"the token's %s is %s in the future (leeway %s): the issuer's clock is probably ahead of this service's", t.name, round(early), leeway).
				Set("claim", t.name).Set(t.name, stamp(t.at.Time)).Set("now", stamp(now)).
				Set("skew_seen", round(early).String()).Set("leeway", leeway.String()).
				Set("skew_needed", round(early-leeway).String())
		}
	}
	if c.cfg.MaxLifetime > 0 {
		if life := cl.ExpiresAt.Sub(cl.IssuedAt.Time); life > c.cfg.MaxLifetime {
			return reason.Newf(reason.GrantLifetimeExceeded, "the token lives %s, longer than the maximum %s", life, c.cfg.MaxLifetime).
				Set("lifetime", life.String()).Set("max_lifetime", c.cfg.MaxLifetime.String())
		}
	}
	return nil
}

// window returns the instants between which the claims are valid, leeway applied.
func (c *core) window(cl *Claims) (time.Time, time.Time) {
	nb := cl.IssuedAt.Time
	if cl.NotBefore != nil && cl.NotBefore.After(nb) {
		nb = cl.NotBefore.Time
	}
	return nb.Add(-c.cfg.Leeway), cl.ExpiresAt.Add(c.cfg.Leeway)
}

// Algorithms returns the verifier's pinned algorithm list.
func (c *core) Algorithms() []string { return slices.Clone(c.cfg.Algorithms) }

// Leeway returns the verifier's clock-skew tolerance.
func (c *core) Leeway() time.Duration { return c.cfg.Leeway }

// Issuer returns the issuer the verifier trusts.
func (c *core) Issuer() string { return c.cfg.Issuer }

// Now returns the verifier's current time.
func (c *core) Now() time.Time { return c.cfg.Clock.Now() }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func round(d time.Duration) time.Duration {
	if d > 10*time.Second || d < -10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

func itoa(n int) string { return fmt.Sprint(n) }
