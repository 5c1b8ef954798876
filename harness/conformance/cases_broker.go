package conformance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/jitbench/jitbench/fakes"
	"github.com/jitbench/jitbench/harness/load"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Timings of SCP-003.
const (
	// approvalWait bounds the wait for the broker to approve the suite's request.
	approvalWait = 10 * time.Second
	// revocationBound is how long a revocation may take to reach the target.
	revocationBound = 5 * time.Second
	// revocationPoll spaces the calls that watch for it.
	revocationPoll = 20 * time.Millisecond
)

// revoked is SCP-003: the suite obtains a real grant from the broker the
// target trusts, checks it passes, revokes it, and calls until the target
// refuses it (or revocationBound passes).
func (r *runner) revoked(ctx context.Context, _ *Case) []variant {
	if r.cfg.Broker == nil {
		return r.revokedByHook(ctx)
	}
	const name = "revoked"
	identity, _, err := r.credentials()
	if err != nil {
		return []variant{failed(name, err)}
	}
	broker, stop, err := r.brokerAs(r.cfg.Subject, nil)
	if err != nil {
		return []variant{failed(name, err)}
	}
	defer stop()
	ar, err := r.approvedGrant(ctx, broker)
	if err != nil {
		return []variant{failed(name, err)}
	}
	md := r.md(identity, ar.GetGrant())
	if before := r.call(ctx, name, callSpec{md: md}); before.code != codes.OK {
		return []variant{failed(name, fmt.Errorf("the broker's grant was refused before any revocation (%s %s): "+
			"does the target trust this broker?", reason.CodeName(before.code), before.reason))}
	}
	rctx, cancel := context.WithTimeout(ctx, approvalWait)
	defer cancel()
	if _, err := broker.Revoke(rctx, &jitv1.RevokeRequest{Id: ar.GetId(), Comment: "jitbench conformance SCP-003"}); err != nil {
		return []variant{failed(name, fmt.Errorf("revoke the grant at the broker: %w", err))}
	}
	return []variant{r.untilRefused(ctx, name, md)}
}

// untilRefused calls with md until the target refuses it, or
// revocationBound has passed since the revocation.
func (r *runner) untilRefused(ctx context.Context, name string, md metadata.MD) variant {
	revokedAt := time.Now()
	for {
		v := r.call(ctx, name, callSpec{md: md})
		if v.code != codes.OK || time.Since(revokedAt) > revocationBound || ctx.Err() != nil {
			if v.code != codes.OK {
				v.note = fmt.Sprintf("refused %s after the revocation", time.Since(revokedAt).Round(time.Millisecond))
			} else {
				v.note = fmt.Sprintf("still accepted %s after the revocation", revocationBound)
			}
			return v
		}
		time.Sleep(revocationPoll)
	}
}

// revokedByHook is SCP-003 through the config's revoke hook: the suite
// signs the grant itself, so it also sends one whose exp has just passed
// (accepted only thanks to the leeway): a revocation must outlive exp for
// as long as the target could still accept the grant.
func (r *runner) revokedByHook(ctx context.Context) []variant {
	if r.forger.Template != nil && !r.forger.Template.Uses(fakes.PlaceholderID) {
		return []variant{{name: "revoked", skip: "the grant's claim template has no ${jti}: the hook revokes a grant by its id"}}
	}
	var out []variant
	for _, name := range []string{"revoked", "after-exp"} {
		opts := fakes.ValidOptions{ID: "jitbench-revoke-" + token.NewID()}
		if name == "after-exp" {
			if r.cfg.Leeway < 2*time.Second {
				out = append(out, variant{name: name, skip: "the leeway is under 2 s: no grant can be past its exp and still accepted"})
				continue
			}
			opts.Expires = time.Now().Add(-r.cfg.Leeway / 2)
		}
		out = append(out, r.revokeOne(ctx, name, opts))
	}
	return out
}

// revokeOne signs a grant with opts, checks the target accepts it, revokes it through the hook and expects refusals.
func (r *runner) revokeOne(ctx context.Context, name string, opts fakes.ValidOptions) variant {
	identity, _, err := r.credentials()
	if err != nil {
		return failed(name, err)
	}
	grant, err := r.forger.ValidWith(opts)
	if err != nil {
		return failed(name, err)
	}
	md := r.md(identity, grant)
	if before := r.call(ctx, name, callSpec{md: md}); before.code != codes.OK {
		return failed(name, fmt.Errorf("the grant was refused before any revocation (%s %s)", reason.CodeName(before.code), before.reason))
	}
	rctx, cancel := context.WithTimeout(ctx, approvalWait)
	defer cancel()
	if err := r.cfg.Revoker.Revoke(rctx, opts.ID); err != nil {
		return failed(name, err)
	}
	return r.untilRefused(ctx, name, md)
}

// brokerAs connects to the broker as subject in groups.
func (r *runner) brokerAs(subject string, groups []string) (jitv1.BrokerClient, func(), error) {
	b := r.cfg.Broker
	id, err := r.mintIdentity(subject, groups, b.Audience)
	if err != nil {
		return nil, nil, err
	}
	conn, err := load.BrokerConn(b.Address, id)
	if err != nil {
		return nil, nil, fmt.Errorf("broker %s: %w", b.Address, err)
	}
	return jitv1.NewBrokerClient(conn), func() { _ = conn.Close() }, nil
}

// approvedGrant requests access to the protected method and waits for the
// approval, giving it as broker.approver when one is configured.
func (r *runner) approvedGrant(ctx context.Context, broker jitv1.BrokerClient) (*jitv1.AccessRequest, error) {
	ctx, cancel := context.WithTimeout(ctx, approvalWait)
	defer cancel()
	b := r.cfg.Broker
	ar, err := broker.RequestAccess(ctx, &jitv1.RequestAccessRequest{
		Scope:         &jitv1.Scope{Service: r.cfg.Audience, Methods: []string{r.cfg.Method.Method}, Resource: r.cfg.Resource},
		Justification: "jitbench conformance SCP-003: a grant to revoke",
	})
	if err != nil {
		return nil, fmt.Errorf("request access at broker %s: %w", b.Address, err)
	}
	// A review that fails may have lost a race with the broker's own
	// auto-approval: what counts is the decision, and the error only explains a refusal.
	var reviewErr error
	if ar.GetState() == jitv1.State_STATE_PENDING && b.Approver != "" {
		reviewErr = r.approve(ctx, ar.GetId())
	}
	if ar, err = decided(ctx, broker, ar); err != nil {
		return nil, errors.Join(err, reviewErr)
	}
	if ar.GetState() != jitv1.State_STATE_APPROVED || ar.GetGrant() == "" {
		return nil, errors.Join(fmt.Errorf("the broker did not approve the suite's request (%s): "+
			"set broker.approver and broker.approver_groups, or auto-approve", ar.GetState()), reviewErr)
	}
	return ar, nil
}

// approve approves request id as the configured approver.
func (r *runner) approve(ctx context.Context, id string) error {
	b := r.cfg.Broker
	approver, stop, err := r.brokerAs(b.Approver, b.ApproverGroups)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := approver.Review(ctx, &jitv1.ReviewRequest{Id: id, Decision: jitv1.Decision_DECISION_APPROVE,
		Comment: "jitbench conformance SCP-003"}); err != nil {
		return fmt.Errorf("approve the suite's request as %s: %w", b.Approver, err)
	}
	return nil
}

// decided watches ar until it leaves PENDING.
func decided(ctx context.Context, broker jitv1.BrokerClient, ar *jitv1.AccessRequest) (*jitv1.AccessRequest, error) {
	if ar.GetState() != jitv1.State_STATE_PENDING {
		return ar, nil
	}
	stream, err := broker.Watch(ctx, &jitv1.WatchRequest{Id: ar.GetId()})
	if err != nil {
		return nil, fmt.Errorf("watch the suite's request: %w", err)
	}
	for {
		next, err := stream.Recv()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no decision on the suite's request within %s: set broker.approver, or auto-approve", approvalWait)
		}
		if err != nil {
			return nil, fmt.Errorf("watch the suite's request: %w", err)
		}
		if next.GetState() != jitv1.State_STATE_PENDING {
			return next, nil
		}
	}
}
