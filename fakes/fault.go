// Package fakes holds controllable stand-ins and fault injectors: skewed
// clocks, a token forger, scripted approvers, network fault links,
// misconfigured clients and services. Each fault kind lives in its own file
// behind the small Fault interface and registers itself by name, so a
// scenario file can name it and faults compose on one timeline.
package fakes

import (
	"context"
	"time"

	"github.com/jitbench/jitbench/fakes/proxy"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// Fault is one configured fault. The harness calls Apply when the fault's
// window opens and the returned remove func when it closes (or at the end
// of the run). Faults that can only exist from the start (a service built
// without its stream interceptor) say so with Static.
//
// Apply also tells env how to measure what the fault did (Env.Effect): a
// run checks that the system met every fault, so a fault that records no
// effect, or one nothing met, fails its run.
type Fault interface {
	Apply(env Env) (remove func(), err error)
}

// Effect is what one fault did to the running system, for the run's report.
type Effect struct {
	// What says in words what the fault changed, and how often, e.g. "left the grant off 6 calls".
	What string
	// Met counts how often the system met the change while the fault was in
	// force: calls made under it, reads of a skewed clock, writes,
	// connections and dials a link fault touched, requests a scripted
	// reviewer decided, grants revoked, keys made current. 0 means the fault
	// never acted.
	Met int64
}

// FaultFunc adapts a function to Fault.
type FaultFunc func(env Env) (func(), error)

// Apply calls f.
func (f FaultFunc) Apply(env Env) (func(), error) { return f(env) }

var _ Fault = FaultFunc(nil)

// Static is implemented by faults that shape how the system is built; the
// harness applies them before it starts the system and refuses a start
// other than 0 for them.
type Static interface {
	Static() bool
}

// Env is what a fault can act on: the parts of a running topology. The
// harness implements it; every knob is safe to change while calls run.
type Env interface {
	// Clock returns the skewable clock of "client", "service" or "broker".
	Clock(target string) (*SkewClock, error)
	// Link returns the network link "client-service", "client-broker" or "service-broker".
	Link(name string) (*Link, error)
	// Client returns the caller's knobs.
	Client() *ClientKnobs
	// Service returns the protected service's build-time knobs.
	Service() *ServiceKnobs
	// Broker returns the control surface of the broker.
	Broker() BrokerControl
	// Containers returns the broker's and the service's containers; on a
	// topology without containers, an error wrapping ErrNoContainers.
	Containers() (Containers, error)
	// Proxy returns the gRPC fault proxy between the client and the
	// service; where there is none, an error wrapping ErrNoProxy.
	Proxy() (*proxy.Proxy, error)
	// KeySource returns the key source the service reads its grant keys
	// from, where jitbench serves it; else an error wrapping ErrNoKeySource.
	KeySource() (KeySource, error)
	// Forger returns a forger of credential ("grant" or "identity") in the
	// target's own layout and keys: the token mutation faults forge with it.
	Forger(credential string) (*Forger, error)
	// Seed is the run's seed, for faults that draw random numbers.
	Seed() int64
	// Effect records how to measure what the fault being applied did; the
	// harness calls measure once the run is over, and reports the effect.
	Effect(measure func() Effect)
}

// BrokerControl is what faults may do to the broker.
type BrokerControl interface {
	// SetApprover puts a on top of the reviewers that decide pending
	// requests; remove takes a off only, and the one below decides again
	// (with none, requests stay pending), whatever order they are removed in.
	SetApprover(a Approver) (remove func())
	// RevokeActive revokes every active grant and returns how many it revoked.
	RevokeActive(ctx context.Context) (int, error)
	// RotateKey makes a new signing key current and returns its key id; the
	// old one keeps verifying for the overlap.
	RotateKey(ctx context.Context) (kid string, err error)
	// Restart stops the broker and starts it again on the same store; it
	// returns how long the broker was down.
	Restart(ctx context.Context) (down time.Duration, err error)
}

// Approver decides pending access requests: the harness calls Decide for
// each new pending request and applies the decision after its delay.
type Approver interface {
	Decide(req *jitv1.AccessRequest) Decision
}

// Decision is what a scripted reviewer does with one request.
type Decision struct {
	// Approve or deny; ignored when Never is set.
	Approve bool
	// After delays the review.
	After time.Duration
	// Never leaves the request pending (the reviewer is away).
	Never bool
	// Comment is recorded with the review.
	Comment string
}

// ApproverFunc adapts a function to Approver.
type ApproverFunc func(req *jitv1.AccessRequest) Decision

// Decide calls f.
func (f ApproverFunc) Decide(req *jitv1.AccessRequest) Decision { return f(req) }

var _ Approver = ApproverFunc(nil)
