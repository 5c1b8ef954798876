package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/jitbench/jitbench/fakes"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// brokerControl is what faults may do to the Env's broker.
type brokerControl struct{ e *Env }

var _ fakes.BrokerControl = brokerControl{}

// SetApprover implements fakes.BrokerControl: a goes on top of the reviewer's approvers.
func (c brokerControl) SetApprover(a fakes.Approver) (remove func()) { return c.e.reviewer.push(a) }

// RevokeActive implements fakes.BrokerControl: the reviewer revokes every approved request.
func (c brokerControl) RevokeActive(ctx context.Context) (int, error) {
	if err := c.e.reach.revoke(); err != nil {
		return 0, err
	}
	active, err := requestsIn(ctx, c.e.sys, jitv1.State_STATE_APPROVED)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range active {
		if err := c.e.sys.revoke(ctx, &jitv1.RevokeRequest{Id: r.GetId(), Comment: "revoked by a jitbench fault"}); err != nil {
			return n, fmt.Errorf("revoke %s: %w", r.GetId(), err)
		}
		n++
	}
	if x, ok := c.e.sys.(*externalSystem); ok {
		// The user's service hears of a revocation through its own hook.
		return x.revokeIssued(ctx)
	}
	return n, nil
}

// RotateKey implements fakes.BrokerControl with a key of the current
// signing algorithm, derived from the run's seed so reruns sign alike.
func (c brokerControl) RotateKey(ctx context.Context) (string, error) {
	if err := c.e.reach.rotate(); err != nil {
		return "", err
	}
	return c.e.sys.rotateKey(ctx)
}

// Restart implements fakes.BrokerControl: the broker stops (every stream to
// it breaks) and a new one serves the same store at the same address; the
// time that took is how long it was down.
func (c brokerControl) Restart(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := c.e.sys.restartBroker(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
