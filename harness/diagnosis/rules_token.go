package diagnosis

import (
	"fmt"
	"strings"
)

// The rows of the credentials' form and claims, in the order a verifier
// checks them. Each finds hard evidence in the tokens first, then what the
// target said.

func matchMissing(f *facts) finding {
	if c := f.firstCred((*credential).missing); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return f.saidAbout(CauseCredentialsMissing)
}

func sayMissing(f *facts, h finding) (string, string) {
	if h.by == byEvidence {
		var gone, where []string
		for _, c := range f.creds {
			if c.missing() {
				gone = append(gone, c.name())
				where = append(where, c.name()+" in "+c.header)
			}
		}
		s := "no " + strings.TrimPrefix(gone[0], "the ") + " was attached (header " + h.cred.header + ")"
		if len(gone) == 2 {
			s = "neither " + gone[0] + " (header " + f.creds[0].header + ") nor " + gone[1] + " (header " + f.creds[1].header + ") was attached"
		}
		return s, "attach " + list(where) + " on every call, retries and streams included (per-RPC credentials)"
	}
	var sent []string
	for _, c := range f.creds {
		sent = append(sent, c.name()+" in "+c.header)
	}
	return "every credential was attached (" + list(sent) + "), yet the service says one is missing: it reads another header or scheme than the config declares",
		"check the credential headers the config declares (their names and schemes) against the ones the service reads"
}

func matchMalformed(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return !c.missing() && (!c.decoded() || c.crit) }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return f.saidAbout(CauseMalformedToken)
}

func sayMalformed(f *facts, h finding) (string, string) {
	c := h.cred
	switch {
	case h.by == byEvidence && c.bad != "":
		return c.name() + " " + c.bad,
			"send " + c.name() + " exactly as its issuer made it: three strict base64url segments, a header and a payload that are JSON objects without repeated names, time claims in seconds"
	case h.by == byEvidence:
		return c.name() + " has a crit header: a service must refuse a token whose critical extensions it does not understand (RFC 7515 §4.1.11)",
			"leave crit out of " + c.name() + " unless the service implements the extensions it names"
	}
	return "the credentials sent are well-formed JWTs (" + f.validWords() + "), yet the service says it cannot read one: it expects another format or header scheme",
		"check the header schemes the config declares (a \"Bearer \" prefix or none) and the token format the service reads"
}

func matchAlgNone(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return c.decoded() && strings.EqualFold(c.alg, "none") }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return finding{}
}

func sayAlgNone(f *facts, h finding) (string, string) {
	return fmt.Sprintf("%s has alg %s: it is unsigned, and no verifier may accept it", h.cred.name(), quote(h.cred.alg)),
		"sign " + h.cred.name() + " with its issuer's key (alg one of " + strings.Join(f.target.algorithms(), ", ") + "); an unsigned token only tests that the service refuses it"
}

func nameOr(c *credential, def string) string {
	if c == nil {
		return def
	}
	return c.name()
}

func matchIssuer(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return c.decoded() && !c.issuerOK(f) }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return f.saidAbout(CauseWrongIssuer)
}

func sayIssuer(f *facts, h finding) (string, string) {
	c := h.cred
	if h.by == byEvidence {
		want := f.issuer(c.role)
		s := fmt.Sprintf("%s has iss %s; the service trusts %s", c.name(), quote(c.iss), quote(want))
		return s, fmt.Sprintf("have %s issued by %s, or declare the issuer the service really trusts", c.name(), quote(want))
	}
	if c == nil || !c.decoded() {
		return "the service refused the issuer of the credentials", "declare the issuer the service really trusts"
	}
	return fmt.Sprintf("the service refused the issuer of %s, iss %s, which the config declares: it trusts another issuer", c.name(), quote(c.iss)),
		"declare the issuer the service really trusts, and have the tokens issued by it"
}

func otherRole(role string) string {
	if role == roleGrant {
		return roleIdentity
	}
	return roleGrant
}

func matchAudience(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return c.decoded() && !c.audienceOK(f) }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return f.saidAbout(CauseWrongAudience)
}

func sayAudience(f *facts, h finding) (string, string) {
	c, want := h.cred, quote(f.target.Audience)
	if h.by == byEvidence {
		if !c.hasAud {
			return fmt.Sprintf("%s has no aud claim; the service expects %s", c.name(), want),
				fmt.Sprintf("have %s issued for the service's audience %s", c.name(), want)
		}
		return fmt.Sprintf("%s has aud %s; the service expects %s", c.name(), quote(strings.Join(c.aud, ",")), want),
			fmt.Sprintf("have %s issued for the service's audience %s, not another service's", c.name(), want)
	}
	if c == nil || !c.decoded() {
		return "the service refused the audience of the credentials", "declare the audience the service really expects"
	}
	return fmt.Sprintf("the service refused the audience of %s, aud %s, which the config declares: it expects another audience", c.name(), quote(strings.Join(c.aud, ","))),
		"declare the audience the service really expects (its name), and have the tokens issued for it"
}

func matchClaimMissing(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return c.decoded() && !c.hasExp }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return f.saidAbout(CauseClaimMissing)
}

func sayClaimMissing(_ *facts, h finding) (string, string) {
	c := h.cred
	if h.by == byEvidence {
		return c.name() + " has no exp claim, which a service requires to bound a token's life",
			"have the issuer set exp (and iat) on every " + strings.TrimPrefix(c.name(), "the ") + "; check the claim layout the config declares"
	}
	return "the service says a claim is missing from " + nameOr(c, "a credential") + ", which carries " + registered(c) + ": its claim layout differs from the one the config declares",
		"compare the claim layout the config declares with the claims the service requires"
}

// registered lists the registered claims c carries, for words.
func registered(c *credential) string {
	if c == nil || !c.decoded() {
		return "claims that could not be read"
	}
	var have []string
	for _, x := range []struct {
		name string
		ok   bool
	}{{"iss", c.iss != ""}, {"sub", c.sub != ""}, {"aud", c.hasAud}, {"exp", c.hasExp}, {"nbf", c.hasNbf}, {"iat", c.hasIat}, {"jti", c.jti != ""}} {
		if x.ok {
			have = append(have, x.name)
		}
	}
	if len(have) == 0 {
		return "no registered claim"
	}
	return list(have)
}

func matchSubject(f *facts) finding {
	if f.refused() && f.identity != nil && f.grant.decoded() && f.identity.decoded() &&
		f.grant.sub != "" && f.identity.sub != "" && f.grant.sub != f.identity.sub {
		return finding{by: byEvidence, cred: f.grant}
	}
	return f.saidAbout(CauseSubjectMismatch)
}

func saySubject(f *facts, h finding) (string, string) {
	if h.by == byEvidence {
		return fmt.Sprintf("the grant names sub %s, the identity token %s: a grant works only for the identity it was issued to", quote(f.grant.sub), quote(f.identity.sub)),
			"request the grant as the caller the identity token names"
	}
	sub := ""
	if c := h.cred; c != nil && c.decoded() && c.sub != "" {
		sub = ", sub " + quote(c.sub)
	}
	return "the service says the subject does not match (" + nameOr(h.cred, "the credentials") + sub + "): it reads the subject from another claim, or the tokens name different callers",
		"issue the identity token and the grant to the same subject, in the claim the service reads"
}

// misplaced reports whether c is the other role's token: it carries the
// other issuer's iss (the two issuers declared, and distinct).
func (f *facts) misplaced(c *credential) bool {
	own, other := f.issuer(c.role), f.issuer(otherRole(c.role))
	return c.decoded() && f.identity != nil && own != "" && other != "" && own != other && c.iss == other
}

func matchWrongType(f *facts) finding {
	if c := f.firstCred(f.misplaced); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return f.saidAbout(CauseWrongType)
}

func sayWrongType(f *facts, h finding) (string, string) {
	c := h.cred
	fix := "send each token in its own header: the identity token in " + f.target.header(roleIdentity) + ", the grant in " + f.target.header(roleGrant)
	if h.by == byEvidence {
		s := fmt.Sprintf("%s (header %s) carries iss %s, the issuer of %s: it is %s sent in the wrong header",
			c.name(), c.header, quote(c.iss), c.otherName(), strings.Replace(strings.Replace(c.otherName(), "the identity", "an identity", 1), "the grant", "a grant", 1))
		if f.misplaced(f.grant) && f.misplaced(f.identity) {
			s = fmt.Sprintf("the grant and the identity token were swapped: the token in %s carries iss %s, the one in %s iss %s",
				f.grant.header, quote(f.grant.iss), f.identity.header, quote(f.identity.iss))
		}
		return s, fix
	}
	typ := ""
	if c != nil && c.decoded() {
		typ = " (typ " + quote(c.typ) + ")"
	}
	return "the service refused the kind of " + nameOr(c, "a credential") + typ + ": it expects another typ header, or the tokens were sent in each other's header",
		"set the typ header the service expects on each token; " + fix
}
