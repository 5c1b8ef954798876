package conformance

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// pendingBroker is a jit.v1.Broker whose reviewers never decide: every
// access request stays pending for as long as anyone watches it. DL-002
// puts it behind the reference client, so approval is always slower than
// the call's deadline.
type pendingBroker struct {
	jitv1.UnimplementedBrokerServer
}

// request is the one pending request the broker knows.
func (pendingBroker) request(scope *jitv1.Scope) *jitv1.AccessRequest {
	return &jitv1.AccessRequest{Id: "jitbench-conformance-pending", Requester: DefaultSubject, Scope: scope,
		State: jitv1.State_STATE_PENDING, CreatedAt: timestamppb.Now(), ApprovalsNeeded: 1}
}

// RequestAccess opens the request, pending.
func (b pendingBroker) RequestAccess(_ context.Context, in *jitv1.RequestAccessRequest) (*jitv1.AccessRequest, error) {
	return b.request(in.GetScope()), nil
}

// Watch sends the pending state and then nothing, until the watcher leaves.
func (b pendingBroker) Watch(_ *jitv1.WatchRequest, stream grpc.ServerStreamingServer[jitv1.AccessRequest]) error {
	if err := stream.Send(b.request(nil)); err != nil {
		return err
	}
	<-stream.Context().Done()
	return stream.Context().Err()
}

// startPendingBroker serves a pendingBroker in memory and returns a client of it and a stop function.
func startPendingBroker() (jitv1.BrokerClient, func(), error) {
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer()
	jitv1.RegisterBrokerServer(srv, pendingBroker{})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///pending-broker",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	return jitv1.NewBrokerClient(conn), func() { _ = conn.Close(); srv.Stop() }, nil
}
