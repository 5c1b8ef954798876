package broker

import (
	"context"
	"time"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// Withdraw cancels caller's own pending request. Approvers see the request
// but may not withdraw it (they deny it instead); anyone else gets NOT_FOUND.
func (b *Broker) Withdraw(ctx context.Context, caller Caller, in *jitv1.WithdrawRequest) (*jitv1.AccessRequest, error) {
	if err := checkCaller(caller); err != nil {
		return nil, err
	}
	if in.GetId() == "" {
		return nil, fail(ErrInvalidArgument, "id is required")
	}
	req, err := b.transition(ctx, in.GetId(), func(cur *jitv1.AccessRequest, now time.Time) (*change, error) {
		if err := b.canWithdrawAs(cur, caller); err != nil {
			return nil, err
		}
		next := successor(cur, now)
		next.State = jitv1.State_STATE_WITHDRAWN
		next.Actor, next.StateReason = caller.Subject, in.GetComment()
		return &change{next: next, audit: []store.AuditRecord{
			audit(now, next, cur.GetState(), caller.Subject, actionWithdrawn, in.GetComment()),
		}}, nil
	})
	if err != nil {
		return nil, err
	}
	return view(req, caller), nil
}

// canWithdrawAs checks who is asking before the state, so a stranger learns
// nothing about the request.
func (b *Broker) canWithdrawAs(req *jitv1.AccessRequest, caller Caller) error {
	if caller.Subject != req.GetRequester() {
		if !b.canSee(req, caller) {
			return notFound(req.GetId())
		}
		return fail(ErrNotRequester, "only the requester %s may withdraw request %s", req.GetRequester(), req.GetId())
	}
	return canWithdraw(req)
}
