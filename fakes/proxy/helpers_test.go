package proxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// waitFor bounds every wait in these tests; nothing is timed by it.
const waitFor = 10 * time.Second

// Metadata keys the test upstream acts on.
const (
	// keyFail makes the upstream fail the call with PERMISSION_DENIED and an ErrorInfo.
	keyFail = "x-test-fail"
	// keyHold makes the upstream hold the call until its context ends.
	keyHold = "x-test-hold"
)

// seen is what the upstream saw of one call.
type seen struct {
	method   string
	md       metadata.MD
	deadline time.Time // zero: none
	left     time.Duration
}

// upstream is a grpc.testing.TestService that echoes, records what it
// sees, and fails or holds calls on request.
type upstream struct {
	testpb.UnimplementedTestServiceServer
	calls atomic.Int64
	mu    sync.Mutex
	seen  []seen
}

func (u *upstream) record(ctx context.Context, method string) error {
	u.calls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	s := seen{method: method, md: md.Copy()}
	if dl, ok := ctx.Deadline(); ok {
		s.deadline, s.left = dl, time.Until(dl)
	}
	u.mu.Lock()
	u.seen = append(u.seen, s)
	u.mu.Unlock()
	if len(md.Get(keyFail)) > 0 {
		st, _ := status.New(codes.PermissionDenied, "denied by the test upstream").WithDetails(
			&errdetails.ErrorInfo{Reason: "TEST_REASON", Domain: "test.jitbench.dev"})
		return st.Err()
	}
	if len(md.Get(keyHold)) > 0 {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	return nil
}

func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	require.NotEmpty(t, u.seen, "the upstream saw no call")
	return u.seen[len(u.seen)-1]
}

func (u *upstream) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	if err := u.record(ctx, "EmptyCall"); err != nil {
		return nil, err
	}
	return &testpb.Empty{}, nil
}

func (u *upstream) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := u.record(ctx, "UnaryCall"); err != nil {
		return nil, err
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-test-header", "h1"))
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-test-trailer", "t1"))
	body := req.GetPayload().GetBody()
	if n := req.GetResponseSize(); n > 0 {
		body = make([]byte, n)
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: body}}, nil
}

// StreamingOutputCall sends one response per response parameter, of its size.
func (u *upstream) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if err := u.record(ss.Context(), "StreamingOutputCall"); err != nil {
		return err
	}
	for _, p := range req.GetResponseParameters() {
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, p.GetSize())}}); err != nil {
			return err
		}
	}
	ss.SetTrailer(metadata.Pairs("x-test-trailer", "stream"))
	return nil
}

// StreamingInputCall sums the payload sizes it receives.
func (u *upstream) StreamingInputCall(ss grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	if err := u.record(ss.Context(), "StreamingInputCall"); err != nil {
		return err
	}
	var total int32
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: total})
		}
		if err != nil {
			return err
		}
		total += int32(len(req.GetPayload().GetBody()))
	}
}

// FullDuplexCall echoes each request's payload back.
func (u *upstream) FullDuplexCall(ss grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := u.record(ss.Context(), "FullDuplexCall"); err != nil {
		return err
	}
	for {
		req, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// startUpstream serves a test upstream on lis (a new loopback port when nil).
func startUpstream(t testing.TB, lis net.Listener, opts ...grpc.ServerOption) (*upstream, string, func()) {
	t.Helper()
	if lis == nil {
		var err error
		lis, err = net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
	}
	u := &upstream{}
	srv := grpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(srv, u)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	var once sync.Once
	stop := func() { once.Do(func() { srv.Stop(); <-done }) }
	t.Cleanup(stop)
	return u, lis.Addr().String(), stop
}

// startProxy runs a gRPC proxy to upstream with cfg and returns it and a client of it.
func startProxy(t testing.TB, upstreamAddr string, cfg proxy.Config) (*proxy.Proxy, testpb.TestServiceClient) {
	t.Helper()
	return startProxyCreds(t, upstreamAddr, cfg, insecure.NewCredentials())
}

// startProxyCreds is startProxy with the client's transport credentials.
func startProxyCreds(t testing.TB, upstreamAddr string, cfg proxy.Config, creds credentials.TransportCredentials) (*proxy.Proxy, testpb.TestServiceClient) {
	t.Helper()
	cfg.Upstream = upstreamAddr
	p, err := proxy.New(cfg)
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Serve(lis) }()
	t.Cleanup(func() { p.Stop(); <-done })
	return p, dialTestCreds(t, lis.Addr().String(), creds)
}

// dialTest returns a plaintext client of the TestService at addr.
func dialTest(t testing.TB, addr string) testpb.TestServiceClient {
	t.Helper()
	return dialTestCreds(t, addr, insecure.NewCredentials())
}

func dialTestCreds(t testing.TB, addr string, creds credentials.TransportCredentials) testpb.TestServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

func ctxWithTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// mustAdd adds the spec written in the flag syntax to p's faults.
func mustAdd(t *testing.T, f *proxy.Faults, spec string) {
	t.Helper()
	s, err := proxy.ParseSpec(spec)
	require.NoError(t, err)
	_, err = f.Add(s)
	require.NoError(t, err)
}

// unary makes one UnaryCall with md and returns its status code.
func unary(ctx context.Context, c testpb.TestServiceClient, md ...string) (*testpb.SimpleResponse, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	return c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ping")}})
}

// serverStream reads a StreamingOutputCall of n messages and returns how many arrived and the final error.
func serverStream(ctx context.Context, c testpb.TestServiceClient, n int, md ...string) (int, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	req := &testpb.StreamingOutputCallRequest{}
	for range n {
		req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: 10})
	}
	st, err := c.StreamingOutputCall(ctx, req)
	if err != nil {
		return 0, err
	}
	got := 0
	for {
		_, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got++
	}
}

// listenAgain listens on addr again, after its server stopped.
func listenAgain(t *testing.T, addr string) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the port was taken in between")
	return lis
}
