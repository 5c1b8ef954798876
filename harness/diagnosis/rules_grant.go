package diagnosis

import (
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/jitbench/jitbench/reference/reason"
)

// The rows of a call that failed while its grant was obtained.

func matchApprovalDenied(f *facts) finding {
	if f.phase == PhaseGrant && f.call.Code == codes.PermissionDenied {
		return finding{by: byEvidence, fault: f.faultOf(kindApproval)}
	}
	return finding{by: f.said(CauseApprovalDenied)}
}

func sayApprovalDenied(f *facts, h finding) (string, string) {
	s := "the access request was denied while the grant was being obtained"
	if f.call.GrantWait > 0 {
		s += fmt.Sprintf(" (after %s of waiting for approval)", dur(f.call.GrantWait))
	}
	fix := "ask the reviewer why the request was denied, or request a scope a policy rule covers and a reviewer may approve; a scenario that expects approval needs an approving reviewer"
	if info, ok := reason.Lookup(f.heard.reason); ok && f.heard.cause == CauseApprovalDenied {
		s += "; the broker says " + string(info.Reason) + ": " + info.Meaning
		fix = info.Fix
	}
	if h.fault != nil {
		s += "; in force: " + h.fault.describe()
	}
	if f.phase == PhaseGrant {
		s += "; the service was never called"
	}
	return s, fix
}

func matchApprovalSlower(f *facts) finding {
	c := f.call
	if c.Code == codes.DeadlineExceeded && (f.phase == PhaseGrant || c.Deadline > 0 && c.GrantWait*2 > c.Deadline) {
		return finding{by: byEvidence}
	}
	return finding{by: f.said(CauseApprovalSlower)}
}

func sayApprovalSlower(f *facts, _ finding) (string, string) {
	c := f.call
	var s string
	switch {
	case c.Deadline > 0 && c.GrantWait > 0:
		left := "nothing"
		if c.GrantWait < c.Deadline {
			left = dur(c.Deadline - c.GrantWait)
		}
		s = fmt.Sprintf("the call waited %s of its %s deadline for approval, leaving %s for the call itself",
			dur(c.GrantWait), dur(c.Deadline), left)
	case c.Deadline > 0:
		s = fmt.Sprintf("the call's %s deadline ran out while the grant was being obtained (the approval wait was not recorded)", dur(c.Deadline))
	case c.GrantWait > 0:
		s = fmt.Sprintf("the deadline ran out after %s of waiting for approval (the deadline was not recorded)", dur(c.GrantWait))
	default:
		s = "the deadline ran out while waiting for approval (neither the deadline nor the wait was recorded)"
	}
	if f.phase == PhaseGrant {
		s += "; the service was never called"
	}
	need := "longer than approval takes"
	if c.GrantWait > 0 {
		need = fmt.Sprintf("longer than approval takes (more than %s, plus the call's own time)", dur(c.GrantWait))
	}
	return s, "give the call a deadline " + need + ", or obtain the grant before the call's deadline starts (request access ahead, then call)"
}

func matchBrokerUnavailable(f *facts) finding {
	if f.phase != PhaseGrant {
		return finding{}
	}
	if f.call.Code == codes.Unavailable {
		return finding{by: byEvidence, fault: f.faultWhere(fault.cutsBroker)}
	}
	return finding{by: f.said(CauseBrokerUnavailable), fault: f.faultWhere(fault.cutsBroker)}
}

func sayBrokerUnavailable(f *facts, h finding) (string, string) {
	s := "the broker could not be reached while the grant was being obtained"
	if f.call.GrantWait > 0 {
		s += " (after " + dur(f.call.GrantWait) + ")"
	}
	s += "; the service was never called"
	if h.fault != nil {
		return s + "; in force: " + h.fault.describe(),
			"expected under this fault: the client must wait for the broker or fail fast with a clear error; without the fault, check the broker's address, TLS and that it runs"
	}
	return s, "check that the broker is running and reachable from the client: its address, TLS settings and the network between them"
}
