package fakes

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jitbench/jitbench/fakes/proxy"
)

// grpcFaultStack serves a health service behind a fault proxy, both on
// bufconn, and returns the proxy and a health client that calls through it.
func grpcFaultStack(t *testing.T) (*proxy.Proxy, healthpb.HealthClient) {
	t.Helper()
	upLis := bufconn.Listen(1 << 16)
	up := grpc.NewServer()
	healthpb.RegisterHealthServer(up, health.NewServer())
	go func() { _ = up.Serve(upLis) }()
	t.Cleanup(up.Stop)

	px, err := proxy.New(proxy.Config{
		Upstream: "passthrough:///upstream",
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return upLis.DialContext(ctx)
		})},
	})
	require.NoError(t, err)
	pxLis := bufconn.Listen(1 << 16)
	go func() { _ = px.Serve(pxLis) }()
	t.Cleanup(px.Stop)

	conn, err := grpc.NewClient("passthrough:///proxy",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return pxLis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return px, healthpb.NewHealthClient(conn)
}

// TestGRPCFaultSwitchesAProxyFault applies two grpc-fault faults with the
// same spec to one proxy: calls through it end with the fault's code while
// either is in force, each window removes only its own fault, and each
// fault's effect counts the calls it ended.
func TestGRPCFaultSwitchesAProxyFault(t *testing.T) {
	px, client := grpcFaultStack(t)
	e := newFakeEnv(clockwork.NewFakeClockAt(t0))
	e.px = px
	check := func() codes.Code {
		_, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{})
		return status.Code(err)
	}
	params := map[string]any{"fault": "abort:code=UNAVAILABLE,methods=/grpc.health.v1.Health/Check"}

	require.Equal(t, codes.OK, check(), "no fault yet")
	first, err := New(KindGRPCFault, params)
	require.NoError(t, err)
	removeFirst, err := first.Apply(e)
	require.NoError(t, err)
	second, err := New(KindGRPCFault, params)
	require.NoError(t, err)
	removeSecond, err := second.Apply(e)
	require.NoError(t, err, "two windows of one spec add two faults")
	require.Len(t, px.Faults().List(), 2)

	assert.Equal(t, codes.Unavailable, check())
	removeFirst()
	require.Len(t, px.Faults().List(), 1, "the first window removed its own fault only")
	assert.Equal(t, codes.Unavailable, check(), "the second fault is still in force")
	removeSecond()
	assert.Empty(t, px.Faults().List())
	assert.Equal(t, codes.OK, check(), "both windows closed")

	effects := e.measured()
	require.Len(t, effects, 2)
	// The first call met the first fault, which ended it; the second met
	// only the second fault.
	assert.Equal(t, Effect{What: "the proxy applied abort:methods=/grpc.health.v1.Health/Check,code=UNAVAILABLE to 1 call", Met: 1}, effects[0])
	assert.Equal(t, int64(1), effects[1].Met, effects[1].What)
}

func TestGRPCFaultNeedsAProxy(t *testing.T) {
	e := newFakeEnv(clockwork.NewFakeClockAt(t0))
	f, err := New(KindGRPCFault, map[string]any{"fault": "abort:code=UNAVAILABLE"})
	require.NoError(t, err)
	_, err = f.Apply(e)
	require.ErrorIs(t, err, ErrNoProxy)
	assert.Empty(t, e.measured(), "nothing applied, nothing to measure")
}

// TestGRPCFaultRefusesBadSpecs checks that a spec the proxy would refuse
// is refused when the fault is built (the scenario's load), naming the
// param so the loader points at its line.
func TestGRPCFaultRefusesBadSpecs(t *testing.T) {
	tests := []struct {
		params map[string]any
		want   string
	}{
		{nil, `param "fault": required`},
		{map[string]any{"fault": 3}, `param "fault": want a string, got the number 3`},
		{map[string]any{"fault": ""}, `param "fault": kind: missing`},
		{map[string]any{"fault": "abrot:code=UNAVAILABLE"}, `param "fault": kind: unknown fault kind "abrot"`},
		{map[string]any{"fault": "abort"}, `param "fault": params.code: required`},
		{map[string]any{"fault": "abort:code=NOPE"}, `param "fault": params.code: unknown gRPC code "NOPE"`},
		{map[string]any{"fault": "abort:code=UNAVAILABLE,http_status=503"}, `param "fault": params.http_status: applies to an HTTP proxy only`},
		{map[string]any{"fault": "abort:code=UNAVAILABLE,p=2"}, `param "fault": probability: must be between 0 and 1`},
		{map[string]any{"fault": "abort:code=UNAVAILABLE,code=INTERNAL"}, `param "fault": params.code: given twice`},
		{map[string]any{"fault": "latency:delay=1s", "p": 1}, `param "p": unknown param (known: fault)`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := New(KindGRPCFault, tt.params)
			var pe *ParamError
			require.True(t, errors.As(err, &pe), "want a *ParamError, got %v", err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNumberedNamesFitTheProxy(t *testing.T) {
	long := "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789ab" // 64 characters, the most a name may have
	spec := proxy.Spec{Name: numbered(long, 1<<62), Kind: "abort", Params: proxy.Params{"code": "UNAVAILABLE"}}
	_, err := proxy.Check(spec, proxy.GRPC)
	require.NoError(t, err, "a numbered name stays a valid proxy name")
	assert.Equal(t, "abort-7", numbered("abort", 7))
}
