// Package harness runs scenarios: it builds the reference JIT system (the
// broker, the protected service and a caller) on an in-process (bufconn),
// loopback TCP or container topology, each part on its own skewable clock
// and every connection over a faultable link, or connects to the user's
// own service (topology external) from its target config; applies a
// scenario's faults on a timeline; drives its load; records each call's
// code, reason, phase and latency; diagnoses the failed calls to a user's
// service and takes its measurements; and checks the expectations.
// RunScenario serves the CLI, Run a user's own `go test`. The guided tour
// behind `jitbench demo` lives here too.
//
// Where a scenario runs is one topology per file, topology_NAME.go, behind
// the small topology interface (topology.go): what it starts, and what
// faults can act there. The running parts are system_NAME.go.
package harness

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jitbench/jitbench/reference/stack"
)

// InProcess is a reference service on an in-memory listener and a client connection to it.
type InProcess struct {
	Service *stack.Service
	Conn    *grpc.ClientConn
	lis     *bufconn.Listener
}

// StartInProcess starts a reference service for cfg over bufconn.
func StartInProcess(cfg stack.Config) (*InProcess, error) {
	svc, err := stack.New(cfg)
	if err != nil {
		return nil, err
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = svc.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///jitbench-inprocess",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		svc.Server.Stop()
		return nil, err
	}
	return &InProcess{Service: svc, Conn: conn, lis: lis}, nil
}

// Close stops the service and closes the connection.
func (p *InProcess) Close() {
	_ = p.Conn.Close()
	p.Service.Server.Stop()
}
