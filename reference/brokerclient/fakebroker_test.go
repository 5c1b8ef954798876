package brokerclient

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// fakeBroker is a scripted jit.v1.Broker: a small request store whose
// decisions the test makes (approve, deny, ...), with per-method scripted
// failures and call counts, a revocation feed the test writes to, and a
// fixed JWKS.
type fakeBroker struct {
	jitv1.UnimplementedBrokerServer
	clock clockwork.Clock

	mu       sync.Mutex
	reqs     map[string]*jitv1.AccessRequest
	changed  chan struct{} // closed and replaced on every change
	nextID   int
	calls    map[string]int
	failures map[string][]error // popped one per call, before the call does anything
	// decide, if set, settles a new request at once (auto-approve, policy deny).
	decide func(*jitv1.AccessRequest)
	// watch, if set, replaces the store-driven Watch.
	watch func(*jitv1.WatchRequest, grpc.ServerStreamingServer[jitv1.AccessRequest]) error
	jwks  string
	keyID string // the key set id Keys sends with jwks

	revFeed  chan revItem                        // what WatchRevocations streams
	revAfter chan *jitv1.WatchRevocationsRequest // each WatchRevocations call's request
	revGen   atomic.Int64                        // counts WatchRevocations calls: only the latest stream takes from revFeed
}

// revItem is one scripted step of a revocation stream: an event to send, or an error ending the stream.
type revItem struct {
	ev  *jitv1.RevocationEvent
	err error
}

func newFakeBroker(clock clockwork.Clock) *fakeBroker {
	return &fakeBroker{
		clock:    clock,
		reqs:     make(map[string]*jitv1.AccessRequest),
		changed:  make(chan struct{}),
		calls:    make(map[string]int),
		failures: make(map[string][]error),
		revFeed:  make(chan revItem),
		revAfter: make(chan *jitv1.WatchRevocationsRequest, 16),
	}
}

// serveBroker serves srv over bufconn and returns a client for it and a func stopping the server (the broker goes down).
func serveBroker(t *testing.T, srv jitv1.BrokerServer) (jitv1.BrokerClient, func()) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	jitv1.RegisterBrokerServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///broker",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	var once sync.Once
	stop := func() { once.Do(s.Stop) }
	t.Cleanup(func() { _ = conn.Close(); stop() })
	client := jitv1.NewBrokerClient(conn)
	// Connect now, so tests with a short deadline spend none of it on the
	// handshake (the fake does not implement GetRequest: any answer will do).
	_, err = client.GetRequest(context.Background(), &jitv1.GetRequestRequest{}, grpc.WaitForReady(true))
	require.Equal(t, codes.Unimplemented, status.Code(err))
	return client, stop
}

// unavailable is the error a broker returns while it cannot serve.
var unavailable = status.Error(codes.Unavailable, "broker overloaded")

// setWatch replaces the store-driven Watch with w (nil restores it).
func (b *fakeBroker) setWatch(w func(*jitv1.WatchRequest, grpc.ServerStreamingServer[jitv1.AccessRequest]) error) {
	b.mu.Lock()
	b.watch = w
	b.mu.Unlock()
}

// setDecide makes every new request settled by decide (nil leaves them pending).
func (b *fakeBroker) setDecide(decide func(*jitv1.AccessRequest)) {
	b.mu.Lock()
	b.decide = decide
	b.mu.Unlock()
}

// fail scripts the next calls of method to fail with errs, in order.
func (b *fakeBroker) fail(method string, errs ...error) {
	b.mu.Lock()
	b.failures[method] = append(b.failures[method], errs...)
	b.mu.Unlock()
}

// call counts a call of method and pops its scripted failure, if any.
func (b *fakeBroker) call(method string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[method]++
	if errs := b.failures[method]; len(errs) > 0 {
		b.failures[method] = errs[1:]
		return errs[0]
	}
	return nil
}

// count returns how many times method was called.
func (b *fakeBroker) count(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[method]
}

// update changes request id under the lock and wakes its watchers.
func (b *fakeBroker) update(id string, fn func(*jitv1.AccessRequest)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.reqs[id]
	if !ok {
		panic("fake broker: no request " + id)
	}
	fn(r)
	r.Revision++
	close(b.changed)
	b.changed = make(chan struct{})
}

// approve approves request id with a grant valid for ttl on the broker's clock.
func (b *fakeBroker) approve(id string, ttl time.Duration) {
	b.update(id, func(r *jitv1.AccessRequest) { approveLocked(r, b.clock, ttl) })
}

func approveLocked(r *jitv1.AccessRequest, clock clockwork.Clock, ttl time.Duration) {
	r.State = jitv1.State_STATE_APPROVED
	r.Grant = fmt.Sprintf("grant-%s-r%d", r.GetId(), r.GetRevision())
	r.GrantId = "jti-" + r.GetId()
	r.GrantExpiresAt = timestamppb.New(clock.Now().Add(ttl))
}

// setState moves request id to state s.
func (b *fakeBroker) setState(id string, s jitv1.State) {
	b.update(id, func(r *jitv1.AccessRequest) { r.State = s })
}

// request returns a copy of request id as stored.
func (b *fakeBroker) request(id string) *jitv1.AccessRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return proto.Clone(b.reqs[id]).(*jitv1.AccessRequest)
}

// forget drops request id, as a broker that lost it would.
func (b *fakeBroker) forget(id string) {
	b.mu.Lock()
	delete(b.reqs, id)
	b.mu.Unlock()
}

func (b *fakeBroker) RequestAccess(_ context.Context, in *jitv1.RequestAccessRequest) (*jitv1.AccessRequest, error) {
	if err := b.call("RequestAccess"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	r := &jitv1.AccessRequest{
		Id: fmt.Sprintf("req-%d", b.nextID), Requester: "alice", Scope: in.GetScope(),
		Justification: in.GetJustification(), Duration: in.GetDuration(), OneShot: in.GetOneShot(),
		State: jitv1.State_STATE_PENDING, Revision: 1, ApprovalsNeeded: 1, Policy: "vault-readers",
	}
	if b.decide != nil {
		b.decide(r)
	}
	b.reqs[r.Id] = r
	return proto.Clone(r).(*jitv1.AccessRequest), nil
}

func (b *fakeBroker) Watch(in *jitv1.WatchRequest, s grpc.ServerStreamingServer[jitv1.AccessRequest]) error {
	if err := b.call("Watch"); err != nil {
		return err
	}
	b.mu.Lock()
	watch := b.watch
	b.mu.Unlock()
	if watch != nil {
		return watch(in, s)
	}
	var sent uint64
	for {
		b.mu.Lock()
		r, ok := b.reqs[in.GetId()]
		var cur *jitv1.AccessRequest
		if ok {
			cur = proto.Clone(r).(*jitv1.AccessRequest)
		}
		changed := b.changed
		b.mu.Unlock()
		if !ok {
			return status.Errorf(codes.NotFound, "no request %s", in.GetId())
		}
		if cur.GetRevision() > sent {
			if err := s.Send(cur); err != nil {
				return err
			}
			sent = cur.GetRevision()
			if cur.GetState() != jitv1.State_STATE_PENDING {
				return nil
			}
		}
		select {
		case <-changed:
		case <-s.Context().Done():
			return s.Context().Err()
		}
	}
}

func (b *fakeBroker) Keys(context.Context, *jitv1.KeysRequest) (*jitv1.KeysResponse, error) {
	if err := b.call("Keys"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return &jitv1.KeysResponse{Jwks: b.jwks, KeySetId: b.keyID}, nil
}

func (b *fakeBroker) WatchRevocations(in *jitv1.WatchRevocationsRequest, s grpc.ServerStreamingServer[jitv1.RevocationEvent]) error {
	if err := b.call("WatchRevocations"); err != nil {
		return err
	}
	gen := b.revGen.Add(1)
	b.revAfter <- in
	for {
		select {
		case it := <-b.revFeed:
			if it.err != nil {
				return it.err
			}
			if gen != b.revGen.Load() || s.Context().Err() != nil {
				// A stream the follower has cut does not swallow what the next one is due.
				go func() { b.revFeed <- it }()
				return status.Error(codes.Canceled, "superseded")
			}
			if err := s.Send(it.ev); err != nil {
				return err
			}
		case <-s.Context().Done():
			return s.Context().Err()
		}
	}
}
