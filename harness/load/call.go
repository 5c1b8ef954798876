package load

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
)

// Call identifies one call of a run, for a CallTarget and for Options.Observe.
type Call struct {
	// Seq numbers the run's calls in the order they were sent, from 0, warm-up included.
	Seq uint64
	// Worker is the worker making the call; one worker's calls never overlap.
	Worker int
	// Intended is when the call was due in open loop; zero in closed loop, where latency runs from Start.
	Intended time.Time
	// Start is when the call was sent.
	Start time.Time
}

// CallTarget is a Target told which call it makes, so it can keep its own
// record of each call under the call's number; the generator calls CallN
// instead of Call.
type CallTarget interface {
	Target
	// CallN makes call c; the error is its status, as for Target.Call.
	CallN(ctx context.Context, c Call) error
}

// CallTargetFunc adapts a function to a CallTarget.
type CallTargetFunc func(ctx context.Context, c Call) error

// Call calls f with a zero Call: the target is used outside a generator.
func (f CallTargetFunc) Call(ctx context.Context) error { return f(ctx, Call{}) }

// CallN calls f(ctx, c).
func (f CallTargetFunc) CallN(ctx context.Context, c Call) error { return f(ctx, c) }

var _ CallTarget = CallTargetFunc(nil)

// Finished is one call as the generator recorded it, for Options.Observe.
type Finished struct {
	Call
	// Err is the call's status as the target or the credentials returned it; nil for OK.
	Err error
	// Code and Reason are what the result counts the call under.
	Code   codes.Code
	Reason string
	// Latency is the latency recorded: from Intended when set, else from Start.
	Latency time.Duration
	// Measured is false for a warm-up call, which the result leaves out.
	Measured bool
}
