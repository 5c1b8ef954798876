package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // a gzip-compressing client's calls are decompressed, not refused
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// MaxMessageSize is the largest message the gRPC proxy forwards, each way.
// Services keep their own, usually smaller, limits.
const MaxMessageSize = 64 << 20

// upstreamBackoff is how fast the proxy redials an upstream that went
// away: a service coming back is used within a second, not after gRPC's
// default backoff of up to two minutes.
var upstreamBackoff = backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second}

// Config is the gRPC proxy's configuration.
type Config struct {
	Options
	// Upstream is the service's address, host:port (any gRPC target works).
	Upstream string
	// UpstreamTLS, when not nil, is used to dial the upstream over TLS.
	UpstreamTLS *tls.Config
	// ServerTLS, when not nil, serves clients over TLS.
	ServerTLS *tls.Config
	// DialOptions are added to the upstream connection's (tests: a bufconn dialer).
	DialOptions []grpc.DialOption
}

// Proxy is the gRPC fault proxy: every method of every service is
// forwarded to the upstream as raw bytes, through the faults of its set.
type Proxy struct {
	eng   *engine
	conn  *grpc.ClientConn
	srv   *grpc.Server
	conns *connTracker
}

// bothStreams makes one stream type carry any method: on the wire a unary
// call is a stream of one message each way.
var bothStreams = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// New returns a gRPC proxy to cfg.Upstream. The upstream is dialled
// lazily; CheckUpstream tells whether it answers.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("proxy: no upstream")
	}
	creds := insecure.NewCredentials()
	if cfg.UpstreamTLS != nil {
		creds = credentials.NewTLS(cfg.UpstreamTLS)
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: upstreamBackoff, MinConnectTimeout: 5 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
	}, cfg.DialOptions...)
	conn, err := grpc.NewClient(cfg.Upstream, opts...)
	if err != nil {
		return nil, err
	}
	p := &Proxy{eng: newEngine(GRPC, cfg.Options), conn: conn, conns: newConnTracker()}
	srvOpts := []grpc.ServerOption{
		grpc.UnknownServiceHandler(p.handle),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
	}
	if cfg.ServerTLS != nil {
		srvOpts = append(srvOpts, grpc.Creds(credentials.NewTLS(cfg.ServerTLS)))
	}
	p.srv = grpc.NewServer(srvOpts...)
	return p, nil
}

// Faults is the proxy's live fault set.
func (p *Proxy) Faults() *Faults { return p.eng.faults }

// Metrics are the proxy's counters.
func (p *Proxy) Metrics() *Metrics { return p.eng.metrics }

// Serve accepts clients on lis until Stop; it returns nil after a stop.
func (p *Proxy) Serve(lis net.Listener) error {
	err := p.srv.Serve(p.conns.listener(lis))
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// WaitUpstream waits until the connection to the upstream is ready,
// dialling it if idle, or until ctx ends.
func (p *Proxy) WaitUpstream(ctx context.Context) error {
	for {
		s := p.conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.Idle:
			p.conn.Connect()
		}
		if !p.conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}

// GracefulStop stops accepting calls and waits for those under way (a
// blackholed call waits for its deadline: bound this with Stop).
func (p *Proxy) GracefulStop() {
	p.srv.GracefulStop()
	_ = p.conn.Close()
}

// Stop ends every call and connection at once.
func (p *Proxy) Stop() {
	p.srv.Stop()
	_ = p.conn.Close()
}

// handle forwards one call of any method.
func (p *Proxy) handle(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "jitbench proxy: the call has no method")
	}
	err := p.forward(ss, method)
	p.eng.metrics.returned(method, CodeName(status.Code(err)))
	return err
}

func (p *Proxy) forward(ss grpc.ServerStream, method string) error {
	ctx := ss.Context()
	md, _ := metadata.FromIncomingContext(ctx) // a copy: ours to change
	if md == nil {
		md = metadata.MD{}
	}
	deadline, _ := ctx.Deadline()
	c := p.eng.newCall(GRPC, method, md, deadline)
	if err := p.eng.apply(ctx, c); err != nil {
		if errors.Is(err, ErrReset) {
			if pr, ok := peer.FromContext(ctx); ok {
				p.conns.reset(pr.Addr.String())
			}
			return status.Error(codes.Unavailable, ErrReset.Error())
		}
		return grpcError(err)
	}

	upCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.shorter {
		var cancelDeadline context.CancelFunc
		upCtx, cancelDeadline = context.WithDeadline(upCtx, c.deadline)
		defer cancelDeadline()
	}
	// The proxy's own client says which encodings it accepts; the
	// client's list would only be sent twice.
	delete(c.MD, "grpc-accept-encoding")
	upCtx = metadata.NewOutgoingContext(upCtx, c.MD)
	callOpts := []grpc.CallOption{grpc.ForceCodecV2(rawCodec{})}
	if sub := contentSubtype(md); sub != "" {
		callOpts = append(callOpts, grpc.CallContentSubtype(sub))
	}
	cs, err := p.conn.NewStream(upCtx, bothStreams, method, callOpts...)
	if err != nil {
		return grpcError(err)
	}
	var fail callFailure
	go p.toUpstream(upCtx, cancel, ss, cs, c, &fail)
	return p.toClient(upCtx, ss, cs, c, &fail)
}

// callFailure is the first error that ends a call from the request side
// (a message hook's), so the response side returns it instead of the
// cancellation it caused.
type callFailure struct {
	mu  sync.Mutex
	err error
}

func (f *callFailure) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *callFailure) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// toUpstream forwards the client's messages, then half-closes the upstream call.
func (p *Proxy) toUpstream(ctx context.Context, cancel context.CancelFunc, ss grpc.ServerStream, cs grpc.ClientStream, c *Call, fail *callFailure) {
	var f frame
	for {
		if err := ss.RecvMsg(&f); err != nil {
			if err == io.EOF {
				_ = cs.CloseSend()
				return
			}
			// The client went away or sent garbage: end the upstream call too.
			fail.set(err)
			cancel()
			return
		}
		if len(c.hooks) > 0 {
			if err := c.runHooks(ctx, ToUpstream, f.size()); err != nil {
				f.free()
				fail.set(err)
				cancel()
				return
			}
		}
		if err := cs.SendMsg(&f); err != nil {
			// The upstream ended the call; its status comes from RecvMsg.
			f.free()
			return
		}
	}
}

// toClient forwards the upstream's headers, messages and trailers and
// returns the call's status.
func (p *Proxy) toClient(ctx context.Context, ss grpc.ServerStream, cs grpc.ClientStream, c *Call, fail *callFailure) error {
	if hdr, err := cs.Header(); err == nil && len(hdr) > 0 {
		if err := ss.SendHeader(hdr); err != nil {
			return err
		}
	}
	var f frame
	for {
		if err := cs.RecvMsg(&f); err != nil {
			ss.SetTrailer(cs.Trailer())
			if err == io.EOF {
				return nil
			}
			if ferr := fail.get(); ferr != nil {
				return grpcError(ferr)
			}
			return err // the upstream's status, details included
		}
		if len(c.hooks) > 0 {
			if err := c.runHooks(ctx, ToClient, f.size()); err != nil {
				f.free()
				return grpcError(err)
			}
		}
		if err := ss.SendMsg(&f); err != nil {
			f.free()
			return err
		}
	}
}

// grpcError turns an error that ends a call into the status the client gets.
func grpcError(err error) error {
	var ae *AbortError
	switch {
	case errors.As(err, &ae):
		return ae.GRPCStatus().Err()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Internal, "jitbench proxy: "+err.Error())
}

// contentSubtype returns the +subtype of the call's content-type
// ("application/grpc+json" → "json"), or "" for plain application/grpc.
func contentSubtype(md metadata.MD) string {
	ct := md.Get("content-type")
	if len(ct) == 0 {
		return ""
	}
	sub, ok := strings.CutPrefix(strings.ToLower(ct[0]), "application/grpc+")
	if !ok {
		return ""
	}
	sub, _, _ = strings.Cut(sub, ";")
	return strings.TrimSpace(sub)
}
