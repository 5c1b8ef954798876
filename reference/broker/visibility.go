package broker

import (
	"google.golang.org/protobuf/proto"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker/policy"
)

// ruleFor returns the rule that governs req: the one named when it was
// created, or, if the policy no longer has it, whichever rule matches its
// scope now; nil when none does (then only the requester may act on it).
func (b *Broker) ruleFor(req *jitv1.AccessRequest) *policy.Rule {
	for i := range b.policy.Rules {
		if b.policy.Rules[i].Name == req.GetPolicy() {
			return &b.policy.Rules[i]
		}
	}
	s := req.GetScope()
	r, err := b.policy.Match(s.GetService(), s.GetMethods(), s.GetResource())
	if err != nil {
		return nil
	}
	return r
}

// isApprover reports whether c is in an approver group of req's rule.
func (b *Broker) isApprover(req *jitv1.AccessRequest, c Caller) bool {
	r := b.ruleFor(req)
	return r != nil && r.CanApprove(c.Groups)
}

// canSee reports whether c may read or watch req: its requester and its
// approvers may; to anyone else it does not exist.
func (b *Broker) canSee(req *jitv1.AccessRequest, c Caller) bool {
	return req.GetRequester() == c.Subject || b.isApprover(req, c)
}

// view returns the copy of req that c may receive: the grant itself (the
// JWT) goes only to the requester; its id and expiry stay visible.
func view(req *jitv1.AccessRequest, c Caller) *jitv1.AccessRequest {
	out := proto.Clone(req).(*jitv1.AccessRequest)
	if req.GetRequester() != c.Subject {
		out.Grant = ""
	}
	return out
}
