package zoo

import (
	"context"
	"fmt"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// guard is a member's credential check.
type guard interface {
	// authorize checks the call's credentials for fullMethod, returning the
	// context the handler runs with (it may carry what the grant allows).
	authorize(ctx context.Context, fullMethod string) (context.Context, error)
	// checkRequest checks the request against what authorize allowed
	// (resource scope); ctx is authorize's.
	checkRequest(ctx context.Context, fullMethod string, req proto.Message) error
}

// ProbeHandlerCalls is the full name of the unprotected method every zoo
// service has for tests in another process: it answers an Int64Value, the
// number of protected handler runs so far.
const ProbeHandlerCalls = "/jitbench.zoo.v1.Probe/HandlerCalls"

// probeAPI is the test-only service behind ProbeHandlerCalls.
func probeAPI(calls *atomic.Int64) *api {
	return &api{pkg: "jitbench.zoo.v1", name: "Probe", file: "jitbench/zoo/v1/probe.proto", rpcs: []rpc{{
		name: "HandlerCalls", in: &emptypb.Empty{}, out: &wrapperspb.Int64Value{},
		unary: func(context.Context, proto.Message) (proto.Message, error) {
			return wrapperspb.Int64(calls.Load()), nil
		},
	}}}
}

// newServer assembles a member's gRPC server: a recovery interceptor (a
// panic answers UNKNOWN), the guard on a's methods (on streams too unless
// the no-stream-interceptor bug), gRPC health (open), server reflection
// and the probe.
func newServer(a *api, g guard, bug Bug, calls *atomic.Int64) (*grpc.Server, error) {
	unary := grpc.ChainUnaryInterceptor(recoverUnary, guardUnary(a, g))
	streams := []grpc.StreamServerInterceptor{recoverStream}
	// BUG no-stream-interceptor: the setup came from a unary-only example.
	if bug != NoStreamInterceptor {
		streams = append(streams, guardStream(a, g))
	}
	srv := grpc.NewServer(unary, grpc.ChainStreamInterceptor(streams...))
	probe := probeAPI(calls)
	srv.RegisterService(a.desc(calls), struct{}{})
	srv.RegisterService(probe.desc(nil), struct{}{})

	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(a.fullName(), healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)

	files, err := descriptorFiles(a, probe)
	if err != nil {
		return nil, fmt.Errorf("zoo: descriptors of %s: %w", a.fullName(), err)
	}
	opts := reflection.ServerOptions{Services: srv, DescriptorResolver: files}
	reflectionv1.RegisterServerReflectionServer(srv, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(srv, reflection.NewServer(opts))
	return srv, nil
}

// panicked is the answer to a panic: no detail, the token may be in it.
var panicked = status.Error(codes.Unknown, "internal error")

func recoverUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if recover() != nil {
			resp, err = nil, panicked
		}
	}()
	return next(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
	defer func() {
		if recover() != nil {
			err = panicked
		}
	}()
	return next(srv, ss)
}

// guardUnary checks a's unary calls; other services are open.
func guardUnary(a *api, g guard) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if !a.owns(info.FullMethod) {
			return next(ctx, req)
		}
		ctx, err := g.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		if m, ok := req.(proto.Message); ok {
			if err := g.checkRequest(ctx, info.FullMethod, m); err != nil {
				return nil, err
			}
		}
		return next(ctx, req)
	}
}

// guardStream checks a's streams: the credentials before the handler, the
// request when it is received.
func guardStream(a *api, g guard) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if !a.owns(info.FullMethod) {
			return next(srv, ss)
		}
		ctx, err := g.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return next(srv, &checkedStream{ServerStream: ss, ctx: ctx, check: func(m proto.Message) error {
			return g.checkRequest(ctx, info.FullMethod, m)
		}})
	}
}

// checkedStream checks the first message received.
type checkedStream struct {
	grpc.ServerStream
	ctx     context.Context
	check   func(proto.Message) error
	checked bool
}

func (s *checkedStream) Context() context.Context { return s.ctx }

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.checked {
		return nil
	}
	s.checked = true
	if msg, ok := m.(proto.Message); ok {
		return s.check(msg)
	}
	return nil
}
