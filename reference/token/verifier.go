package token

import (
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
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	return c, nil
}

// core is the signature and claim checking both verifiers share. Its errors
// carry grant reasons; the identity verifier translates them.
type core struct {
	cfg    Config
	keys   KeyResolver
	parser *jwt.Parser
}

func newCore(keys KeyResolver, cfg Config) core {
	return core{
		cfg:  cfg,
		keys: keys,
		// WithValidMethods repeats the pin inside the library as a second
		// line; the keyfunc below applies it first so the reason is precise.
		parser: jwt.NewParser(
			jwt.WithValidMethods(cfg.Algorithms),
			jwt.WithoutClaimsValidation(),
			jwt.WithStrictDecoding(),
		),
	}
}

// parse verifies raw's size, shape, algorithm, key and signature, decoding into claims.
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
	var key *Key
	tok, err := c.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		alg, _ := t.Header["alg"].(string)
		if err := c.checkAlg(alg); err != nil {
			return nil, err
		}
		if _, ok := t.Header["crit"]; ok {
			return nil, reason.New(reason.GrantMalformed, "the token has a crit header this verifier does not understand")
		}
		kid, _ := t.Header["kid"].(string)
		k, err := c.keys.Lookup(kid, now)
		if err != nil {
			return nil, c.keyErr(err)
		}
		if k.Algorithm != alg {
			return nil, reason.New(reason.GrantAlgMismatch, "the token's algorithm is not its key's algorithm",
				"offered_algorithm", alg, "key_algorithm", k.Algorithm, "kid", kid)
		}
		key = k
		return k.Public, nil
	})
	if err != nil {
		return nil, nil, c.classify(tok, err)
	}
	return tok, key, nil
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

// classify turns a golang-jwt error into a reason.
func (c *core) classify(tok *jwt.Token, err error) error {
	var re *reason.Error
	if errors.As(err, &re) {
		return re
	}
	if tok != nil {
		if alg, _ := tok.Header["alg"].(string); tok.Header != nil && !slices.Contains(c.cfg.Algorithms, alg) {
			return c.checkAlg(alg)
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg := "the token is not well-formed"
		if errors.Is(err, ErrNotNumeric) {
			msg = "a time claim is not a JSON number"
		}
		return reason.New(reason.GrantMalformed, msg)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return reason.New(reason.GrantBadSignature, "the signature does not verify with the named key")
	}
	return reason.New(reason.GrantMalformed, "the token could not be verified")
}

// checkClaims applies the claim rules every token kind shares.
func (c *core) checkClaims(tok *jwt.Token, cl *Claims, now time.Time) error {
	if c.cfg.Type != "" {
		if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(typ, c.cfg.Type) {
			return reason.New(reason.GrantWrongType, "the token's typ header is not the expected one",
				"expected_typ", c.cfg.Type, "typ", typ)
		}
	}
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
