package broker_test

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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// brokerAudience is the aud of identity tokens for the broker.
const brokerAudience = "jit.v1.Broker"

// grpcFixture is a broker served over bufconn behind the identity interceptor.
type grpcFixture struct {
	*fixture
	client jitv1.BrokerClient
	idp    *token.Issuer
}

func newGRPCFixture(t *testing.T) *grpcFixture {
	f := newFixture(t)
	verifier, err := token.NewIdentityVerifier(token.DevKeySet(token.DevIdentityIssuer).Public(),
		token.Config{Issuer: token.DevIdentityIssuer, Audience: brokerAudience, Clock: f.clock})
	require.NoError(t, err)
	icpt := interceptor.NewServer(interceptor.ServerConfig{Identity: verifier, Policy: broker.ServerPolicy})
	srv := grpc.NewServer(icpt.ServerOptions()...)
	jitv1.RegisterBrokerServer(srv, broker.NewServer(f.b))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &grpcFixture{
		fixture: f,
		client:  jitv1.NewBrokerClient(conn),
		idp:     token.NewIssuer(token.DevIdentityIssuer, token.DevKeySet(token.DevIdentityIssuer), f.clock),
	}
}

// as returns a context carrying c's identity token.
func (g *grpcFixture) as(c broker.Caller) context.Context {
	g.t.Helper()
	raw, err := g.idp.Identity(token.IdentitySpec{Subject: c.Subject, Audience: brokerAudience, Groups: c.Groups, TTL: time.Hour})
	require.NoError(g.t, err)
	return metadata.AppendToOutgoingContext(g.ctx(), "authorization", "Bearer "+raw)
}

func TestGRPC(t *testing.T) {
	g := newGRPCFixture(t)
	readScope := &jitv1.Scope{Service: vault, Methods: []string{vaultRead}}

	t.Run("request, watch, approve", func(t *testing.T) {
		r, err := g.client.RequestAccess(g.as(alice), &jitv1.RequestAccessRequest{Scope: readScope})
		require.NoError(t, err)
		assert.Equal(t, "alice", r.GetRequester(), "the requester is the verified identity")
		stream, err := g.client.Watch(g.as(alice), &jitv1.WatchRequest{Id: r.GetId()})
		require.NoError(t, err)
		first, err := stream.Recv()
		require.NoError(t, err)
		assert.Equal(t, jitv1.State_STATE_PENDING, first.GetState())
		_, err = g.client.Review(g.as(bob), &jitv1.ReviewRequest{Id: r.GetId(), Decision: jitv1.Decision_DECISION_APPROVE})
		require.NoError(t, err)
		approved, err := stream.Recv()
		require.NoError(t, err)
		assert.Equal(t, jitv1.State_STATE_APPROVED, approved.GetState())
		assert.NotEmpty(t, approved.GetGrant())
	})

	t.Run("refusals keep their code and reason", func(t *testing.T) {
		pending, err := g.client.RequestAccess(g.as(sam), &jitv1.RequestAccessRequest{Scope: readScope})
		require.NoError(t, err)
		denied, err := g.client.RequestAccess(g.as(alice), &jitv1.RequestAccessRequest{Scope: readScope})
		require.NoError(t, err)
		_, err = g.client.Review(g.as(bob), &jitv1.ReviewRequest{Id: denied.GetId(), Decision: jitv1.Decision_DECISION_DENY})
		require.NoError(t, err)

		tests := []struct {
			name   string
			call   func() error
			code   codes.Code
			reason reason.Reason
			msg    string
		}{
			{"self-approval", func() error {
				_, err := g.client.Review(g.as(sam), &jitv1.ReviewRequest{Id: pending.GetId(), Decision: jitv1.Decision_DECISION_APPROVE})
				return err
			}, codes.PermissionDenied, reason.SelfApproval, ""},
			{"not an approver", func() error {
				_, err := g.client.Review(g.as(eve), &jitv1.ReviewRequest{Id: pending.GetId(), Decision: jitv1.Decision_DECISION_APPROVE})
				return err
			}, codes.PermissionDenied, reason.NotApprover, ""},
			{"review of a decided request", func() error {
				_, err := g.client.Review(g.as(carol), &jitv1.ReviewRequest{Id: denied.GetId(), Decision: jitv1.Decision_DECISION_APPROVE})
				return err
			}, codes.FailedPrecondition, "", "DENIED"},
			{"unknown id", func() error {
				_, err := g.client.GetRequest(g.as(alice), &jitv1.GetRequestRequest{Id: "nope"})
				return err
			}, codes.NotFound, "", ""},
			{"over-cap duration", func() error {
				_, err := g.client.RequestAccess(g.as(alice), &jitv1.RequestAccessRequest{Scope: readScope, Duration: durationpb.New(2 * time.Hour)})
				return err
			}, codes.InvalidArgument, "", "requested 2h exceeds the maximum grant duration 1h of policy vault-read"},
			{"no policy", func() error {
				_, err := g.client.RequestAccess(g.as(alice), &jitv1.RequestAccessRequest{Scope: &jitv1.Scope{Service: "x", Methods: []string{"/x/Y"}}})
				return err
			}, codes.PermissionDenied, reason.NoPolicy, ""},
			{"no identity", func() error {
				_, err := g.client.ListRequests(g.ctx(), &jitv1.ListRequestsRequest{})
				return err
			}, codes.Unauthenticated, reason.IdentityMissing, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := reason.FromError(tt.call())
				assert.Equal(t, tt.code, d.Code, d.Message)
				assert.Equal(t, tt.reason, d.Reason)
				assert.Contains(t, d.Message, tt.msg)
			})
		}
	})

	t.Run("verifiers need no identity", func(t *testing.T) {
		keys, err := g.client.Keys(g.ctx(), &jitv1.KeysRequest{})
		require.NoError(t, err)
		_, err = token.ParseKeySet([]byte(keys.GetJwks()))
		require.NoError(t, err)

		r, err := g.client.RequestAccess(g.as(alice), &jitv1.RequestAccessRequest{Scope: readScope})
		require.NoError(t, err)
		_, err = g.client.Review(g.as(bob), &jitv1.ReviewRequest{Id: r.GetId(), Decision: jitv1.Decision_DECISION_APPROVE})
		require.NoError(t, err)
		revoked, err := g.client.Revoke(g.as(bob), &jitv1.RevokeRequest{Id: r.GetId()})
		require.NoError(t, err)
		stream, err := g.client.WatchRevocations(g.ctx(), &jitv1.WatchRevocationsRequest{})
		require.NoError(t, err)
		ev, err := stream.Recv()
		require.NoError(t, err)
		assert.Equal(t, revoked.GetGrantId(), ev.GetGrantId())
		assert.NotEmpty(t, ev.GetEpoch())
		hb, err := stream.Recv()
		require.NoError(t, err)
		assert.True(t, hb.GetHeartbeat())
		assert.Equal(t, ev.GetEpoch(), hb.GetEpoch())
		assert.Equal(t, keys.GetKeySetId(), hb.GetKeySetId(), "the feed announces the key set Keys serves")
	})
}

func TestServerPolicy(t *testing.T) {
	for method, want := range map[string]interceptor.Requirement{
		jitv1.Broker_Keys_FullMethodName:                            interceptor.Open,
		jitv1.Broker_WatchRevocations_FullMethodName:                interceptor.Open,
		"/grpc.health.v1.Health/Check":                              interceptor.Open,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": interceptor.Open,
		jitv1.Broker_RequestAccess_FullMethodName:                   interceptor.Authenticated,
		jitv1.Broker_Review_FullMethodName:                          interceptor.Authenticated,
		jitv1.Broker_Watch_FullMethodName:                           interceptor.Authenticated,
		"/some.Other/Method":                                        interceptor.Authenticated,
	} {
		assert.Equal(t, want, broker.ServerPolicy(method), method)
	}
}

// TestServerWithoutInterceptor: a broker served without the identity
// interceptor refuses every identity-bound call rather than trust the body.
func TestServerWithoutInterceptor(t *testing.T) {
	f := newFixture(t)
	srv := broker.NewServer(f.b)
	_, err := srv.RequestAccess(context.Background(), read(0))
	assert.Equal(t, codes.Unauthenticated, codeOf(err))
	assert.Equal(t, reason.IdentityMissing, reason.Of(err))
}
