package fakes

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// KindApproval names the fault that scripts how reviewers answer access requests.
const KindApproval = "approval"

// Approval behaviours.
const (
	// BehaviourApprove approves every request after the delay.
	BehaviourApprove = "approve"
	// BehaviourDeny denies every request after the delay.
	BehaviourDeny = "deny"
	// BehaviourNever leaves every request pending: the reviewer is away.
	BehaviourNever = "never"
	// BehaviourFlaky denies a seeded share of requests and approves the rest.
	BehaviourFlaky = "flaky"
)

type approvalParams struct {
	Behaviour string        `param:"behaviour,required" enum:"approve|deny|never|flaky" doc:"what the reviewer does"`
	After     time.Duration `param:"after" doc:"how long each review takes (default 0)"`
	DenyShare float64       `param:"deny_share" doc:"share of requests denied, 0 to 1, for flaky only (default 0.5)"`
}

func init() {
	register(KindApproval, "scripts the reviewer: approve or deny after a delay, never answer, or deny a seeded share",
		approvalParams{}, newApproval)
	onExternal(KindApproval, "broker: the scripted reviewer of the broker jitbench runs approves late, denies or never answers")
}

func newApproval(params map[string]any) (Fault, error) {
	p := approvalParams{DenyShare: 0.5}
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.After < 0 {
		return nil, &ParamError{Key: "after", Msg: "must not be negative"}
	}
	if _, set := params["deny_share"]; set && p.Behaviour != BehaviourFlaky {
		return nil, &ParamError{Key: "deny_share", Msg: "only applies to behaviour flaky"}
	}
	if p.DenyShare < 0 || p.DenyShare > 1 {
		return nil, &ParamError{Key: "deny_share", Msg: "must be between 0 and 1"}
	}
	return FaultFunc(func(env Env) (func(), error) {
		var asked atomic.Int64
		inner := p.approver(env.Seed())
		remove := env.Broker().SetApprover(ApproverFunc(func(req *jitv1.AccessRequest) Decision {
			asked.Add(1)
			return inner.Decide(req)
		}))
		env.Effect(func() Effect {
			n := asked.Load()
			return Effect{What: fmt.Sprintf("scripted the reviewer (%s): it decided %s", p.describe(), count(n, "request")), Met: n}
		})
		return remove, nil
	}), nil
}

// approver builds the scripted reviewer; a flaky one draws from seed so a
// run denies the same number of its first N requests every time.
func (p approvalParams) approver(seed int64) Approver {
	comment := "jitbench approval fault: " + p.Behaviour
	switch p.Behaviour {
	case BehaviourNever:
		return ApproverFunc(func(*jitv1.AccessRequest) Decision { return Decision{Never: true, Comment: comment} })
	case BehaviourFlaky:
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(uint64(seed), 0x617070726f766572)) // "approver"
		return ApproverFunc(func(*jitv1.AccessRequest) Decision {
			mu.Lock()
			deny := rng.Float64() < p.DenyShare
			mu.Unlock()
			return Decision{Approve: !deny, After: p.After, Comment: comment}
		})
	}
	approve := p.Behaviour == BehaviourApprove
	return ApproverFunc(func(*jitv1.AccessRequest) Decision {
		return Decision{Approve: approve, After: p.After, Comment: comment}
	})
}

// describe words the behaviour: "approve after 300ms", "never answer".
func (p approvalParams) describe() string {
	switch p.Behaviour {
	case BehaviourNever:
		return "never answer"
	case BehaviourFlaky:
		return fmt.Sprintf("deny %g%%, approve the rest, after %v", p.DenyShare*100, p.After)
	}
	return p.Behaviour + " after " + p.After.String()
}
