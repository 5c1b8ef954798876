package stack_test

import (
	"context"
	"net"
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

// systemEnv is the broker and the Vault on bufconn, and alice's client of both.
type systemEnv struct {
	sys   *stack.System
	vault demov1.VaultClient
	creds *interceptor.Credentials
}

func dialer(lis *bufconn.Listener) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
}

func dialBuf(t *testing.T, lis *bufconn.Listener, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///bufnet", append(opts,
		grpc.WithContextDialer(dialer(lis)), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func startSystem(t *testing.T, cfg stack.SystemConfig) *systemEnv {
	t.Helper()
	brokerLis, svcLis := bufconn.Listen(1<<20), bufconn.Listen(1<<20)
	cfg.DialBroker = dialer(brokerLis)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sys, err := stack.StartSystem(ctx, cfg, brokerLis, svcLis)
	require.NoError(t, err)
	t.Cleanup(sys.Stop)

	idp := token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), nil)
	identityFor := func(aud string) interceptor.IdentitySource {
		raw, err := idp.Identity(token.IdentitySpec{Subject: "alice", Audience: aud, TTL: time.Hour})
		require.NoError(t, err)
		return interceptor.StaticIdentity(raw)
	}
	brokerConn := dialBuf(t, brokerLis, grpc.WithPerRPCCredentials(interceptor.NewCredentials(interceptor.ClientConfig{
		Identity: identityFor(stack.BrokerAudience), Policy: broker.ServerPolicy, Insecure: true})))
	grants := brokerclient.New(jitv1.NewBrokerClient(brokerConn), brokerclient.Options{Service: token.DevAudience})
	creds := interceptor.NewCredentials(interceptor.ClientConfig{Identity: identityFor(token.DevAudience), Grants: grants, Insecure: true})
	return &systemEnv{sys: sys, vault: demov1.NewVaultClient(dialBuf(t, svcLis, grpc.WithPerRPCCredentials(creds))), creds: creds}
}

func (e *systemEnv) read(deadline time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err := e.vault.Read(ctx, &demov1.ReadRequest{Path: "secrets/db/password"})
	return err
}

// eventually polls cond until it holds or 5 s pass: it waits for another
// goroutine's event, never for time to pass.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, msg)
}

var carol = broker.Caller{Subject: "carol", Groups: []string{"security"}}

func (e *systemEnv) pending(t *testing.T) *jitv1.AccessRequest {
	t.Helper()
	var found *jitv1.AccessRequest
	eventually(t, func() bool {
		list, err := e.sys.Broker.ListRequests(context.Background(), carol, &jitv1.ListRequestsRequest{State: jitv1.State_STATE_PENDING})
		if err != nil || len(list.GetRequests()) == 0 {
			return false
		}
		found = list.GetRequests()[0]
		return true
	}, "alice's access request never reached the broker")
	return found
}

// TestRequestApproveCallRevoke walks the JIT flow a human would: the call
// waits for approval, succeeds once carol approves, and is refused once she
// revokes the grant.
func TestRequestApproveCallRevoke(t *testing.T) {
	e := startSystem(t, stack.SystemConfig{})
	done := make(chan error, 1)
	go func() { done <- e.read(10 * time.Second) }()

	req := e.pending(t)
	assert.Equal(t, "alice", req.GetRequester())
	before := e.sys.Service.Vault.TotalHandlerCalls()
	_, err := e.sys.Broker.Review(context.Background(), carol, &jitv1.ReviewRequest{Id: req.GetId(), Decision: jitv1.Decision_DECISION_APPROVE, Comment: "on call"})
	require.NoError(t, err)
	require.NoError(t, <-done, "the call must go through once approved")
	assert.Equal(t, before+1, e.sys.Service.Vault.TotalHandlerCalls())

	require.NoError(t, e.read(5*time.Second), "the cached grant serves the next call without a new request")

	revoked, err := e.sys.Broker.Revoke(context.Background(), carol, &jitv1.RevokeRequest{Id: req.GetId(), Comment: "done"})
	require.NoError(t, err)
	eventually(t, func() bool { return e.sys.Revocations.Check(revoked.GetGrantId(), time.Now()) != nil },
		"the revocation never reached the service")
	err = e.read(5 * time.Second)
	got := reason.FromError(err)
	assert.Equal(t, codes.PermissionDenied, got.Code)
	assert.Equal(t, reason.GrantRevoked, got.Reason)
}

func TestDeniedRequestIsPermissionDenied(t *testing.T) {
	e := startSystem(t, stack.SystemConfig{})
	done := make(chan error, 1)
	go func() { done <- e.read(10 * time.Second) }()
	req := e.pending(t)
	_, err := e.sys.Broker.Review(context.Background(), carol, &jitv1.ReviewRequest{Id: req.GetId(), Decision: jitv1.Decision_DECISION_DENY, Comment: "not today"})
	require.NoError(t, err)
	got := reason.FromError(<-done)
	assert.Equal(t, codes.PermissionDenied, got.Code)
	assert.Equal(t, reason.ApprovalDenied, got.Reason)
}

func TestApprovalSlowerThanDeadline(t *testing.T) {
	e := startSystem(t, stack.SystemConfig{})
	got := reason.FromError(e.read(100 * time.Millisecond))
	assert.Equal(t, codes.DeadlineExceeded, got.Code)
	assert.Equal(t, reason.ApprovalPending, got.Reason)
}

func TestAutoApprove(t *testing.T) {
	e := startSystem(t, stack.SystemConfig{AutoApprove: time.Millisecond})
	require.NoError(t, e.read(5*time.Second))
}
