package diagnosis

import (
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
)

// facts is the evidence about one failed call, gathered once for every rule.
type facts struct {
	call   Call
	target Target
	// phase is PhaseGrant or PhaseCall.
	phase string
	heard heard
	// grant and identity are the credentials sent (identity nil in the single-token profile).
	grant, identity *credential
	// creds are the credentials the service checked, in the order it most
	// likely checked them: the identity first for UNAUTHENTICATED. Empty
	// when the call never reached the service.
	creds []*credential
	// now is the service's apparent time when the call reached it; nowKnown
	// is false when the send time is unknown.
	now      time.Time
	nowKnown bool
	// leeway is the tolerance to judge times with.
	leeway time.Duration
	faults []fault
	red    *redactor
}

func gather(c Call, t Target) *facts {
	f := &facts{call: c, target: t, phase: PhaseCall, red: newRedactor(c.Grant, c.Identity), leeway: t.leeway()}
	if c.Phase == PhaseGrant {
		f.phase = PhaseGrant
	}
	f.heard = listen(c, f.phase)
	if f.nowKnown = !c.Sent.IsZero(); f.nowKnown {
		f.now = c.Sent
		if t.Measured.ClockOffsetKnown {
			f.now = f.now.Add(t.Measured.ClockOffset)
		}
	}
	for _, x := range c.Faults {
		f.faults = append(f.faults, newFault(x))
	}
	grant := c.Grant
	if t.SingleToken && grant == "" {
		grant = c.Identity // the one token, whichever field the caller put it in
	}
	f.grant = newCredential(roleGrant, t.header(roleGrant), grant, t.GrantKeys, t.IdentityKeys)
	if !t.SingleToken {
		f.identity = newCredential(roleIdentity, t.header(roleIdentity), c.Identity, t.IdentityKeys, t.GrantKeys)
	}
	if f.phase == PhaseCall {
		switch {
		case f.identity == nil:
			f.creds = []*credential{f.grant}
		case c.Code == codes.Unauthenticated:
			f.creds = []*credential{f.identity, f.grant}
		default:
			f.creds = []*credential{f.grant, f.identity}
		}
	}
	return f
}

// refused reports whether the service itself refused the call: it was
// reached and answered with an error that is not the transport's.
func (f *facts) refused() bool {
	if f.phase != PhaseCall {
		return false
	}
	switch f.call.Code {
	case codes.OK, codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return false
	}
	return true
}

// said is how strongly the target itself named cause: by a catalog reason, by words, or not.
func (f *facts) said(cause string) strength {
	switch {
	case f.heard.cause != cause:
		return none
	case f.heard.byReason:
		return byReason
	}
	return byWords
}

// saidAbout is the finding that the target named cause, about the credential it spoke of.
func (f *facts) saidAbout(cause string) finding {
	if !f.refused() {
		return finding{}
	}
	return finding{by: f.said(cause), cred: f.spokenOf()}
}

// spokenOf is the credential the target most likely spoke of: the one its
// reason names, else the first it checked. Nil when none was sent.
func (f *facts) spokenOf() *credential {
	for _, c := range f.creds {
		if c.role == f.heard.about && !c.missing() {
			return c
		}
	}
	for _, c := range f.creds {
		if !c.missing() {
			return c
		}
	}
	return nil
}

// firstCred is the first credential the service checked that bad holds for, or nil.
func (f *facts) firstCred(bad func(*credential) bool) *credential {
	if !f.refused() {
		return nil
	}
	for _, c := range f.creds {
		if bad(c) {
			return c
		}
	}
	return nil
}

// faultWhere is the first fault in force that is holds for, or nil.
func (f *facts) faultWhere(is func(fault) bool) *fault {
	for i := range f.faults {
		if is(f.faults[i]) {
			return &f.faults[i]
		}
	}
	return nil
}

// faultOf is the first fault in force of one of kinds, or nil.
func (f *facts) faultOf(kinds ...string) *fault {
	return f.faultWhere(func(x fault) bool { return slices.Contains(kinds, x.Kind) })
}

// alsoInForce names the faults of kinds in force, other than the one a finding is about.
func (f *facts) alsoInForce(kinds []string, about *fault) string {
	var names []string
	for i := range f.faults {
		if x := &f.faults[i]; x != about && slices.Contains(kinds, x.Kind) {
			names = append(names, x.describe())
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "in force: " + strings.Join(names, "; ")
}

// issuer is the declared issuer of role's tokens.
func (f *facts) issuer(role string) string {
	if role == roleIdentity {
		return f.target.IdentityIssuer
	}
	return f.target.GrantIssuer
}

// head is what the target answered: "PERMISSION_DENIED GRANT_EXPIRED 'grant expired'".
func (f *facts) head() string {
	s := reason.CodeName(f.call.Code)
	if r := oneLine(f.call.Reason); r != "" {
		s += " " + cut(r, maxQuoted)
	}
	if m := f.red.message(f.call.Message); m != "" {
		s += " '" + m + "'"
	}
	return s
}

// validWords says how every credential the service checked stands, for a
// summary that must say what was found fine.
func (f *facts) validWords() string {
	var parts []string
	for _, c := range f.creds {
		parts = append(parts, c.name()+" ("+c.checks(f)+")")
	}
	return list(parts)
}

// clockWords says by whose clock times were judged.
func (f *facts) clockWords() string { return f.target.clockWords() }
