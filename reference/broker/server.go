package broker

import (
	"context"
	"strings"

	"google.golang.org/grpc"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/interceptor"
)

// server adapts a Broker to jit.v1.Broker. It only translates: the caller
// comes from the identity the interceptor verified, and errors carry their
// own gRPC status (sentinels and reason errors convert themselves).
type server struct {
	jitv1.UnimplementedBrokerServer
	b *Broker
}

// NewServer returns the gRPC service of b; install it behind
// interceptor.NewServer(interceptor.ServerConfig{..., Policy: ServerPolicy}).
func NewServer(b *Broker) jitv1.BrokerServer {
	return &server{b: b}
}

// ServerPolicy says what each method of a broker's gRPC server requires:
// Keys and WatchRevocations are open (verifiers call them without an
// identity), health and reflection are open, and everything else needs an
// identity (never a grant: the broker is where grants come from).
func ServerPolicy(fullMethod string) interceptor.Requirement {
	switch {
	case fullMethod == jitv1.Broker_Keys_FullMethodName,
		fullMethod == jitv1.Broker_WatchRevocations_FullMethodName,
		strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/"),
		strings.HasPrefix(fullMethod, "/grpc.reflection."):
		return interceptor.Open
	}
	return interceptor.Authenticated
}

// caller reads the verified identity the interceptor put in ctx.
func caller(ctx context.Context) (Caller, error) {
	id, ok := interceptor.IdentityFrom(ctx)
	if !ok || id.Subject == "" {
		return Caller{}, unauthenticated("no verified identity: the broker must run behind the identity interceptor")
	}
	return Caller{Subject: id.Subject, Groups: id.Groups}, nil
}

// RequestAccess opens a request for the verified caller.
func (s *server) RequestAccess(ctx context.Context, in *jitv1.RequestAccessRequest) (*jitv1.AccessRequest, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.b.RequestAccess(ctx, c, in)
}

// GetRequest returns one request as the caller may see it.
func (s *server) GetRequest(ctx context.Context, in *jitv1.GetRequestRequest) (*jitv1.AccessRequest, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.b.GetRequest(ctx, c, in.GetId())
}

// ListRequests lists the requests the caller may see.
func (s *server) ListRequests(ctx context.Context, in *jitv1.ListRequestsRequest) (*jitv1.ListRequestsResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.b.ListRequests(ctx, c, in)
}

// Watch streams a request's revisions until a terminal state.
func (s *server) Watch(in *jitv1.WatchRequest, stream grpc.ServerStreamingServer[jitv1.AccessRequest]) error {
	c, err := caller(stream.Context())
	if err != nil {
		return err
	}
	return s.b.Watch(stream.Context(), c, in.GetId(), stream.Send)
}

// Review records the caller's decision.
func (s *server) Review(ctx context.Context, in *jitv1.ReviewRequest) (*jitv1.AccessRequest, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.b.Review(ctx, c, in)
}

// Withdraw cancels the caller's own pending request.
func (s *server) Withdraw(ctx context.Context, in *jitv1.WithdrawRequest) (*jitv1.AccessRequest, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.b.Withdraw(ctx, c, in)
}

// Revoke ends an approved request's grant early.
func (s *server) Revoke(ctx context.Context, in *jitv1.RevokeRequest) (*jitv1.AccessRequest, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.b.Revoke(ctx, c, in)
}

// Keys returns the grant-verification keys; no identity is needed.
func (s *server) Keys(context.Context, *jitv1.KeysRequest) (*jitv1.KeysResponse, error) {
	doc, id, err := s.b.keysAt(s.b.clock.Now())
	if err != nil {
		return nil, err
	}
	return &jitv1.KeysResponse{Jwks: string(doc), KeySetId: id}, nil
}

// WatchRevocations streams the revocation feed; no identity is needed.
func (s *server) WatchRevocations(in *jitv1.WatchRevocationsRequest, stream grpc.ServerStreamingServer[jitv1.RevocationEvent]) error {
	return s.b.WatchRevocations(stream.Context(), in, stream.Send)
}
