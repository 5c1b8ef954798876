package stack_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/stack"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = lis.Close() })
	return lis
}

// TestBrokerAndServiceApart starts the two halves of the system on their
// own, as `serve --role broker` and `serve --role vault` do, the service
// first: it waits for the broker, then verifies with the keys it fetched.
func TestBrokerAndServiceApart(t *testing.T) {
	t.Parallel()
	// The broker's port refuses connections until the broker starts.
	reserved, svcLis := listen(t), listen(t)
	brokerAddr := reserved.Addr().String()
	require.NoError(t, reserved.Close())

	type started struct {
		sys *stack.System
		err error
	}
	svcDone := make(chan started, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys, err := stack.StartService(ctx, stack.SystemConfig{}, brokerAddr, svcLis)
		svcDone <- started{sys, err}
	}()

	select {
	case s := <-svcDone:
		t.Fatalf("the service started without a broker: %v", s.err)
	default:
	}
	brokerLis, err := net.Listen("tcp", brokerAddr)
	require.NoError(t, err)
	b, err := stack.StartBroker(stack.SystemConfig{}, brokerLis)
	require.NoError(t, err)
	t.Cleanup(b.Stop)
	assert.Nil(t, b.Service, "a broker alone")
	s := <-svcDone
	require.NoError(t, s.err, "the service waited for the broker that came up after it")
	t.Cleanup(s.sys.Stop)
	assert.Nil(t, s.sys.Broker, "a service alone")
	assert.Positive(t, s.sys.Keys.Status().Keys, "keys fetched before serving")

	m := stack.DevMinting("alice", time.Minute, nil)
	conn, err := grpc.NewClient(svcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(interceptor.NewCredentials(interceptor.ClientConfig{Identity: m, Grants: m, Insecure: true})))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = demov1.NewVaultClient(conn).Read(t.Context(), &demov1.ReadRequest{Path: "secrets/db/password"})
	require.NoError(t, err)

	bconn, err := grpc.NewClient(brokerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = bconn.Close() })
	h, err := healthpb.NewHealthClient(bconn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, h.GetStatus(), "the broker alone answers its health check")
}

// TestServiceWithoutBroker: a service whose broker never answers does not
// start, and says which broker it waited for.
func TestServiceWithoutBroker(t *testing.T) {
	t.Parallel()
	gone := listen(t)
	addr := gone.Addr().String()
	require.NoError(t, gone.Close()) // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	sys, err := stack.StartService(ctx, stack.SystemConfig{}, addr, listen(t))
	assert.Nil(t, sys)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "the revocation feed of the broker at "+addr)
}
