package fakes

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
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
// catalog, one catalog id at a time. It holds the real issuer's keys so it
// can make tokens that are validly signed but wrong (expired, wrong
// audience, out of scope...), which is what tests a verifier's claim checks
// rather than only its signature check.
//
// The valid credential is rendered from a claim template (the target's own
// layout; the reference's by default), and every case changes one thing in
// it: a target that refuses the result refuses it for that thing.
//
// A Forger is safe for concurrent use; set its fields before the first call.
type Forger struct {
	// Keys are the real issuer's keys, private halves included.
	Keys *token.KeySet
	// Issuer, Audience and Subject fill the iss, aud and sub of the tokens it renders.
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
	// Scope holds the full names of the granted methods, the called one
	// first, and the resource pattern; no methods means every method ("*").
	Scope token.Scope
	// TrapURL is where KEY-002's jku and x5u point; a conformance run
	// serves it to prove no fetch happens. Empty means an address under the
	// reserved .invalid domain, which never resolves.
	TrapURL string
	// Retired are keys the target has retired (KEY-004); when empty the
	// forger uses a retired key of Keys, or failing that a key of a previous
	// generation that the target never trusted.
	Retired []*token.Key

	// Template lays out the claims; nil means the reference's layout for the credential.
	Template *ClaimTemplate
	// MethodForm spells method names in the claims; empty means FormFull.
	MethodForm MethodForm
	// Permissions maps full method names to the permissions the target
	// grants them by; a method it does not list is named as itself.
	Permissions map[string]string
	// Typ is the typ header; empty means the credential's reference typ. NoTyp leaves typ out.
	Typ   string
	NoTyp bool
	// NoKid leaves the kid header out: the target knows its one key without it.
	NoKid bool
	// OtherTyp is the typ of another kind of token, for CLM-010; empty means
	// the reference's typ of the other credential.
	OtherTyp string
	// OneShot are the claims that make a grant one-shot, for CLM-008; nil means the reference's {"one_shot": true}.
	OneShot Object
	// MaxTokenBytes is the target's size limit, for FMT-005; zero makes FMT-005 not applicable.
	MaxTokenBytes int
	// PublicKeyFile is the issuer's public key exactly as the target holds
	// it (a PEM file, a certificate): ALG-002's file variant MACs with these bytes.
	PublicKeyFile []byte

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
	// ErrNotApplicable is returned for a case that does not apply to the forger's credential, keys or template.
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
		if contains(c.Credentials, f.credential()) {
			out = append(out, c)
		}
	}
	return out
}

// Valid renders and signs a valid credential: the template filled with the
// forger's fields, issued now, signed by the issuer's signing key.
func (f *Forger) Valid() (string, error) {
	p, err := f.fresh()
	if err != nil {
		return "", err
	}
	return f.resign(p, p.mustRender())
}

// ValidOptions change the valid credential ValidWith makes.
type ValidOptions struct {
	// Key signs instead of the issuer's signing key (a fresh key of a key source).
	Key *token.Key
	// ID is the jti; empty means a random one.
	ID string
	// Expires, when set, moves the token's window so it ends then.
	Expires time.Time
	// IssuedAt and NotBefore, when set, place iat and nbf exactly (after
	// Expires moved the window): a measurement walks one of them alone.
	IssuedAt, NotBefore time.Time
}

// ValidWith is Valid with the changes opts asks for.
func (f *Forger) ValidWith(opts ValidOptions) (string, error) {
	p, err := f.fresh()
	if err != nil {
		return "", err
	}
	if opts.Key != nil {
		if opts.Key.Private == nil {
			return "", fmt.Errorf("%w: key %q has no private half", ErrNotApplicable, opts.Key.ID)
		}
		p.key = opts.Key
	}
	if opts.ID != "" {
		p.vals.ID = opts.ID
	}
	if !opts.Expires.IsZero() {
		life := f.lifetime(p)
		p.vals.Expires = opts.Expires.Unix()
		p.vals.IssuedAt = opts.Expires.Add(-life).Unix()
		p.vals.NotBefore = p.vals.IssuedAt
	}
	if !opts.IssuedAt.IsZero() {
		p.vals.IssuedAt = opts.IssuedAt.Unix()
	}
	if !opts.NotBefore.IsZero() {
		p.vals.NotBefore = opts.NotBefore.Unix()
	}
	return f.resign(p, p.mustRender())
}

// Forge returns the forged variant of a freshly rendered valid credential
// for id, "ALG-001" or "ALG-001/nOnE" (a variant after a slash).
func (f *Forger) Forge(id string) (string, error) { return f.Mutate(id, "") }

// Mutate returns the forged variant of valid for id, "ALG-001" or
// "ALG-001/nOnE". The valid token is taken apart and its claims become the
// template; an empty valid token makes the forger render one first.
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
	var p *parts
	if valid == "" {
		p, err = f.fresh()
	} else {
		p, err = f.parse(valid)
	}
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

// typ is the typ header of f's credentials; "" when it carries none.
func (f *Forger) typ() string {
	switch {
	case f.NoTyp:
		return ""
	case f.Typ != "":
		return f.Typ
	case f.credential() == CredentialIdentity:
		return token.TypeIdentity
	}
	return token.TypeGrant
}

// otherTyp is the typ of a token of another kind (CLM-010).
func (f *Forger) otherTyp() string {
	switch {
	case f.OtherTyp != "":
		return f.OtherTyp
	case f.credential() == CredentialIdentity:
		return token.TypeGrant
	}
	return token.TypeIdentity
}

// template is the layout f renders.
func (f *Forger) template() *ClaimTemplate {
	switch {
	case f.Template != nil:
		return f.Template
	case f.credential() == CredentialIdentity:
		return IdentityTemplate()
	}
	p, _ := LookupPreset(PresetScopeMethods)
	return p.Template(f.Scope.Resource != "")
}

// permission is the permission the target grants method by.
func (f *Forger) permission(method string) string {
	if p, ok := f.Permissions[method]; ok {
		return p
	}
	return f.MethodForm.Spell(method)
}

// values are the template's values for a valid credential issued now.
func (f *Forger) values() Values {
	now := f.now()
	ttl := min(5*time.Minute, f.maxLifetime())
	v := Values{Subject: f.Subject, Issuer: f.Issuer, Audience: f.Audience, Resource: f.Scope.Resource, ID: token.NewID(),
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expires: now.Add(ttl).Unix()}
	methods := f.Scope.Methods
	if len(methods) == 0 {
		methods = []string{"*"}
	}
	for _, m := range methods {
		v.Methods = append(v.Methods, f.MethodForm.Spell(m))
		v.Permissions = append(v.Permissions, f.permission(m))
	}
	return v
}

// parts is a valid credential taken apart: the template it was rendered
// from (or that its claims became), the values that filled it, its JOSE
// header and the key that signed it. A case renders the values, changes
// one thing and signs.
type parts struct {
	tmpl   *ClaimTemplate
	vals   Values
	header Object // alg is set when signing
	key    *token.Key
	// seg are the valid token's segments, signed lazily for a rendered one.
	seg [3]string
}

// render fills the template with p's values.
func (p *parts) render() (Object, error) { return p.tmpl.Render(p.vals) }

// mustRender renders a template that rendered before: a failure is a bug.
func (p *parts) mustRender() Object {
	claims, err := p.render()
	if err != nil {
		panic(err)
	}
	return claims
}

// fresh renders a valid credential's parts from f's fields.
func (f *Forger) fresh() (*parts, error) {
	key, err := f.signingKey()
	if err != nil {
		return nil, err
	}
	p := &parts{tmpl: f.template(), vals: f.values(), key: key}
	if !f.NoKid {
		p.header = append(p.header, Member{Name: "kid", Value: key.ID})
	}
	if typ := f.typ(); typ != "" {
		p.header = append(p.header, Member{Name: "typ", Value: typ})
	}
	if _, err := p.render(); err != nil {
		return nil, err
	}
	return p, nil
}

// parse takes valid apart: its claims become the template, the values it carries what fills it.
func (f *Forger) parse(valid string) (*parts, error) {
	segs := strings.Split(valid, ".")
	if len(segs) != 3 {
		return nil, ErrNotJWT
	}
	var header, claims Object
	for i, dst := range []*Object{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(segs[i])
		if err != nil {
			return nil, ErrNotJWT
		}
		if *dst, err = DecodeObject(raw, false); err != nil {
			return nil, ErrNotJWT
		}
	}
	header.Delete("alg")
	tmpl, vals, err := templatize(claims)
	if err != nil {
		return nil, ErrNotJWT
	}
	p := &parts{tmpl: tmpl, vals: vals, header: header, seg: [3]string{segs[0], segs[1], segs[2]}}
	kid, _ := header.Get("kid")
	if p.key, err = f.keyFor(kid); err != nil {
		return nil, err
	}
	return p, nil
}

// templatize turns a token's claims into a template of the reference's
// layout and the values it holds: the registered claims and
// scope.methods/resource become placeholders, anything else stays as it is.
func templatize(claims Object) (*ClaimTemplate, Values, error) {
	var v Values
	root := claims.Clone()
	for i, m := range root {
		switch x := m.Value.(type) {
		case string:
			dst := map[string]*string{"iss": &v.Issuer, "sub": &v.Subject, "jti": &v.ID, "aud": &v.Audience}[m.Name]
			if dst != nil {
				*dst, root[i].Value = x, "${"+m.Name+"}"
			}
		case []any:
			if first, ok := firstString(x); ok && m.Name == "aud" {
				v.Audience, x[0] = first, "${aud}"
			}
		case Object:
			if m.Name == "scope" {
				templatizeScope(x, &v)
			}
		default:
			dst := map[string]*int64{"iat": &v.IssuedAt, "nbf": &v.NotBefore, "exp": &v.Expires}[m.Name]
			if sec, ok := numberValue(m.Value); ok && dst != nil && sec >= -1<<53 && sec <= 1<<53 {
				*dst, root[i].Value = int64(sec), "${"+m.Name+"}"
			}
		}
	}
	t, err := NewClaimTemplate(root)
	return t, v, err
}

// templatizeScope turns the reference's scope object into placeholders.
func templatizeScope(scope Object, v *Values) {
	for i, m := range scope {
		switch x := m.Value.(type) {
		case []any:
			if m.Name != "methods" {
				continue
			}
			for _, e := range x {
				if s, ok := e.(string); ok {
					v.Methods = append(v.Methods, s)
				}
			}
			v.Permissions = v.Methods
			scope[i].Value = "${methods}"
		case string:
			if m.Name == "resource" {
				v.Resource, scope[i].Value = x, "${resource}"
			}
		}
	}
}

func firstString(a []any) (string, bool) {
	if len(a) == 0 {
		return "", false
	}
	s, ok := a[0].(string)
	return s, ok
}

func (f *Forger) signingKey() (*token.Key, error) {
	if f.Keys == nil {
		return nil, fmt.Errorf("%w: the forger has no keys", ErrNotApplicable)
	}
	k, err := f.Keys.Signing()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotApplicable, err)
	}
	if k.Private == nil {
		return nil, fmt.Errorf("%w: the issuer's signing key %q has no private half", ErrNotApplicable, k.ID)
	}
	return k, nil
}

// keyFor returns the key kid names, if the forger holds its private half;
// otherwise the current signing key.
func (f *Forger) keyFor(kid any) (*token.Key, error) {
	if id, _ := kid.(string); id != "" && f.Keys != nil {
		for _, k := range f.Keys.Keys() {
			if k.ID == id && k.Private != nil {
				return k, nil
			}
		}
	}
	return f.signingKey()
}

// resign signs claims under p's header with p's key, as the real issuer would.
func (f *Forger) resign(p *parts, claims any) (string, error) {
	return signAs(p.key, p.header, claims)
}

// segments returns p's valid token's segments, signing it first when it was rendered.
func (f *Forger) segments(p *parts) ([3]string, error) {
	if p.seg[0] != "" {
		return p.seg, nil
	}
	raw, err := f.resign(p, p.mustRender())
	if err != nil {
		return [3]string{}, err
	}
	s := strings.Split(raw, ".")
	p.seg = [3]string{s[0], s[1], s[2]}
	return p.seg, nil
}

// signAs signs claims under header with key: alg becomes the key's, and a kid the header carries becomes the key's.
func signAs(key *token.Key, header Object, claims any) (string, error) {
	h := withAlg(header, key.Algorithm)
	if h.Index("kid") >= 0 {
		h.Set("kid", key.ID)
	}
	return signRaw(jwt.GetSigningMethod(key.Algorithm), key.Private, h, claims)
}

// withAlg is header with alg set, first.
func withAlg(header Object, alg string) Object {
	h := header.Clone()
	h.Delete("alg")
	h.Insert(0, "alg", alg)
	return h
}

// signRaw encodes header and claims as they are and signs them with
// method; it exists because token.Sign only sets alg, kid and typ, and the
// catalog needs jwk, jku, x5u, repeated names and claims of the wrong type.
// ECDSA signatures are made low-s, the form every verifier accepts.
func signRaw(method jwt.SigningMethod, private any, header Object, claims any) (string, error) {
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
	if k, ok := private.(*ecdsa.PrivateKey); ok {
		sig = lowS(sig, k.Curve.Params().N)
	}
	return input + "." + b64(sig), nil
}

// lowS rewrites an r||s ECDSA signature with s ≤ n/2: (r, s) and (r, n−s)
// both verify, and a verifier that refuses the high one is right to.
func lowS(sig []byte, n *big.Int) []byte {
	half := len(sig) / 2
	s := new(big.Int).SetBytes(sig[half:])
	if s.Cmp(new(big.Int).Rsh(n, 1)) <= 0 {
		return sig
	}
	return withS(sig, new(big.Int).Sub(n, s))
}

// withS is sig with its s half replaced.
func withS(sig []byte, s *big.Int) []byte {
	half := len(sig) / 2
	out := append([]byte(nil), sig[:half]...)
	return append(out, s.FillBytes(make([]byte, half))...)
}

// encodeInput returns the JWS signing input "header.payload"; claims may be raw bytes (a non-JSON payload).
func encodeInput(header Object, claims any) (string, error) {
	h, err := header.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("encode the header: %w", err)
	}
	c, ok := claims.([]byte)
	if !ok {
		o, isObj := claims.(Object)
		if !isObj {
			return "", fmt.Errorf("encode the claims: want an object, got %T", claims)
		}
		if c, err = o.MarshalJSON(); err != nil {
			return "", fmt.Errorf("encode the claims: %w", err)
		}
	}
	return b64(h) + "." + b64(c), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// lifetime is the token's exp − iat, capped by the maximum lifetime so a
// time case fails for its own reason and not for being too long.
func (f *Forger) lifetime(p *parts) time.Duration {
	life := 5 * time.Minute
	if v := p.vals; v.IssuedAt != 0 && v.Expires > v.IssuedAt && v.Expires-v.IssuedAt < 1<<32 {
		life = time.Duration(v.Expires-v.IssuedAt) * time.Second
	}
	return min(life, f.maxLifetime())
}

// setWindow places the token's iat, nbf and exp.
func setWindow(v *Values, iat, nbf, exp time.Time) {
	v.IssuedAt, v.NotBefore, v.Expires = iat.Unix(), nbf.Unix(), exp.Unix()
}

// ceilSecond rounds t up to a whole second: claims carry whole seconds, and
// a case meant to pass must not lose the second that keeps it inside the leeway.
func ceilSecond(t time.Time) time.Time {
	if tr := t.Truncate(time.Second); !tr.Equal(t) {
		return tr.Add(time.Second)
	}
	return t
}
