package harness

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jitbench/jitbench/fakes"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// brokerControl is what faults may do to the Env's broker.
type brokerControl struct{ e *Env }

var _ fakes.BrokerControl = brokerControl{}

// SetApprover implements fakes.BrokerControl.
func (c brokerControl) SetApprover(a fakes.Approver) { c.e.reviewer.set(a) }

// RevokeActive implements fakes.BrokerControl: the reviewer revokes every approved request.
func (c brokerControl) RevokeActive(ctx context.Context) (int, error) {
	n := 0
	err := c.e.WithBroker(func(sys *stack.System) error {
		in := &jitv1.ListRequestsRequest{State: jitv1.State_STATE_APPROVED}
		var active []*jitv1.AccessRequest
		for {
			page, err := sys.Broker.ListRequests(ctx, c.e.reviewer.caller, in)
			if err != nil {
				return err
			}
			active = append(active, page.GetRequests()...)
			if page.GetNextPageToken() == "" {
				break
			}
			in.PageToken = page.GetNextPageToken()
		}
		for _, r := range active {
			if _, err := sys.Broker.Revoke(ctx, c.e.reviewer.caller,
				&jitv1.RevokeRequest{Id: r.GetId(), Comment: "revoked by a jitbench fault"}); err != nil {
				return fmt.Errorf("revoke %s: %w", r.GetId(), err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// RotateKey implements fakes.BrokerControl with a key of the current
// signing algorithm, derived from the run's seed so reruns sign alike.
func (c brokerControl) RotateKey(_ context.Context) error {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	c.e.rotations++
	alg := c.e.sc.Broker.Algorithm
	kid := token.DevKeyID(token.DevGrantIssuer, alg) + "-rotated-" + strconv.Itoa(c.e.rotations)
	var (
		next *token.Key
		err  error
	)
	if alg == token.RS256 {
		next, err = token.GenerateKey(alg, kid)
	} else {
		next, err = token.DeriveKey(alg, kid, fmt.Sprintf("jitbench run %d rotation %d", c.e.sc.Seed, c.e.rotations))
	}
	if err != nil {
		return err
	}
	return c.e.sys.Broker.Rotate(next)
}

// Restart implements fakes.BrokerControl: the broker stops (every stream to
// it breaks) and a new one serves the same store at the same address.
func (c brokerControl) Restart(_ context.Context) error {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	return c.e.sys.RestartBroker(c.e.brokerEP.listener())
}
