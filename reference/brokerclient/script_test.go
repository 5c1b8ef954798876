package brokerclient

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// step changes a request the way one broker transition would.
type step func(*jitv1.AccessRequest)

// scripted returns a Watch that sends the stored request, then one message
// per step. It ends the stream on a decided state and otherwise waits for
// the client to leave, like a broker nobody answers.
func (b *fakeBroker) scripted(steps ...step) func(*jitv1.WatchRequest, grpc.ServerStreamingServer[jitv1.AccessRequest]) error {
	return func(in *jitv1.WatchRequest, s grpc.ServerStreamingServer[jitv1.AccessRequest]) error {
		b.mu.Lock()
		r := proto.Clone(b.reqs[in.GetId()]).(*jitv1.AccessRequest)
		b.mu.Unlock()
		if err := s.Send(r); err != nil {
			return err
		}
		for _, st := range steps {
			r.Revision++
			st(r)
			if err := s.Send(r); err != nil {
				return err
			}
		}
		if r.GetState() == jitv1.State_STATE_PENDING {
			<-s.Context().Done()
		}
		return nil
	}
}

// reviewed adds an approving review that is not yet enough.
func reviewed(reviewer string) step {
	return func(r *jitv1.AccessRequest) {
		r.Reviews = append(r.Reviews, &jitv1.Review{Reviewer: reviewer, Decision: jitv1.Decision_DECISION_APPROVE})
	}
}

// approvedFor approves with a grant valid for ttl on clock.
func approvedFor(clock clockwork.Clock, ttl time.Duration) step {
	return func(r *jitv1.AccessRequest) { approveLocked(r, clock, ttl) }
}

// deniedBy records reviewer's denial.
func deniedBy(reviewer, comment string) step {
	return func(r *jitv1.AccessRequest) {
		r.Reviews = append(r.Reviews, &jitv1.Review{Reviewer: reviewer, Decision: jitv1.Decision_DECISION_DENY, Comment: comment})
		r.State, r.Actor = jitv1.State_STATE_DENIED, reviewer
	}
}

// toState moves the request to s, by actor for reason why.
func toState(s jitv1.State, actor, why string) step {
	return func(r *jitv1.AccessRequest) { r.State, r.Actor, r.StateReason = s, actor, why }
}

// sleeps is an injected backoff wait: it records each wait and returns at
// once, so retry tests take no time and can check the waits drawn.
type sleeps struct {
	mu  sync.Mutex
	got []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.got = append(s.got, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.got...)
}

// expireDuringBackoff is a backoff wait during which the call's deadline passes.
func expireDuringBackoff(ctx context.Context, _ time.Duration) error {
	if c, ok := ctx.(*deadlineCtx); ok {
		c.expire()
	}
	<-ctx.Done()
	return ctx.Err()
}

// t0 is the fake clocks' start.
var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// withTimeout is a context ending after d, cancelled when the test ends.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// ts is a timestamp proto for t.
func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// deadlineCtx is a context whose deadline passes when the test says so:
// tests about "the deadline passed while the request was pending" must not
// race the scheduler for a 50 ms budget. Err reports DeadlineExceeded, as a
// real deadline would.
type deadlineCtx struct {
	context.Context
	deadline time.Time
	done     chan struct{}
	once     sync.Once
}

func newDeadlineCtx(t *testing.T) *deadlineCtx {
	c := &deadlineCtx{Context: context.Background(), deadline: time.Now().Add(time.Minute), done: make(chan struct{})}
	t.Cleanup(c.expire)
	return c
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *deadlineCtx) Done() <-chan struct{}       { return c.done }
func (c *deadlineCtx) expire()                     { c.once.Do(func() { close(c.done) }) }

func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// pendingUntilDeadline runs Grant with a deadline that passes once the
// broker is watching the request, and returns its error.
func (r *rig) pendingUntilDeadline(t *testing.T, method string) error {
	t.Helper()
	watches := r.broker.count("Watch")
	ctx := newDeadlineCtx(t)
	done := make(chan error, 1)
	go func() {
		_, err := r.src.Grant(ctx, method)
		done <- err
	}()
	require.Eventually(t, func() bool { return r.broker.count("Watch") > watches }, 5*time.Second, time.Millisecond)
	ctx.expire()
	return <-done
}
