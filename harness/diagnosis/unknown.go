package diagnosis

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
)

// unknown words a failure no rule explains: what was checked and found
// fine, the faults in force, and what the target's words suggest.
func (f *facts) unknown() (summary, fix string) {
	c := f.call
	var parts []string
	fix = "read the service's own log for this call"
	if f.nowKnown {
		fix += " (sent " + stamp(c.Sent) + " by our clock)"
	}
	switch {
	case c.Code == codes.OK:
		parts = append(parts, "the call did not fail")
		fix = "nothing to explain: the call succeeded"
	case f.phase == PhaseGrant:
		parts = append(parts, "the call failed while the grant was being obtained, before the service was called; jitbench cannot see the broker's checks")
		if f.identity != nil && !f.identity.missing() {
			parts = append(parts, "the identity token sent stands as: "+f.identity.checks(f))
		}
		fix = "read the broker's log for the access request, and check the identity the client presents to it"
	case c.Code == codes.DeadlineExceeded:
		parts = append(parts, f.deadlineWords())
		fix = "look for where the deadline was spent: a downstream call of the service with its own deadline, or a deadline set shorter than the config says"
	case c.Code == codes.Canceled:
		parts = append(parts, fmt.Sprintf("the call was canceled on the client's side after %s, not refused", dur(c.Latency)))
		fix = "look for what canceled the call's context on the client (a parent context, a shutdown)"
	default:
		parts = append(parts, "the service refused credentials that are valid by the declared config: "+f.validWords())
		if c.Code == codes.Unimplemented {
			parts = append(parts, "UNIMPLEMENTED says the service does not serve the method called")
			fix = "check the method the config names against the ones the service serves"
		}
	}
	parts = append(parts, f.faultWords())
	if hint := f.hint(); hint != "" {
		parts = append(parts, hint)
		if f.heard.cause == CauseScopeMismatch {
			fix = "check how the grant's claims say what it allows (the claim layout: method form, permissions, resource) against what the service requires for this method"
		}
	}
	return strings.Join(parts, "; "), fix
}

// deadlineWords says how the deadline and the time spent compare when no rule explains it.
func (f *facts) deadlineWords() string {
	c := f.call
	if c.Deadline <= 0 {
		return fmt.Sprintf("DEADLINE_EXCEEDED after %s, with no deadline recorded to judge it by", dur(c.Latency))
	}
	s := fmt.Sprintf("the call ended after %s of its %s deadline", dur(c.Latency), dur(c.Deadline))
	if c.GrantWait > 0 {
		s += fmt.Sprintf(" (plus %s of approval)", dur(c.GrantWait))
	}
	return s + ": the deadline that ran out was not spent on this call (a downstream call of the service?)"
}

// faultWords names the faults in force, or says there were none.
func (f *facts) faultWords() string {
	if len(f.faults) == 0 {
		return "no fault was in force"
	}
	var names []string
	for _, x := range f.faults {
		names = append(names, x.describe())
	}
	return "in force, none explaining it: " + strings.Join(names, "; ")
}

// hint is what the target's words suggest when they name no checkable cause.
func (f *facts) hint() string {
	switch {
	case f.heard.cause == CauseScopeMismatch:
		return "its words suggest the grant's scope does not cover the method (or resource) called"
	case f.heard.cause != "":
		return "its words suggest " + f.heard.cause + ", which nothing sent shows"
	case f.call.Reason != "":
		return "its reason names no check jitbench makes"
	case f.call.Message == "":
		return "it sent no message"
	}
	return "its message names no check jitbench makes"
}
