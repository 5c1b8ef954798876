package fakes

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/jitbench/jitbench/reference/token"
)

// forgeCase is a catalog entry and the function that forges it.
type forgeCase struct {
	ForgeCase
	forge func(f *Forger, p *parts, variant string) (string, error)
}

var (
	both      = []string{CredentialGrant, CredentialIdentity}
	grantOnly = []string{CredentialGrant}
	idOnly    = []string{CredentialIdentity}
)

// forgeCatalog has every token-level row of the conformance catalog. Rows
// that are not about the token's text are faults of other kinds: ID-001 is
// credentials-missing, SCP-003 revoke, SCP-004 stream-interceptor-missing,
// DL-* short-deadline and approval, OUT-* broker-down and network.
var forgeCatalog = []forgeCase{
	{ForgeCase{ID: "ID-002", Summary: "identity under the wrong scheme (Basic, or no scheme at all)",
		Credentials: idOnly, Variants: []string{"basic", "bare"}, Header: true}, nil},
	{ForgeCase{ID: "ID-003", Summary: "two authorization values",
		Credentials: idOnly, Variants: []string{"twice"}, Header: true}, nil},
	{ForgeCase{ID: "ID-004", Summary: "identity token expired, or signed by an unknown key",
		Credentials: idOnly, Variants: []string{"expired", "signature"}}, forgeID004},

	{ForgeCase{ID: "FMT-001", Summary: "not three segments",
		Credentials: both, Variants: []string{"two", "one", "four"}}, forgeFMT001},
	{ForgeCase{ID: "FMT-002", Summary: "bad base64url, or a header or payload that is not JSON",
		Credentials: both, Variants: []string{"base64", "std-alphabet", "payload-json", "header-json"}}, forgeFMT002},
	{ForgeCase{ID: "FMT-003", Summary: "64 KiB of dots",
		Credentials: both, Variants: []string{"dots"}}, forgeFMT003},
	{ForgeCase{ID: "FMT-004", Summary: "a time claim of the wrong type (a string), validly signed",
		Credentials: both, Variants: []string{"exp-string", "iat-string"}}, forgeFMT004},
	{ForgeCase{ID: "FMT-005", Summary: "validly signed, one step over the target's size limit",
		Credentials: both, Variants: []string{"over-limit"}}, forgeFMT005},
	{ForgeCase{ID: "FMT-006", Summary: "claim-name tricks: a case variant (EXP, Sub, Scope) beside or instead of the real claim, or a repeated claim, the valid value where a lenient decoder takes it",
		Credentials: both, Variants: []string{"case-exp-beside", "case-exp-instead", "case-sub-beside", "case-scope-beside",
			"case-scope-instead", "dup-exp-last", "dup-exp-first", "dup-scope-last"}}, forgeFMT006},

	{ForgeCase{ID: "SIG-001", Summary: "signature stripped (h.p.)",
		Credentials: both, Variants: []string{"stripped"}}, forgeSIG001},
	{ForgeCase{ID: "SIG-002", Summary: "payload tampered (the window a second earlier), original signature kept",
		Credentials: both, Variants: []string{"payload"}}, forgeSIG002},
	{ForgeCase{ID: "SIG-003", Summary: "signed by an unknown key of the issuer's algorithm, under the real kid or an unknown one",
		Credentials: both, Variants: []string{"known-kid", "unknown-kid"}}, forgeSIG003},
	{ForgeCase{ID: "SIG-004", Summary: "ES256 signature r=s=0, one byte short or one byte long",
		Credentials: both, Variants: []string{"zero", "short", "long"}}, forgeSIG004},
	{ForgeCase{ID: "SIG-005", Summary: "the (r, n−s) twin of a valid low-s ES256 signature",
		Credentials: both, Variants: []string{"high-s"}}, forgeSIG005},

	{ForgeCase{ID: "ALG-001", Summary: "alg none, in its four spellings, no signature",
		Credentials: both, Variants: []string{"none", "None", "NONE", "nOnE"}}, forgeALG001},
	{ForgeCase{ID: "ALG-002", Summary: "HS256 keyed with the issuer's public key: raw bytes, PEM, DER, JWK, or the bytes of the target's public key file",
		Credentials: both, Variants: []string{"raw", "pem", "der", "jwk", "file"}}, forgeALG002},
	{ForgeCase{ID: "ALG-003", Summary: "validly signed with an algorithm the target does not pin: by another trusted key, or by the signing key under another algorithm of its family (RS384, RS512, PS256; HS384, HS512)",
		Credentials: both, Variants: []string{"other-key", "family-384", "family-512", "family-pss"}}, forgeALG003},

	{ForgeCase{ID: "KEY-001", Summary: "self-signed with an embedded jwk header of the issuer's algorithm family",
		Credentials: both, Variants: []string{"attacker-kid", "known-kid"}}, forgeKEY001},
	{ForgeCase{ID: "KEY-002", Summary: "jku or x5u header pointing at the trap URL",
		Credentials: both, Variants: []string{"jku", "x5u"}}, forgeKEY002},
	{ForgeCase{ID: "KEY-003", Summary: "validly signed by a trusted key under a kid the target does not know: unknown, path traversal, SQL-ish, or none",
		Credentials: both, Variants: []string{"unknown", "traversal", "sql", "missing"}}, forgeKEY003},
	{ForgeCase{ID: "KEY-004", Summary: "signed by a retired key under its kid",
		Credentials: both, Variants: []string{"retired"}}, forgeKEY004},
	{ForgeCase{ID: "KEY-005", Summary: "kid injection: HS256 keyed by what the injected kid would load (an empty file by path traversal, an SQL-ish union's value)",
		Credentials: both, Variants: []string{"traversal", "sql"}}, forgeKEY005},

	{ForgeCase{ID: "CLM-001", Summary: "exp in the past, a minute beyond the leeway",
		Credentials: both, Variants: []string{"expired"}}, forgeCLM001},
	{ForgeCase{ID: "CLM-002", Summary: "exp missing",
		Credentials: both, Variants: []string{"missing"}}, forgeCLM002},
	{ForgeCase{ID: "CLM-003", Summary: "nbf (or iat and nbf) a minute beyond the leeway in the future",
		Credentials: both, Variants: []string{"nbf", "iat"}}, forgeCLM003},
	{ForgeCase{ID: "CLM-004", Summary: "lifetime a minute longer than the maximum grant duration",
		Credentials: grantOnly, Variants: []string{"long"}}, forgeCLM004},
	{ForgeCase{ID: "CLM-005", Summary: "wrong iss",
		Credentials: both, Variants: []string{"issuer"}}, forgeCLM005},
	{ForgeCase{ID: "CLM-006", Summary: "aud of another service",
		Credentials: both, Variants: []string{"audience"}}, forgeCLM006},
	{ForgeCase{ID: "CLM-007", Summary: "grant sub differs from the identity",
		Credentials: grantOnly, Variants: []string{"subject"}}, forgeCLM007},
	{ForgeCase{ID: "CLM-008", Summary: "one-shot grant with a fixed jti: the first use passes, every later one is a replay",
		Credentials: grantOnly, Variants: []string{"replay"}}, forgeCLM008},
	{ForgeCase{ID: "CLM-009", Summary: "absurd times: exp at 1e19 or 1e308, nbf at 1e19, 2^63−1 or −1",
		Credentials: both, Variants: []string{"exp-1e19", "exp-1e308", "nbf-1e19", "nbf-int64", "nbf-negative"}}, forgeCLM009},
	{ForgeCase{ID: "CLM-010", Summary: "typ of another kind of token, validly signed",
		Credentials: both, Variants: []string{"other-typ"}}, forgeCLM010},

	{ForgeCase{ID: "SCP-001", Summary: "scope names only another method (or its permission) than the one called",
		Credentials: grantOnly, Variants: []string{"method"}}, forgeSCP001},
	{ForgeCase{ID: "SCP-002", Summary: "scope names only a resource outside what is called",
		Credentials: grantOnly, Variants: []string{"resource"}}, forgeSCP002},
	{ForgeCase{ID: "SCP-005", Summary: "scope look-alikes: a method or permission that extends, prefixes or contains the needed one",
		Credentials: grantOnly, Variants: []string{"extends", "prefix", "contains"}}, forgeSCP005},

	{ForgeCase{ID: "SKW-001", Summary: "target clock ahead by leeway - 1s: exp that long ago, still accepted",
		Credentials: both, Variants: []string{"within"}}, forgeSKW001},
	{ForgeCase{ID: "SKW-002", Summary: "target clock ahead by leeway + 1s: exp that long ago",
		Credentials: both, Variants: []string{"beyond"}}, forgeSKW002},
	{ForgeCase{ID: "SKW-003", Summary: "target clock behind: nbf and iat at now + leeway + 1s",
		Credentials: both, Variants: []string{"behind"}}, forgeSKW003},
}

// IdentityHeaderValues returns the authorization header values of a
// header-level case (ID-002, ID-003) for the identity token tok. The token
// itself is left intact: these cases test how the header is read.
func IdentityHeaderValues(id, tok string) ([]string, error) {
	return HeaderValues(id, "Bearer", tok)
}

// HeaderValues is IdentityHeaderValues for a header whose valid form is
// scheme, a space and the token ("" for the bare token): the wrong scheme,
// no scheme, or the valid value twice.
func HeaderValues(id, scheme, tok string) ([]string, error) {
	c, variant, err := lookupCase(id)
	if err != nil {
		return nil, err
	}
	valid := tok
	if scheme != "" {
		valid = scheme + " " + tok
	}
	switch {
	case c.ID == "ID-002" && variant == "basic":
		return []string{"Basic " + tok}, nil
	case c.ID == "ID-002" && scheme == "":
		return nil, fmt.Errorf("%w: the credential has no scheme, so the bare token is its valid form", ErrNotApplicable)
	case c.ID == "ID-002":
		return []string{tok}, nil
	case c.ID == "ID-003":
		return []string{valid, valid}, nil
	}
	return nil, fmt.Errorf("%w: %s is not a header-level case: use Forger.Mutate", ErrNotApplicable, c.ID)
}

// need is ErrNotApplicable unless p's template uses every placeholder in names.
func need(p *parts, names ...string) error {
	for _, n := range names {
		if !p.tmpl.Uses(n) {
			return fmt.Errorf("%w: the claim template has no ${%s}", ErrNotApplicable, n)
		}
	}
	return nil
}

// changed renders p with its values changed by edit and signs the result.
func (f *Forger) changed(p *parts, edit func(v *Values)) (string, error) {
	claims, err := p.renderWith(edit)
	if err != nil {
		return "", err
	}
	return f.resign(p, claims)
}

// renderWith renders p's template with a copy of its values that edit changed.
func (p *parts) renderWith(edit func(v *Values)) (Object, error) {
	v := p.vals
	v.Methods, v.Permissions = slices.Clone(v.Methods), slices.Clone(v.Permissions)
	edit(&v)
	return p.tmpl.Render(v)
}

// wholeTime is where the time placeholder name sits as a whole value.
func wholeTime(p *parts, name string) (Path, error) {
	paths := p.tmpl.Where(name)
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: the claim template has no ${%s} of its own", ErrNotApplicable, name)
	}
	return paths[0], nil
}

// forgeID004 is an identity the caller cannot prove: out of date or signed by a stranger.
func forgeID004(f *Forger, p *parts, variant string) (string, error) {
	if variant == "signature" {
		return forgeSIG003(f, p, "known-kid")
	}
	return forgeCLM001(f, p, "")
}

// forgeFMT001 breaks the three-segment shape.
func forgeFMT001(f *Forger, p *parts, variant string) (string, error) {
	seg, err := f.segments(p)
	if err != nil {
		return "", err
	}
	switch variant {
	case "one":
		return seg[1], nil
	case "four":
		return strings.Join(seg[:], ".") + "." + seg[2], nil
	}
	return seg[0] + "." + seg[1], nil
}

// forgeFMT002 keeps three segments but breaks their encoding.
func forgeFMT002(f *Forger, p *parts, variant string) (string, error) {
	switch variant {
	case "std-alphabet":
		return f.stdAlphabet(p)
	case "payload-json":
		return f.resign(p, []byte("jitbench: this payload is not JSON"))
	case "header-json":
		claims, err := json.Marshal(p.mustRender())
		if err != nil {
			return "", err
		}
		input := b64([]byte("{not json")) + "." + b64(claims)
		sig, err := jwt.GetSigningMethod(p.key.Algorithm).Sign(input, p.key.Private)
		if err != nil {
			return "", err
		}
		return input + "." + b64(sig), nil
	}
	// A '!' is outside every base64 alphabet.
	seg, err := f.segments(p)
	if err != nil {
		return "", err
	}
	mid := len(seg[1]) / 2
	return seg[0] + "." + seg[1][:mid] + "!" + seg[1][mid:] + "." + seg[2], nil
}

// stdAlphabet encodes header and payload in padded standard base64 and
// signs that input validly, so only a decoder that accepts the wrong
// alphabet would let it through.
func (f *Forger) stdAlphabet(p *parts) (string, error) {
	h := withAlg(p.header, p.key.Algorithm)
	hj, err := h.MarshalJSON()
	if err != nil {
		return "", err
	}
	cj, err := p.mustRender().MarshalJSON()
	if err != nil {
		return "", err
	}
	// Trailing spaces keep the JSON valid and make sure padding ('=') shows.
	for len(cj)%3 == 0 {
		cj = append(cj, ' ')
	}
	input := base64.StdEncoding.EncodeToString(hj) + "." + base64.StdEncoding.EncodeToString(cj)
	sig, err := jwt.GetSigningMethod(p.key.Algorithm).Sign(input, p.key.Private)
	if err != nil {
		return "", err
	}
	return input + "." + base64.StdEncoding.EncodeToString(sig), nil
}

// forgeFMT003 is the CVE-2025-30204 class: 64 KiB of dots, which a careless
// parser splits into sixty-five thousand segments.
func forgeFMT003(_ *Forger, _ *parts, _ string) (string, error) {
	return strings.Repeat(".", 64<<10), nil
}

// forgeFMT004 gives a time claim the wrong JSON type, validly signed.
func forgeFMT004(f *Forger, p *parts, variant string) (string, error) {
	name := PlaceholderExpires
	if variant == "iat-string" {
		name = PlaceholderIssuedAt
	}
	at, err := wholeTime(p, name)
	if err != nil {
		return "", err
	}
	claims := p.mustRender()
	v, _ := lookup(claims, at)
	setAt(claims, at, fmt.Sprint(v))
	return f.resign(p, claims)
}

// padClaim is the claim FMT-005 grows a token with.
const padClaim = "jitbench_pad"

// forgeFMT005 pads a valid token with a claim until it is just longer than
// the target's size limit: the first length past it the encoding allows.
func forgeFMT005(f *Forger, p *parts, _ string) (string, error) {
	limit := f.MaxTokenBytes
	if limit <= 0 {
		return "", fmt.Errorf("%w: the target declares no size limit", ErrNotApplicable)
	}
	sign := func(pad int) (string, error) {
		claims := p.mustRender()
		claims = append(claims, Member{Name: padClaim, Value: strings.Repeat("A", pad)})
		return f.resign(p, claims)
	}
	tok, err := sign(0)
	if err != nil {
		return "", err
	}
	// Each pad byte adds 4/3 of a character; start just short and step up.
	pad := max(0, (limit-len(tok))*3/4-4)
	for ; len(tok) <= limit; pad++ {
		if tok, err = sign(pad); err != nil {
			return "", err
		}
	}
	return tok, nil
}

// forgeFMT006 plays on decoders that match claim names without regard to
// case, or that let a repeated name win: the real claim is made invalid
// (or removed) and a look-alike carries the valid value, placed where a
// lenient decoder would take it.
func forgeFMT006(f *Forger, p *parts, variant string) (string, error) {
	valid := p.mustRender()
	kind, how, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(variant, "case-"), "dup-"), "-")
	var claim string
	var bad Object // rendered claims that hold the invalid value
	var err error
	switch kind {
	case "exp":
		claim, err = topLevel(p, PlaceholderExpires)
		if err == nil {
			bad, err = p.renderWith(func(v *Values) {
				v.Expires = f.now().Add(-f.leeway() - time.Minute).Unix()
			})
		}
	case "sub":
		if f.credential() != CredentialGrant {
			return "", fmt.Errorf("%w: an identity's subject is whatever it says", ErrNotApplicable)
		}
		claim, err = topLevel(p, PlaceholderSubject)
		if err == nil {
			bad, err = p.renderWith(func(v *Values) { v.Subject += "-impostor" })
		}
	case "scope":
		if claim = p.tmpl.ScopeClaim(); claim == "" {
			return "", fmt.Errorf("%w: the claim template names no methods or permissions", ErrNotApplicable)
		}
		bad, err = p.renderWith(func(v *Values) { f.outOfScope(v) })
	}
	if err != nil {
		return "", err
	}
	good, _ := valid.Get(claim)
	wrong, _ := bad.Get(claim)
	look := caseVariant(claim, kind == "exp")
	if look == "" {
		return "", fmt.Errorf("%w: the claim %q has no other case", ErrNotApplicable, claim)
	}
	claims := valid.Clone()
	i := claims.Index(claim)
	switch {
	case strings.HasPrefix(variant, "case-") && how == "instead":
		claims[i].Name = look
	case strings.HasPrefix(variant, "case-"): // beside: the look-alike last, where last-wins decoders take it
		claims[i].Value = wrong
		claims = append(claims, Member{Name: look, Value: good})
	case how == "first": // the valid value first, the wrong one repeated last
		claims = append(claims, Member{Name: claim, Value: wrong})
	default: // the wrong value first, the valid one repeated last
		claims[i].Value = wrong
		claims = append(claims, Member{Name: claim, Value: good})
	}
	return f.resign(p, claims)
}

// topLevel is the top-level claim whose whole value is placeholder name.
func topLevel(p *parts, name string) (string, error) {
	for _, at := range p.tmpl.Where(name) {
		if len(at) == 1 {
			if s, ok := at[0].(string); ok {
				return s, nil
			}
		}
	}
	return "", fmt.Errorf("%w: the claim template has no top-level claim of ${%s}", ErrNotApplicable, name)
}

// caseVariant is name spelled in another case: upper case first when
// upper, else capitalised; "" when name has no letter to change.
func caseVariant(name string, upper bool) string {
	r, size := utf8.DecodeRuneInString(name)
	title := string(unicode.ToUpper(r)) + name[size:]
	order := []string{title, strings.ToUpper(name), strings.ToLower(name)}
	if upper {
		order = []string{strings.ToUpper(name), title, strings.ToLower(name)}
	}
	for _, s := range order {
		if s != name {
			return s
		}
	}
	return ""
}

// forgeSIG001 drops the signature.
func forgeSIG001(f *Forger, p *parts, _ string) (string, error) {
	seg, err := f.segments(p)
	if err != nil {
		return "", err
	}
	return seg[0] + "." + seg[1] + ".", nil
}

// forgeSIG002 changes the payload in a way that alone would be accepted
// (the token's window moved a second earlier; or, without times, its jti)
// and keeps the original signature: only the signature check refuses it.
func forgeSIG002(f *Forger, p *parts, _ string) (string, error) {
	edit := func(v *Values) { v.IssuedAt, v.NotBefore, v.Expires = v.IssuedAt-1, v.NotBefore-1, v.Expires-1 }
	switch {
	case p.tmpl.Uses(PlaceholderExpires) || p.tmpl.Uses(PlaceholderIssuedAt) || p.tmpl.Uses(PlaceholderNotBefore):
	case p.tmpl.Uses(PlaceholderID):
		edit = func(v *Values) { v.ID = token.NewID() }
	default:
		return "", fmt.Errorf("%w: the claim template has no time or jti to change", ErrNotApplicable)
	}
	seg, err := f.segments(p)
	if err != nil {
		return "", err
	}
	claims, err := p.renderWith(edit)
	if err != nil {
		return "", err
	}
	body, err := claims.MarshalJSON()
	if err != nil {
		return "", err
	}
	return seg[0] + "." + b64(body) + "." + seg[2], nil
}

// forgeSIG003 signs with an attacker's key of the same algorithm.
func forgeSIG003(f *Forger, p *parts, variant string) (string, error) {
	evil, err := f.attacker(p.key.Algorithm)
	if err != nil {
		return "", err
	}
	h := withAlg(p.header, evil.Algorithm)
	if variant == "unknown-kid" {
		if h.Index("kid") < 0 {
			return "", fmt.Errorf("%w: the target's tokens carry no kid", ErrNotApplicable)
		}
		h.Set("kid", evil.ID)
	}
	return signRaw(jwt.GetSigningMethod(evil.Algorithm), evil.Private, h, p.mustRender())
}

// forgeSIG004 sends ES256 signatures of the wrong value or length, under
// the issuer's ES256 key, so the signature check itself is reached.
func forgeSIG004(f *Forger, p *parts, variant string) (string, error) {
	key, h, err := f.es256(p)
	if err != nil {
		return "", err
	}
	input, err := encodeInput(h, p.mustRender())
	if err != nil {
		return "", err
	}
	if variant == "zero" {
		return input + "." + b64(make([]byte, 64)), nil // r = s = 0
	}
	sig, err := jwt.SigningMethodES256.Sign(input, key.Private)
	if err != nil {
		return "", err
	}
	if variant == "short" {
		sig = sig[:len(sig)-1]
	} else {
		sig = append(sig, 0)
	}
	return input + "." + b64(sig), nil
}

// forgeSIG005 signs validly with low s and sends the high-s twin (r, n−s),
// which verifies too: ECDSA signatures are malleable unless a verifier
// insists on one form.
func forgeSIG005(f *Forger, p *parts, _ string) (string, error) {
	key, h, err := f.es256(p)
	if err != nil {
		return "", err
	}
	tok, err := signRaw(jwt.SigningMethodES256, key.Private, h, p.mustRender())
	if err != nil {
		return "", err
	}
	input := tok[:strings.LastIndexByte(tok, '.')]
	sig, err := base64.RawURLEncoding.DecodeString(tok[len(input)+1:])
	if err != nil {
		return "", err
	}
	priv := key.Private.(*ecdsa.PrivateKey)
	n := priv.Curve.Params().N
	s := new(big.Int).SetBytes(sig[len(sig)/2:])
	return input + "." + b64(withS(sig, new(big.Int).Sub(n, s))), nil
}

// es256 is the issuer's ES256 key and p's header for it.
func (f *Forger) es256(p *parts) (*token.Key, Object, error) {
	key := f.keyOf(token.ES256)
	if key == nil {
		return nil, nil, fmt.Errorf("%w: the issuer has no ES256 key to sign with", ErrNotApplicable)
	}
	h := withAlg(p.header, token.ES256)
	if h.Index("kid") >= 0 {
		h.Set("kid", key.ID)
	}
	return key, h, nil
}

// keyOf returns the issuer's first key of alg with private material, or nil.
func (f *Forger) keyOf(alg string) *token.Key {
	if f.Keys == nil {
		return nil
	}
	for _, k := range f.Keys.Keys() {
		if k.Algorithm == alg && k.Private != nil {
			return k
		}
	}
	return nil
}

// forgeALG001 claims no algorithm at all, spelled as the variant.
func forgeALG001(_ *Forger, p *parts, variant string) (string, error) {
	input, err := encodeInput(withAlg(p.header, variant), p.mustRender())
	if err != nil {
		return "", err
	}
	return input + ".", nil
}

// forgeALG002 is the algorithm-confusion attack: HMAC keyed with the public
// key a verifier holds, in the hope it uses "its key" with the token's alg.
func forgeALG002(f *Forger, p *parts, variant string) (string, error) {
	key := p.key
	if key.Algorithm == token.HS256 {
		if key = f.asymmetric(); key == nil {
			return "", fmt.Errorf("%w: the issuer has no asymmetric key", ErrNotApplicable)
		}
	}
	secret, err := publicBytes(key, variant)
	if err != nil {
		return "", err
	}
	if variant == "file" {
		if len(f.PublicKeyFile) == 0 {
			return "", fmt.Errorf("%w: no public key file of the target was given", ErrNotApplicable)
		}
		secret = f.PublicKeyFile
	}
	h := withAlg(p.header, token.HS256)
	if h.Index("kid") >= 0 {
		h.Set("kid", key.ID)
	}
	return signRaw(jwt.SigningMethodHS256, secret, h, p.mustRender())
}

// asymmetric is the issuer's first key with a public half to confuse, or
// nil; its private half is not needed.
func (f *Forger) asymmetric() *token.Key {
	if f.Keys == nil {
		return nil
	}
	for _, k := range f.Keys.Keys() {
		if k.Algorithm != token.HS256 {
			return k
		}
	}
	return nil
}

// publicBytes is the public key as an attacker would feed it to HMAC: its
// raw encoding, its PEM, its DER, or its JWK as JSON.
func publicBytes(key *token.Key, form string) ([]byte, error) {
	switch form {
	case "pem", "der":
		der, err := x509.MarshalPKIXPublicKey(key.Public)
		if err != nil {
			return nil, fmt.Errorf("encode the public key: %w", err)
		}
		if form == "der" {
			return der, nil
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	case "jwk":
		jwk, err := publicJWK(key)
		if err != nil {
			return nil, err
		}
		return jwk.MarshalJSON()
	}
	switch k := key.Public.(type) {
	case ed25519.PublicKey:
		return k, nil
	case *ecdsa.PublicKey:
		e, err := k.ECDH()
		if err != nil {
			return nil, err
		}
		return e.Bytes(), nil
	case *rsa.PublicKey:
		return x509.MarshalPKCS1PublicKey(k), nil
	}
	return nil, fmt.Errorf("%w: public key of type %T", ErrNotApplicable, key.Public)
}

// publicJWK is key's public half as a JWK object (an HMAC key's secret as "oct").
func publicJWK(key *token.Key) (Object, error) {
	if secret, ok := key.Public.([]byte); ok {
		return Object{{Name: "kty", Value: "oct"}, {Name: "k", Value: b64(secret)},
			{Name: "kid", Value: key.ID}, {Name: "alg", Value: key.Algorithm}}, nil
	}
	raw, err := jose.JSONWebKey{Key: key.Public, KeyID: key.ID, Algorithm: key.Algorithm, Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode the public key as a JWK: %w", err)
	}
	return DecodeObject(raw, false)
}

// forgeALG003 signs validly with an algorithm the target does not pin:
// other-key uses a key the issuer really has, of an unpinned algorithm (the
// issuer's HS256 key for a target pinning EdDSA and ES256); the family
// variants sign with the signing key itself under a sibling algorithm,
// which a verifier that lets the token's alg choose among its key's family accepts.
func forgeALG003(f *Forger, p *parts, variant string) (string, error) {
	pinned := f.algorithms()
	if variant == "other-key" {
		if f.Keys != nil {
			for _, k := range f.Keys.Keys() {
				if k.Private != nil && !slices.Contains(pinned, k.Algorithm) {
					return signAs(k, p.header, p.mustRender())
				}
			}
		}
		return "", fmt.Errorf("%w: the issuer has no trusted key outside the pinned algorithms %s", ErrNotApplicable, strings.Join(pinned, ", "))
	}
	sibling := familyAlgs[p.key.Algorithm][variant]
	if sibling == "" || slices.Contains(pinned, sibling) {
		return "", fmt.Errorf("%w: a %s key has no %s sibling outside the pinned algorithms", ErrNotApplicable, p.key.Algorithm, variant)
	}
	return signRaw(jwt.GetSigningMethod(sibling), p.key.Private, withAlg(p.header, sibling), p.mustRender())
}

// familyAlgs are, for a key's algorithm, the other algorithms its key material signs with.
var familyAlgs = map[string]map[string]string{
	token.RS256: {"family-384": "RS384", "family-512": "RS512", "family-pss": "PS256"},
	token.HS256: {"family-384": "HS384", "family-512": "HS512"},
}

// forgeKEY001 embeds the attacker's public key (of the issuer's algorithm) in the header and signs with it.
func forgeKEY001(f *Forger, p *parts, variant string) (string, error) {
	evil, err := f.attacker(p.key.Algorithm)
	if err != nil {
		return "", err
	}
	jwk, err := publicJWK(evil)
	if err != nil {
		return "", err
	}
	h := withAlg(p.header, evil.Algorithm)
	h.Set("jwk", jwk)
	if variant == "attacker-kid" {
		h.Set("kid", evil.ID)
	}
	return signRaw(jwt.GetSigningMethod(evil.Algorithm), evil.Private, h, p.mustRender())
}

// forgeKEY002 points the verifier at keys elsewhere and signs with the attacker's key of the issuer's algorithm.
func forgeKEY002(f *Forger, p *parts, variant string) (string, error) {
	evil, err := f.attacker(p.key.Algorithm)
	if err != nil {
		return "", err
	}
	trap := f.TrapURL
	if trap == "" {
		trap = "https://jwks.jitbench-forger.invalid/keys.json"
	}
	h := withAlg(p.header, evil.Algorithm)
	if h.Index("kid") >= 0 {
		h.Set("kid", evil.ID)
	}
	h.Set(variant, trap)
	return signRaw(jwt.GetSigningMethod(evil.Algorithm), evil.Private, h, p.mustRender())
}

// Kids of the kid cases.
const (
	// traversalKid climbs out of any key directory up to six levels deep to an empty file.
	traversalKid = "../../../../../../dev/null"
	// injectedSecret is what sqlKid's union selects: the key a verifier building SQL from kid would use.
	injectedSecret = "jitbench-kid-injection"
	sqlKid         = "x' UNION SELECT '" + injectedSecret + "' --"
)

// forgeKEY003 signs with the real key but names it wrongly, or not at all.
func forgeKEY003(f *Forger, p *parts, variant string) (string, error) {
	h := p.header.Clone()
	switch variant {
	case "traversal":
		h.Set("kid", traversalKid)
	case "sql":
		h.Set("kid", sqlKid)
	case "missing":
		if h.Index("kid") < 0 {
			return "", fmt.Errorf("%w: the target's tokens carry no kid", ErrNotApplicable)
		}
		h.Delete("kid")
	default:
		h.Set("kid", "jitbench-forged-unknown-kid")
	}
	return signRaw(jwt.GetSigningMethod(p.key.Algorithm), p.key.Private, withAlg(h, p.key.Algorithm), p.mustRender())
}

// forgeKEY004 signs with a retired key under its own kid.
func forgeKEY004(f *Forger, p *parts, _ string) (string, error) {
	key, err := f.retiredKey()
	if err != nil {
		return "", err
	}
	h := p.header.Clone()
	h.Set("kid", key.ID)
	return signAs(key, h, p.mustRender())
}

// forgeKEY005 attacks a verifier that loads the key kid names (a file, a
// database row): the token is HS256 and MACed with what the injection would
// load, an empty file's nothing or the SQL union's value.
func forgeKEY005(_ *Forger, p *parts, variant string) (string, error) {
	h := p.header.Clone()
	secret := []byte{}
	if variant == "sql" {
		h.Set("kid", sqlKid)
		secret = []byte(injectedSecret)
	} else {
		h.Set("kid", traversalKid)
	}
	return signRaw(jwt.SigningMethodHS256, secret, withAlg(h, token.HS256), p.mustRender())
}

// retiredKey picks the key KEY-004 signs with: one the target retired, one
// the issuer retired and whose overlap has passed, or a previous generation
// of the signing key the target never trusted (which a verifier that dropped
// a retired key sees the same way).
func (f *Forger) retiredKey() (*token.Key, error) {
	for _, k := range f.Retired {
		if k.Private != nil {
			return k, nil
		}
	}
	now := f.now()
	if f.Keys != nil {
		for _, k := range f.Keys.Keys() {
			if k.Private != nil && !k.VerifyUntil.IsZero() && now.After(k.VerifyUntil) {
				return k, nil
			}
		}
	}
	cur, err := f.signingKey()
	if err != nil {
		return nil, err
	}
	if cur.Algorithm == token.RS256 { // RSA keys cannot be derived: the attacker's, renamed
		evil, err := f.attacker(token.RS256)
		if err != nil {
			return nil, err
		}
		prev := *evil
		prev.ID = cur.ID + "-previous"
		return &prev, nil
	}
	return token.DeriveKey(cur.Algorithm, cur.ID+"-previous", "jitbench forger retired/"+f.Issuer+"/"+cur.ID)
}

// attacker returns a key of alg the target never trusted. EdDSA, ES256 and
// HS256 keys are derived, so runs are reproducible; an RS256 one is made once.
func (f *Forger) attacker(alg string) (*token.Key, error) {
	kid := "jitbench-attacker-" + strings.ToLower(alg)
	if alg != token.RS256 {
		return token.DeriveKey(alg, kid, "jitbench forger attacker/"+alg)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rsa == nil {
		k, err := token.GenerateKey(token.RS256, kid)
		if err != nil {
			return nil, err
		}
		f.rsa = k
	}
	return f.rsa, nil
}

// forgeCLM001 moves the whole window into the past, exp a minute beyond the leeway.
func forgeCLM001(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderExpires); err != nil {
		return "", err
	}
	life := f.lifetime(p)
	exp := f.now().Add(-f.leeway() - time.Minute)
	return f.changed(p, func(v *Values) { setWindow(v, exp.Add(-life), exp.Add(-life), exp) })
}

// forgeCLM002 removes exp.
func forgeCLM002(f *Forger, p *parts, _ string) (string, error) {
	at, err := wholeTime(p, PlaceholderExpires)
	if err != nil {
		return "", err
	}
	claims := p.mustRender()
	if !deleteAt(&claims, at) {
		return "", fmt.Errorf("%w: ${exp} is not a claim of its own", ErrNotApplicable)
	}
	return f.resign(p, claims)
}

// forgeCLM003 starts the window a minute beyond the leeway in the future.
func forgeCLM003(f *Forger, p *parts, variant string) (string, error) {
	name := PlaceholderNotBefore
	if variant == "iat" {
		name = PlaceholderIssuedAt
	}
	if err := need(p, name); err != nil {
		return "", err
	}
	life := f.lifetime(p)
	nbf := ceilSecond(f.now().Add(f.leeway() + time.Minute))
	iat := f.now()
	if variant == "iat" {
		iat = nbf
	}
	return f.changed(p, func(v *Values) { setWindow(v, iat, nbf, nbf.Add(life)) })
}

// forgeCLM004 makes a window a minute longer than the maximum lifetime, starting now.
func forgeCLM004(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderExpires); err != nil {
		return "", err
	}
	now := f.now()
	return f.changed(p, func(v *Values) { setWindow(v, now, now, now.Add(f.maxLifetime()+time.Minute)) })
}

// forgeCLM005 names another issuer.
func forgeCLM005(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderIssuer); err != nil {
		return "", err
	}
	return f.changed(p, func(v *Values) { v.Issuer = "jitbench-forged-issuer" })
}

// forgeCLM006 names another service.
func forgeCLM006(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderAudience); err != nil {
		return "", err
	}
	return f.changed(p, func(v *Values) { v.Audience = "jitbench.forged.v1.OtherService" })
}

// forgeCLM007 hands the grant to someone else.
func forgeCLM007(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderSubject); err != nil {
		return "", err
	}
	return f.changed(p, func(v *Values) { v.Subject += "-impostor" })
}

// forgeCLM008 makes a one-shot grant whose jti is the same on every call,
// so the second use is a replay whatever the valid grant's jti was.
func forgeCLM008(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderID); err != nil {
		return "", err
	}
	f.mu.Lock()
	if f.replayID == "" {
		f.replayID = "jitbench-replay-" + token.NewID()
	}
	id := f.replayID
	f.mu.Unlock()
	claims, err := p.renderWith(func(v *Values) { v.ID = id })
	if err != nil {
		return "", err
	}
	once := f.OneShot
	if once == nil {
		once = Object{{Name: "one_shot", Value: true}}
	}
	for _, m := range once {
		claims.Set(m.Name, cloneValue(m.Value))
	}
	return f.resign(p, claims)
}

// absurdTimes are CLM-009's values: past any int64 of nanoseconds, past
// float64's integers, the largest int64 (which wraps when turned into
// nanoseconds) and before the epoch.
var absurdTimes = map[string]json.Number{
	"1e19": "1e19", "1e308": "1e308", "int64": json.Number(strconv.FormatInt(1<<63-1, 10)), "negative": "-1",
}

// forgeCLM009 writes a time claim no clock reaches, validly signed.
func forgeCLM009(f *Forger, p *parts, variant string) (string, error) {
	claim, value, _ := strings.Cut(variant, "-")
	at, err := wholeTime(p, claim)
	if err != nil {
		return "", err
	}
	claims := p.mustRender()
	setAt(claims, at, absurdTimes[value])
	return f.resign(p, claims)
}

// forgeCLM010 types the token as another kind, validly signed.
func forgeCLM010(f *Forger, p *parts, _ string) (string, error) {
	other := f.otherTyp()
	if typ, _ := p.header.Get("typ"); strings.EqualFold(fmt.Sprint(typ), other) {
		return "", fmt.Errorf("%w: the token's typ is already %q", ErrNotApplicable, other)
	}
	h := p.header.Clone()
	h.Set("typ", other)
	return signAs(p.key, h, p.mustRender())
}

// outOfScopeMethod is a method no service has.
const outOfScopeMethod = "/jitbench.forged.v1.Nothing/OutOfScope"

// outOfScope makes v grant only a method other than the called one, of the
// same service, and a permission other than the one it needs.
func (f *Forger) outOfScope(v *Values) {
	other := outOfScopeMethod
	if len(f.Scope.Methods) > 0 {
		if svc, _, ok := strings.Cut(strings.TrimPrefix(f.Scope.Methods[0], "/"), "/"); ok && svc != "" {
			other = "/" + svc + "/JitbenchOutOfScope"
		}
	}
	needed := ""
	if len(v.Permissions) > 0 {
		needed = v.Permissions[0]
	}
	perm := "jitbench.forged.out-of-scope"
	for _, m := range slices.Sorted(maps.Keys(f.Permissions)) {
		if p := f.Permissions[m]; p != needed && p != "" {
			perm = p
			break
		}
	}
	v.Methods, v.Permissions = []string{f.MethodForm.Spell(other)}, []string{perm}
}

// forgeSCP001 grants a method the caller does not call.
func forgeSCP001(f *Forger, p *parts, _ string) (string, error) {
	if p.tmpl.ScopeClaim() == "" {
		return "", fmt.Errorf("%w: the claim template names no methods or permissions", ErrNotApplicable)
	}
	return f.changed(p, f.outOfScope)
}

// forgeSCP002 grants a resource the caller does not address.
func forgeSCP002(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderResource); err != nil {
		return "", err
	}
	return f.changed(p, func(v *Values) { v.Resource = "jitbench-forged/out-of-scope/*" })
}

// forgeSCP005 grants a look-alike of what the call needs: a name that
// extends it ("orders.readonly" for "orders.read"), a prefix of it, or one
// that contains it, which only a substring or prefix check accepts.
func forgeSCP005(f *Forger, p *parts, variant string) (string, error) {
	if p.tmpl.ScopeClaim() == "" || len(p.vals.Methods) == 0 || len(p.vals.Permissions) == 0 {
		return "", fmt.Errorf("%w: the claim template names no methods or permissions", ErrNotApplicable)
	}
	look := func(s, suffix string) (string, error) {
		switch variant {
		case "prefix":
			if len(s) < 2 {
				return "", fmt.Errorf("%w: %q is too short to have a prefix", ErrNotApplicable, s)
			}
			return s[:len(s)-1], nil
		case "contains":
			return "jitbench-" + s + "-lookalike", nil
		}
		return s + suffix, nil
	}
	method, err := look(p.vals.Methods[0], "2")
	if err != nil {
		return "", err
	}
	perm, err := look(p.vals.Permissions[0], "only")
	if err != nil {
		return "", err
	}
	return f.changed(p, func(v *Values) { v.Methods, v.Permissions = []string{method}, []string{perm} })
}

// forgeSKW001 is what a target clock ahead by leeway − 1 s sees: the grant
// expired that long ago, inside the leeway, so it still passes. exp is
// rounded up so the lost fraction of a second cannot push it out.
func forgeSKW001(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderExpires); err != nil {
		return "", err
	}
	life := f.lifetime(p)
	exp := ceilSecond(f.now().Add(-(f.leeway() - time.Second)))
	return f.changed(p, func(v *Values) { setWindow(v, exp.Add(-life), exp.Add(-life), exp) })
}

// forgeSKW002 is a target clock ahead by leeway + 1 s: expired one second beyond the leeway.
func forgeSKW002(f *Forger, p *parts, _ string) (string, error) {
	if err := need(p, PlaceholderExpires); err != nil {
		return "", err
	}
	life := f.lifetime(p)
	exp := f.now().Add(-(f.leeway() + time.Second)).Truncate(time.Second)
	return f.changed(p, func(v *Values) { setWindow(v, exp.Add(-life), exp.Add(-life), exp) })
}

// forgeSKW003 is a target clock behind the issuer's: the window starts one
// second beyond the leeway in the target's future.
func forgeSKW003(f *Forger, p *parts, _ string) (string, error) {
	if !p.tmpl.Uses(PlaceholderNotBefore) && !p.tmpl.Uses(PlaceholderIssuedAt) {
		return "", fmt.Errorf("%w: the claim template has neither ${nbf} nor ${iat}", ErrNotApplicable)
	}
	life := f.lifetime(p)
	nbf := ceilSecond(f.now().Add(f.leeway() + time.Second))
	return f.changed(p, func(v *Values) { setWindow(v, nbf, nbf, nbf.Add(life)) })
}
