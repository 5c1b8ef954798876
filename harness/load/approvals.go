package load

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// ApprovalWatch counts, through the broker client it wraps, the access
// requests a run waits on: how many are pending right now, how many
// times the broker said one was, and how many it decided. A PendingGuard
// reads it to tell a run stuck on approvals nobody gives from a slow one.
type ApprovalWatch struct {
	waiting atomic.Int64 // Watch streams whose last state was PENDING
	pending atomic.Int64 // PENDING states seen, from RequestAccess or Watch
	decided atomic.Int64 // decisions seen
}

// ApprovalCounts is a snapshot of an ApprovalWatch.
type ApprovalCounts struct {
	// Waiting is the number of requests watched right now whose last state was PENDING.
	Waiting int64
	// Pending counts the times the broker answered that a request was PENDING.
	Pending int64
	// Decided counts the decisions seen: approved, denied, expired and the like.
	Decided int64
}

// Counts returns the watch's counts; it is safe for concurrent use.
func (w *ApprovalWatch) Counts() ApprovalCounts {
	return ApprovalCounts{Waiting: w.waiting.Load(), Pending: w.pending.Load(), Decided: w.decided.Load()}
}

// Client wraps c: its RequestAccess and Watch answers are counted, every
// other method is c's own.
func (w *ApprovalWatch) Client(c jitv1.BrokerClient) jitv1.BrokerClient {
	return &watchedBroker{BrokerClient: c, w: w}
}

// seen counts one state the broker sent.
func (w *ApprovalWatch) seen(s jitv1.State) {
	if pendingState(s) {
		w.pending.Add(1)
	} else {
		w.decided.Add(1)
	}
}

// pendingState reports whether a request in state s waits for a decision;
// a broker never stores the unset state, and the broker client waits on it too.
func pendingState(s jitv1.State) bool {
	return s == jitv1.State_STATE_PENDING || s == jitv1.State_STATE_UNSPECIFIED
}

// watchedBroker is a broker client whose request states an ApprovalWatch counts.
type watchedBroker struct {
	jitv1.BrokerClient
	w *ApprovalWatch
}

// RequestAccess counts the state of the request the broker opened.
func (b *watchedBroker) RequestAccess(ctx context.Context, in *jitv1.RequestAccessRequest, opts ...grpc.CallOption) (*jitv1.AccessRequest, error) {
	ar, err := b.BrokerClient.RequestAccess(ctx, in, opts...)
	if err == nil {
		b.w.seen(ar.GetState())
	}
	return ar, err
}

// Watch counts the states the stream sends, and the stream as waiting
// while its last state is PENDING.
func (b *watchedBroker) Watch(ctx context.Context, in *jitv1.WatchRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[jitv1.AccessRequest], error) {
	st, err := b.BrokerClient.Watch(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	return &watchedStream{ServerStreamingClient: st, w: b.w}, nil
}

// watchedStream is one Watch stream; its Recv is called from one goroutine.
type watchedStream struct {
	grpc.ServerStreamingClient[jitv1.AccessRequest]
	w       *ApprovalWatch
	waiting bool
}

// Recv counts the state received; an error ends the stream's wait.
func (s *watchedStream) Recv() (*jitv1.AccessRequest, error) {
	ar, err := s.ServerStreamingClient.Recv()
	if err != nil {
		s.stopWaiting()
		return ar, err
	}
	s.w.seen(ar.GetState())
	if pendingState(ar.GetState()) {
		if !s.waiting {
			s.waiting = true
			s.w.waiting.Add(1)
		}
	} else {
		s.stopWaiting()
	}
	return ar, nil
}

func (s *watchedStream) stopWaiting() {
	if s.waiting {
		s.waiting = false
		s.w.waiting.Add(-1)
	}
}
