package buggy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jitbench/jitbench/reference/demo"
	"github.com/jitbench/jitbench/reference/reason"
	"github.com/jitbench/jitbench/reference/token"
)

// Header names of the two credentials, as the reference uses them.
const (
	identityHeader = "authorization"
	grantHeader    = "x-jit-grant"
)

// guard is the service's interceptor pair. It checks the identity first (a
// failure is UNAUTHENTICATED), then the grant (PERMISSION_DENIED), for every
// method but health checks and reflection.
type guard struct {
	bug         string
	identities  *verifier
	grants      *verifier
	revocations token.Revocations
	replay      *token.ReplayGuard
	leeway      time.Duration
	clock       clockwork.Clock
}

// open reports whether method is served without credentials.
func open(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}

// unary is the unary server interceptor.
func (g *guard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if open(info.FullMethod) {
		return handler(ctx, req)
	}
	resource, hasResource := demo.Resource(req)
	if _, _, err := g.authorize(ctx, info.FullMethod, resource, hasResource); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// stream is the stream server interceptor; the resource arrives with the
// first message, so it is checked when the handler receives it.
func (g *guard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if open(info.FullMethod) {
		return handler(srv, ss)
	}
	grant, raw, err := g.authorize(ss.Context(), info.FullMethod, "", false)
	if err != nil {
		return err
	}
	return handler(srv, &firstMessageCheck{ServerStream: ss, check: func(m any) error {
		if resource, ok := demo.Resource(m); ok {
			return g.deny(g.checkResource(grant.Scope, resource), raw)
		}
		return nil
	}})
}

// firstMessageCheck runs check on the first message the handler receives, before the handler sees it.
type firstMessageCheck struct {
	grpc.ServerStream
	check func(m any) error
	done  bool
}

// RecvMsg receives m and checks it if it is the first.
func (s *firstMessageCheck) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil || s.done {
		return err
	}
	s.done = true
	return s.check(m)
}

// authorize checks both credentials of a call to method and returns the
// grant and its text.
func (g *guard) authorize(ctx context.Context, method, resource string, hasResource bool) (*token.GrantClaims, string, error) {
	subject, err := g.identify(ctx)
	if err != nil {
		return nil, "", err
	}
	raw, err := single(ctx, grantHeader)
	switch {
	case err != nil:
		return nil, "", reason.New(reason.GrantMalformed, "more than one "+grantHeader+" value was sent")
	case raw == "":
		return nil, "", reason.New(reason.GrantMissing, "no JIT grant: send \""+grantHeader+": <grant>\"")
	}
	grant, err := g.grants.verifyGrant(raw)
	if err == nil {
		err = g.permit(grant, subject, method, resource, hasResource)
	}
	if err != nil {
		return nil, raw, g.deny(err, raw)
	}
	return grant, raw, nil
}

// errSeveral is returned by single when a header is sent more than once.
var errSeveral = errors.New("header sent more than once")

// single returns the one value of header, "" when absent.
func single(ctx context.Context, header string) (string, error) {
	vals := metadata.ValueFromIncomingContext(ctx, header)
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", errSeveral
}

// identify returns the verified subject of the call.
func (g *guard) identify(ctx context.Context) (string, error) {
	val, err := single(ctx, identityHeader)
	switch {
	case err != nil:
		return "", reason.New(reason.IdentityMalformed, "more than one "+identityHeader+" value was sent")
	case val == "" && g.bug == PDMissingIdentity:
		// BUG pd-missing-identity: "no credentials" was filed under "not
		// allowed", so the client is told to get access, not to log in.
		return "", status.Error(codes.PermissionDenied, "access denied")
	case val == "":
		return "", reason.New(reason.IdentityMissing, "no identity: send \""+identityHeader+": Bearer <token>\"")
	}
	scheme, raw, ok := strings.Cut(val, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", reason.New(reason.IdentityMalformed, "the identity must use the Bearer scheme")
	}
	if raw = strings.TrimSpace(raw); raw == "" {
		return "", reason.New(reason.IdentityMissing, "the Bearer credential is empty")
	}
	id, err := g.identities.verifyIdentity(raw)
	if err != nil {
		return "", g.deny(err, raw)
	}
	return id.Subject, nil
}

// permit checks a verified grant against the call: subject, scope,
// revocation, then one-shot use.
func (g *guard) permit(grant *token.GrantClaims, subject, method, resource string, hasResource bool) error {
	if grant.Subject != subject {
		return reason.New(reason.GrantSubjectMismatch, "the grant was issued to another subject",
			"grant_subject", grant.Subject, "identity_subject", subject)
	}
	if err := g.checkMethod(grant.Scope, method); err != nil {
		return err
	}
	if hasResource {
		if err := g.checkResource(grant.Scope, resource); err != nil {
			return err
		}
	}
	now := g.clock.Now()
	if g.revocations != nil {
		if err := g.revocations.Check(grant.ID, now); err != nil {
			return err
		}
	}
	if !grant.OneShot {
		return nil
	}
	forget := now.Add(g.leeway) // a grant without exp (the no-exp-check bug) is remembered briefly
	if grant.ExpiresAt != nil {
		forget = grant.ExpiresAt.Add(g.leeway)
	}
	return g.replay.Use(grant.ID, forget, now)
}

// checkMethod refuses a method outside the grant's scope.
func (g *guard) checkMethod(scope *token.Scope, method string) error {
	// BUG scope-ignored (here and in checkResource): "the grant was
	// approved", so what it names is never compared with the call.
	if g.bug == ScopeIgnored || scope.AllowsMethod(method) {
		return nil
	}
	return reason.New(reason.GrantScopeMismatch, "the method called is outside the grant's scope",
		"method", method, "granted_methods", strings.Join(scope.Methods, ","))
}

// checkResource refuses a resource outside the grant's scope.
func (g *guard) checkResource(scope *token.Scope, resource string) error {
	if g.bug == ScopeIgnored || scope.AllowsResource(resource) {
		return nil
	}
	return reason.New(reason.GrantScopeMismatch, "the resource is outside the grant's scope",
		"resource", resource, "granted_resource", scope.Resource)
}

// deny returns err, the refusal of the credential raw.
func (g *guard) deny(err error, raw string) error {
	var re *reason.Error
	if g.bug == TokenEcho && errors.As(err, &re) {
		// BUG token-echo: quoting the token "helps debugging", and puts a
		// live credential in every client log and error report.
		re.Message = fmt.Sprintf("%s (token %q)", re.Message, raw)
	}
	return err
}
