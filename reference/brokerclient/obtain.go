package brokerclient

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// obtain gets a grant for sc from the broker: it resumes a request left
// pending for the scope or opens a new one, then watches it until a
// decision. A request still open when obtain gives up (deadline, broker
// unreachable) is remembered for the next caller.
func (g *GrantSource) obtain(ctx context.Context, sc scoped, p *progress) (interceptor.Credential, error) {
	id := g.pending.take(sc.key)
	resumed := id != ""
	reasks := 0
	for {
		var (
			ar  *jitv1.AccessRequest
			err error
		)
		if id == "" {
			ar, err = g.open(ctx, sc, p)
			if err != nil {
				return interceptor.Credential{}, err
			}
			id = ar.GetId()
			p.setRequest(id)
		} else {
			p.setRequest(id)
		}
		if ar == nil || !decided(ar.GetState()) {
			ar, err = g.watch(ctx, id, p)
		}
		switch {
		case errors.Is(err, errGone) && resumed:
			// The broker no longer knows the request we left pending: ask afresh.
			id, resumed = "", false
			continue
		case errors.Is(err, errGone):
			return interceptor.Credential{}, status.Errorf(codes.NotFound, "the broker lost request %s while it was watched", id)
		case errors.Is(err, errInterrupted) || errors.Is(err, reason.BrokerUnavailable):
			g.pending.put(sc.key, id) // still open at the broker: the next Grant resumes it
			return interceptor.Credential{}, err
		case err != nil:
			return interceptor.Credential{}, err
		}
		cred, err := g.settle(ar)
		if errors.Is(err, errGone) {
			// The request was approved, but its grant ended before this
			// caller could use it (it waited through a broker outage, or
			// resumed a request nobody watched): that is no denial, so ask
			// again, a bounded number of times.
			if reasks < maxReasks {
				reasks++
				id, resumed = "", false
				continue
			}
			return cred, denied(ar)
		}
		return cred, err
	}
}

// request is the RequestAccess message for sc.
func (g *GrantSource) request(sc scoped) *jitv1.RequestAccessRequest {
	req := &jitv1.RequestAccessRequest{Scope: sc.scope, Justification: g.opts.Justification, OneShot: g.opts.OneShot}
	if g.opts.Duration > 0 {
		req.Duration = durationpb.New(g.opts.Duration)
	}
	return req
}

// open calls RequestAccess, retrying while the broker is unreachable.
func (g *GrantSource) open(ctx context.Context, sc scoped, p *progress) (*jitv1.AccessRequest, error) {
	req := g.request(sc)
	for {
		ar, err := g.client.RequestAccess(ctx, req)
		if err == nil {
			p.reached()
			return ar, nil
		}
		if err := g.retry(ctx, p, err, false); err != nil {
			return nil, err
		}
	}
}

// watch follows request id until it leaves PENDING, re-opening the stream
// (with backoff) when the broker drops it: Watch starts with the current
// state, so nothing is missed by reconnecting.
func (g *GrantSource) watch(ctx context.Context, id string, p *progress) (*jitv1.AccessRequest, error) {
	for {
		ar, err := g.watchOnce(ctx, id, p)
		if err == nil {
			return ar, nil
		}
		if err := g.retry(ctx, p, err, true); err != nil {
			return nil, err
		}
	}
}

// watchOnce reads one Watch stream until a decision or an error.
func (g *GrantSource) watchOnce(ctx context.Context, id string, p *progress) (*jitv1.AccessRequest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream when a decision arrives before the broker closes it
	stream, err := g.client.Watch(ctx, &jitv1.WatchRequest{Id: id})
	if err != nil {
		return nil, err
	}
	for {
		ar, err := stream.Recv()
		if err == io.EOF {
			return nil, errStreamEnded
		}
		if err != nil {
			return nil, err
		}
		p.reached()
		if decided(ar.GetState()) {
			return ar, nil
		}
	}
}

// retry decides what a failed broker call means: nil to try again after a
// backoff, errInterrupted when ctx ended, errGone for an unknown request,
// BROKER_UNAVAILABLE when attempts or the deadline ran out, or err itself
// when retrying cannot help (the broker refused: NO_POLICY, say).
func (g *GrantSource) retry(ctx context.Context, p *progress, err error, watching bool) error {
	if ctx.Err() != nil || deadlineReached(ctx, err) {
		return errInterrupted
	}
	if watching && status.Code(err) == codes.NotFound {
		return errGone
	}
	if !transient(err, watching) {
		return err
	}
	failures := p.fail(err)
	if g.backoff.exhausted(failures) {
		return brokerUnavailable(p.snapshot(), "no attempt left")
	}
	d := g.backoff.delay(failures)
	if !fits(ctx, d) {
		// The next attempt would start after the deadline: give up now and
		// let the shared attempt's other callers decide for themselves.
		return errInterrupted
	}
	if g.backoff.sleep(ctx, d) != nil {
		return errInterrupted
	}
	return nil
}

// deadlineReached reports whether err is ctx's own deadline, seen first by
// the broker: grpc-go sends the deadline along, and the broker's copy can
// fire (and its DEADLINE_EXCEEDED arrive) a moment before ctx.Err() is set.
func deadlineReached(ctx context.Context, err error) bool {
	_, has := ctx.Deadline()
	return has && status.Code(err) == codes.DeadlineExceeded
}

// transient reports whether err may go away by trying again: the broker or
// the path to it is down, or (while watching) the stream was cut.
func transient(err error, watching bool) bool {
	if errors.Is(err, errStreamEnded) {
		return true
	}
	var ne interface{ Timeout() bool } // net.Error from a custom BrokerClient
	if errors.As(err, &ne) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return true
	case codes.ResourceExhausted:
		// The broker cuts watchers that fall behind; Watch resumes from the current state.
		return watching
	}
	return false
}

// decided reports whether a request in state s will not change on its own
// before a decision: every state but PENDING (and the unset value, which a
// broker never stores, treated as pending).
func decided(s jitv1.State) bool {
	return s != jitv1.State_STATE_PENDING && s != jitv1.State_STATE_UNSPECIFIED
}

// maxReasks bounds how often one Grant asks again after an approved
// request's grant ended before it could be used.
const maxReasks = 2

// settle turns a decided request into a credential or an APPROVAL_DENIED;
// errGone when it was approved but its grant has already ended.
func (g *GrantSource) settle(ar *jitv1.AccessRequest) (interceptor.Credential, error) {
	switch ar.GetState() {
	case jitv1.State_STATE_APPROVED:
		if ar.GetGrant() == "" {
			return interceptor.Credential{}, status.Errorf(codes.Internal,
				"the broker approved request %s but sent no grant (is the caller its requester?)", ar.GetId())
		}
		expires := token.UnverifiedExpiry(ar.GetGrant())
		if ar.GetGrantExpiresAt() != nil {
			expires = ar.GetGrantExpiresAt().AsTime()
		}
		if !expires.IsZero() && !g.clock.Now().Before(expires) {
			return interceptor.Credential{}, errGone
		}
		return interceptor.Credential{Token: ar.GetGrant(), Expires: expires, Once: ar.GetOneShot() || g.opts.OneShot}, nil
	case jitv1.State_STATE_ENDED:
		return interceptor.Credential{}, errGone
	}
	return interceptor.Credential{}, denied(ar)
}
