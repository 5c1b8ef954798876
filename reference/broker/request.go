package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/policy"
	"github.com/jitbench/jitbench/reference/broker/store"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// MinDuration is the shortest grant a request may ask for: grant times are
// whole seconds, so anything shorter could expire as it is issued.
const MinDuration = time.Second

// RequestAccess opens a request for caller. The matching policy rule sets the
// approvals needed, the pending timeout and the duration cap (a zero duration
// asks for the cap); an auto-approve rule covering the caller's groups and
// methods approves it at once, or after its delay.
func (b *Broker) RequestAccess(ctx context.Context, caller Caller, in *jitv1.RequestAccessRequest) (*jitv1.AccessRequest, error) {
	req, err := b.requestAccess(ctx, caller, in)
	b.metrics.refused(err)
	return req, err
}

func (b *Broker) requestAccess(ctx context.Context, caller Caller, in *jitv1.RequestAccessRequest) (*jitv1.AccessRequest, error) {
	if err := checkCaller(caller); err != nil {
		return nil, err
	}
	if err := validateScope(in.GetScope()); err != nil {
		return nil, err
	}
	scope := in.GetScope()
	rule, err := b.policy.Match(scope.GetService(), scope.GetMethods(), scope.GetResource())
	switch {
	case errors.Is(err, policy.ErrNoRule):
		return nil, reason.New(reason.NoPolicy,
			fmt.Sprintf("no policy rule covers %s on service %s", strings.Join(scope.GetMethods(), ","), scope.GetService()),
			"service", scope.GetService())
	case err != nil:
		return nil, fail(ErrInvalidArgument, "scope: %v", err)
	}
	d, err := grantDuration(in, rule)
	if err != nil {
		return nil, err
	}
	done, err := b.begin()
	if err != nil {
		return nil, err
	}
	defer done()

	now := b.clock.Now()
	req := &jitv1.AccessRequest{
		Id:              token.NewID(),
		Requester:       caller.Subject,
		Scope:           proto.Clone(scope).(*jitv1.Scope),
		Justification:   in.GetJustification(),
		Duration:        durationpb.New(d),
		OneShot:         in.GetOneShot(),
		State:           jitv1.State_STATE_PENDING,
		CreatedAt:       timestamppb.New(now),
		UpdatedAt:       timestamppb.New(now),
		ApprovalsNeeded: int32(max(rule.Approvals, 1)),
		Policy:          rule.Name,
		Actor:           caller.Subject,
		StateReason:     fmt.Sprintf("awaiting %d approval(s) under policy %s", max(rule.Approvals, 1), rule.Name),
		Revision:        1,
	}
	// A rule without a pending timeout lets requests wait for reviews indefinitely.
	if rule.PendingTimeout > 0 {
		req.PendingUntil = timestamppb.New(now.Add(rule.PendingTimeout))
	}
	c := &change{next: req, audit: []store.AuditRecord{
		audit(now, req, jitv1.State_STATE_UNSPECIFIED, caller.Subject, actionRequested, in.GetJustification()),
	}}
	if auto, ok := rule.AutoApproves(caller.Groups, scope.GetMethods()); ok {
		if auto.After <= 0 {
			records, err := b.approve(req, ActorPolicy, "auto-approved by policy "+rule.Name, now)
			if err != nil {
				return nil, err
			}
			c.audit = append(c.audit, records...)
		} else {
			req.StateReason = autoApprovalReason(now.Add(auto.After), rule.Name)
		}
	}

	e := &entry{}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := b.commit(ctx, e, c); err != nil {
		return nil, err
	}
	// Inserted only after the commit: nobody can see a request that is not durable.
	b.mu.Lock()
	b.entries[req.GetId()] = e
	b.mu.Unlock()
	return view(req, caller), nil
}

// validateScope names the first missing or empty field of a requested scope.
func validateScope(s *jitv1.Scope) error {
	switch {
	case s.GetService() == "":
		return fail(ErrInvalidArgument, "scope.service is required")
	case len(s.GetMethods()) == 0:
		return fail(ErrInvalidArgument, "scope.methods needs at least one method")
	}
	for i, m := range s.GetMethods() {
		if strings.TrimSpace(m) == "" {
			return fail(ErrInvalidArgument, "scope.methods[%d] is empty", i)
		}
	}
	return nil
}

// grantDuration applies the rule's cap: zero asks for the cap, more than
// the cap is refused with a message naming it.
func grantDuration(in *jitv1.RequestAccessRequest, rule *policy.Rule) (time.Duration, error) {
	if rule.MaxDuration < MinDuration {
		// policy.Load fills the default; only a hand-built policy gets here.
		return 0, fail(ErrInvalidArgument, "policy %s allows no grant duration (max_duration %s)", rule.Name, human(rule.MaxDuration))
	}
	if in.GetDuration() == nil {
		return rule.MaxDuration, nil
	}
	if err := in.GetDuration().CheckValid(); err != nil {
		return 0, fail(ErrInvalidArgument, "duration: %v", err)
	}
	d := in.GetDuration().AsDuration()
	switch {
	case d == 0:
		return rule.MaxDuration, nil
	case d < 0:
		return 0, fail(ErrInvalidArgument, "duration: %s is negative", human(d))
	case d < MinDuration:
		return 0, fail(ErrInvalidArgument, "duration: %s is shorter than the minimum %s", human(d), human(MinDuration))
	case d > rule.MaxDuration:
		return 0, fail(ErrInvalidArgument, "duration: requested %s exceeds the maximum grant duration %s of policy %s",
			human(d), human(rule.MaxDuration), rule.Name)
	}
	return d, nil
}

// human spells a duration without trailing zero units: "2h", "1h30m", "90ms".
func human(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
