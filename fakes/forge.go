package fakes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"

	"github.com/jitbench/jitbench/reference/token"
)

// Credentials a forged token stands in for.
const (
	// CredentialGrant is the JIT grant (x-jit-grant).
	CredentialGrant = "grant"
	// CredentialIdentity is the identity token (authorization: Bearer).
	CredentialIdentity = "identity"
)

// DefaultMaxLifetime is the maximum grant lifetime a Forger assumes when
// none is set: the reference stack's default.
const DefaultMaxLifetime = time.Hour

// Forger turns a valid credential into the invalid ones of the conformance
// catalog (../shared/CONFORMANCE.md), one catalog id at a time. It holds the
// real issuer's keys so it can make tokens that are validly signed but wrong
// (expired, wrong audience, out of scope...), which is what tests a
// verifier's claim checks rather than only its signature check.
//
// A Forger is safe for concurrent use; set its fields before the first call.
type Forger struct {
	// Keys are the real issuer's keys, private halves included.
	Keys *token.KeySet
	// Issuer, Audience and Subject fill tokens crafted from nothing (Mutate with an empty valid token).
	Issuer, Audience, Subject string
	// Clock is the target's idea of now: time cases (CLM-001/003, SKW-*) are placed relative to it.
	Clock clockwork.Clock
	// Leeway is the target's clock-skew tolerance; zero means token.DefaultLeeway.
	Leeway time.Duration
	// MaxLifetime is the target's maximum grant lifetime; zero means DefaultMaxLifetime.
	MaxLifetime time.Duration

	// Credential is CredentialGrant (the default) or CredentialIdentity: which checks apply.
	Credential string
	// Algorithms is the target's pinned list, for ALG-003; nil means token.DefaultAlgorithms().
	Algorithms []string
	// Scope is the scope of grants crafted from nothing; empty means every method.
	Scope token.Scope
	// TrapURL is where KEY-002's jku and x5u point; a conformance run may
	// serve it to prove no fetch happens. Empty means an address under the
	// reserved .invalid domain, which never resolves.
	TrapURL string
	// Retired are keys the target has retired (KEY-004); when empty the
	// forger uses a retired key of Keys, or failing that a key of a previous
	// generation that the target never trusted.
	Retired []*token.Key

	mu       sync.Mutex
	rsa      *token.Key // generated once: RS256 keys cannot be derived
	replayID string     // the jti every CLM-008 token shares
}

// ForgeCase describes one catalog id the forger handles.
type ForgeCase struct {
	// ID is the catalog id, e.g. "ALG-001".
	ID string
	// Summary says what the forged credential is.
	Summary string
	// Credentials lists where the case applies: CredentialGrant, CredentialIdentity or both.
	Credentials []string
	// Variants are the spellings of the case, selected with "ID/variant"; the first is the default.
	Variants []string
	// Header marks a case made at the header level (IdentityHeaderValues), not by Mutate.
	Header bool
}

// Errors of the forger. They never include a token: a forged credential
// must not leak into logs or reports through an error message.
var (
	// ErrUnknownCase is returned for an id or variant the catalog does not have.
	ErrUnknownCase = errors.New("unknown forge case")
	// ErrNotApplicable is returned for a case that does not apply to the forger's credential or keys.
	ErrNotApplicable = errors.New("forge case not applicable")
	// ErrNotJWT is returned when the valid token given to Mutate is not a compact JWS.
	ErrNotJWT = errors.New("the valid token is not a compact JWS")
)

// ForgeCases returns every case of the catalog the forger knows, in catalog order.
func ForgeCases() []ForgeCase {
	out := make([]ForgeCase, len(forgeCatalog))
	for i, c := range forgeCatalog {
		out[i] = c.ForgeCase
	}
	return out
}

// Cases returns the cases that apply to f's credential, header-level ones included.
func (f *Forger) Cases() []ForgeCase {
	var out []ForgeCase
	for _, c := range ForgeCases() {
		for _, cred := range c.Credentials {
			if cred == f.credential() {
				out = append(out, c)
			}
		}
	}
	return out
}

// Mutate returns the forged variant of valid for id, "ALG-001" or
// "ALG-001/nOnE" (a variant after a slash). An empty valid token makes the
// forger craft a baseline from its own fields first.
func (f *Forger) Mutate(id, valid string) (string, error) {
	c, variant, err := lookupCase(id)
	if err != nil {
		return "", err
	}
	if c.Header {
		return "", fmt.Errorf("%w: %s is made at the header level: use IdentityHeaderValues", ErrNotApplicable, c.ID)
	}
	if !contains(c.Credentials, f.credential()) {
		return "", fmt.Errorf("%w: %s applies to %s credentials, the forger makes %s ones",
			ErrNotApplicable, c.ID, strings.Join(c.Credentials, " and "), f.credential())
	}
	p, err := f.parse(valid)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.ID, err)
	}
	out, err := c.forge(f, p, variant)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.ID, err)
	}
	return out, nil
}

func lookupCase(id string) (*forgeCase, string, error) {
	base, variant, _ := strings.Cut(id, "/")
	for i := range forgeCatalog {
		c := &forgeCatalog[i]
		if c.ID != base {
			continue
		}
		if variant == "" {
			return c, c.Variants[0], nil
		}
		if contains(c.Variants, variant) {
			return c, variant, nil
		}
		return nil, "", fmt.Errorf("%w: %s has no variant %q (variants: %s)", ErrUnknownCase, c.ID, variant, strings.Join(c.Variants, ", "))
	}
	return nil, "", fmt.Errorf("%w %q", ErrUnknownCase, base)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (f *Forger) credential() string {
	if f.Credential == "" {
		return CredentialGrant
	}
	return f.Credential
}

func (f *Forger) now() time.Time {
	if f.Clock == nil {
		return time.Now()
	}
	return f.Clock.Now()
}

func (f *Forger) leeway() time.Duration {
	if f.Leeway > 0 {
		return f.Leeway
	}
	return token.DefaultLeeway
}

func (f *Forger) maxLifetime() time.Duration {
	if f.MaxLifetime > 0 {
		return f.MaxLifetime
	}
	return DefaultMaxLifetime
}

func (f *Forger) algorithms() []string {
	if len(f.Algorithms) > 0 {
		return f.Algorithms
	}
	return token.DefaultAlgorithms()
}

func (f *Forger) typ() string {
	if f.credential() == CredentialIdentity {
		return token.TypeIdentity
	}
	return token.TypeGrant
}

// parts is a token taken apart: its header and claims as generic JSON (so
// any claim can be removed or given the wrong type) and its original
// segments (so a case can keep the original signature).
type parts struct {
	header, claims map[string]any
	seg            [3]string // empty when crafted
}

// parse takes valid apart, or crafts a baseline when it is empty.
func (f *Forger) parse(valid string) (*parts, error) {
	if valid == "" {
		return f.craft()
	}
	segs := strings.Split(valid, ".")
	if len(segs) != 3 {
		return nil, ErrNotJWT
	}
	p := &parts{seg: [3]string{segs[0], segs[1], segs[2]}}
	for i, dst := range []*map[string]any{&p.header, &p.claims} {
		raw, err := base64.RawURLEncoding.DecodeString(segs[i])
		if err != nil {
			return nil, ErrNotJWT
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // keep 64-bit times exact
		if err := dec.Decode(dst); err != nil || *dst == nil {
			return nil, ErrNotJWT
		}
	}
	return p, nil
}

// craft makes a valid-looking baseline from the forger's fields, signed (later) by the current key.
func (f *Forger) craft() (*parts, error) {
	key, err := f.signingKey()
	if err != nil {
		return nil, err
	}
	now := f.now()
	ttl := min(5*time.Minute, f.maxLifetime())
	p := &parts{
		header: map[string]any{"alg": key.Algorithm, "kid": key.ID, "typ": f.typ()},
		claims: map[string]any{
			"iss": f.Issuer, "sub": f.Subject, "aud": f.Audience, "jti": token.NewID(),
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
		},
	}
	if f.credential() == CredentialGrant {
		scope := f.Scope
		if len(scope.Methods) == 0 {
			scope.Methods = []string{"*"}
		}
		p.claims["scope"] = map[string]any{"methods": scope.Methods, "resource": scope.Resource}
	}
	return p, nil
}

func (f *Forger) signingKey() (*token.Key, error) {
	if f.Keys == nil {
		return nil, fmt.Errorf("%w: the forger has no keys", ErrNotApplicable)
	}
	return f.Keys.Signing()
}

// keyFor returns the key the token names by kid, if the forger holds its
// private half; otherwise the current signing key.
func (f *Forger) keyFor(p *parts) (*token.Key, error) {
	if kid, _ := p.header["kid"].(string); kid != "" && f.Keys != nil {
		for _, k := range f.Keys.Keys() {
			if k.ID == kid && k.Private != nil {
				return k, nil
			}
		}
	}
	return f.signingKey()
}

// resign signs p's claims with the key its kid names, as the real issuer would.
func (f *Forger) resign(p *parts) (string, error) {
	key, err := f.keyFor(p)
	if err != nil {
		return "", err
	}
	return signAs(key, p.header, p.claims)
}

// signAs signs header and claims with key, setting the header's alg and kid to the key's.
func signAs(key *token.Key, header map[string]any, claims any) (string, error) {
	h := cloneMap(header)
	h["alg"] = key.Algorithm
	h["kid"] = key.ID
	return signRaw(jwt.GetSigningMethod(key.Algorithm), key.Private, h, claims)
}

// signRaw encodes header and claims as they are and signs them with
// method; it exists because token.Sign only sets alg, kid and typ, and the
// catalog needs jwk, jku, x5u and claims of the wrong type.
func signRaw(method jwt.SigningMethod, private any, header map[string]any, claims any) (string, error) {
	input, err := encodeInput(header, claims)
	if err != nil {
		return "", err
	}
	if method == nil || private == nil {
		return "", fmt.Errorf("%w: no signing key for the algorithm", ErrNotApplicable)
	}
	sig, err := method.Sign(input, private)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return input + "." + b64(sig), nil
}

// encodeInput returns the JWS signing input "header.payload"; claims may be raw bytes (a non-JSON payload).
func encodeInput(header map[string]any, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encode the header: %w", err)
	}
	c, ok := claims.([]byte)
	if !ok {
		if c, err = json.Marshal(claims); err != nil {
			return "", fmt.Errorf("encode the claims: %w", err)
		}
	}
	return b64(h) + "." + b64(c), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// claimTime reads a numeric time claim.
func claimTime(c map[string]any, name string) (time.Time, bool) {
	switch v := c[name].(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return time.Unix(n, 0), true
		}
		if x, err := v.Float64(); err == nil {
			return time.Unix(int64(x), 0), true
		}
	case int64:
		return time.Unix(v, 0), true
	case float64:
		return time.Unix(int64(v), 0), true
	}
	return time.Time{}, false
}

// lifetime is the token's exp − iat, capped by the maximum lifetime so a
// time case fails for its own reason and not for being too long.
func (f *Forger) lifetime(p *parts) time.Duration {
	life := 5 * time.Minute
	iat, ok1 := claimTime(p.claims, "iat")
	exp, ok2 := claimTime(p.claims, "exp")
	if ok1 && ok2 && exp.After(iat) {
		life = exp.Sub(iat)
	}
	return min(life, f.maxLifetime())
}

// setWindow places the token's iat, nbf and exp.
func setWindow(c map[string]any, iat, nbf, exp time.Time) {
	c["iat"] = iat.Unix()
	c["nbf"] = nbf.Unix()
	c["exp"] = exp.Unix()
}

// ceilSecond rounds t up to a whole second: claims carry whole seconds, and
// a case meant to pass must not lose the second that keeps it inside the leeway.
func ceilSecond(t time.Time) time.Time {
	if tr := t.Truncate(time.Second); !tr.Equal(t) {
		return tr.Add(time.Second)
	}
	return t
}
