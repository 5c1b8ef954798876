package diagnosis

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
)

// The rows of the transport and the time: a fault proxy, the network, the
// key source, the deadline.

// proxyAbortMessage is the status message of a jitbench proxy abort that sets none.
const proxyAbortMessage = "aborted by a jitbench proxy fault"

func matchProxyAbort(f *facts) finding {
	if f.phase != PhaseCall || f.call.Code == codes.OK {
		return finding{}
	}
	ownWords := strings.Contains(f.call.Message, proxyAbortMessage)
	var untold *fault
	for i := range f.faults {
		x := &f.faults[i]
		code, ok := x.aborts()
		switch {
		case !ok:
		case code == f.call.Code:
			return finding{by: byEvidence, fault: x}
		case code == codes.OK && untold == nil:
			untold = x
		}
	}
	switch {
	case ownWords:
		return finding{by: byEvidence, fault: untold}
	case untold != nil:
		return finding{by: byFault, fault: untold}
	}
	return finding{}
}

func sayProxyAbort(f *facts, h finding) (string, string) {
	code := reason.CodeName(f.call.Code)
	s := "a fault proxy in front of the service ended the call with " + code + " before the service saw it"
	if h.fault != nil {
		s += " (" + h.fault.describe() + ")"
	}
	return s, "nothing to change in the service: this is the injected fault; expect " + code +
		" from the calls it matches, or narrow the fault (its methods and probability)"
}

func matchRetries(f *facts) finding {
	c := f.call
	if c.Code == codes.DeadlineExceeded && c.Attempts > 1 && !c.RetriesExtendDeadline {
		return finding{by: byEvidence}
	}
	return finding{}
}

func sayRetries(f *facts, _ finding) (string, string) {
	c := f.call
	deadline := "the first attempt's deadline"
	if c.Deadline > 0 {
		deadline = "the first attempt's " + dur(c.Deadline) + " deadline"
	}
	s := fmt.Sprintf("%d attempts shared %s (retries do not extend it)", c.Attempts, deadline)
	if f.phase == PhaseGrant && c.GrantWait > 0 {
		s += fmt.Sprintf("; the first spent %s of it waiting for approval, and every retry after it started with no time left", dur(c.GrantWait))
	}
	if c.Latency > 0 && f.phase != PhaseGrant {
		s += fmt.Sprintf(": the call ran %s in all, about %s an attempt", dur(c.Latency), dur(c.Latency/time.Duration(max(c.Attempts, 1))))
	}
	fix := "give each retry a deadline of its own (a per-attempt timeout in the retry policy)"
	if c.Latency > 0 {
		fix += fmt.Sprintf(", or a call deadline that covers every attempt (more than %s)", dur(c.Latency))
	}
	return s, fix
}

func matchNetworkFault(f *facts) finding {
	if f.phase != PhaseCall {
		return finding{}
	}
	var x *fault
	switch f.call.Code {
	case codes.DeadlineExceeded:
		x = f.faultWhere(fault.slows)
	case codes.Unavailable:
		x = f.faultWhere(fault.cuts)
	}
	if x == nil {
		return finding{}
	}
	return finding{by: byEvidence, fault: x}
}

func sayNetworkFault(f *facts, h finding) (string, string) {
	c := f.call
	if c.Code == codes.Unavailable {
		return "a network fault cut the client's calls to the service (" + h.fault.describe() + ")",
			"expected under this fault; to ride it out, retry once the link heals (wait-for-ready, a retry policy with backoff)"
	}
	s := "a network fault delayed the client's calls to the service (" + h.fault.describe() + ")"
	if c.Deadline > 0 {
		s += fmt.Sprintf(" and the call ran %s of its %s deadline", dur(c.Latency), dur(c.Deadline))
	}
	return s, "expected under this fault: the added delay outlasts the deadline; to pass, give the call a deadline longer than the fault's delay plus the service's own time"
}

func matchKeySource(f *facts) finding {
	if f.phase != PhaseCall {
		return finding{}
	}
	x := f.faultWhere(fault.cutsKeys)
	switch {
	case f.call.Code == codes.Unavailable && x != nil:
		return finding{by: byEvidence, fault: x}
	case f.refused() && x != nil:
		return finding{by: byFault, fault: x}
	case f.call.Code == codes.Unavailable || f.refused():
		return finding{by: f.said(CauseKeySourceUnavailable)}
	}
	return finding{}
}

func sayKeySource(f *facts, h finding) (string, string) {
	fix := "restore the service's key source (its JWKS endpoint or the broker), and have the service keep its last key set through an outage"
	switch {
	case h.fault != nil && f.call.Code == codes.Unavailable:
		return "the service answered UNAVAILABLE while its key source was down (" + h.fault.describe() + ")", fix
	case h.fault != nil:
		return "the service refused credentials valid by every check jitbench makes (" + f.validWords() +
			") while its key source was down (" + h.fault.describe() + "): it had no key to verify them with", fix
	}
	return "the service says it could not get the keys to verify the credentials with", fix
}

func matchDeadlineTooShort(f *facts) finding {
	c := f.call
	if f.phase == PhaseCall && c.Code == codes.DeadlineExceeded && c.Deadline > 0 && (c.Latency+c.GrantWait)*10 >= c.Deadline*9 {
		return finding{by: byEvidence}
	}
	return finding{}
}

func sayDeadlineTooShort(f *facts, _ finding) (string, string) {
	c := f.call
	s := fmt.Sprintf("the call spent %s of its %s deadline at the service", dur(c.Latency), dur(c.Deadline))
	if c.GrantWait > 0 {
		s += fmt.Sprintf(" after %s of approval", dur(c.GrantWait))
	}
	s += ", with no fault in force on the link to the service: the service needs longer than the deadline"
	return s, fmt.Sprintf("raise the call's deadline above the service's time (more than %s, plus approval when it runs under the same deadline), or find what makes the service slow", dur(c.Latency))
}

func matchUnreachable(f *facts) finding {
	if f.phase == PhaseCall && f.call.Code == codes.Unavailable {
		return finding{by: byWords} // the weakest: any other explanation of UNAVAILABLE wins
	}
	return finding{}
}

func sayUnreachable(_ *facts, _ finding) (string, string) {
	return "the service was unreachable, and no fault in force explains it",
		"check the target's address and TLS settings and that it is running; UNAVAILABLE comes from the transport, not from the service's checks"
}
