package diagnosis

import (
	"fmt"
	"slices"
	"strings"
)

// The rows of the credentials' algorithm, key and signature.

func matchKeyConfusion(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return c.decoded() && c.confusion != "" }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return finding{}
}

func sayKeyConfusion(_ *facts, h finding) (string, string) {
	return h.cred.name() + " is an HMAC token set against a public key (algorithm confusion): " + h.cred.confusion,
		"sign " + h.cred.name() + " with its issuer's own algorithm; a service must bind each key to one algorithm and refuse HS* for an asymmetric key"
}

func matchAlgorithm(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool {
		return c.decoded() && !slices.Contains(f.target.algorithms(), c.alg)
	}); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	if x := f.faultOf(kindVerifierAlgs); x != nil && f.refused() {
		return finding{by: byFault, cred: f.spokenOf(), fault: x}
	}
	return f.saidAbout(CauseAlgorithmNotAccepted)
}

func sayAlgorithm(f *facts, h finding) (string, string) {
	pinned := strings.Join(f.target.algorithms(), ", ")
	switch {
	case h.by == byEvidence:
		return fmt.Sprintf("%s offers alg %s; the service pins %s", h.cred.name(), quote(h.cred.alg), pinned),
			"sign " + h.cred.name() + " with an algorithm the service pins (" + pinned + "), or declare the list the service really pins"
	case h.fault != nil:
		return "a fault changed the algorithms the service accepts (" + h.fault.describe() + ")" + algOf(h.cred),
			"expected under this fault: the service refuses the algorithms it no longer pins"
	}
	return "the service refused the algorithm" + algOf(h.cred) + ", which the config declares pinned (" + pinned + "): the service pins another list than declared",
		"declare the algorithms the service really pins, and sign with one of them"
}

func algOf(c *credential) string {
	if c == nil || !c.decoded() {
		return ""
	}
	return " of " + c.name() + " (" + quote(c.alg) + ")"
}

func matchSignature(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return c.decoded() && c.sig.invalid() }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	if x := f.faultOf(kindVerifierKey, kindKeyRotation); x != nil && f.refused() {
		return finding{by: byFault, cred: f.spokenOf(), fault: x}
	}
	return f.saidAbout(CauseSignatureInvalid)
}

func saySignature(f *facts, h finding) (string, string) {
	c := h.cred
	fix := "sign " + nameOr(c, "the token") + " with its issuer's key, name that key in kid, and send the token unaltered"
	switch {
	case h.by == byEvidence:
		return c.name() + " " + c.sigProblem(), fix
	case h.fault != nil:
		return "the service was given another key than the issuer signs with (" + h.fault.describe() + "); " + nameOr(c, "the token") + sigState(c),
			"expected under this fault: the service cannot verify what the issuer signs"
	}
	if c == nil || c.sig.verdict != sigVerified {
		return "the service says the signature does not verify; " + nameOr(c, "the token") + sigState(c) + ": it was altered, or the service verifies with another key than the issuer signs with",
			"give the issuers' keys to the diagnosis to tell which; give the service the issuer's current public keys"
	}
	return "the service says the signature does not verify; " + c.name() + sigState(c) + ": the service verifies with another key than the config declares (a different or stale key set)",
		"give the service the issuer's current public keys, or declare the keys the service really trusts"
}

// sigProblem words an invalid signature verdict, to follow the credential's name.
func (c *credential) sigProblem() string {
	s := c.sig
	switch s.verdict {
	case sigShape:
		return "cannot be verified: " + s.shape
	case sigWrongKid:
		return fmt.Sprintf("verifies with its issuer's key %s, but its kid names %s, which a service checks it with", quote(s.by), quote(c.kid))
	case sigKidOtherAlg:
		return fmt.Sprintf("says alg %s, but its kid %s names the issuer's %s key", quote(c.alg), quote(c.kid), s.byAlg)
	case sigOtherIssuer:
		return fmt.Sprintf("was signed with the other issuer's key %s (the one of %s), not with its own issuer's", quote(s.by), c.otherName())
	case sigNoKeyForAlg:
		return fmt.Sprintf("says alg %s, and its issuer has no %s key (%s)", quote(c.alg), c.alg, kidWords(c.kid))
	}
	return fmt.Sprintf("has a signature none of its issuer's %d %s keys verifies (%s): it was altered or signed with another key", s.tried, c.alg, kidWords(c.kid))
}

// sigState says how the signature stands when the service refuses it anyway.
func sigState(c *credential) string {
	switch {
	case c == nil || !c.decoded():
		return " could not be checked"
	case c.sig.verdict == sigUnchecked:
		return " could not be checked here (no keys given)"
	}
	return " verifies with the declared key " + quote(c.sig.by)
}

func matchUnknownKey(f *facts) finding {
	if c := f.firstCred(func(c *credential) bool { return c.decoded() && c.sig.verdict == sigUnknownKid }); c != nil {
		return finding{by: byEvidence, cred: c}
	}
	return f.saidAbout(CauseUnknownKey)
}

func sayUnknownKey(_ *facts, h finding) (string, string) {
	c := h.cred
	if h.by == byEvidence {
		return fmt.Sprintf("%s verifies with its issuer's key %s, but its kid %s names no key of the issuer: a service that looks keys up by kid finds none", c.name(), quote(c.sig.by), quote(c.kid)),
			fmt.Sprintf("set kid to the signing key's id (%s), or publish the key under the kid the tokens carry", quote(c.sig.by))
	}
	kid := ""
	if c != nil && c.decoded() {
		kid = " (kid " + quote(c.kid) + ")"
	}
	return "the service does not know the key " + nameOr(c, "the token") + " names" + kid + "; " + nameOr(c, "the token") + sigState(c),
		"publish the issuer's current keys to the service's key source, or refresh the service's copy; keep retired keys until their tokens expire"
}

// kidWords names a token's kid for a summary: "kid \"k1\"", or "no kid".
func kidWords(kid string) string {
	if kid == "" {
		return "no kid"
	}
	return "kid " + quote(kid)
}
