package broker

import (
	"slices"
	"strings"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// The request lifecycle, after GCP PAM and Teleport:
//
//	PENDING → APPROVED → ENDED | REVOKED
//	PENDING → DENIED | EXPIRED | WITHDRAWN
//
// Every state change goes through one of the named checks below, so the
// table is the single place that says what is legal, and every refusal names
// the current state.
var transitions = map[jitv1.State][]jitv1.State{
	jitv1.State_STATE_PENDING: {
		jitv1.State_STATE_APPROVED, jitv1.State_STATE_DENIED,
		jitv1.State_STATE_EXPIRED, jitv1.State_STATE_WITHDRAWN,
	},
	jitv1.State_STATE_APPROVED: {jitv1.State_STATE_ENDED, jitv1.State_STATE_REVOKED},
}

// stateName spells a state without its enum prefix, e.g. "PENDING", for
// messages and audit records.
func stateName(s jitv1.State) string {
	return strings.TrimPrefix(s.String(), "STATE_")
}

// canTransition refuses a move the lifecycle does not allow, naming the
// current state and what the action needs.
func canTransition(req *jitv1.AccessRequest, to jitv1.State, action string) error {
	if slices.Contains(transitions[req.GetState()], to) {
		return nil
	}
	need := "PENDING"
	if to == jitv1.State_STATE_ENDED || to == jitv1.State_STATE_REVOKED {
		need = "APPROVED"
	}
	return fail(ErrIllegalTransition, "request %s is %s: only a %s request can be %s",
		req.GetId(), stateName(req.GetState()), need, action)
}

// canReview allows reviews only while the request is pending; a decided
// request (DENIED is absorbing) takes no more reviews.
func canReview(req *jitv1.AccessRequest) error {
	return canTransition(req, jitv1.State_STATE_APPROVED, "reviewed")
}

// canWithdraw allows withdrawing only a pending request: an approved one is revoked instead.
func canWithdraw(req *jitv1.AccessRequest) error {
	return canTransition(req, jitv1.State_STATE_WITHDRAWN, "withdrawn")
}

// canRevoke allows revoking only an approved request, whose grant is live.
func canRevoke(req *jitv1.AccessRequest) error {
	return canTransition(req, jitv1.State_STATE_REVOKED, "revoked")
}

// canExpire allows the pending timer to expire only a request still pending.
func canExpire(req *jitv1.AccessRequest) error {
	return canTransition(req, jitv1.State_STATE_EXPIRED, "expired")
}

// canEnd allows the grant timer to end only a request still approved.
func canEnd(req *jitv1.AccessRequest) error {
	return canTransition(req, jitv1.State_STATE_ENDED, "ended")
}

// isTerminal reports whether no transition leaves s. APPROVED is not
// terminal: the grant still ends or is revoked.
func isTerminal(s jitv1.State) bool {
	return len(transitions[s]) == 0
}

// hasReviewed reports whether subject already reviewed req: a reviewer counts once.
func hasReviewed(req *jitv1.AccessRequest, subject string) bool {
	return slices.ContainsFunc(req.GetReviews(), func(r *jitv1.Review) bool { return r.GetReviewer() == subject })
}

// approvals counts the approving reviews of req.
func approvals(req *jitv1.AccessRequest) int {
	n := 0
	for _, r := range req.GetReviews() {
		if r.GetDecision() == jitv1.Decision_DECISION_APPROVE {
			n++
		}
	}
	return n
}
