// Package interceptor enforces the reference two-credential JIT model on a
// gRPC server and attaches both credentials on the client.
//
// Server side: an identity failure is UNAUTHENTICATED (the caller is
// unknown), a grant failure is PERMISSION_DENIED (the caller is known but not
// permitted now); both carry a google.rpc.ErrorInfo with a stable reason and
// never echo a token.
package interceptor

import (
	"context"
	"crypto/x509"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Default header names of the two credentials.
const (
	// IdentityHeader carries "Bearer <identity JWT>".
	IdentityHeader = "authorization"
	// GrantHeader carries the JIT grant JWT.
	GrantHeader = "x-jit-grant"
)

// Requirement is what a method demands of its caller.
type Requirement int

const (
	// Open methods need nothing (health checks, reflection).
	Open Requirement = iota
	// Authenticated methods need an identity only.
	Authenticated
	// Protected methods need an identity and a JIT grant in scope.
	Protected
)

// Policy says what each full method name requires.
type Policy func(fullMethod string) Requirement

// DefaultPolicy protects every method except gRPC health and reflection.
func DefaultPolicy(fullMethod string) Requirement {
	if strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.") {
		return Open
	}
	return Protected
}

// ServerConfig configures the server interceptors.
type ServerConfig struct {
	// Identity verifies identity tokens; nil accepts only mTLS peers (with PeerIdentity).
	Identity *token.IdentityVerifier
	// Grants verifies JIT grants; required when any method is Protected.
	Grants *token.GrantVerifier
	// Policy decides per method; nil means DefaultPolicy.
	Policy Policy
	// Resource extracts the resource a request addresses, checked against the grant's scope; nil skips the check.
	Resource func(req any) (string, bool)
	// PeerIdentity accepts a verified mTLS client certificate as the identity when no bearer token is sent.
	PeerIdentity bool
	// AccessHint tells a denied caller where to request access (a broker address); sent in denial metadata.
	AccessHint string
	// IdentityHeader and GrantHeader override the default header names.
	IdentityHeader, GrantHeader string
	// SingleToken switches to the single-token profile: one grant JWT in the
	// identity header is both who the caller is and what it may do. A token
	// that does not verify is UNAUTHENTICATED; a verified one that is expired,
	// revoked, replayed or out of scope is PERMISSION_DENIED. Identity is unused.
	SingleToken bool
}

// Server holds the server-side interceptors.
type Server struct {
	cfg ServerConfig
}

// NewServer returns the interceptors for cfg.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy
	}
	if cfg.IdentityHeader == "" {
		cfg.IdentityHeader = IdentityHeader
	}
	if cfg.GrantHeader == "" {
		cfg.GrantHeader = GrantHeader
	}
	return &Server{cfg: cfg}
}

// ServerOptions returns the grpc.ServerOptions that install both interceptors.
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.Unary()), grpc.ChainStreamInterceptor(s.Stream())}
}

type ctxKey int

const (
	identityKey ctxKey = iota
	grantKey
)

// IdentityFrom returns the verified identity of the call, if any.
func IdentityFrom(ctx context.Context) (*token.Identity, bool) {
	id, ok := ctx.Value(identityKey).(*token.Identity)
	return id, ok
}

// GrantFrom returns the verified grant of the call, if any.
func GrantFrom(ctx context.Context) (*token.Grant, bool) {
	g, ok := ctx.Value(grantKey).(*token.Grant)
	return g, ok
}

// Unary returns the unary server interceptor.
func (s *Server) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resource, has := s.resource(req)
		ctx, g, err := s.authorize(ctx, info.FullMethod, resource, has)
		if err != nil {
			return nil, err
		}
		if err := s.use(g); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the stream server interceptor. Identity and grant are
// checked before the handler starts; the resource of the first request
// message is checked when the handler receives it, before its code sees it.
// A one-shot grant is used up only once that check passed (see guardedStream).
func (s *Server) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, g, err := s.authorize(ss.Context(), info.FullMethod, "", false)
		if err != nil {
			return err
		}
		if ctx == ss.Context() {
			return handler(srv, ss)
		}
		gs := &guardedStream{ServerStream: ss, ctx: ctx, s: s, grant: g}
		if s.cfg.Resource == nil {
			// No resource will be checked: the call is authorised now.
			if err := gs.use(); err != nil {
				return err
			}
		}
		return handler(srv, gs)
	}
}

func (s *Server) resource(req any) (string, bool) {
	if s.cfg.Resource == nil {
		return "", false
	}
	return s.cfg.Resource(req)
}

// authorize checks the call's credentials and returns a context carrying
// them, and the grant when the method needs one. A one-shot grant is not
// used up yet: the caller calls use once nothing is left to check.
// hasResource is false for streams, whose resource arrives later, and for
// requests that address none.
func (s *Server) authorize(ctx context.Context, method, resource string, hasResource bool) (context.Context, *token.Grant, error) {
	need := s.cfg.Policy(method)
	if need == Open {
		return ctx, nil, nil
	}
	if s.cfg.SingleToken {
		return s.single(ctx, token.Request{Method: method, Resource: resource, HasResource: hasResource}, need)
	}
	id, err := s.identity(ctx)
	if err != nil {
		return nil, nil, err
	}
	ctx = context.WithValue(ctx, identityKey, id)
	if need == Authenticated {
		return ctx, nil, nil
	}
	g, err := s.grant(ctx, token.Request{Subject: id.Subject, Method: method, Resource: resource, HasResource: hasResource})
	if err != nil {
		return nil, nil, err
	}
	return context.WithValue(ctx, grantKey, g), g, nil
}

// use uses up g, a grant authorize returned, for a call authorised in full;
// nil g (a method that needs no grant) needs nothing.
func (s *Server) use(g *token.Grant) error {
	if g == nil {
		return nil
	}
	err := s.cfg.Grants.Use(g)
	if err != nil && reason.Of(err) != reason.OneShotRegisterFull {
		// A full register is the service's limit, not the caller's access.
		err = s.hint(err)
	}
	return err
}

func (s *Server) identity(ctx context.Context) (*token.Identity, error) {
	raw, err := s.bearer(ctx)
	if err != nil {
		if reason.Of(err) == reason.IdentityMissing && s.cfg.PeerIdentity {
			if id, ok := peerIdentity(ctx); ok {
				return id, nil
			}
		}
		return nil, err
	}
	if s.cfg.Identity == nil {
		return nil, reason.New(reason.IdentityInvalid, "this service accepts only mTLS client certificates as identity")
	}
	return s.cfg.Identity.Verify(raw)
}

// bearer returns the one Bearer token of the identity header.
func (s *Server) bearer(ctx context.Context) (string, error) {
	vals := metadata.ValueFromIncomingContext(ctx, s.cfg.IdentityHeader)
	switch len(vals) {
	case 0:
		return "", reason.New(reason.IdentityMissing, "no identity credential: send \""+s.cfg.IdentityHeader+": Bearer <token>\"")
	case 1:
	default:
		return "", reason.New(reason.IdentityMalformed, "more than one "+s.cfg.IdentityHeader+" value was sent")
	}
	scheme, raw, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "", reason.New(reason.IdentityMalformed, "the identity credential must use the Bearer scheme")
	}
	// A header that is there but holds no token is malformed, not missing:
	// "missing" would send the caller looking for a header it did send.
	if raw = strings.TrimSpace(raw); raw == "" {
		return "", reason.New(reason.IdentityMalformed, "the Bearer credential is empty: send \""+s.cfg.IdentityHeader+": Bearer <token>\"")
	}
	return raw, nil
}

func (s *Server) grant(ctx context.Context, req token.Request) (*token.Grant, error) {
	vals := metadata.ValueFromIncomingContext(ctx, s.cfg.GrantHeader)
	if len(vals) > 1 {
		return nil, s.hint(reason.New(reason.GrantMalformed, "more than one "+s.cfg.GrantHeader+" value was sent"))
	}
	raw := ""
	if len(vals) == 1 {
		raw = vals[0]
	}
	if s.cfg.Grants == nil {
		return nil, s.hint(reason.New(reason.GrantMissing, "this service has no grant verifier configured"))
	}
	g, err := s.cfg.Grants.Check(raw, req)
	if err != nil {
		return nil, s.hint(err)
	}
	return g, nil
}

// hint adds where to request access to a grant denial.
func (s *Server) hint(err error) error {
	if re, ok := err.(*reason.Error); ok && s.cfg.AccessHint != "" {
		re.Set("request_access", s.cfg.AccessHint)
	}
	return err
}

// peerIdentity takes the subject of a verified mTLS client certificate: its
// first URI SAN, else its Common Name.
func peerIdentity(ctx context.Context) (*token.Identity, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, false
	}
	tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(tlsInfo.State.VerifiedChains) == 0 || len(tlsInfo.State.VerifiedChains[0]) == 0 {
		return nil, false
	}
	subject := certSubject(tlsInfo.State.VerifiedChains[0][0])
	if subject == "" {
		return nil, false
	}
	leaf := tlsInfo.State.VerifiedChains[0][0]
	return &token.Identity{Subject: subject, Issuer: "mtls:" + leaf.Issuer.CommonName, ExpiresAt: leaf.NotAfter}, true
}

func certSubject(c *x509.Certificate) string {
	if len(c.URIs) > 0 {
		return c.URIs[0].String()
	}
	return c.Subject.CommonName
}

// guardedStream checks the resource of the first message the handler
// receives, and uses up a one-shot grant only once that check passed: a
// stream refused for its resource leaves the grant unused. A handler that
// sends before it receives uses the grant at its first send, so nothing
// leaves the service on an unused grant. Handlers may receive and send from
// two goroutines, hence the lock.
type guardedStream struct {
	grpc.ServerStream
	ctx   context.Context
	s     *Server
	grant *token.Grant // nil for a method that needs no grant

	mu      sync.Mutex
	checked bool  // the first message's resource was checked
	used    bool  // the grant was used up
	err     error // the refusal, repeated to every later receive or send
}

func (g *guardedStream) Context() context.Context { return g.ctx }

func (g *guardedStream) RecvMsg(m any) error {
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.checked && g.err == nil {
		g.checked = true
		if res, ok := g.s.resource(m); ok && g.grant != nil {
			if err := g.grant.CheckResource(res); err != nil {
				g.err = g.s.hint(err)
			}
		}
	}
	return g.useLocked()
}

func (g *guardedStream) SendMsg(m any) error {
	if err := g.use(); err != nil {
		return err
	}
	return g.ServerStream.SendMsg(m)
}

func (g *guardedStream) SendHeader(md metadata.MD) error {
	if err := g.use(); err != nil {
		return err
	}
	return g.ServerStream.SendHeader(md)
}

func (g *guardedStream) use() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.useLocked()
}

// useLocked uses up the grant the first time; after a refusal it repeats it.
func (g *guardedStream) useLocked() error {
	if g.err != nil || g.used {
		return g.err
	}
	if err := g.s.use(g.grant); err != nil {
		g.err = err
		return err
	}
	g.used = true
	return nil
}
