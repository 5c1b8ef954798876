package conformance

import (
	"context"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jitbench/jitbench/fakes"
	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
	"github.com/jitbench/jitbench/reference/brokerclient"
	"github.com/jitbench/jitbench/reference/interceptor"
)

// The client-side cases: the calling side's deadline, its broker and its
// network fail, and the call must end with the status that says so, not
// UNAUTHENTICATED. They call the target through the reference client
// (interceptor.Credentials, brokerclient) and fakes.Link.

// Timings of the client-side cases.
const (
	// tinyDeadline is DL-001's deadline.
	tinyDeadline = time.Millisecond
	// linkLatency delays every write on DL-001's link, so no answer can beat the deadline.
	linkLatency = 20 * time.Millisecond
	// approvalDeadline is DL-002's deadline, which a pending approval outlasts.
	approvalDeadline = 250 * time.Millisecond
	// deadlineSlack is how long past its deadline a call may take to end.
	deadlineSlack = time.Second
)

// dialTCP opens a plain TCP connection, the next hop of a link.
func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// tinyDeadline is DL-001: a valid call with a 1 ms deadline, over a link
// slow enough that no answer can arrive in time.
func (r *runner) tinyDeadline(ctx context.Context, _ *Case) []variant {
	return []variant{r.callOverLink(ctx, "1ms", fakes.LinkSettings{Latency: linkLatency},
		callSpec{timeout: tinyDeadline, bound: tinyDeadline + deadlineSlack})}
}

// callOverLink makes a valid call on a connection of its own through a
// network link, once connected and settings are applied to the link.
func (r *runner) callOverLink(ctx context.Context, name string, settings fakes.LinkSettings, cc callSpec) variant {
	identity, grant, err := r.credentials()
	if err != nil {
		return failed(name, err)
	}
	link := fakes.NewLink("conformance-client-target", 1)
	conn, err := r.t.dial(ctx, link.Dialer(dialTCP))
	if err != nil {
		return failed(name, err)
	}
	defer conn.Close()
	defer link.Set(settings)()
	cc.md, cc.conn = r.md(identity, grant), conn
	return r.call(ctx, name, cc)
}

// slowApproval is DL-002: the reference client asks a broker whose
// reviewers never decide, and the call's deadline passes first.
func (r *runner) slowApproval(ctx context.Context, _ *Case) []variant {
	broker, stop, err := startPendingBroker()
	if err != nil {
		return []variant{failed("pending", err)}
	}
	defer stop()
	return []variant{r.callThroughBroker(ctx, "pending", broker, brokerclient.Retry{}, approvalDeadline)}
}

// brokerDown is OUT-001: the reference client's broker refuses connections.
func (r *runner) brokerDown(ctx context.Context, _ *Case) []variant {
	addr, err := closedAddress()
	if err != nil {
		return []variant{failed("refused", err)}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return []variant{failed("refused", err)}
	}
	defer conn.Close()
	// Quick retries: the case is about the code the client ends with, not its patience.
	retry := brokerclient.Retry{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, MaxAttempts: 3}
	return []variant{r.callThroughBroker(ctx, "refused", jitv1.NewBrokerClient(conn), retry, r.opts.CallTimeout)}
}

// callThroughBroker calls the target with the reference client getting its grant from broker.
func (r *runner) callThroughBroker(ctx context.Context, name string, broker jitv1.BrokerClient, retry brokerclient.Retry, deadline time.Duration) variant {
	identity, _, err := r.credentials()
	if err != nil {
		return failed(name, err)
	}
	grants := brokerclient.New(broker, brokerclient.Options{Service: r.cfg.Audience, Retry: retry,
		Justification: "jitbench conformance: the approval must not arrive"})
	creds := r.clientCredentials(identity, grants)
	return r.call(ctx, name, callSpec{opts: []grpc.CallOption{grpc.PerRPCCredentials(creds)},
		timeout: deadline, bound: deadline + deadlineSlack, sent: []string{identity}})
}

// clientCredentials are the reference client's per-RPC credentials taking
// grants from grants: two-token sends identity beside each grant, single-token the grant as the bearer token.
func (r *runner) clientCredentials(identity string, grants interceptor.GrantSource) *interceptor.Credentials {
	cfg := interceptor.ClientConfig{Insecure: r.t.tls == nil, IdentityHeader: r.cfg.IdentityHeader, GrantHeader: r.cfg.GrantHeader}
	if r.cfg.Profile == SingleToken {
		method := r.cfg.Method.Method
		cfg.Identity = interceptor.IdentitySourceFunc(func(ctx context.Context) (interceptor.Credential, error) {
			return grants.Grant(ctx, method)
		})
	} else {
		cfg.Identity, cfg.Grants = interceptor.StaticIdentity(identity), grants
	}
	return interceptor.NewCredentials(cfg)
}

// closedAddress returns a loopback address nothing listens on: it was free a moment ago.
func closedAddress() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := lis.Addr().String()
	return addr, lis.Close()
}

// connectionReset is OUT-004: the network resets the client's connection to the target.
func (r *runner) connectionReset(ctx context.Context, _ *Case) []variant {
	return []variant{r.callOverLink(ctx, "reset", fakes.LinkSettings{Reset: true}, callSpec{})}
}
