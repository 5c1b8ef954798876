package load

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jitbench/jitbench/reference/broker"
	"github.com/jitbench/jitbench/reference/interceptor"
	"github.com/jitbench/jitbench/reference/stack"
)

// InProcessTarget is the name the CLI takes for the reference system run inside jitbench.
const InProcessTarget = "inprocess"

// bufSize is each in-memory connection's buffer: large enough that a burst
// of calls is not throttled by the pipe rather than by the server.
const bufSize = 1 << 20

// Reference is the reference JIT system (broker and Vault) running in this
// process on in-memory listeners: the "inprocess" target, with no network
// between the generator and the server.
type Reference struct {
	// System is the running broker and Vault.
	System        *stack.System
	vault, broker *bufconn.Listener
}

// StartReference starts the reference system for cfg on in-memory
// listeners and returns once the Vault follows the broker's revocation feed.
func StartReference(ctx context.Context, cfg stack.SystemConfig) (*Reference, error) {
	r := &Reference{vault: bufconn.Listen(bufSize), broker: bufconn.Listen(bufSize)}
	cfg.DialBroker = r.DialBroker
	sys, err := stack.StartSystem(ctx, cfg, r.broker, r.vault)
	if err != nil {
		return nil, err
	}
	r.System = sys
	return r, nil
}

// DialVault opens a raw connection to the Vault, for DialOptions.Dialer.
func (r *Reference) DialVault(ctx context.Context, _ string) (net.Conn, error) {
	return r.vault.DialContext(ctx)
}

// DialBroker opens a raw connection to the broker.
func (r *Reference) DialBroker(ctx context.Context, _ string) (net.Conn, error) {
	return r.broker.DialContext(ctx)
}

// BrokerConn returns a connection to the broker whose calls carry
// identityToken (an identity for audience stack.BrokerAudience), as a
// requester's client does.
func (r *Reference) BrokerConn(identityToken string) (*grpc.ClientConn, error) {
	return BrokerConn("passthrough:///inprocess-broker", identityToken, grpc.WithContextDialer(r.DialBroker))
}

// Close stops the system.
func (r *Reference) Close() { r.System.Stop() }

// BrokerConn returns a plaintext connection to the broker at target whose
// calls carry identityToken, the requester's identity for the broker.
func BrokerConn(target, identityToken string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	creds := interceptor.NewCredentials(interceptor.ClientConfig{
		Identity: interceptor.StaticIdentity(identityToken), Policy: broker.ServerPolicy, Insecure: true})
	return grpc.NewClient(target, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds)}, opts...)...)
}
