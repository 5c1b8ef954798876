package broker

import (
	"time"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// Audit actions, as store.AuditRecord documents them.
const (
	actionRequested   = "requested"
	actionReviewed    = "reviewed"
	actionApproved    = "approved"
	actionDenied      = "denied"
	actionExpired     = "expired"
	actionWithdrawn   = "withdrawn"
	actionEnded       = "ended"
	actionRevoked     = "revoked"
	actionGrantIssued = "grant_issued"
)

// Actors that are not subjects.
const (
	// ActorPolicy makes auto-approvals.
	ActorPolicy = "policy"
	// ActorTimer expires pending requests and ends grants.
	ActorTimer = "timer"
)

// audit builds the record of one transition of req (whose state is already
// the new one) from state from; decisions carry their approval latency.
func audit(now time.Time, req *jitv1.AccessRequest, from jitv1.State, actor, action, why string) store.AuditRecord {
	rec := store.AuditRecord{
		At:        now,
		RequestID: req.GetId(),
		Actor:     actor,
		Action:    action,
		From:      stateName(from),
		To:        stateName(req.GetState()),
		Reason:    why,
	}
	if from == jitv1.State_STATE_UNSPECIFIED {
		rec.From = ""
	}
	switch action {
	case actionApproved, actionDenied:
		// How long the requester waited is the figure JIT systems are
		// judged by; it is recorded on the decision itself.
		rec.ApprovalLatency = now.Sub(req.GetCreatedAt().AsTime())
	case actionGrantIssued, actionRevoked, actionEnded:
		rec.GrantID = req.GetGrantId()
	}
	return rec
}

// Audit calls fn for every audit record with a sequence larger than after,
// in order, each carrying its link in the store's hash chain; a record
// that fails the chain ends the walk with an error wrapping
// store.ErrChainBroken.
func (b *Broker) Audit(after uint64, fn func(store.AuditRecord) bool) error {
	return b.store.Audit(after, fn)
}
