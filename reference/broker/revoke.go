package broker

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/store"
)

// Revoke ends an approved request's grant before it expires. The requester
// (giving up access early) and the rule's approvers may revoke. The feed event
// verifiers follow is committed together with the state change, so a revoked
// grant is never acknowledged without its revocation being durable.
func (b *Broker) Revoke(ctx context.Context, caller Caller, in *jitv1.RevokeRequest) (*jitv1.AccessRequest, error) {
	req, err := b.revoke(ctx, caller, in)
	if err != nil {
		return nil, err
	}
	return view(req, caller), nil
}

func (b *Broker) revoke(ctx context.Context, caller Caller, in *jitv1.RevokeRequest) (*jitv1.AccessRequest, error) {
	if err := checkCaller(caller); err != nil {
		return nil, err
	}
	if in.GetId() == "" {
		return nil, fail(ErrInvalidArgument, "id is required")
	}
	return b.transition(ctx, in.GetId(), func(cur *jitv1.AccessRequest, now time.Time) (*change, error) {
		if err := b.canRevokeAs(cur, caller); err != nil {
			return nil, err
		}
		next := successor(cur, now)
		next.State = jitv1.State_STATE_REVOKED
		next.Actor, next.StateReason = caller.Subject, in.GetComment()
		return &change{
			next:  next,
			audit: []store.AuditRecord{audit(now, next, cur.GetState(), caller.Subject, actionRevoked, in.GetComment())},
			revocation: &jitv1.RevocationEvent{
				GrantId:        next.GetGrantId(),
				GrantExpiresAt: next.GetGrantExpiresAt(),
				RevokedAt:      timestamppb.New(now),
			},
		}, nil
	})
}

// canRevokeAs checks who is asking before the state. Exactly those who may
// see a request (its requester and its approvers) may revoke it; to anyone
// else it does not exist.
func (b *Broker) canRevokeAs(req *jitv1.AccessRequest, caller Caller) error {
	if !b.canSee(req, caller) {
		return notFound(req.GetId())
	}
	return canRevoke(req)
}
