package proxy_test

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/fakes/proxy"
	"github.com/jitbench/jitbench/reference/devtls"
)

// TestForwardIsTransparent checks that, with no fault, the four kinds of
// call pass through unchanged: metadata in, headers and trailers out,
// messages both ways, and an error's status details.
func TestForwardIsTransparent(t *testing.T) {
	t.Parallel()
	up, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	ctx := ctxWithTimeout(t)

	var hdr, trl metadata.MD
	resp, err := client.UnaryCall(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer abc", "x-jit-grant", "g.r.ant"),
		&testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ping")}}, grpc.Header(&hdr), grpc.Trailer(&trl))
	require.NoError(t, err)
	assert.Equal(t, "ping", string(resp.GetPayload().GetBody()))
	assert.Equal(t, []string{"h1"}, hdr.Get("x-test-header"))
	assert.Equal(t, []string{"t1"}, trl.Get("x-test-trailer"))
	last := up.last(t)
	assert.Equal(t, []string{"Bearer abc"}, last.md.Get("authorization"))
	assert.Equal(t, []string{"g.r.ant"}, last.md.Get("x-jit-grant"))
	assert.Equal(t, []string{"application/grpc"}, last.md.Get("content-type"), "the client's content-type, not one of the proxy's")
	assert.Len(t, last.md.Get("grpc-accept-encoding"), 1, "sent once, not once per hop")

	// An error keeps its code, message and details.
	_, err = unary(ctx, client, keyFail, "1")
	st := status.Convert(err)
	assert.Equal(t, codes.PermissionDenied, st.Code())
	assert.Equal(t, "denied by the test upstream", st.Message())
	require.Len(t, st.Details(), 1)
	info, ok := st.Details()[0].(*errdetails.ErrorInfo)
	require.True(t, ok)
	assert.Equal(t, "TEST_REASON", info.GetReason())

	// Server stream: every message, then the trailer.
	n, err := serverStream(ctx, client, 5)
	require.NoError(t, err)
	assert.Equal(t, 5, n)

	// Client stream: the upstream sums what it got.
	cs, err := client.StreamingInputCall(ctx)
	require.NoError(t, err)
	for i := range 4 {
		require.NoError(t, cs.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 100*(i+1))}}))
	}
	sum, err := cs.CloseAndRecv()
	require.NoError(t, err)
	assert.Equal(t, int32(1000), sum.GetAggregatedPayloadSize())

	// Bidi: each message is echoed before the next is sent.
	bidi, err := client.FullDuplexCall(ctx)
	require.NoError(t, err)
	for i := range 3 {
		msg := fmt.Sprintf("m%d", i)
		require.NoError(t, bidi.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}))
		got, err := bidi.Recv()
		require.NoError(t, err)
		assert.Equal(t, msg, string(got.GetPayload().GetBody()))
	}
	require.NoError(t, bidi.CloseSend())
	_, err = bidi.Recv()
	assert.ErrorIs(t, err, io.EOF)

	// Large messages pass too (beyond gRPC's default 4 MiB limit of the proxy's own side).
	big, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 5 << 20}, grpc.MaxCallRecvMsgSize(8<<20))
	require.NoError(t, err)
	assert.Len(t, big.GetPayload().GetBody(), 5<<20)

	snap := p.Metrics().Snapshot()
	assert.Equal(t, uint64(6), snap.TotalCalls())
	assert.Equal(t, uint64(3), snap.Calls["/grpc.testing.TestService/UnaryCall"])
	assert.Equal(t, uint64(1), snap.Codes[proxy.CodeKey{Method: "/grpc.testing.TestService/UnaryCall", Code: "PERMISSION_DENIED"}])
	assert.Equal(t, uint64(5), snap.CodeCount("OK"))
	assert.Empty(t, snap.Applied)
}

// TestTLSBothWays runs client → TLS → proxy → TLS → upstream with a development CA.
func TestTLSBothWays(t *testing.T) {
	t.Parallel()
	ca, err := devtls.NewCA(waitFor * 100)
	require.NoError(t, err)
	pair, err := ca.Server("127.0.0.1", "localhost")
	require.NoError(t, err)
	_, addr, _ := startUpstream(t, nil, grpc.Creds(credentials.NewTLS(ca.ServerConfig(pair))))

	// Without TLS toward a TLS upstream, the call fails: the proxy really dials TLS below.
	_, plain := startProxy(t, addr, proxy.Config{})
	_, err = unary(ctxWithTimeout(t), plain)
	assert.Equal(t, codes.Unavailable, status.Code(err))

	require.NoError(t, proxy.CheckUpstream(ctxWithTimeout(t), addr, ca.ClientConfig(nil), "h2"))
	_, client := startProxyCreds(t, addr, proxy.Config{UpstreamTLS: ca.ClientConfig(nil), ServerTLS: ca.ServerConfig(pair)},
		credentials.NewTLS(ca.ClientConfig(nil)))
	resp, err := unary(ctxWithTimeout(t), client)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(resp.GetPayload().GetBody()))
}

// TestManyConcurrentStreams runs bidi and server streams side by side
// through one proxy: every message arrives, in order, on its own stream.
func TestManyConcurrentStreams(t *testing.T) {
	t.Parallel()
	_, addr, _ := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	ctx := ctxWithTimeout(t)
	const streams, msgs = 40, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*streams)
	for i := range streams {
		wg.Add(2)
		go func() {
			defer wg.Done()
			bidi, err := client.FullDuplexCall(ctx)
			if err != nil {
				errs <- err
				return
			}
			for j := range msgs {
				want := fmt.Sprintf("s%d-m%d", i, j)
				if err := bidi.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(want)}}); err != nil {
					errs <- err
					return
				}
				got, err := bidi.Recv()
				if err != nil {
					errs <- err
					return
				}
				if string(got.GetPayload().GetBody()) != want {
					errs <- fmt.Errorf("stream %d got %q, want %q", i, got.GetPayload().GetBody(), want)
					return
				}
			}
			if err := bidi.CloseSend(); err != nil {
				errs <- err
				return
			}
			if _, err := bidi.Recv(); !errors.Is(err, io.EOF) {
				errs <- fmt.Errorf("stream %d ended with %v", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			n, err := serverStream(ctx, client, msgs)
			if err == nil && n != msgs {
				err = fmt.Errorf("server stream got %d messages, want %d", n, msgs)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	snap := p.Metrics().Snapshot()
	assert.Equal(t, uint64(2*streams), snap.TotalCalls())
	assert.Equal(t, uint64(2*streams), snap.CodeCount("OK"))
}

// TestUpstreamGoesAwayAndComesBack checks that calls fail UNAVAILABLE while
// the upstream is down and pass again once it is back on the same address.
func TestUpstreamGoesAwayAndComesBack(t *testing.T) {
	t.Parallel()
	_, addr, stop := startUpstream(t, nil)
	p, client := startProxy(t, addr, proxy.Config{})
	ctx := ctxWithTimeout(t)
	_, err := unary(ctx, client)
	require.NoError(t, err)

	stop()
	_, err = unary(ctx, client)
	assert.Equal(t, codes.Unavailable, status.Code(err), "err %v", err)
	require.Error(t, proxy.CheckUpstream(ctx, addr, nil))

	lis := listenAgain(t, addr)
	up, _, _ := startUpstream(t, lis)
	// The proxy redials with a backoff of at most a second. A call may
	// still meet the dying connection once, so wait for a ready one and
	// call again, bounded by ctx.
	for {
		require.NoError(t, p.WaitUpstream(ctx))
		if _, err = unary(ctx, client); err == nil {
			break
		}
		require.Equal(t, codes.Unavailable, status.Code(err), "err %v", err)
	}
	assert.Positive(t, up.calls.Load())
	assert.Positive(t, p.Metrics().Snapshot().CodeCount("UNAVAILABLE"))
}
