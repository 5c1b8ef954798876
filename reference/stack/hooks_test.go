package stack_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	demov1 "github.com/jitbench/jitbench/reference/api/demo/v1"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/stack"
	"github.com/jitbench/jitbench/reference/token"
)

// TestNoStreamInterceptorLeavesStreamsUnchecked shows the misconfiguration
// the hook exists for: unary calls are still refused, streams are not.
func TestNoStreamInterceptorLeavesStreamsUnchecked(t *testing.T) {
	svc, err := stack.New(stack.Config{NoStreamInterceptor: true})
	require.NoError(t, err)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = svc.Serve(lis) }()
	t.Cleanup(svc.Server.Stop)
	vault := demov1.NewVaultClient(dialBuf(t, lis))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err = vault.Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
	assert.Equal(t, reason.IdentityMissing, reason.Of(err), "unary calls keep their interceptor")

	stream, err := vault.List(ctx, &demov1.ListRequest{Prefix: "secrets/"})
	require.NoError(t, err)
	_, err = stream.Recv()
	require.NoError(t, err, "a stream without any credential reaches the handler")
	assert.Positive(t, svc.Vault.TotalHandlerCalls())
}

// switchable is a broker "address" whose listener can be replaced, as a
// restarted process listens again on the same port.
type switchable struct {
	cur atomic.Pointer[bufconn.Listener]
}

func (s *switchable) dial(ctx context.Context, _ string) (net.Conn, error) {
	return s.cur.Load().DialContext(ctx)
}

type hookEnv struct {
	sys    *stack.System
	broker *switchable
	vault  demov1.VaultClient
}

func startHookSystem(t *testing.T, cfg stack.SystemConfig) *hookEnv {
	t.Helper()
	e := &hookEnv{broker: &switchable{}}
	brokerLis, svcLis := bufconn.Listen(1<<20), bufconn.Listen(1<<20)
	e.broker.cur.Store(brokerLis)
	cfg.DialBroker = e.broker.dial
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sys, err := stack.StartSystem(ctx, cfg, brokerLis, svcLis)
	require.NoError(t, err)
	t.Cleanup(sys.Stop)
	e.sys = sys

	idp := token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil)
	identityFor := func(aud string) interceptor.IdentitySource {
		raw, err := idp.Identity(token.IdentitySpec{Subject: "alice", Audience: aud, TTL: time.Hour})
		require.NoError(t, err)
		return interceptor.StaticIdentity(raw)
	}
	brokerConn, err := grpc.NewClient("passthrough:///broker", grpc.WithContextDialer(e.broker.dial),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(interceptor.NewCredentials(interceptor.ClientConfig{
			Identity: identityFor(stack.BrokerAudience), Policy: broker.ServerPolicy, Insecure: true})))
	require.NoError(t, err)
	t.Cleanup(func() { _ = brokerConn.Close() })
	grants := brokerclient.New(jitv1.NewBrokerClient(brokerConn), brokerclient.Options{Service: token.DevAudience})
	creds := interceptor.NewCredentials(interceptor.ClientConfig{Identity: identityFor(token.DevAudience), Grants: grants, Insecure: true})
	e.vault = demov1.NewVaultClient(dialBuf(t, svcLis, grpc.WithPerRPCCredentials(creds)))
	return e
}

func (e *hookEnv) read() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.vault.Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
	return err
}

func TestServiceGrantKeysOverrideTheBrokersKeys(t *testing.T) {
	// Same kids as the broker's keys, other key material: the verifier was given the wrong key.
	wrong := token.NewKeySet()
	for _, alg := range []string{token.EdDSA, token.ES256} {
		k, err := token.DeriveKey(alg, token.DevKeyID(token.DevGrantIssuer, alg), "not-the-broker")
		require.NoError(t, err)
		wrong.Add(k.PublicOnly())
	}
	e := startHookSystem(t, stack.SystemConfig{AutoApprove: time.Millisecond, ServiceGrantKeys: wrong})
	got := reason.FromError(e.read())
	assert.Equal(t, codes.PermissionDenied, got.Code)
	assert.Equal(t, reason.GrantBadSignature, got.Reason)
}

// TestRestartBrokerKeepsTheStore restarts the broker between two grants: the
// first request survives in the store, the service reconnects to the new
// broker's revocation feed, and a revocation made after the restart reaches it.
func TestRestartBrokerKeepsTheStore(t *testing.T) {
	e := startHookSystem(t, stack.SystemConfig{AutoApprove: time.Millisecond})
	require.NoError(t, e.read())
	list, err := e.sys.Broker.ListRequests(context.Background(), carol, &jitv1.ListRequestsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetRequests(), 1)
	first := list.GetRequests()[0]
	old := e.sys.Broker

	next := bufconn.Listen(1 << 20)
	e.broker.cur.Store(next)
	require.NoError(t, e.sys.RestartBroker(next))
	require.NotSame(t, old, e.sys.Broker)

	got, err := e.sys.Broker.GetRequest(context.Background(), carol, first.GetId())
	require.NoError(t, err, "the restarted broker reads the same store")
	assert.Equal(t, jitv1.State_STATE_APPROVED, got.GetState())

	revoked, err := e.sys.Broker.Revoke(context.Background(), carol, &jitv1.RevokeRequest{Id: first.GetId(), Comment: "after restart"})
	require.NoError(t, err)
	eventually(t, func() bool { return e.sys.Revocations.Check(revoked.GetGrantId(), time.Now()) != nil },
		"the service never heard the restarted broker's revocation feed")
	assert.Equal(t, reason.GrantRevoked, reason.Of(e.read()), "the cached grant was revoked")
}

// TestGrantAlgorithmsPinTheGrantVerifierOnly: a grant verifier pinned to
// ES256 refuses the broker's EdDSA grants, while EdDSA identities still verify.
func TestGrantAlgorithmsPinTheGrantVerifierOnly(t *testing.T) {
	e := startHookSystem(t, stack.SystemConfig{AutoApprove: time.Millisecond,
		Service: stack.Config{GrantAlgorithms: []string{token.ES256}}})
	got := reason.FromError(e.read())
	assert.Equal(t, codes.PermissionDenied, got.Code)
	assert.Equal(t, reason.GrantAlgMismatch, got.Reason)
	assert.Equal(t, "ES256", got.Metadata["accepted_algorithms"])
	assert.Equal(t, []string{token.ES256}, e.sys.Service.Grants.Algorithms())
}
