package diagnosis

import (
	"fmt"

	"github.com/jitbench/jitbench/reference/reason"
)

// The rows of what only the service can know (revocation, one-shot use,
// scope), of faults that act inside it, and of a reason that names its cause.

func matchRevoked(f *facts) finding {
	if x := f.faultOf(kindRevoke); x != nil && f.refused() {
		return finding{by: byFault, cred: f.grant, fault: x}
	}
	h := f.saidAbout(CauseGrantRevoked)
	h.cred = f.grant
	return h
}

func sayRevoked(_ *facts, h finding) (string, string) {
	s := "the service says the grant" + jtiOf(h.cred) + " was revoked"
	if h.fault != nil {
		s = "the grant" + jtiOf(h.cred) + " was revoked while the call ran (" + h.fault.describe() + ")"
	}
	return s, "request access again: a revoked grant stays refused until it expires"
}

func jtiOf(c *credential) string {
	if c == nil || !c.decoded() || c.jti == "" {
		return ""
	}
	return " (jti " + quote(c.jti) + ")"
}

func matchReplayed(f *facts) finding {
	h := f.saidAbout(CauseGrantReplayed)
	h.cred = f.grant
	return h
}

func sayReplayed(f *facts, h finding) (string, string) {
	s := "the service says the grant" + jtiOf(h.cred) + " was already used"
	if f.call.Attempts > 1 {
		s += fmt.Sprintf("; the call was tried %d times with it: a retry reused a one-shot grant", f.call.Attempts)
	}
	return s, "request a new one-shot grant for each call, retries included, or request a grant that may be used more than once"
}

func matchScope(f *facts) finding {
	if f.said(CauseScopeMismatch) != byReason || !f.refused() {
		return finding{} // words alone do not tell: the diagnosis is unknown, with the words as a hint
	}
	return finding{by: byReason, cred: f.grant}
}

func sayScope(f *facts, _ finding) (string, string) {
	info, _ := reason.Lookup(f.heard.reason)
	return "the service says the call is outside the grant's scope (" + string(info.Reason) + "); the grant passes every other check jitbench makes (" + f.grant.checks(f) + ")",
		info.Fix + "; check the claim layout the config declares (how methods and permissions are written)"
}

func matchClockSkew(f *facts) finding {
	if x := f.faultOf(kindClockSkew); x != nil && f.refused() {
		return finding{by: byFault, fault: x}
	}
	return finding{}
}

func sayClockSkew(f *facts, h finding) (string, string) {
	return "a clock-skew fault was in force (" + h.fault.describe() + ") and the credentials are valid by our clock (" + f.validWords() + "): the skewed clock read them outside their window",
		fmt.Sprintf("expected under this fault; a service tolerates skew up to its leeway (%s)", f.target.leewayWords())
}

func matchMutated(f *facts) finding {
	if x := f.faultOf(kindTokenMutation); x != nil && f.refused() {
		return finding{by: byFault, fault: x}
	}
	return finding{}
}

func sayMutated(f *facts, h finding) (string, string) {
	return "a token-mutation fault forged a credential (" + h.fault.describe() + "); what was sent passes every check jitbench can make here (" + f.validWords() + "), and the service refused it",
		"expected under this fault: the service refused the forged credential, as it should; give the issuers' keys to tell a forged signature"
}

func matchServiceReason(f *facts) finding {
	if f.heard.catalog && f.heard.cause == "" {
		return finding{by: byReason}
	}
	return finding{}
}

func sayServiceReason(f *facts, _ finding) (string, string) {
	info, _ := reason.Lookup(f.heard.reason)
	return "the service's reason says " + info.Meaning, info.Fix
}
