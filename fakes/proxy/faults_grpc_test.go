package proxy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/fakes/proxy"
)

const (
	unaryMethod  = "/grpc.testing.TestService/UnaryCall"
	streamMethod = "/grpc.testing.TestService/StreamingOutputCall"
)

// TestAbort ends unary calls and streams with the chosen status, before
// the upstream sees them, only on the methods in scope.
func TestAbort(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	ctx := ctxWithTimeout(t)
	mustAdd(t, p.Faults(), `abort:code=PERMISSION_DENIED,message="no, not now",methods=/grpc.testing.TestService/UnaryCall|/grpc.testing.TestService/Streaming*`)

	_, err := unary(ctx, client)
	st := status.Convert(err)
	assert.Equal(t, codes.PermissionDenied, st.Code())
	assert.Equal(t, "no, not now", st.Message())
	n, err := serverStream(ctx, client, 3)
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	assert.Zero(t, n)
	_, err = client.EmptyCall(ctx, &testpb.Empty{}) // out of scope
	require.NoError(t, err)

	assert.Equal(t, int64(1), up.calls.Load(), "only the out-of-scope call reached the upstream")
	snap := p.Metrics().Snapshot()
	assert.Equal(t, uint64(2), snap.AppliedBy("abort"))
	assert.Equal(t, uint64(1), snap.Applied[proxy.AppliedKey{Fault: "abort", Kind: "abort", Method: streamMethod}])
	assert.Equal(t, uint64(2), snap.CodeCount("PERMISSION_DENIED"))
}

// TestMetadataRewrite drops, replaces and corrupts a credential header on
// its way to the upstream; the client's own metadata is untouched.
func TestMetadataRewrite(t *testing.T) {
	t.Parallel()
	const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
	tests := []struct {
		spec string
		want []string // the header's values at the upstream
	}{
		{"metadata:action=drop", nil},
		{"metadata:header=x-jit-grant,action=drop", []string{"Bearer " + jwt}}, // authorization kept
		{"metadata:action=replace,value=Bearer stale", []string{"Bearer stale"}},
		{"metadata:action=corrupt", []string{"Bearer " + jwt[:strings.LastIndexByte(jwt, '.')+1] + "c2lnbmF0dXJlLAJ5dGVzLWhlcmU"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			up, addr, _ := startUpstream(t, nil)
			p, client := startProxy(t, addr, proxy.Config{})
			mustAdd(t, p.Faults(), tt.spec)
			_, err := unary(ctxWithTimeout(t), client, "authorization", "Bearer "+jwt, "x-jit-grant", jwt)
			require.NoError(t, err)
			assert.Equal(t, tt.want, up.last(t).md.Get("authorization"))
			assert.Equal(t, uint64(1), p.Metrics().Snapshot().AppliedBy("metadata"))
			n, err := serverStream(ctxWithTimeout(t), client, 2, "authorization", "Bearer "+jwt)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			assert.Equal(t, tt.want, up.last(t).md.Get("authorization"), "on a stream too")
		})
	}
}

// TestDeadlineRewrite shortens the deadline the upstream sees: a call with
// a minute to go reaches the upstream with at most the fault's timeout,
// and ends DEADLINE_EXCEEDED when the upstream takes longer.
func TestDeadlineRewrite(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	mustAdd(t, p.Faults(), "deadline:timeout=2s")
	_, err := unary(ctx, client)
	require.NoError(t, err)
	assert.LessOrEqual(t, up.last(t).left, 2*time.Second)
	_, err = serverStream(ctx, client, 1)
	require.NoError(t, err)
	assert.LessOrEqual(t, up.last(t).left, 2*time.Second, "on a stream too")

	// A held call runs out of the shortened time, not the client's minute.
	_, err = p.Faults().Update(proxy.Spec{Name: "deadline", Kind: "deadline", Params: proxy.Params{"timeout": "50ms"}})
	require.NoError(t, err)
	_, err = unary(ctx, client, keyHold, "1")
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	assert.NoError(t, ctx.Err(), "the client's own deadline is far away")

	// factor: a call without a deadline is left alone.
	_, err = p.Faults().Update(proxy.Spec{Name: "deadline", Kind: "deadline", Params: proxy.Params{"factor": "0.1"}})
	require.NoError(t, err)
	_, err = unary(t.Context(), client)
	require.NoError(t, err)
	assert.True(t, up.last(t).deadline.IsZero())
	_, err = unary(ctx, client)
	require.NoError(t, err)
	assert.LessOrEqual(t, up.last(t).left, 6*time.Second, "a tenth of the minute")
	assert.Equal(t, uint64(5), p.Metrics().Snapshot().AppliedBy("deadline"))
}

// TestReset closes the client's connection: the call fails UNAVAILABLE,
// never reaching the upstream, and the client connects again afterwards.
func TestReset(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	ctx := ctxWithTimeout(t)
	_, err := unary(ctx, client) // connected
	require.NoError(t, err)
	mustAdd(t, p.Faults(), "reset")
	_, err = unary(ctx, client)
	assert.Equal(t, codes.Unavailable, status.Code(err), "err %v", err)
	_, err = serverStream(ctx, client, 2, "x", "y")
	assert.Equal(t, codes.Unavailable, status.Code(err), "err %v", err)
	assert.Equal(t, int64(1), up.calls.Load())
	assert.Equal(t, uint64(2), p.Metrics().Snapshot().AppliedBy("reset"))

	require.NoError(t, p.Faults().Remove("reset"))
	_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.WaitForReady(true))
	require.NoError(t, err)
}

// TestBlackhole holds calls without an answer until the client gives up,
// and lets held calls go on when the fault is removed.
func TestBlackhole(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	mustAdd(t, p.Faults(), "blackhole")

	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := unary(short, client)
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))

	// A held stream goes on once the fault is removed.
	done := make(chan error, 1)
	go func() {
		n, err := serverStream(ctxWithTimeout(t), client, 3)
		if err == nil && n != 3 {
			err = assert.AnError
		}
		done <- err
	}()
	waitApplied(t, p.Metrics(), "blackhole", 2)
	select {
	case err := <-done:
		require.Fail(t, "the blackholed stream ended", "err %v", err)
	default:
	}
	assert.Zero(t, up.calls.Load())
	require.NoError(t, p.Faults().Remove("blackhole"))
	require.NoError(t, <-done)
	assert.Equal(t, int64(1), up.calls.Load())
}

// waitApplied waits until the fault named fault was applied n times.
func waitApplied(t *testing.T, m *proxy.Metrics, fault string, n uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return m.Snapshot().AppliedBy(fault) >= n }, waitFor, time.Millisecond)
}

// TestLatency delays calls on the proxy's clock: a fake one here, so the
// test advances time instead of waiting for it.
func TestLatency(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	clock := clockwork.NewFakeClock()
	p, client := startProxy(t, addr, proxy.Config{Options: proxy.Options{Clock: clock}})
	mustAdd(t, p.Faults(), "latency:delay=10s,jitter=2s")
	ctx := ctxWithTimeout(t)

	for _, call := range []func() error{
		func() error { _, err := unary(ctx, client); return err },
		func() error { _, err := serverStream(ctx, client, 2); return err },
	} {
		before := up.calls.Load()
		done := make(chan error, 1)
		go func() { done <- call() }()
		require.NoError(t, clock.BlockUntilContext(ctx, 1))
		assert.Equal(t, before, up.calls.Load(), "the upstream sees nothing while the call is delayed")
		clock.Advance(7 * time.Second) // below delay - jitter: still held
		select {
		case err := <-done:
			require.Fail(t, "the call ended before its delay", "err %v", err)
		default:
		}
		clock.Advance(5 * time.Second) // past delay + jitter
		require.NoError(t, <-done)
		assert.Equal(t, before+1, up.calls.Load())
	}
	assert.Equal(t, uint64(2), p.Metrics().Snapshot().AppliedBy("latency"))
}

// TestLatencyPerMessage delays every message of a stream, both ways.
func TestLatencyPerMessage(t *testing.T) {
	t.Parallel()
	_, addr, _ := startUpstream(t, nil)
	clock := clockwork.NewFakeClock()
	p, client := startProxy(t, addr, proxy.Config{Options: proxy.Options{Clock: clock}})
	mustAdd(t, p.Faults(), "latency:delay=1s,per=message")
	ctx := ctxWithTimeout(t)
	done := make(chan error, 1)
	got := make(chan int, 1)
	go func() { n, err := serverStream(ctx, client, 3); got <- n; done <- err }()
	// One request message, then three responses: four delays, one at a time.
	for range 4 {
		require.NoError(t, clock.BlockUntilContext(ctx, 1))
		clock.Advance(time.Second)
	}
	require.NoError(t, <-done)
	assert.Equal(t, 3, <-got)
}

// TestBandwidth paces messages by their size: 1000 bytes at 100 B/s wait 10 s each way.
func TestBandwidth(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	clock := clockwork.NewFakeClock()
	p, client := startProxy(t, addr, proxy.Config{Options: proxy.Options{Clock: clock}})
	mustAdd(t, p.Faults(), "bandwidth:rate=100B")
	ctx := ctxWithTimeout(t)
	done := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 1000)}, ResponseSize: 1000})
		done <- err
	}()
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	assert.Zero(t, up.calls.Load(), "the request is still crossing the slow link")
	clock.Advance(9 * time.Second)
	assert.Zero(t, up.calls.Load())
	clock.Advance(2 * time.Second) // the request (1000 bytes and a few of framing) is through
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	assert.Equal(t, int64(1), up.calls.Load())
	clock.Advance(11 * time.Second)
	require.NoError(t, <-done)
	assert.Equal(t, uint64(1), p.Metrics().Snapshot().AppliedBy("bandwidth"))
}

// TestProbabilityAndSeed draws from the seeded source: p=0 never applies,
// p=1 always, and the same seed gives the same calls the same fate.
func TestProbabilityAndSeed(t *testing.T) {
	t.Parallel()
	_, addr, _ := startUpstream(t, nil)
	outcomes := func(seed uint64, spec string) []codes.Code {
		p, client := startProxy(t, addr, proxy.Config{Options: proxy.Options{Seed: seed}})
		mustAdd(t, p.Faults(), spec)
		var out []codes.Code
		for range 60 {
			_, err := unary(ctxWithTimeout(t), client)
			out = append(out, status.Code(err))
		}
		assert.Equal(t, uint64(60), p.Metrics().Snapshot().TotalCalls())
		return out
	}
	count := func(cs []codes.Code, c codes.Code) (n int) {
		for _, x := range cs {
			if x == c {
				n++
			}
		}
		return n
	}
	half := outcomes(7, "abort:code=UNAVAILABLE,p=0.5")
	assert.Equal(t, half, outcomes(7, "abort:code=UNAVAILABLE,p=0.5"), "same seed, same fates")
	assert.NotEqual(t, half, outcomes(8, "abort:code=UNAVAILABLE,p=0.5"), "another seed, other fates")
	assert.Positive(t, count(half, codes.Unavailable))
	assert.Positive(t, count(half, codes.OK))
	assert.Equal(t, 60, count(outcomes(1, "abort:code=UNAVAILABLE,p=0"), codes.OK))
	assert.Equal(t, 60, count(outcomes(1, "abort:code=UNAVAILABLE,p=1"), codes.Unavailable))
}

// TestFaultsCompose applies faults in the order they were added: a
// metadata rewrite before a scoped abort, and the abort only on its method.
func TestFaultsCompose(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	mustAdd(t, p.Faults(), "metadata:action=replace,value=Bearer other")
	mustAdd(t, p.Faults(), "abort:code=UNAUTHENTICATED,methods=/grpc.testing.TestService/EmptyCall")
	ctx := ctxWithTimeout(t)
	_, err := unary(ctx, client, "authorization", "Bearer mine")
	require.NoError(t, err)
	assert.Equal(t, []string{"Bearer other"}, up.last(t).md.Get("authorization"))
	_, err = client.EmptyCall(ctx, &testpb.Empty{})
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	snap := p.Metrics().Snapshot()
	assert.Equal(t, uint64(2), snap.AppliedBy("metadata"))
	assert.Equal(t, uint64(1), snap.AppliedBy("abort"))

	// Removing the abort leaves the rewrite in force.
	require.NoError(t, p.Faults().Remove("abort"))
	_, err = client.EmptyCall(ctx, &testpb.Empty{})
	require.NoError(t, err)
	assert.Equal(t, []string{"Bearer other"}, up.last(t).md.Get("authorization"))
}
