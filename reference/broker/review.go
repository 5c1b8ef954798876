package broker

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Review records caller's decision on a pending request. A deny decides at
// once; approvals count until the rule's N is reached, and then the grant is
// signed and the request is APPROVED. The requester can never review their
// own request, and each reviewer counts once.
func (b *Broker) Review(ctx context.Context, caller Caller, in *jitv1.ReviewRequest) (*jitv1.AccessRequest, error) {
	req, err := b.review(ctx, caller, in)
	b.metrics.refused(err)
	if err != nil {
		return nil, err
	}
	return view(req, caller), nil
}

func (b *Broker) review(ctx context.Context, caller Caller, in *jitv1.ReviewRequest) (*jitv1.AccessRequest, error) {
	if err := checkCaller(caller); err != nil {
		return nil, err
	}
	switch {
	case in.GetId() == "":
		return nil, fail(ErrInvalidArgument, "id is required")
	case in.GetDecision() != jitv1.Decision_DECISION_APPROVE && in.GetDecision() != jitv1.Decision_DECISION_DENY:
		return nil, fail(ErrInvalidArgument, "decision must be APPROVE or DENY, not %s", in.GetDecision())
	}
	return b.transition(ctx, in.GetId(), func(cur *jitv1.AccessRequest, now time.Time) (*change, error) {
		if err := b.canReviewAs(cur, caller); err != nil {
			return nil, err
		}
		next := successor(cur, now)
		next.Reviews = append(next.Reviews, &jitv1.Review{
			Reviewer: caller.Subject, Decision: in.GetDecision(), Comment: in.GetComment(), At: timestamppb.New(now),
		})
		c := &change{next: next}
		switch {
		case in.GetDecision() == jitv1.Decision_DECISION_DENY:
			next.State = jitv1.State_STATE_DENIED
			next.Actor, next.StateReason = caller.Subject, in.GetComment()
			c.audit = append(c.audit,
				audit(now, next, cur.GetState(), caller.Subject, actionReviewed, in.GetComment()),
				audit(now, next, cur.GetState(), caller.Subject, actionDenied, in.GetComment()))
		case approvals(next) >= int(next.GetApprovalsNeeded()):
			records, err := b.approve(next, caller.Subject, in.GetComment(), now)
			if err != nil {
				return nil, err
			}
			c.audit = append(c.audit, audit(now, next, cur.GetState(), caller.Subject, actionReviewed, in.GetComment()))
			c.audit = append(c.audit, records...)
		default:
			next.Actor = caller.Subject
			// A pending auto-approval keeps its due time in state_reason (see timers.go).
			if _, owed := autoApprovalDue(cur); !owed {
				next.StateReason = fmt.Sprintf("%d of %d approvals", approvals(next), next.GetApprovalsNeeded())
			}
			c.audit = append(c.audit, audit(now, next, cur.GetState(), caller.Subject, actionReviewed, in.GetComment()))
		}
		return c, nil
	})
}

// canReviewAs checks caller against req in a fixed order: self-approval
// first (whatever else is true of the reviewer), then approver membership,
// then the request's state, then whether this reviewer already counted.
func (b *Broker) canReviewAs(req *jitv1.AccessRequest, caller Caller) error {
	if caller.Subject == req.GetRequester() {
		return reason.New(reason.SelfApproval, "a requester cannot review their own request", "request_id", req.GetId())
	}
	if !b.isApprover(req, caller) {
		return reason.New(reason.NotApprover,
			fmt.Sprintf("%s is not in an approver group of policy %s", caller.Subject, req.GetPolicy()),
			"policy", req.GetPolicy())
	}
	if err := canReview(req); err != nil {
		return err
	}
	if hasReviewed(req, caller.Subject) {
		return fail(ErrAlreadyReviewed, "%s already reviewed request %s: a reviewer counts once", caller.Subject, req.GetId())
	}
	return nil
}

// approve moves next (a PENDING revision) to APPROVED: it signs the grant for
// the requester, scoped to the request, and returns the decision's audit
// records.
func (b *Broker) approve(next *jitv1.AccessRequest, actor, why string, now time.Time) ([]store.AuditRecord, error) {
	from := next.GetState()
	scope := next.GetScope()
	raw, g, err := b.issuer.Grant(token.GrantSpec{
		Subject:   next.GetRequester(),
		Audience:  scope.GetService(),
		Scope:     token.Scope{Methods: scope.GetMethods(), Resource: scope.GetResource()},
		TTL:       next.GetDuration().AsDuration(),
		OneShot:   next.GetOneShot(),
		RequestID: next.GetId(),
	})
	if err != nil {
		return nil, fail(ErrSigning, "request %s: %v", next.GetId(), err)
	}
	next.State = jitv1.State_STATE_APPROVED
	next.Grant = raw
	next.GrantId = g.ID
	next.GrantExpiresAt = timestamppb.New(g.ExpiresAt)
	next.Actor, next.StateReason = actor, why
	return []store.AuditRecord{
		audit(now, next, from, actor, actionApproved, why),
		audit(now, next, from, actor, actionGrantIssued, why),
	}, nil
}
