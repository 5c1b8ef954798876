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
	"slices"
	"strconv"
	"strings"
	"time"

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

// forgeCatalog has every token-level row of CONFORMANCE.md. Rows that are
// not about the token's text are faults of other kinds: ID-001 is
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
	{ForgeCase{ID: "FMT-003", Summary: "64 KiB: dots only, or a validly signed token padded to 64 KiB",
		Credentials: both, Variants: []string{"dots", "padded"}}, forgeFMT003},
	{ForgeCase{ID: "FMT-004", Summary: "a time claim of the wrong type (a string), validly signed",
		Credentials: both, Variants: []string{"exp-string", "iat-string"}}, forgeFMT004},

	{ForgeCase{ID: "SIG-001", Summary: "signature stripped (h.p.)",
		Credentials: both, Variants: []string{"stripped"}}, forgeSIG001},
	{ForgeCase{ID: "SIG-002", Summary: "payload tampered (wider scope, more groups), original signature kept",
		Credentials: both, Variants: []string{"payload"}}, forgeSIG002},
	{ForgeCase{ID: "SIG-003", Summary: "signed by an unknown key, under the real kid or an unknown one",
		Credentials: both, Variants: []string{"known-kid", "unknown-kid"}}, forgeSIG003},
	{ForgeCase{ID: "SIG-004", Summary: "ES256 signature r=s=0, one byte short or one byte long",
		Credentials: both, Variants: []string{"zero", "short", "long"}}, forgeSIG004},

	{ForgeCase{ID: "ALG-001", Summary: "alg none, in its four spellings, no signature",
		Credentials: both, Variants: []string{"none", "None", "NONE", "nOnE"}}, forgeALG001},
	{ForgeCase{ID: "ALG-002", Summary: "HS256 keyed with the issuer's public key (raw bytes or PEM)",
		Credentials: both, Variants: []string{"raw", "pem"}}, forgeALG002},
	{ForgeCase{ID: "ALG-003", Summary: "validly signed with an algorithm the target does not pin",
		Credentials: both, Variants: []string{"unpinned"}}, forgeALG003},

	{ForgeCase{ID: "KEY-001", Summary: "self-signed with an embedded jwk header",
		Credentials: both, Variants: []string{"attacker-kid", "known-kid"}}, forgeKEY001},
	{ForgeCase{ID: "KEY-002", Summary: "jku or x5u header pointing at the trap URL",
		Credentials: both, Variants: []string{"jku", "x5u"}}, forgeKEY002},
	{ForgeCase{ID: "KEY-003", Summary: "kid unknown, path traversal, SQL-ish or missing, otherwise validly signed; or kid /dev/null by traversal, HS256 with an empty key",
		Credentials: both, Variants: []string{"unknown", "traversal", "sql", "missing", "devnull-hs256"}}, forgeKEY003},
	{ForgeCase{ID: "KEY-004", Summary: "signed by a retired key under its kid",
		Credentials: both, Variants: []string{"retired"}}, forgeKEY004},

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

	{ForgeCase{ID: "SCP-001", Summary: "scope names only a method outside what is called",
		Credentials: grantOnly, Variants: []string{"method"}}, forgeSCP001},
	{ForgeCase{ID: "SCP-002", Summary: "scope names only a resource outside what is called",
		Credentials: grantOnly, Variants: []string{"resource"}}, forgeSCP002},

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
	c, variant, err := lookupCase(id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.ID == "ID-002" && variant == "basic":
		return []string{"Basic " + tok}, nil
	case c.ID == "ID-002":
		return []string{tok}, nil
	case c.ID == "ID-003":
		return []string{"Bearer " + tok, "Bearer " + tok}, nil
	}
	return nil, fmt.Errorf("%w: %s is not a header-level case: use Forger.Mutate", ErrNotApplicable, c.ID)
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
		key, err := f.keyFor(p)
		if err != nil {
			return "", err
		}
		return signAs(key, p.header, []byte("jitbench: this payload is not JSON"))
	case "header-json":
		key, err := f.keyFor(p)
		if err != nil {
			return "", err
		}
		input := b64([]byte("{not json")) + "." + strings.SplitN(mustInput(p), ".", 2)[1]
		sig, err := jwt.GetSigningMethod(key.Algorithm).Sign(input, key.Private)
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
	key, err := f.keyFor(p)
	if err != nil {
		return "", err
	}
	h := cloneMap(p.header)
	h["alg"], h["kid"] = key.Algorithm, key.ID
	hj, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cj, err := json.Marshal(p.claims)
	if err != nil {
		return "", err
	}
	// Trailing spaces keep the JSON valid and make sure padding ('=') shows.
	for len(cj)%3 == 0 {
		cj = append(cj, ' ')
	}
	input := base64.StdEncoding.EncodeToString(hj) + "." + base64.StdEncoding.EncodeToString(cj)
	sig, err := jwt.GetSigningMethod(key.Algorithm).Sign(input, key.Private)
	if err != nil {
		return "", err
	}
	return input + "." + base64.StdEncoding.EncodeToString(sig), nil
}

// mustInput is p's signing input; encoding generic JSON maps cannot fail.
func mustInput(p *parts) string {
	in, err := encodeInput(p.header, p.claims)
	if err != nil {
		panic(err)
	}
	return in
}

// forgeFMT003 is the CVE-2025-30204 class: a token large enough to make a
// careless parser allocate or loop.
func forgeFMT003(f *Forger, p *parts, variant string) (string, error) {
	const size = 64 << 10
	if variant == "padded" {
		p.claims["pad"] = strings.Repeat("A", size)
		return f.resign(p)
	}
	return strings.Repeat(".", size), nil
}

// forgeFMT004 gives a time claim the wrong JSON type, validly signed.
func forgeFMT004(f *Forger, p *parts, variant string) (string, error) {
	name := "exp"
	if variant == "iat-string" {
		name = "iat"
	}
	t, ok := claimTime(p.claims, name)
	if !ok {
		t = f.now()
	}
	p.claims[name] = strconv.FormatInt(t.Unix(), 10)
	return f.resign(p)
}

// segments returns p's compact segments, signing p first when it was crafted.
func (f *Forger) segments(p *parts) ([3]string, error) {
	if p.seg[0] != "" {
		return p.seg, nil
	}
	raw, err := f.resign(p)
	if err != nil {
		return [3]string{}, err
	}
	s := strings.Split(raw, ".")
	return [3]string{s[0], s[1], s[2]}, nil
}

// forgeSIG001 drops the signature.
func forgeSIG001(f *Forger, p *parts, _ string) (string, error) {
	seg, err := f.segments(p)
	if err != nil {
		return "", err
	}
	return seg[0] + "." + seg[1] + ".", nil
}

// forgeSIG002 widens what the token allows and how long, and keeps the
// original signature.
func forgeSIG002(f *Forger, p *parts, _ string) (string, error) {
	seg, err := f.segments(p)
	if err != nil {
		return "", err
	}
	if f.credential() == CredentialGrant {
		p.claims["scope"] = map[string]any{"methods": []string{"*"}, "resource": "*"}
	} else {
		p.claims["groups"] = []string{"admins"}
	}
	exp, ok := claimTime(p.claims, "exp")
	if !ok {
		exp = f.now()
	}
	p.claims["exp"] = exp.Add(time.Hour).Unix() // always a change, even to a crafted token
	input, err := encodeInput(p.header, p.claims)
	if err != nil {
		return "", err
	}
	return input + "." + seg[2], nil
}

// forgeSIG003 signs with an attacker's key of the same algorithm.
func forgeSIG003(f *Forger, p *parts, variant string) (string, error) {
	real, err := f.keyFor(p)
	if err != nil {
		return "", err
	}
	evil, err := f.attacker(real.Algorithm)
	if err != nil {
		return "", err
	}
	h := cloneMap(p.header)
	kid := real.ID
	if variant == "unknown-kid" {
		kid = evil.ID
	}
	h["alg"], h["kid"] = evil.Algorithm, kid
	return signRaw(jwt.GetSigningMethod(evil.Algorithm), evil.Private, h, p.claims)
}

// forgeSIG004 sends ES256 signatures of the wrong value or length, under
// the issuer's ES256 kid, so the signature check itself is reached.
func forgeSIG004(f *Forger, p *parts, variant string) (string, error) {
	key := f.keyOf(token.ES256)
	h := cloneMap(p.header)
	h["alg"] = token.ES256
	if key != nil {
		h["kid"] = key.ID
	}
	input, err := encodeInput(h, p.claims)
	if err != nil {
		return "", err
	}
	if variant == "zero" {
		return input + "." + b64(make([]byte, 64)), nil // r = s = 0
	}
	if key == nil {
		return "", fmt.Errorf("%w: the issuer has no ES256 key to sign with", ErrNotApplicable)
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
	h := cloneMap(p.header)
	h["alg"] = variant
	input, err := encodeInput(h, p.claims)
	if err != nil {
		return "", err
	}
	return input + ".", nil
}

// forgeALG002 is the algorithm-confusion attack: HMAC keyed with the public
// key a verifier holds, in the hope it uses "its key" with the token's alg.
func forgeALG002(f *Forger, p *parts, variant string) (string, error) {
	key, err := f.keyFor(p)
	if err != nil {
		return "", err
	}
	if key.Algorithm == token.HS256 {
		if key = f.keyOf(token.EdDSA); key == nil {
			if key = f.keyOf(token.ES256); key == nil {
				return "", fmt.Errorf("%w: the issuer has no asymmetric key", ErrNotApplicable)
			}
		}
	}
	secret, err := publicBytes(key.Public, variant == "pem")
	if err != nil {
		return "", err
	}
	h := cloneMap(p.header)
	h["alg"], h["kid"] = token.HS256, key.ID
	return signRaw(jwt.SigningMethodHS256, secret, h, p.claims)
}

// publicBytes is the public key as an attacker would feed it to HMAC: its raw encoding or its PEM.
func publicBytes(pub any, asPEM bool) ([]byte, error) {
	if asPEM {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("encode the public key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	}
	switch k := pub.(type) {
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
	return nil, fmt.Errorf("%w: public key of type %T", ErrNotApplicable, pub)
}

// forgeALG003 signs validly, under a kid the issuer really has, with an
// algorithm the target does not pin (the issuer's HS256 key for a target
// pinning EdDSA and ES256).
func forgeALG003(f *Forger, p *parts, _ string) (string, error) {
	pinned := f.algorithms()
	var key *token.Key
	if f.Keys != nil {
		for _, k := range f.Keys.Keys() {
			if k.Private != nil && !slices.Contains(pinned, k.Algorithm) {
				key = k
				break
			}
		}
	}
	if key == nil {
		if slices.Contains(pinned, token.RS256) {
			return "", fmt.Errorf("%w: the target pins every algorithm the forger can sign with", ErrNotApplicable)
		}
		var err error
		if key, err = f.attacker(token.RS256); err != nil {
			return "", err
		}
	}
	return signAs(key, p.header, p.claims)
}

// forgeKEY001 embeds the attacker's public key in the header and signs with it.
func forgeKEY001(f *Forger, p *parts, variant string) (string, error) {
	evil, err := f.attacker(token.EdDSA)
	if err != nil {
		return "", err
	}
	h := cloneMap(p.header)
	pub, _ := evil.Public.(ed25519.PublicKey)
	h["jwk"] = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "kid": evil.ID, "alg": token.EdDSA, "use": "sig"}
	h["alg"], h["kid"] = token.EdDSA, evil.ID
	if variant == "known-kid" {
		if real, err := f.keyFor(p); err == nil {
			h["kid"] = real.ID
		}
	}
	return signRaw(jwt.SigningMethodEdDSA, evil.Private, h, p.claims)
}

// forgeKEY002 points the verifier at keys elsewhere and signs with the attacker's.
func forgeKEY002(f *Forger, p *parts, variant string) (string, error) {
	evil, err := f.attacker(token.EdDSA)
	if err != nil {
		return "", err
	}
	trap := f.TrapURL
	if trap == "" {
		trap = "https://jwks.jitbench-forger.invalid/keys.json"
	}
	h := cloneMap(p.header)
	h["alg"], h["kid"] = token.EdDSA, evil.ID
	h[variant] = trap
	return signRaw(jwt.SigningMethodEdDSA, evil.Private, h, p.claims)
}

// traversalKid climbs out of any key directory up to six levels deep to an empty file.
const traversalKid = "../../../../../../dev/null"

// forgeKEY003 signs with the real key but names it wrongly; devnull-hs256
// instead attacks a verifier that reads the key file kid names: /dev/null
// is empty, so it would check an HMAC made with an empty key.
func forgeKEY003(f *Forger, p *parts, variant string) (string, error) {
	h := cloneMap(p.header)
	if variant == "devnull-hs256" {
		h["alg"], h["kid"] = token.HS256, traversalKid
		return signRaw(jwt.SigningMethodHS256, []byte{}, h, p.claims)
	}
	key, err := f.keyFor(p)
	if err != nil {
		return "", err
	}
	h["alg"] = key.Algorithm
	switch variant {
	case "traversal":
		h["kid"] = traversalKid
	case "sql":
		h["kid"] = "x' UNION SELECT 'secret' --"
	case "missing":
		delete(h, "kid")
	default:
		h["kid"] = "jitbench-forged-unknown-kid"
	}
	return signRaw(jwt.GetSigningMethod(key.Algorithm), key.Private, h, p.claims)
}

// forgeKEY004 signs with a retired key under its own kid.
func forgeKEY004(f *Forger, p *parts, _ string) (string, error) {
	key, err := f.retiredKey()
	if err != nil {
		return "", err
	}
	return signAs(key, p.header, p.claims)
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
	alg := cur.Algorithm
	if alg == token.RS256 {
		alg = token.EdDSA
	}
	return token.DeriveKey(alg, cur.ID+"-previous", "jitbench forger retired/"+f.Issuer+"/"+cur.ID)
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
	life := f.lifetime(p)
	exp := f.now().Add(-f.leeway() - time.Minute)
	setWindow(p.claims, exp.Add(-life), exp.Add(-life), exp)
	return f.resign(p)
}

// forgeCLM002 removes exp.
func forgeCLM002(f *Forger, p *parts, _ string) (string, error) {
	delete(p.claims, "exp")
	return f.resign(p)
}

// forgeCLM003 starts the window a minute beyond the leeway in the future.
func forgeCLM003(f *Forger, p *parts, variant string) (string, error) {
	life := f.lifetime(p)
	nbf := ceilSecond(f.now().Add(f.leeway() + time.Minute))
	iat := f.now()
	if variant == "iat" {
		iat = nbf
	}
	setWindow(p.claims, iat, nbf, nbf.Add(life))
	return f.resign(p)
}

// forgeCLM004 makes a window a minute longer than the maximum lifetime, starting now.
func forgeCLM004(f *Forger, p *parts, _ string) (string, error) {
	now := f.now()
	setWindow(p.claims, now, now, now.Add(f.maxLifetime()+time.Minute))
	return f.resign(p)
}

// forgeCLM005 names another issuer.
func forgeCLM005(f *Forger, p *parts, _ string) (string, error) {
	p.claims["iss"] = "jitbench-forged-issuer"
	return f.resign(p)
}

// forgeCLM006 names another service.
func forgeCLM006(f *Forger, p *parts, _ string) (string, error) {
	p.claims["aud"] = "jitbench.forged.v1.OtherService"
	return f.resign(p)
}

// forgeCLM007 hands the grant to someone else.
func forgeCLM007(f *Forger, p *parts, _ string) (string, error) {
	sub, _ := p.claims["sub"].(string)
	p.claims["sub"] = sub + "-impostor"
	return f.resign(p)
}

// forgeCLM008 makes a one-shot grant whose jti is the same on every call,
// so the second use is a replay whatever the valid grant's jti was.
func forgeCLM008(f *Forger, p *parts, _ string) (string, error) {
	f.mu.Lock()
	if f.replayID == "" {
		f.replayID = "jitbench-replay-" + token.NewID()
	}
	p.claims["jti"] = f.replayID
	f.mu.Unlock()
	p.claims["one_shot"] = true
	return f.resign(p)
}

// outOfScopeMethod is a method no service has.
const outOfScopeMethod = "/jitbench.forged.v1.Nothing/OutOfScope"

// forgeSCP001 grants a method the caller does not call.
func forgeSCP001(f *Forger, p *parts, _ string) (string, error) {
	scope, _ := p.claims["scope"].(map[string]any)
	scope = cloneMap(scope)
	scope["methods"] = []string{outOfScopeMethod}
	p.claims["scope"] = scope
	return f.resign(p)
}

// forgeSCP002 grants a resource the caller does not address.
func forgeSCP002(f *Forger, p *parts, _ string) (string, error) {
	scope, _ := p.claims["scope"].(map[string]any)
	scope = cloneMap(scope)
	scope["resource"] = "jitbench-forged/out-of-scope/*"
	p.claims["scope"] = scope
	return f.resign(p)
}

// forgeSKW001 is what a target clock ahead by leeway − 1 s sees: the grant
// expired that long ago, inside the leeway, so it still passes. exp is
// rounded up so the lost fraction of a second cannot push it out.
func forgeSKW001(f *Forger, p *parts, _ string) (string, error) {
	life := f.lifetime(p)
	exp := ceilSecond(f.now().Add(-(f.leeway() - time.Second)))
	setWindow(p.claims, exp.Add(-life), exp.Add(-life), exp)
	return f.resign(p)
}

// forgeSKW002 is a target clock ahead by leeway + 1 s: expired one second beyond the leeway.
func forgeSKW002(f *Forger, p *parts, _ string) (string, error) {
	life := f.lifetime(p)
	exp := f.now().Add(-(f.leeway() + time.Second)).Truncate(time.Second)
	setWindow(p.claims, exp.Add(-life), exp.Add(-life), exp)
	return f.resign(p)
}

// forgeSKW003 is a target clock behind the issuer's: the window starts one
// second beyond the leeway in the target's future.
func forgeSKW003(f *Forger, p *parts, _ string) (string, error) {
	life := f.lifetime(p)
	nbf := ceilSecond(f.now().Add(f.leeway() + time.Second))
	setWindow(p.claims, nbf, nbf, nbf.Add(life))
	return f.resign(p)
}
