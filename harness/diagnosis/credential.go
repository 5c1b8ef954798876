package diagnosis

import (
	"slices"
	"strings"
	"time"

	"github.com/jitbench/jitbench/reference/token"
)

// Credential roles.
const (
	roleGrant    = "grant"
	roleIdentity = "identity"
)

// credential is one token sent, decoded without trust, with what its
// signature check found. Nothing in it may be trusted.
type credential struct {
	role   string
	header string // the header that carried it
	raw    string
	// bad says why the token does not decode ("is not three ..."), "" when it does.
	bad           string
	alg, kid, typ string
	crit          bool
	iss, sub, jti string
	aud           []string
	hasAud        bool
	exp, nbf, iat time.Time
	hasExp        bool
	hasNbf        bool
	hasIat        bool
	sig           sigCheck
	// confusion words an HMAC token set against an asymmetric key, or "".
	confusion string
}

// newCredential decodes raw, sent as role, and checks its signature with keys
// (other: the other issuer's keys, to tell a token signed by the wrong one).
func newCredential(role, header, raw string, keys, other *token.KeySet) *credential {
	c := &credential{role: role, header: header, raw: raw}
	if raw == "" {
		return c
	}
	j, why := decodeJOSE(raw)
	if why != "" {
		c.bad = why
		return c
	}
	f := &fields{j: j}
	c.alg = f.str(j.header, "header", "alg")
	c.kid = f.str(j.header, "header", "kid")
	c.typ = f.str(j.header, "header", "typ")
	_, c.crit = j.header["crit"]
	c.iss = f.str(j.claims, "claim", "iss")
	c.sub = f.str(j.claims, "claim", "sub")
	c.jti = f.str(j.claims, "claim", "jti")
	c.aud, c.hasAud = f.audience()
	c.exp, c.hasExp = f.time("exp")
	c.nbf, c.hasNbf = f.time("nbf")
	c.iat, c.hasIat = f.time("iat")
	if _, ok := j.header["alg"]; !ok {
		f.fail("has no alg header")
	}
	if f.bad != "" {
		c.bad = f.bad
		return c
	}
	if !strings.EqualFold(c.alg, "none") {
		c.confusion = keyConfusion(j, c.alg, c.kid, keys)
		c.sig = checkSignature(j, c.alg, c.kid, keys, other)
	}
	return c
}

// missing reports whether the credential was not attached.
func (c *credential) missing() bool { return c.raw == "" }

// decoded reports whether the token was attached and decodes.
func (c *credential) decoded() bool { return c.raw != "" && c.bad == "" }

// name is how a summary calls the credential.
func (c *credential) name() string {
	if c.role == roleGrant {
		return "the grant"
	}
	return "the identity token"
}

// otherName is how a summary calls the other role's credential.
func (c *credential) otherName() string {
	if c.role == roleGrant {
		return "the identity token"
	}
	return "the grant"
}

// checks says what was checked on the credential and how it stands, for a
// summary that must say what was found fine: "exp in 4m59s, alg ES256 pinned, ...".
func (c *credential) checks(f *facts) string {
	switch {
	case c.missing():
		return "not attached"
	case !c.decoded():
		return "malformed: it " + c.bad
	}
	var out []string
	switch {
	case !f.nowKnown:
		out = append(out, "times not judged (send time unknown)")
	case c.hasExp:
		out = append(out, "exp "+rel(c.exp, f.now))
	default:
		out = append(out, "no exp")
	}
	if f.nowKnown && c.hasNbf {
		out = append(out, "nbf "+rel(c.nbf, f.now))
	}
	if f.nowKnown && c.hasIat {
		out = append(out, "iat "+rel(c.iat, f.now))
	}
	if slices.Contains(f.target.algorithms(), c.alg) {
		out = append(out, "alg "+c.alg+" pinned")
	} else {
		out = append(out, "alg "+quote(c.alg))
	}
	out = append(out, c.claimCheck("iss", c.issuerOK(f), f.issuer(c.role) != ""))
	out = append(out, c.claimCheck("aud", c.audienceOK(f), f.target.Audience != ""))
	if max := f.target.maxLifetime(); c.role == roleGrant && max > 0 {
		if life, ok := c.lifetime(); ok {
			out = append(out, "lifetime "+dur(life)+" within "+dur(max))
		}
	}
	out = append(out, c.sigWords())
	return strings.Join(out, ", ")
}

func (c *credential) claimCheck(name string, ok, declared bool) string {
	switch {
	case !declared:
		return name + " not declared"
	case ok:
		return name + " ok"
	}
	return name + " wrong"
}

// issuerOK reports whether iss is the declared one (true when none is declared).
func (c *credential) issuerOK(f *facts) bool {
	want := f.issuer(c.role)
	return want == "" || c.iss == want
}

// audienceOK reports whether aud holds the declared audience (true when none is declared).
func (c *credential) audienceOK(f *facts) bool {
	return f.target.Audience == "" || slices.Contains(c.aud, f.target.Audience)
}

// lifetime is exp minus iat (or nbf when there is no iat).
func (c *credential) lifetime() (time.Duration, bool) {
	switch {
	case !c.hasExp:
		return 0, false
	case c.hasIat:
		return c.exp.Sub(c.iat), true
	case c.hasNbf:
		return c.exp.Sub(c.nbf), true
	}
	return 0, false
}

// sigWords says how the signature stands, in a few words.
func (c *credential) sigWords() string {
	switch c.sig.verdict {
	case sigUnchecked:
		return "signature not checked (no keys given)"
	case sigVerified:
		return "signature verified (kid " + quote(c.sig.by) + ")"
	case sigUnknownKid:
		return "signature verified by key " + quote(c.sig.by) + " though its kid " + quote(c.kid) + " names no key of the issuer"
	}
	return "signature invalid"
}
